//! What the email limits count with (docs/email.md, "Limits"):
//!
//! - `outbox.actor_id`: the person whose act wrote the email (the inviter,
//!   the resender, the member asking for access); NULL for the other kinds
//!   and for the emails written before, which no actor limit then counts.
//! - three indexes, one per limit, each a range of one account's, one
//!   actor's or one recipient's emails by time, read newest first and
//!   stopped at the limit: (account_id, created_at), (actor_id,
//!   created_at), (recipient, created_at).
//! - `email_gates`: a fixed set of rows a write locks (`FOR UPDATE`, in
//!   id order) before it counts, each counter hashed to one of them, so two
//!   writes counting the same emails on two replicas take turns and a
//!   limit holds exactly. A fixed set, never grown: no row names anyone,
//!   and two counters sharing a row only wait for each other a moment.

use sea_orm_migration::{prelude::*, schema::*};

/// Adds `outbox.actor_id`, the three indexes and `email_gates` with its rows.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// How many rows `email_gates` holds (the storage hashes counters onto them).
pub const EMAIL_GATES: u16 = 256;

#[derive(DeriveIden)]
enum Outbox {
    Table,
    AccountId,
    ActorId,
    Recipient,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EmailGates {
    Table,
    Id,
}

/// Each index: its name and its columns, the time last.
const INDEXES: [(&str, Outbox); 3] = [
    ("idx_outbox_account_time", Outbox::AccountId),
    ("idx_outbox_actor_time", Outbox::ActorId),
    ("idx_outbox_recipient_time", Outbox::Recipient),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(string_len_null(Outbox::ActorId, 128))
                    .to_owned(),
            )
            .await?;
        for (name, column) in INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Outbox::Table)
                        .col(column)
                        .col(Outbox::CreatedAt)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(EmailGates::Table)
                    .col(integer(EmailGates::Id).primary_key())
                    .to_owned(),
            )
            .await?;
        let mut rows = Query::insert();
        rows.into_table(EmailGates::Table).columns([EmailGates::Id]);
        for id in 0..EMAIL_GATES {
            rows.values_panic([i32::from(id).into()]);
        }
        manager.exec_stmt(rows.to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(EmailGates::Table).to_owned())
            .await?;
        for (name, _) in INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(Outbox::Table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .drop_column(Outbox::ActorId)
                    .to_owned(),
            )
            .await
    }
}
