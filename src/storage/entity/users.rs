//! The `users` table. Mirrors the migration; never leaves `storage`.

use sea_orm::entity::prelude::*;

/// One row of `users`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub email: String,
    pub name: String,
    pub created_at: i64,
    /// Whether the email was proven (an invitation to it accepted): docs/domain.md rule 9.
    pub email_proven: bool,
}

/// No relations are declared: joins are written out in the repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
