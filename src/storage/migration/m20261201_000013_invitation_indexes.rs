//! Indexes for reading invitations a page at a time and counting them by
//! state, without reading the whole table:
//!
//! - `idx_invitations_account_created` (account, created, id): ListInvitations
//!   without a state filter, newest first, is one range of it read backwards
//!   from the page key and stopped after a page;
//! - `idx_invitations_account_state` (account, state, created, id): the same
//!   with a state filter (expired and pending are both stored `pending`, told
//!   apart by `expires_at` on the rows of the range);
//! - `idx_invitations_state_expiry` (state, expiry): the invitations-by-state
//!   gauge groups by state over this index instead of the table, and counts
//!   the expired ones (pending, past their expiry) in one range of it.

use sea_orm_migration::prelude::*;

/// Adds the three invitation indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

const ACCOUNT_CREATED: &str = "idx_invitations_account_created";
const ACCOUNT_STATE: &str = "idx_invitations_account_state";
const STATE_EXPIRY: &str = "idx_invitations_state_expiry";

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    AccountId,
    State,
    ExpiresAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let indexes: [(&str, Vec<Invitations>); 3] = [
            (
                ACCOUNT_CREATED,
                vec![Invitations::AccountId, Invitations::CreatedAt, Invitations::Id],
            ),
            (
                ACCOUNT_STATE,
                vec![
                    Invitations::AccountId,
                    Invitations::State,
                    Invitations::CreatedAt,
                    Invitations::Id,
                ],
            ),
            (STATE_EXPIRY, vec![Invitations::State, Invitations::ExpiresAt]),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(Invitations::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in [STATE_EXPIRY, ACCOUNT_STATE, ACCOUNT_CREATED] {
            manager
                .drop_index(Index::drop().name(name).table(Invitations::Table).to_owned())
                .await?;
        }
        Ok(())
    }
}
