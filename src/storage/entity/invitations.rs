//! The `invitations` table. Mirrors the migration; never leaves `storage`.

use sea_orm::entity::prelude::*;

/// One row of `invitations`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub role_id: Option<String>,
    pub role_name: String,
    pub state: String,
    pub pending_email: Option<String>,
    pub token_hash: String,
    pub invited_by: String,
    #[sea_orm(column_type = "Text")]
    pub message: String,
    pub send_count: i32,
    pub expires_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub accepted_by: Option<String>,
    pub invitee_name: String,
    /// The end of the membership accepting it creates (Unix ms), if any.
    pub member_ends_at: Option<i64>,
}

/// No relations are declared: joins are written out in the repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
