//! The invitee's name an inviter may give: the user list
//! shows it on the pending row until the person accepts with their own name.
//! Existing invitations have none (empty).

use sea_orm_migration::{prelude::*, schema::*};

/// Adds `invitations.invitee_name`, empty for existing rows.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    InviteeName,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    // 200 characters: `MAX_NAME_LEN`, the bound on every person's name.
                    .add_column(string_len(Invitations::InviteeName, 200).default(""))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    .drop_column(Invitations::InviteeName)
                    .to_owned(),
            )
            .await
    }
}
