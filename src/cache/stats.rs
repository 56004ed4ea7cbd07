//! What the cache layers did, counted: tests assert costs with these, and the
//! metrics endpoint (docs/operations.md, Metrics) exports them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared by every layer of one process.
#[derive(Debug, Default)]
pub struct CacheStats {
    local_hits: AtomicU64,
    redis_hits: AtomicU64,
    misses: AtomicU64,
    redis_reads: AtomicU64,
    redis_fills: AtomicU64,
    redis_errors: AtomicU64,
    redis_entries_refused: AtomicU64,
    acks_refused: AtomicU64,
    invalidations_sent: AtomicU64,
    invalidations_received: AtomicU64,
    acks_received: AtomicU64,
    revocations: AtomicU64,
    writes_waited_out: AtomicU64,
    fence_moves: AtomicU64,
    writes_found_in_log: AtomicU64,
    lease_renewals: AtomicU64,
    lease_lapses: AtomicU64,
    local_clears: AtomicU64,
}

/// A snapshot of [`CacheStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Facts answered from this process's memory.
    pub local_hits: u64,
    /// Facts answered from Redis.
    pub redis_hits: u64,
    /// Facts read from the database (every layer missed, or full consistency).
    pub misses: u64,
    /// Redis round trips made to look facts up.
    pub redis_reads: u64,
    /// Redis round trips made to store facts read from the database.
    pub redis_fills: u64,
    /// Redis commands that failed (the answer then came from the database).
    pub redis_errors: u64,
    /// Redis entries whose signature no key accepted (planted, or moved
    /// from another key): read from the database instead.
    pub redis_entries_refused: u64,
    /// Acknowledgements whose signature no key accepted (forged by whoever
    /// can publish on Redis): not believed.
    pub acks_refused: u64,
    /// Invalidations this process published for its writes.
    pub invalidations_sent: u64,
    /// Invalidations this process received from other replicas.
    pub invalidations_received: u64,
    /// Acknowledgements other replicas sent for this process's writes.
    pub acks_received: u64,
    /// Replicas whose lease a write revoked because they did not acknowledge in time.
    pub revocations: u64,
    /// Writes that could not reach Redis and waited a whole lease term instead.
    pub writes_waited_out: u64,
    /// Times a write moved the database's cache fence: Redis could not
    /// confirm its invalidation or a revocation.
    pub fence_moves: u64,
    /// Revisions this process read in the change log before any
    /// invalidation told it of them (a writer slow, or dead after its
    /// COMMIT): it dropped the older entries itself, and Redis's.
    pub writes_found_in_log: u64,
    /// Lease renewals that succeeded.
    pub lease_renewals: u64,
    /// Times this process found its lease lapsed or revoked and dropped its entries.
    pub lease_lapses: u64,
    /// Times this process dropped every local entry.
    pub local_clears: u64,
}

macro_rules! counters {
    ($($field:ident => $bump:ident),* $(,)?) => {
        impl CacheStats {
            $(
                /// Counts one more (see [`CacheCounts`]).
                pub(crate) fn $bump(&self, n: u64) {
                    self.$field.fetch_add(n, Ordering::Relaxed);
                }
            )*

            /// The counts so far.
            pub fn counts(&self) -> CacheCounts {
                CacheCounts {
                    $($field: self.$field.load(Ordering::Relaxed),)*
                }
            }
        }
    };
}

counters! {
    local_hits => local_hit,
    redis_hits => redis_hit,
    misses => miss,
    redis_reads => redis_read,
    redis_fills => redis_fill,
    redis_errors => redis_error,
    redis_entries_refused => redis_entry_refused,
    acks_refused => ack_refused,
    invalidations_sent => invalidation_sent,
    invalidations_received => invalidation_received,
    acks_received => ack_received,
    revocations => revocation,
    writes_waited_out => write_waited_out,
    fence_moves => fence_move,
    writes_found_in_log => write_found_in_log,
    lease_renewals => lease_renewal,
    lease_lapses => lease_lapse,
    local_clears => local_clear,
}
