//! Whether a user's email was proven (docs/domain.md rule 9): an address
//! taken by accepting an invitation sent to it is proven; one only claimed
//! (the owner named in CreateAccount, until callers authenticate) is not,
//! and a later proof takes it over. Existing users who accepted an
//! invitation to their current address are proven; everyone else starts
//! unproven.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds `users.email_proven`, filled from accepted invitations.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    EmailProven,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Users::EmailProven).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE users SET email_proven = TRUE WHERE EXISTS (SELECT 1 FROM invitations \
                 WHERE invitations.accepted_by = users.id AND invitations.email = users.email \
                 AND invitations.state = 'accepted')",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::EmailProven)
                    .to_owned(),
            )
            .await
    }
}
