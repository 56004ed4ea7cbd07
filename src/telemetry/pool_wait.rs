//! Feeds the connection-wait histogram from sqlx's acquire events (see
//! `metrics::pool_wait` for why the figure comes this way).

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Where sqlx reports each connection it hands out, with the wait.
const ACQUIRE_TARGET: &str = "sqlx::pool::acquire";
const WAIT_FIELD: &str = "acquired_after_secs";

/// A layer that records the wait of every acquire event it sees, and sees
/// nothing else (its own filter), whatever the log filter says.
pub fn pool_wait_layer<S>() -> impl Layer<S> + Send + Sync
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    // sqlx reports a slow acquire at WARN and the others at the level
    // `storage::connect` asks for (TRACE): every level of the target.
    PoolWaitLayer.with_filter(Targets::new().with_target(ACQUIRE_TARGET, Level::TRACE))
}

struct PoolWaitLayer;

impl<S: Subscriber> Layer<S> for PoolWaitLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut wait = WaitField(None);
        event.record(&mut wait);
        if let Some(seconds) = wait.0 {
            crate::metrics::pool_wait().observe(seconds);
        }
    }
}

/// Picks the wait out of an event's fields.
struct WaitField(Option<f64>);

impl Visit for WaitField {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == WAIT_FIELD {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}
