//! The `activity_log` table. Mirrors the migration; never leaves `storage`.

use sea_orm::entity::prelude::*;

/// One row of `activity_log`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_log")]
pub struct Model {
    /// Internal order (commit order of changes): never shown to callers.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The id callers see: 32 random hex characters.
    pub public_id: String,
    /// The account's revision after the write; 0 for sign-ins and older entries.
    pub revision: i64,
    pub account_id: String,
    pub actor: String,
    /// The caller's kind (`ViaKind`'s storage name); NULL on entries logged
    /// before callers were recorded.
    pub via_kind: Option<String>,
    /// The caller's configured name; NULL with `via_kind`.
    pub via_name: Option<String>,
    pub action: String,
    pub target: String,
    #[sea_orm(column_type = "Text")]
    pub details: String,
    pub created_at: i64,
}

/// No relations are declared: joins are written out in the repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
