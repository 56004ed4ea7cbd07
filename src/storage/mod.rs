//! Persistence on SeaORM: MySQL in production, SQLite embedded by default.

pub(crate) mod entity;
pub(crate) mod error;
pub mod migration;
pub(crate) mod repository;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use repository::{
    CacheFence, MAX_PAIRS, OutboxCounts, OutboxStore, SeaStore, invitation_count_statements,
    invitation_counts, outbox_counts, queued_after_statement,
};

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

/// Told of every statement once it is done: how long it took, whether it
/// failed, and (called only when wanted) the name and attributes of its span.
/// app.rs hands in the one that records a client span in the trace.
pub type StatementObserver = fn(Duration, bool, &dyn Fn() -> (String, Vec<opentelemetry::KeyValue>));

/// Connects to `url` (mysql://... or sqlite://...), counting every statement
/// in the returned counter and telling `observe` of each.
pub async fn connect(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
    observe: StatementObserver,
) -> anyhow::Result<(DatabaseConnection, StatementCounter)> {
    let mut options = ConnectOptions::new(url.to_owned());
    let max_connections = if url.starts_with("sqlite:") {
        // One connection: SQLite allows a single writer, and a shared
        // connection turns would-be SQLITE_BUSY errors into a short queue.
        1
    } else {
        // Two at least: `migrate` holds one for its advisory lock while the
        // migrations run on another.
        max_connections.max(2)
    };
    options
        .max_connections(max_connections)
        .min_connections(1)
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false)
        // sqlx then reports each connection's wait as a TRACE event, which
        // telemetry's pool-wait layer turns into the wait histogram.
        .map_sqlx_mysql_pool_opts(|pool| pool.acquire_time_level(log::LevelFilter::Trace))
        .map_sqlx_sqlite_pool_opts(|pool| pool.acquire_time_level(log::LevelFilter::Trace));
    let system = if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "mysql"
    };
    let mut db = Database::connect(options).await?;
    let counter = StatementCounter::default();
    let count = Arc::clone(&counter.0);
    db.set_metric_callback(move |info| {
        count.fetch_add(1, Ordering::Relaxed);
        observe(info.elapsed, info.failed, &|| {
            statement_span(system, &info.statement.sql)
        });
    });
    Ok((db, counter))
}

/// Whether `url` names an in-memory SQLite database: each connection pool
/// would have a database of its own, so whatever reads what the requests
/// wrote must read through their pool.
pub fn in_memory(url: &str) -> bool {
    url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory"))
}

/// The name and attributes of a statement's span (OpenTelemetry database
/// conventions). The SQL has placeholders, never the values.
fn statement_span(system: &'static str, sql: &str) -> (String, Vec<opentelemetry::KeyValue>) {
    use opentelemetry::KeyValue;
    let operation = sql
        .split_whitespace()
        .next()
        .unwrap_or("SQL")
        .to_ascii_uppercase();
    let attributes = vec![
        KeyValue::new("db.system.name", system),
        KeyValue::new("db.operation.name", operation.clone()),
        KeyValue::new("db.query.text", sql.to_owned()),
    ];
    (operation, attributes)
}

/// How a connection pool is used right now, for the metrics endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open, idle or lent out.
    pub open: u64,
    /// Open connections waiting in the pool.
    pub idle: u64,
    /// Most connections the pool opens; when `open - idle` reaches it,
    /// requests wait for a connection (up to ACCESS_DB_ACQUIRE_TIMEOUT_MS).
    pub max: u64,
}

/// The pool behind `db` as it is now.
pub fn pool_usage(db: &DatabaseConnection) -> PoolUsage {
    fn of<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> PoolUsage {
        PoolUsage {
            open: u64::from(pool.size()),
            idle: pool.num_idle() as u64,
            max: u64::from(pool.options().get_max_connections()),
        }
    }
    // SeaORM's backend enum is non-exhaustive.
    #[allow(clippy::wildcard_enum_match_arm)]
    match db.get_database_backend() {
        DbBackend::MySql => of(db.get_mysql_connection_pool()),
        DbBackend::Sqlite => of(db.get_sqlite_connection_pool()),
        // Not a backend this service connects to (see `connect`).
        _ => PoolUsage::default(),
    }
}

