//! WatchChanges streams: how many are open, and how many the server ended
//! and why (a reader too slow, the maximum age), so an operator can tell a
//! cap that refuses too much, or readers that cannot keep up.

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Why the server ended a watch, as the `reason` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchEnd {
    /// It fell too far behind the replica's feed.
    TooSlow,
    /// It reached its maximum age.
    MaxAge,
}

impl WatchEnd {
    fn label(self) -> &'static str {
        match self {
            Self::TooSlow => "too_slow",
            Self::MaxAge => "max_age",
        }
    }
}

/// What the watches record into.
#[derive(Clone, Debug, Default)]
pub struct WatchMetrics {
    open: Gauge,
    ended: Family<[(&'static str, &'static str); 1], Counter>,
}

impl WatchMetrics {
    /// Registers the watch metrics in `registry`, with the feed's `reads`
    /// and the time it last `caught_up_at`.
    pub(super) fn register(
        registry: &mut Registry,
        reads: Counter,
        caught_up_at: Gauge<f64, AtomicU64>,
    ) -> Self {
        let metrics = Self::default();
        registry.register(
            "access_watches_open",
            "WatchChanges streams open on this replica now",
            metrics.open.clone(),
        );
        registry.register(
            "access_watches_ended",
            "WatchChanges streams the server ended with a position to resume from, by reason: too_slow (the reader fell ACCESS_WATCH_BUFFER changes behind), max_age (ACCESS_WATCH_MAX_AGE_SECS)",
            metrics.ended.clone(),
        );
        registry.register(
            "access_change_feed_reads",
            "Reads of the log by this replica's change feed, the one reader every WatchChanges stream follows (each one statement)",
            reads,
        );
        // Both reasons from the start, at 0: rate() and alerts see a
        // series before the first watch ends.
        for why in [WatchEnd::TooSlow, WatchEnd::MaxAge] {
            let _ = metrics.ended.get_or_create(&[("reason", why.label())]);
        }
        registry.register(
            "access_change_feed_caught_up_timestamp_seconds",
            "When this replica's change feed last read up to the newest change, in Unix seconds: time() minus this is how far WatchChanges streams may lag the log",
            caught_up_at,
        );
        metrics
    }

    /// One more watch open.
    pub fn opened(&self) {
        self.open.inc();
    }

    /// One watch fewer open.
    pub fn closed(&self) {
        self.open.dec();
    }

    /// The server ended a watch, for `why`.
    pub fn ended(&self, why: WatchEnd) {
        self.ended.get_or_create(&[("reason", why.label())]).inc();
    }
}
