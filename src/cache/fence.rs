//! The cache fence: the coherence protocol's second channel to the other
//! replicas, for a write that cannot reach Redis. A generation kept in the
//! database every replica reads: the cache owns what it must do, and
//! `storage` implements it (app.rs hands it over).
//!
//! The same read follows the change log: every committed change carries
//! the revision it gave its account, numbered in commit order, so a
//! replica that reads "every change after N" on each fence read hears of
//! every write within a quarter term, even of one whose writer died between
//! its COMMIT and its invalidation.

use async_trait::async_trait;

use crate::domain::model::AccountRevision;

/// What one read of the fence found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FenceRead {
    /// The fence's generation.
    pub generation: i64,
    /// The revisions of the changes committed after the position read
    /// from, oldest first.
    pub written: Vec<AccountRevision>,
    /// The position of the last change read (the one read from, when none).
    pub through: i64,
    /// Whether `written` reaches the end of the log; when not, the reader
    /// reads again from `through` at once.
    pub complete: bool,
    /// How far the database's clock was ahead of this replica's, in
    /// milliseconds, if it could be read: access ends are judged on the
    /// replica's clock, so the fence loop watches it (docs/consistency.md).
    pub clock_skew_ms: Option<i64>,
}

/// A generation in the database, read by every replica every `term / 4`,
/// with the change log since the last read.
#[async_trait]
pub trait Fence: Send + Sync {
    /// The fence's generation now, and the changes committed after
    /// position `after`; with `None` (a replica's first read), the newest
    /// changes, up to a bound, so a replica that starts refuses entries
    /// older than the writes committed just before it.
    async fn read(&self, after: Option<i64>) -> anyhow::Result<FenceRead>;
    /// Moves the fence: every replica drops its cached entries at its next read.
    async fn bump(&self) -> anyhow::Result<()>;
}
