//! The `outbox_invitations` table. Mirrors the migration; never leaves `storage`.

use sea_orm::entity::prelude::*;

/// One row of `outbox_invitations`: a message offers this invitation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub invitation_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub outbox_id: String,
}

/// No relations are declared: joins are written out in the repository.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
