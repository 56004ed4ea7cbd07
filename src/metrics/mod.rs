//! Prometheus metrics (docs/operations.md, Metrics): requests by gRPC method and status code,
//! the cache's counters and trust, the database pool and the waits for it,
//! invitations by state, the outbox's emails, the open watches, Authorize's
//! answers by reason, the process and the build.
//! Encoded by the Prometheus org's `prometheus-client` in the text
//! exposition format and served on ACCESS_METRICS_ADDR ([`server`]).

mod decisions;
mod pool_wait;
mod process;
mod rpc;
pub mod server;
mod state;
mod stored;
mod watch;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sea_orm::DatabaseConnection;

pub use decisions::DecisionMetrics;
pub use pool_wait::pool_wait;
pub use process::{REVISION, VERSION};
pub use rpc::{Route, Routes, RpcMetrics, code_name};
pub use watch::{WatchEnd, WatchMetrics};

use crate::cache::Cache;
use crate::storage::StatementCounter;
use state::StateCollector;
use stored::StoredGauges;

/// The `Content-Type` of what [`Metrics::render`] returns.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// What the metrics read from: the running service's parts.
pub struct Sources {
    /// The cache whose counters and trust are reported.
    pub cache: Arc<Cache>,
    /// Whether the cache shares Redis with other replicas.
    pub redis: bool,
    /// The requests' connection pool, also used to count invitations and emails.
    pub db: DatabaseConnection,
    /// The statements sent through that pool.
    pub statements: StatementCounter,
    /// The methods the server serves, which label the request metrics.
    pub routes: Routes,
    /// Versions of ACCESS_API_KEYS_FILE that could not be used (always 0
    /// for keys configured inline).
    pub api_key_reload_failures: Counter,
    /// Reads of the log by the change feed the watches follow.
    pub change_feed_reads: Counter,
    /// When the change feed last read up to the newest change.
    pub change_feed_caught_up_at: Gauge<f64, AtomicU64>,
}

/// Every metric of one service instance.
pub struct Metrics {
    registry: Registry,
    rpc: RpcMetrics,
    decisions: DecisionMetrics,
    stored: StoredGauges,
    watches: WatchMetrics,
}

impl Metrics {
    /// Registers every metric, reading from `sources`.
    pub fn new(sources: Sources) -> Arc<Self> {
        let mut registry = Registry::default();
        let rpc = RpcMetrics::register(&mut registry, sources.routes);
        let decisions = DecisionMetrics::register(&mut registry);
        let stored = StoredGauges::register(&mut registry, sources.db.clone());
        pool_wait::register(&mut registry);
        let watches = WatchMetrics::register(
            &mut registry,
            sources.change_feed_reads,
            sources.change_feed_caught_up_at,
        );
        registry.register(
            "access_api_keys_reload_failures",
            "Changed versions of ACCESS_API_KEYS_FILE that could not be used (unreadable, malformed or empty), so the keys in force stayed: a rotation or a revocation that did not take",
            sources.api_key_reload_failures,
        );
        registry.register_collector(Box::new(StateCollector {
            cache: sources.cache,
            redis: sources.redis,
            db: sources.db,
            statements: sources.statements,
        }));
        registry.register_collector(Box::new(process::ProcessCollector));
        Arc::new(Self {
            registry,
            rpc,
            decisions,
            stored,
            watches,
        })
    }

    /// Where the request-metrics layer records.
    pub fn rpc(&self) -> RpcMetrics {
        self.rpc.clone()
    }

    /// Where Authorize and BatchAuthorize count their answers.
    pub fn decisions(&self) -> DecisionMetrics {
        self.decisions.clone()
    }

    /// Where the WatchChanges streams record.
    pub fn watches(&self) -> WatchMetrics {
        self.watches.clone()
    }

    /// The current values in the Prometheus text format (version 0.0.4).
    pub async fn render(&self) -> String {
        self.stored.refresh().await;
        let mut text = String::new();
        if let Err(err) = prometheus_text::encode(&mut text, &self.registry) {
            // Only a failing writer errs, and a String never fails.
            tracing::error!(%err, "encoding the metrics failed");
        }
        text
    }
}
