//! What the process already counts or knows, read at scrape time: the
//! cache's counters (kept by `cache::CacheStats`, never counted twice), its
//! trust in its entries, and the database pool.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use sea_orm::DatabaseConnection;

use crate::cache::Cache;
use crate::storage::{self, StatementCounter};

/// One series of a family: its label (if any) and value.
type Series<'a> = (Option<(&'a str, &'a str)>, u64);

/// Reads the cache and the pool on each scrape.
pub(super) struct StateCollector {
    pub(super) cache: Arc<Cache>,
    pub(super) redis: bool,
    pub(super) db: DatabaseConnection,
    pub(super) statements: StatementCounter,
}

impl fmt::Debug for StateCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateCollector")
            .field("redis", &self.redis)
            .finish_non_exhaustive()
    }
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let e = &mut encoder;
        let c = self.cache.stats().counts();
        counter(
            e,
            "access_cache_hits",
            "Facts answered from a cache layer (local: this process's memory; redis: shared by the replicas)",
            &[
                (Some(("layer", "local")), c.local_hits),
                (Some(("layer", "redis")), c.redis_hits),
            ],
        )?;
        counter(
            e,
            "access_cache_misses",
            "Facts read from the database: every layer missed, or the caller asked for full consistency",
            &[(None, c.misses)],
        )?;
        counter(
            e,
            "access_cache_redis_round_trips",
            "Redis round trips to look facts up (lookup) or store facts read from the database (fill)",
            &[
                (Some(("purpose", "lookup")), c.redis_reads),
                (Some(("purpose", "fill")), c.redis_fills),
            ],
        )?;
        counter(
            e,
            "access_cache_redis_errors",
            "Redis commands that failed; the answer then came from the database",
            &[(None, c.redis_errors)],
        )?;
        counter(
            e,
            "access_cache_invalidations",
            "Invalidations this replica published for its writes (sent) or received from other replicas (received)",
            &[
                (Some(("direction", "sent")), c.invalidations_sent),
                (Some(("direction", "received")), c.invalidations_received),
            ],
        )?;
        counter(
            e,
            "access_cache_acks_received",
            "Acknowledgements other replicas sent for this replica's writes",
            &[(None, c.acks_received)],
        )?;
        counter(
            e,
            "access_cache_lease_renewals",
            "Lease renewals that succeeded",
            &[(None, c.lease_renewals)],
        )?;
        counter(
            e,
            "access_cache_lease_lapses",
            "Times this replica found its lease lapsed or revoked and dropped its entries",
            &[(None, c.lease_lapses)],
        )?;
        counter(
            e,
            "access_cache_lease_revocations",
            "Leases of other replicas this replica's writes revoked because they did not acknowledge in time",
            &[(None, c.revocations)],
        )?;
        counter(
            e,
            "access_cache_writes_waited_out",
            "Writes that could not reach Redis and waited a whole lease term instead",
            &[(None, c.writes_waited_out)],
        )?;
        counter(
            e,
            "access_cache_fence_moves",
            "Times this replica's writes moved the database's cache fence because Redis could not confirm an invalidation or a revocation",
            &[(None, c.fence_moves)],
        )?;
        counter(
            e,
            "access_cache_redis_entries_refused",
            "Redis entries whose signature no key of ACCESS_REDIS_ENTRY_KEYS_FILE accepted (planted, or moved from another key)",
            &[(None, c.redis_entries_refused)],
        )?;
        counter(
            e,
            "access_cache_acks_refused",
            "Acknowledgements of this replica's writes whose signature no key of ACCESS_REDIS_ENTRY_KEYS_FILE accepted: not believed",
            &[(None, c.acks_refused)],
        )?;
        counter(
            e,
            "access_cache_writes_found_in_log",
            "Revisions this replica read in the change log before any invalidation told it of them (a writer slow, or dead after its COMMIT)",
            &[(None, c.writes_found_in_log)],
        )?;
        counter(
            e,
            "access_cache_local_clears",
            "Times this replica dropped every entry of its in-process layer",
            &[(None, c.local_clears)],
        )?;
        let (entries, bytes) = self.cache.local_size();
        gauge(
            e,
            "access_cache_local_entries",
            "Entries in the in-process layer",
            &[(None, entries)],
        )?;
        gauge(
            e,
            "access_cache_local_bytes",
            "Estimated bytes of the in-process layer (bounded by ACCESS_CACHE_MAX_BYTES)",
            &[(None, bytes)],
        )?;
        gauge(
            e,
            "access_cache_redis_enabled",
            "1 when ACCESS_REDIS_URL is set (replicas share Redis), 0 for a single replica",
            &[(None, u64::from(self.redis))],
        )?;
        gauge(
            e,
            "access_cache_trusted",
            "1 while this replica may answer from its caches (always without Redis; with Redis while its lease is live), 0 while Redis is unreachable and every check reads the database",
            &[(None, u64::from(self.cache.trusted()))],
        )?;
        let pool = storage::pool_usage(&self.db);
        gauge(
            e,
            "access_db_pool_connections",
            "Database connections open in the pool, idle or in use by a request; requests wait when in_use reaches the maximum",
            &[
                (Some(("state", "idle")), pool.idle),
                (Some(("state", "in_use")), pool.open.saturating_sub(pool.idle)),
            ],
        )?;
        gauge(
            e,
            "access_db_pool_max_connections",
            "Most connections the pool opens (ACCESS_DB_MAX_CONNECTIONS; 1 on SQLite)",
            &[(None, pool.max)],
        )?;
        counter(
            e,
            "access_db_statements",
            "SQL statements sent through the requests' pool, transaction control excluded (start-up migrations and the invitation counts included)",
            &[(None, self.statements.get())],
        )
    }
}

/// The two kinds of series this collector reports.
#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, series: &[Series]) -> Result<(), fmt::Error> {
    family(e, name, help, Kind::Counter, series)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, series: &[Series]) -> Result<(), fmt::Error> {
    family(e, name, help, Kind::Gauge, series)
}

fn family(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: Kind,
    series: &[Series],
) -> Result<(), fmt::Error> {
    let metric_type = match kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
    };
    let mut metric = e.encode_descriptor(name, help, None, metric_type)?;
    for (label, value) in series {
        let labels: &[(&str, &str)] = match label {
            Some(label) => std::slice::from_ref(label),
            None => &[],
        };
        let encoder = metric.encode_family(&labels)?;
        match kind {
            Kind::Counter => ConstCounter::new(*value).encode(encoder)?,
            // Gauges are i64 in the text encoder; these values are small counts.
            Kind::Gauge => ConstGauge::new(i64::try_from(*value).unwrap_or(i64::MAX)).encode(encoder)?,
        }
    }
    Ok(())
}
