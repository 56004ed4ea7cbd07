//! How long requests waited for a database connection.
//!
//! sqlx measures every wait inside `Pool::acquire` but keeps the figure to
//! itself, except in a tracing event (target `sqlx::pool::acquire`, field
//! `acquired_after_secs`) emitted when the pool's `acquire_time_level` is
//! set, which `storage::connect` does. `telemetry::PoolWaitLayer` turns each
//! such event into a sample here.
//!
//! The histogram is process-wide, as tracing's dispatch is: in production a
//! process runs one service, so it is that service's pool (and the cache
//! fence's small pool beside it).

use std::sync::OnceLock;

use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// From a connection handed over at once (tens of µs) to the acquire
/// timeout's order (ACCESS_DB_ACQUIRE_TIMEOUT_MS, seconds).
const BUCKETS: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// The process's connection-wait histogram.
pub fn pool_wait() -> &'static Histogram {
    static WAIT: OnceLock<Histogram> = OnceLock::new();
    WAIT.get_or_init(|| Histogram::new(BUCKETS))
}

/// Exports the histogram in `registry` (it is shared, not copied).
pub(super) fn register(registry: &mut Registry) {
    registry.register(
        "access_db_pool_wait_seconds",
        "Time a request waited for a database connection from the pool; long waits mean the pool (ACCESS_DB_MAX_CONNECTIONS) is too small for the load",
        pool_wait().clone(),
    );
}
