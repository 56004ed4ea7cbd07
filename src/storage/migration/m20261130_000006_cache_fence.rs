//! The cache fence: one counter that a write bumps when it cannot reach
//! Redis to tell the other replicas, and that every replica polls. A replica
//! trusts its cached entries only while it has read the fence recently, so a
//! write cut off from Redis alone still reaches every replica (through the
//! database) before it returns. See src/cache/coherence.rs.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates `cache_fence` with its one row.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CacheFence {
    Table,
    Id,
    Generation,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CacheFence::Table)
                    .col(integer(CacheFence::Id).primary_key())
                    .col(big_integer(CacheFence::Generation).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(CacheFence::Table)
                    .columns([CacheFence::Id, CacheFence::Generation])
                    .values_panic([1.into(), 0.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CacheFence::Table).to_owned())
            .await
    }
}
