//! Indexes for the outbox's background reads:
//!
//! - `idx_outbox_queued_order` (state, created, id): with no SMTP relay the
//!   dispatcher shows queued messages oldest first, after the last one it
//!   showed, every second. With only `idx_outbox_due` (state, next attempt)
//!   MySQL read and sorted every queued message on each poll: a quarter of
//!   a second of database time a poll at 100,000 queued invitations, and
//!   seeding slowed as the queue grew. Now each poll is one range of it,
//!   stopped after a batch; so is the retention's search for old messages.
//! - `idx_outbox_invitations_outbox` (outbox id), on SQLite only: a
//!   message's invitations are read by the message's id, whose column comes
//!   second in the key; MySQL already indexes it for the foreign key, SQLite
//!   does not, and scanned every link for every message read.

use sea_orm::DatabaseBackend;
use sea_orm_migration::prelude::*;

/// Adds the two indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

const QUEUED_ORDER: &str = "idx_outbox_queued_order";
const LINKS_BY_MESSAGE: &str = "idx_outbox_invitations_outbox";

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    State,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxInvitations {
    Table,
    OutboxId,
}

fn sqlite(manager: &SchemaManager) -> bool {
    manager.get_database_backend() == DatabaseBackend::Sqlite
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(QUEUED_ORDER)
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::CreatedAt)
                    .col(Outbox::Id)
                    .to_owned(),
            )
            .await?;
        if sqlite(manager) {
            manager
                .create_index(
                    Index::create()
                        .name(LINKS_BY_MESSAGE)
                        .table(OutboxInvitations::Table)
                        .col(OutboxInvitations::OutboxId)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if sqlite(manager) {
            manager
                .drop_index(
                    Index::drop()
                        .name(LINKS_BY_MESSAGE)
                        .table(OutboxInvitations::Table)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(Index::drop().name(QUEUED_ORDER).table(Outbox::Table).to_owned())
            .await
    }
}
