//! The user list read one page at a time (the order of rule 13 of docs/domain.md): each
//! membership carries its member's email, so that one index, (account,
//! status, owner slot, email), yields an account's active or deactivated
//! members in list order from any page key, without reading or sorting the
//! whole account. The owner slot sits before the email so that "not the
//! owner" (`owner_slot IS NULL`) is part of the range: without it SQLite
//! preferred `uq_memberships_one_owner` for the first page and sorted the
//! whole account.
//! Pending invitations already have theirs: `uq_invitations_pending` is
//! (account, pending email).
//!
//! Memberships are inserted with the email read from `users` in the same
//! statement, and a user's email changes only together with these copies
//! (`people::update_identity`, since migration 8), so the copy cannot go stale.
//! Both databases compare it byte-wise (`utf8mb4_bin` on MySQL, BINARY on
//! SQLite), as the domain's in-memory order does.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds `memberships.email` (filled from `users`) and `idx_memberships_list`.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Length of email columns, as in the first schema.
const TEXT: u32 = 255;
const INDEX: &str = "idx_memberships_list";

#[derive(DeriveIden)]
enum Memberships {
    Table,
    AccountId,
    Status,
    OwnerSlot,
    Email,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    // A default, since SQLite adds a NOT NULL column only with
                    // one; every insert sets the real value.
                    .add_column(string_len(Memberships::Email, TEXT).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE memberships SET email = \
                 (SELECT users.email FROM users WHERE users.id = memberships.user_id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Memberships::Table)
                    .col(Memberships::AccountId)
                    .col(Memberships::Status)
                    .col(Memberships::OwnerSlot)
                    .col(Memberships::Email)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Memberships::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .drop_column(Memberships::Email)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
