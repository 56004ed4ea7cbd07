//! Persistence on SeaORM: MySQL in production, SQLite embedded by default.

pub mod entity;
pub mod error;
pub mod migration;
pub mod repository;

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;

pub use repository::SeaStore;

/// Connects to `url` (mysql://... or sqlite://...).
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    let max_connections = if url.starts_with("sqlite:") {
        // One connection: SQLite allows a single writer, and a shared
        // connection turns would-be SQLITE_BUSY errors into a short queue.
        1
    } else {
        max_connections
    };
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false);
    Ok(Database::connect(options).await?)
}

/// Applies pending migrations, then mirrors the permission catalogue and
/// built-in roles from code into the database.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    migration::Migrator::up(db, None).await?;
    repository::seed_catalogue(db, Utc::now())
        .await
        .map_err(|err| anyhow::anyhow!("seeding the catalogue failed: {err}"))?;
    Ok(())
}

/// Human-readable backend name, for the start-up log.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::MySql => "MySQL",
        DbBackend::Sqlite => "SQLite",
        DbBackend::Postgres => "PostgreSQL",
        _ => "unknown",
    }
}
