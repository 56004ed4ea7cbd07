//! The `accounts` table. Mirrors the migration; never leaves `storage`.

use sea_orm::entity::prelude::*;

/// One row of `accounts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    pub state: String,
    pub require_two_factor: bool,
    pub max_members: Option<i32>,
    pub max_restricted_members: Option<i32>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub revision: i64,
}

/// No relations are declared: joins are written out in the repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
