//! The database refuses to delete an owner's membership, whatever the code
//! does: with the unique owner slot (at most one owner) and the CHECK tying
//! the slot to an active `owner` role, an account can neither gain a second
//! owner nor lose its only one through a stray DELETE.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

/// Adds the `memberships_owner_not_deleted` trigger.
#[derive(DeriveMigrationName)]
pub struct Migration;

const MYSQL: &str = "CREATE TRIGGER memberships_owner_not_deleted BEFORE DELETE ON memberships FOR EACH ROW \
BEGIN \
  IF OLD.owner_slot IS NOT NULL THEN \
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the owner membership cannot be deleted'; \
  END IF; \
END";

const SQLITE: &str = "CREATE TRIGGER memberships_owner_not_deleted BEFORE DELETE ON memberships FOR EACH ROW \
WHEN OLD.owner_slot IS NOT NULL \
BEGIN SELECT RAISE(ABORT, 'the owner membership cannot be deleted'); END";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Only the two backends the service supports get the trigger.
        #[allow(clippy::wildcard_enum_match_arm)]
        let sql = match manager.get_database_backend() {
            DatabaseBackend::MySql => MYSQL,
            DatabaseBackend::Sqlite => SQLITE,
            other => return Err(DbErr::Migration(format!("{other:?} is not supported"))),
        };
        manager.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP TRIGGER IF EXISTS memberships_owner_not_deleted")
            .await?;
        Ok(())
    }
}
