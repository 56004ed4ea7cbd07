//! Logging set-up. Returns a guard to hold for the life of the process, so
//! that exporters added later can flush on drop.

use tracing_subscriber::EnvFilter;

/// Keeps telemetry alive; dropping it flushes what is buffered.
#[must_use = "hold the guard until the process exits"]
pub struct TelemetryGuard(());

/// Installs the global subscriber with `filter` (EnvFilter syntax); `RUST_LOG` wins when set.
pub fn init(filter: &str) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    // A second init (tests spawning several apps) keeps the first subscriber.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    TelemetryGuard(())
}
