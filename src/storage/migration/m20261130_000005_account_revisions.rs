//! Revisions (docs/domain.md rule 11): every account counts the writes
//! committed to it. A write bumps the revision of each account it locked in
//! the same transaction as the change, and a decision's facts carry the
//! revision they were read at, which is how every cache layer tells a fresh
//! entry from a stale one.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds `accounts.revision`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Revision,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    // Existing accounts start at 1; 0 means "no such account".
                    .add_column(big_integer(Accounts::Revision).default(1))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .drop_column(Accounts::Revision)
                    .to_owned(),
            )
            .await
    }
}
