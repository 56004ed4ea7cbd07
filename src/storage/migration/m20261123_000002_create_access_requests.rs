//! Access requests: a member asks for a permission, a manager decides.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates `access_requests`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AccessRequests {
    Table,
    Id,
    AccountId,
    UserId,
    Permission,
    Note,
    State,
    PendingKey,
    DecidedBy,
    CreatedAt,
    DecidedAt,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Permissions {
    Table,
    Name,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(AccessRequests::Table)
                    .col(string_len(AccessRequests::Id, 128).primary_key())
                    .col(string_len(AccessRequests::AccountId, 128))
                    .col(string_len(AccessRequests::UserId, 128))
                    .col(string_len(AccessRequests::Permission, 64))
                    .col(text(AccessRequests::Note))
                    .col(string_len(AccessRequests::State, 16))
                    // "<user>/<permission>" while pending, NULL once decided: the
                    // unique index keeps one open request per member and permission.
                    .col(string_len_null(AccessRequests::PendingKey, 200))
                    .col(string_len_null(AccessRequests::DecidedBy, 128))
                    .col(big_integer(AccessRequests::CreatedAt))
                    .col(big_integer_null(AccessRequests::DecidedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_requests_account")
                            .from(AccessRequests::Table, AccessRequests::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_access_requests_permission")
                            .from(AccessRequests::Table, AccessRequests::Permission)
                            .to(Permissions::Table, Permissions::Name)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_access_requests_pending")
                    .table(AccessRequests::Table)
                    .col(AccessRequests::AccountId)
                    .col(AccessRequests::PendingKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AccessRequests::Table).to_owned())
            .await
    }
}
