//! Schema migrations, run by `access-service migrate` (and at start-up when configured).

use sea_orm_migration::prelude::*;

mod m20261123_000001_create_schema;

/// Every migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261123_000001_create_schema::Migration)]
    }
}
