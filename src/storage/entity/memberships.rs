//! The `memberships` table. Mirrors the migration; never leaves `storage`.

use sea_orm::entity::prelude::*;

/// One row of `memberships`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    pub role_id: String,
    pub owner_slot: Option<i8>,
    pub status: String,
    pub invited_by: Option<String>,
    pub joined_at: i64,
    pub last_sign_in_at: Option<i64>,
    pub updated_at: i64,
    /// The member's email, copied from `users` on insert: the user list's order.
    pub email: String,
    /// When this access ends (Unix ms, UTC), if it does.
    pub ends_at: Option<i64>,
}

/// No relations are declared: joins are written out in the repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
