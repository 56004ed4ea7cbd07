//! The change stream (docs/change-stream.md) and opaque activity ids.
//!
//! - `activity_log.public_id`: the entry's id as callers see it, 32 random
//!   hex characters like every other id; the integer `id` stays as the
//!   internal order (commit order, see `change_clock`) and is never shown.
//!   Existing rows get random ids here.
//! - `activity_log.revision`: the account's revision after the write that
//!   logged the entry, so a change event carries it. 0 for entries that are
//!   not changes (sign-ins) and for entries logged before this migration,
//!   whose revision was never recorded: neither is part of the stream.
//! - `change_clock`: one row every committing change locks just before it
//!   appends its entries, so entry ids are handed out in commit order and a
//!   reader that has seen id N has seen every change committed before it.

use sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

/// Adds `activity_log.public_id` and `activity_log.revision`, and the `change_clock` row.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ActivityLog {
    Table,
    PublicId,
    Revision,
    AccountId,
}

#[derive(DeriveIden)]
enum ChangeClock {
    Table,
    Id,
    Ticks,
}

const PUBLIC_ID_INDEX: &str = "idx_activity_public_id";
const REVISION_INDEX: &str = "idx_activity_account_revision";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(ActivityLog::Table)
                    .add_column(string_len(ActivityLog::PublicId, 32).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ActivityLog::Table)
                    .add_column(big_integer(ActivityLog::Revision).default(0))
                    .to_owned(),
            )
            .await?;
        // Only the two backends the service supports.
        #[allow(clippy::wildcard_enum_match_arm)]
        let random_hex = match manager.get_database_backend() {
            DatabaseBackend::Sqlite => "lower(hex(randomblob(16)))",
            // MD5 of fresh randomness: 32 lower-case hex characters on MySQL and MariaDB alike.
            DatabaseBackend::MySql => "MD5(CONCAT(UUID(), RAND(), id))",
            other => return Err(DbErr::Migration(format!("{other:?} is not supported"))),
        };
        manager
            .get_connection()
            .execute_unprepared(&format!("UPDATE activity_log SET public_id = {random_hex}"))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(PUBLIC_ID_INDEX)
                    .table(ActivityLog::Table)
                    .col(ActivityLog::PublicId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(REVISION_INDEX)
                    .table(ActivityLog::Table)
                    .col(ActivityLog::AccountId)
                    .col(ActivityLog::Revision)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(ChangeClock::Table)
                    .col(integer(ChangeClock::Id).primary_key())
                    .col(big_integer(ChangeClock::Ticks).default(0))
                    .to_owned(),
            ))
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ChangeClock::Table)
                    .columns([ChangeClock::Id, ChangeClock::Ticks])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ChangeClock::Table).to_owned())
            .await?;
        for index in [REVISION_INDEX, PUBLIC_ID_INDEX] {
            manager
                .drop_index(Index::drop().name(index).table(ActivityLog::Table).to_owned())
                .await?;
        }
        for column in [ActivityLog::Revision, ActivityLog::PublicId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ActivityLog::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
