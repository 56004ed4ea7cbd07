//! Schema migrations, run by `access-service migrate` (and at start-up when configured).

use sea_orm_migration::prelude::*;

mod m20261123_000001_create_schema;
mod m20261123_000002_create_access_requests;
mod m20261123_000003_protect_owner;
mod m20261124_000004_member_list_order;
mod m20261130_000005_account_revisions;
mod m20261130_000006_cache_fence;
mod m20261130_000007_activity_fits_its_values;
mod m20261130_000008_proven_emails;
mod m20261130_000009_invitee_names;
mod m20261201_000010_outbox;
mod m20261201_000011_change_stream;
mod m20261201_000012_shared_resources;
mod m20261201_000013_invitation_indexes;
mod m20261201_000014_outbox_indexes;
mod m20261202_000015_activity_via;
mod m20261203_000016_email_limits;
mod m20261207_000017_access_ends;

pub use m20261203_000016_email_limits::EMAIL_GATES;

/// Case-sensitive, byte-wise text on MySQL (ids are opaque: `Acme` is not
/// `acme`), as SQLite's default already is.
pub(super) fn binary_collation(
    manager: &SchemaManager,
    mut table: TableCreateStatement,
) -> TableCreateStatement {
    if manager.get_database_backend() == sea_orm::DatabaseBackend::MySql {
        table.character_set("utf8mb4").collate("utf8mb4_bin");
    }
    table
}

/// Every migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_schema::Migration),
            Box::new(m20261123_000002_create_access_requests::Migration),
            Box::new(m20261123_000003_protect_owner::Migration),
            Box::new(m20261124_000004_member_list_order::Migration),
            Box::new(m20261130_000005_account_revisions::Migration),
            Box::new(m20261130_000006_cache_fence::Migration),
            Box::new(m20261130_000007_activity_fits_its_values::Migration),
            Box::new(m20261130_000008_proven_emails::Migration),
            Box::new(m20261130_000009_invitee_names::Migration),
            Box::new(m20261201_000010_outbox::Migration),
            Box::new(m20261201_000011_change_stream::Migration),
            Box::new(m20261201_000012_shared_resources::Migration),
            Box::new(m20261201_000013_invitation_indexes::Migration),
            Box::new(m20261201_000014_outbox_indexes::Migration),
            Box::new(m20261202_000015_activity_via::Migration),
            Box::new(m20261203_000016_email_limits::Migration),
            Box::new(m20261207_000017_access_ends::Migration),
        ]
    }
}
