//! The cache fence: the coherence protocol's second channel to the other
//! replicas, for a write that cannot reach Redis. A generation kept in the
//! database every replica reads: the cache owns what it must do, and
//! `storage` implements it (app.rs hands it over).

use async_trait::async_trait;

/// A generation in the database, read by every replica every `term / 4`.
#[async_trait]
pub trait Fence: Send + Sync {
    /// The fence's generation now.
    async fn read(&self) -> anyhow::Result<i64>;
    /// Moves the fence: every replica drops its cached entries at its next read.
    async fn bump(&self) -> anyhow::Result<()>;
}
