//! The caller each activity entry came through (`Via`): the kind of
//! credential (`via_kind`: `api_key`, `client_certificate`, `local`,
//! `service`) and its configured name (`via_name`, at most
//! `Via::MAX_NAME_LEN` characters, the bound of key and identity names).
//! Both stay NULL on the entries logged before: nothing recorded their
//! caller, and they read back as unknown rather than as a guess.

use sea_orm_migration::{prelude::*, schema::*};

use crate::domain::model::Via;

/// Adds `activity_log.via_kind` and `activity_log.via_name`, both nullable.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ActivityLog {
    Table,
    ViaKind,
    ViaName,
}

/// Wide enough for every `ViaKind` storage name.
const KIND_LEN: u32 = 32;
/// The longest name: `Via` cuts names to this, and configured key and
/// identity names are never longer.
const NAME_LEN: u32 = 64;

// Fixed here, as the schema is; a longer `Via` name would no longer fit.
const _: () = assert!(Via::MAX_NAME_LEN == NAME_LEN as usize);

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for column in [
            string_len_null(ActivityLog::ViaKind, KIND_LEN),
            string_len_null(ActivityLog::ViaName, NAME_LEN),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ActivityLog::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [ActivityLog::ViaName, ActivityLog::ViaKind] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ActivityLog::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
