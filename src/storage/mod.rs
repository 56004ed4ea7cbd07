//! Persistence on SeaORM: MySQL in production, SQLite embedded by default.

pub(crate) mod entity;
pub(crate) mod error;
pub mod migration;
pub(crate) mod repository;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;

pub use repository::SeaStore;

/// How many SQL statements this process has sent through one connection pool
/// (transactions included; BEGIN and COMMIT are not counted). Tests assert
/// per-call budgets with it, and the metrics endpoint will export it.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Statements executed so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Connects to `url` (mysql://... or sqlite://...), counting every statement
/// in the returned counter.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
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
    let mut db = Database::connect(options).await?;
    let counter = StatementCounter::default();
    let count = Arc::clone(&counter.0);
    db.set_metric_callback(move |_| {
        count.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
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
