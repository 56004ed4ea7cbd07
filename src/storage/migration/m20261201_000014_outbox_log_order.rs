//! An index for the outbox in log-only mode (no SMTP relay): the dispatcher
//! shows queued messages oldest first, `(created_at, id)` after the last one
//! it showed. With only `idx_outbox_due` (state, next attempt) MySQL read
//! every queued message and sorted them on each poll, so a service that had
//! queued 100,000 invitations spent a quarter of a second of database time
//! a second on polls that found nothing, and seeding slowed down as the
//! queue grew (issue 7). `idx_outbox_queued_order` makes each poll one
//! range of the index, stopped after a batch.

use sea_orm_migration::prelude::*;

/// Adds `idx_outbox_queued_order`.
#[derive(DeriveMigrationName)]
pub struct Migration;

const QUEUED_ORDER: &str = "idx_outbox_queued_order";

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    State,
    CreatedAt,
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
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(QUEUED_ORDER).table(Outbox::Table).to_owned())
            .await
    }
}