/// The MySQL advisory lock that serialises migrations across replicas. Lock
/// names are server-wide, so the database's own name is part of it (hashed:
/// names are limited to 64 characters): services on other databases of the
/// same server never wait for each other.
const MIGRATION_LOCK: &str = "CONCAT('access.migrate.', SHA1(DATABASE()))";
/// How long a replica waits for another one's migrations before giving up.
const MIGRATION_LOCK_WAIT_SECS: i64 = 120;

/// Applies pending migrations, then mirrors the permission catalogue and
/// built-in roles from code into the database.
///
/// On MySQL both run under an advisory lock: replicas that start together on
/// an empty database would otherwise all see the schema missing and all try
/// to create it ("Table 'accounts' already exists"). With the lock the first
/// replica migrates and the others find the work done. SQLite is the embedded,
/// single-process default and needs none.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::MySql {
        return migrate_unlocked(db).await;
    }
    // GET_LOCK belongs to a session: a transaction pins one pooled connection
    // for it while the migrations run on the others (see `connect`).
    let session = db.begin().await?;
    let granted = session
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::MySql,
            format!("SELECT GET_LOCK({MIGRATION_LOCK}, ?)"),
            [MIGRATION_LOCK_WAIT_SECS.into()],
        ))
        .await?
        .and_then(|row| row.try_get_by_index::<Option<i64>>(0).ok().flatten());
    if granted != Some(1) {
        anyhow::bail!(
            "another replica has held this database's migration lock for over {MIGRATION_LOCK_WAIT_SECS} s"
        );
    }
    let result = migrate_unlocked(db).await;
    // Released on every path (closing the session would release it too); a
    // migration error outranks a release error.
    let released = session
        .execute_unprepared(&format!("DO RELEASE_LOCK({MIGRATION_LOCK})"))
        .await;
    result?;
    released?;
    session.commit().await?;
    Ok(())
}

async fn migrate_unlocked(db: &DatabaseConnection) -> anyhow::Result<()> {
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

/// The database's clock, in Unix milliseconds, as a SELECT expression of the backend.
pub(crate) fn clock_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        // UNIX_TIMESTAMP of NOW is UTC whatever the session's time zone.
        DbBackend::MySql => "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
        DbBackend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        _ => "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
    }
}

/// How far the database's clock is ahead of this replica's (negative:
/// behind), in milliseconds, from one round trip: the database's reading
/// against the middle of the call on ours. Ends are judged on the replica's
/// clock (docs/consistency.md, "Time"); this bounds how wrong it may be.
pub async fn clock_skew_ms(db: &DatabaseConnection) -> anyhow::Result<i64> {
    let backend = db.get_database_backend();
    let sent = chrono::Utc::now().timestamp_millis();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            format!("SELECT {}", clock_sql(backend)),
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("the database returned no time"))?;
    let received = chrono::Utc::now().timestamp_millis();
    let database = row.try_get_by_index::<i64>(0)?;
    Ok(database - (sent + received) / 2)
}

/// The skew of [`clock_skew_ms`], refused past `max_ms`: a replica whose
/// clock is that far off would end access early or late by as much.
pub async fn check_clock(db: &DatabaseConnection, max_ms: u64) -> anyhow::Result<i64> {
    let skew = clock_skew_ms(db).await?;
    anyhow::ensure!(
        skew.unsigned_abs() <= max_ms,
        "this machine's clock is {skew} ms off the database's, more than ACCESS_MAX_CLOCK_SKEW_MS \
         ({max_ms}): access ends are judged on this clock, so fix its time synchronisation (NTP) first"
    );
    Ok(skew)
}
