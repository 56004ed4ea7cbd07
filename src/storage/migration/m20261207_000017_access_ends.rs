//! Access that ends (docs/domain.md rule 17): `ends_at` (Unix ms, UTC,
//! NULL for access without an end) on `memberships`, `membership_grants`
//! and `membership_scopes`, and `member_ends_at` on `invitations` (the end
//! of the membership accepting it creates). Rows written before have no
//! end, which is what they meant. The index serves ListUsers' "ends within
//! a window" filter: one account's memberships by end.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds the end columns and the index.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Memberships {
    Table,
    AccountId,
    EndsAt,
}

#[derive(DeriveIden)]
enum MembershipGrants {
    Table,
}

#[derive(DeriveIden)]
enum MembershipScopes {
    Table,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    MemberEndsAt,
}

/// The index of one account's memberships by end.
const ENDS_INDEX: &str = "idx_memberships_account_ends";

/// Each table and the column it gains.
fn columns() -> [(DynIden, DynIden); 4] {
    [
        (Memberships::Table.into_iden(), Memberships::EndsAt.into_iden()),
        (
            MembershipGrants::Table.into_iden(),
            Memberships::EndsAt.into_iden(),
        ),
        (
            MembershipScopes::Table.into_iden(),
            Memberships::EndsAt.into_iden(),
        ),
        (
            Invitations::Table.into_iden(),
            Invitations::MemberEndsAt.into_iden(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for (table, column) in columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(big_integer_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(ENDS_INDEX)
                    .table(Memberships::Table)
                    .col(Memberships::AccountId)
                    .col(Memberships::EndsAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(ENDS_INDEX)
                    .table(Memberships::Table)
                    .to_owned(),
            )
            .await?;
        for (table, column) in columns() {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
