//! The activity log holds every value the API lets into it: the
//! actor of a declined invitation is the invitee's email (they may have no
//! user id yet), up to 254 characters, and a ShareTemplate's details list up
//! to `MAX_SHARED_CHILDREN` (1,000) child ids of up to 128 bytes each, past
//! the 64 KiB of a MySQL TEXT. SQLite enforces neither length, so only
//! MySQL changes; in strict mode it refused those rows (INTERNAL), and out
//! of strict mode it would have cut them short.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

/// Widens `activity_log.actor` to 255 characters and `details` to MEDIUMTEXT on MySQL.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::MySql {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE activity_log MODIFY actor VARCHAR(255) NOT NULL, MODIFY details MEDIUMTEXT NOT NULL",
            )
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::MySql {
            return Ok(());
        }
        // Refused (strict mode) while rows hold longer values: going down
        // must not cut the log short.
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE activity_log MODIFY actor VARCHAR(128) NOT NULL, MODIFY details TEXT NOT NULL",
            )
            .await
            .map(|_| ())
    }
}
