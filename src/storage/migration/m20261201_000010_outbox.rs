//! The transactional outbox (docs/email.md): every message a change must send is
//! written in the change's own transaction, and a dispatcher delivers it
//! later. `outbox_invitations` says which invitations a message offers, so
//! ListInvitations can show each invitation's delivery.

use sea_orm_migration::{prelude::*, schema::*};

/// Creates `outbox` and `outbox_invitations`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    Id,
    AccountId,
    Kind,
    Recipient,
    Facts,
    Token,
    State,
    Attempts,
    LastError,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    CreatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum OutboxInvitations {
    Table,
    OutboxId,
    InvitationId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(Outbox::Table)
                    .col(string_len(Outbox::Id, 36).primary_key())
                    .col(string_len(Outbox::AccountId, 128))
                    .col(string_len(Outbox::Kind, 32))
                    // 320: the longest address SMTP allows (64 + 1 + 255).
                    .col(string_len(Outbox::Recipient, 320))
                    // The template's variables (JSON), never a secret.
                    .col(text(Outbox::Facts))
                    // The raw invitation token, only until the message is
                    // sent (or has failed for good): then NULL.
                    .col(string_len_null(Outbox::Token, 128))
                    .col(string_len(Outbox::State, 16))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(text_null(Outbox::LastError))
                    .col(big_integer(Outbox::NextAttemptAt))
                    // The dispatcher holding the row, and until when: one
                    // attempt in flight per message across replicas.
                    .col(string_len_null(Outbox::LeaseOwner, 64))
                    .col(big_integer_null(Outbox::LeaseUntil))
                    .col(big_integer(Outbox::CreatedAt))
                    .col(big_integer_null(Outbox::SentAt))
                    .to_owned(),
            ))
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outbox_due")
                    .table(Outbox::Table)
                    .col(Outbox::State)
                    .col(Outbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(super::binary_collation(
                manager,
                Table::create()
                    .table(OutboxInvitations::Table)
                    .col(string_len(OutboxInvitations::InvitationId, 128))
                    .col(string_len(OutboxInvitations::OutboxId, 36))
                    .primary_key(
                        Index::create()
                            .col(OutboxInvitations::InvitationId)
                            .col(OutboxInvitations::OutboxId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outbox_invitations_outbox")
                            .from(OutboxInvitations::Table, OutboxInvitations::OutboxId)
                            .to(Outbox::Table, Outbox::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OutboxInvitations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Outbox::Table).to_owned())
            .await
    }
}
