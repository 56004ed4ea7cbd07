//! The `outbox` table. Mirrors the migration; never leaves `storage`.

use sea_orm::entity::prelude::*;

/// One row of `outbox`: a message a committed change must send.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub kind: String,
    pub recipient: String,
    #[sea_orm(column_type = "Text")]
    pub facts: String,
    pub token: Option<String>,
    pub state: String,
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub actor_id: Option<String>,
}

/// No relations are declared: joins are written out in the repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
