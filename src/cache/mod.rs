//! The cache layers in front of the store, for Authorize and its kin:
//! an in-process layer ([`local`]), a Redis layer shared by every replica
//! ([`shared`]), and the protocol that keeps them coherent ([`coherence`]).
//!
//! A check looks in memory, then in Redis (one round trip for every pair it
//! asks about), then reads the database once for what is left, and fills
//! both layers. Freshness rests on revisions: every entry carries the
//! revision of its account (and parent) it was read at, every write bumps
//! them, and no layer serves an entry older than a write that has returned.
//! With no Redis configured (one replica, the embedded default) the local
//! layer is invalidated in-process, synchronously.

mod clock;
mod codec;
mod coherence;
mod fence;
mod local;
mod scripts;
mod shared;
mod signing;
mod stats;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tracing::Instrument;
use tracing::instrument::WithSubscriber;

pub use coherence::LeaseSettings;
pub use fence::{Fence, FenceRead};
pub use signing::EntryKeys;
pub use stats::{CacheCounts, CacheStats};

use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::{AccessFacts, Consistency, ConsistencyToken, WriteReceipt};
use crate::domain::ports::{CommitFailed, FactsCache, Reads, Transaction};
use crate::domain::{DomainError, DomainResult};
use crate::redis_keys::Keys;

use coherence::Coherence;
use local::LocalLayer;
use shared::{Looked, SharedLayer};

/// How the layers are sized and timed.
#[derive(Clone, Debug)]
pub struct CacheSettings {
    /// Most bytes the in-process layer holds (estimated); 0 turns it off.
    pub local_max_bytes: u64,
    /// Longest an entry lives in either layer, whatever happens: a safety
    /// net, never what freshness relies on.
    pub ttl: Duration,
    /// The lease protocol's timings (with Redis).
    pub leases: LeaseSettings,
    /// Prefix of every Redis key and channel.
    pub namespace: String,
}

/// Redis and the protocol over it.
struct Redis {
    layer: SharedLayer,
    coherence: Arc<Coherence>,
}

/// The cache in front of the store: implements the domain's [`FactsCache`],
/// reading what no layer holds from the store it was built with.
pub struct Cache {
    store: Arc<dyn Reads>,
    local: Arc<LocalLayer>,
    redis: Option<Redis>,
    stats: Arc<CacheStats>,
}

impl Cache {
    /// The in-process layer alone, in front of `store`: one replica,
    /// invalidated synchronously.
    pub fn in_process(store: Arc<dyn Reads>, settings: &CacheSettings) -> Self {
        let stats = Arc::new(CacheStats::default());
        Self {
            store,
            local: Arc::new(LocalLayer::new(
                settings.local_max_bytes,
                settings.ttl,
                Arc::clone(&stats),
            )),
            redis: None,
            stats,
        }
    }

    /// Both layers in front of `store`, over the Redis `client` reaches, with the
    /// database's cache `fence` as the second channel to the other replicas.
    /// Starts even when Redis is down: checks then read the database until
    /// it is back.
    pub fn with_redis(
        store: Arc<dyn Reads>,
        client: redis::Client,
        settings: &CacheSettings,
        fence: Arc<dyn Fence>,
        signatures: EntryKeys,
    ) -> anyhow::Result<Self> {
        let mut cache = Self::in_process(store, settings);
        // Short timeouts: a Redis that does not answer must cost a check
        // little more than the database read it falls back to.
        let io_timeout = (settings.leases.term / 4).max(Duration::from_millis(50));
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(io_timeout))
            .set_response_timeout(Some(io_timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        // The protocol's own connection: renewals, acknowledgements and
        // revocations never queue behind lookups and fills, so a busy data
        // connection cannot make a replica lapse, or a writer revoke one.
        let protocol = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let keys = Keys::new(&settings.namespace);
        let layer = SharedLayer::new(
            conn,
            keys,
            settings.ttl,
            Arc::clone(&cache.stats),
            Arc::new(signatures),
        );
        let coherence = Coherence::start(
            client,
            protocol,
            layer.clone(),
            Arc::clone(&cache.local),
            Arc::clone(&cache.stats),
            settings.leases,
            fence,
        );
        cache.redis = Some(Redis { layer, coherence });
        Ok(cache)
    }

    /// What the layers have done so far.
    pub fn stats(&self) -> Arc<CacheStats> {
        Arc::clone(&self.stats)
    }

    /// Puts facts into the in-process layer as a database read would: how
    /// the benchmark measures the memory a million entries take.
    pub fn prime(&self, account: &AccountId, user: &UserId, facts: AccessFacts) {
        self.local
            .insert(account, user, Arc::new(facts), self.local.epoch());
    }

    /// Entries in the in-process layer, and their estimated bytes.
    pub fn local_size(&self) -> (u64, u64) {
        self.local.size()
    }

    /// Whether this replica may answer from cached entries now (always,
    /// without Redis; with it, while its lease is live).
    pub fn trusted(&self) -> bool {
        self.redis.as_ref().is_none_or(|redis| redis.coherence.trusted())
    }

    /// Gives the lease back (writers stop waiting for this replica at once).
    pub async fn stop(&self) {
        if let Some(redis) = &self.redis {
            redis.coherence.stop().await;
        }
    }
}

/// The facts of every pair, in order; a gap is a bug, never a shifted answer.
fn all_found(found: Vec<Option<Arc<AccessFacts>>>) -> DomainResult<Vec<Arc<AccessFacts>>> {
    found
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| DomainError::Internal("the cache lost the facts of a pair".into()))
}

/// Whether cached facts may answer a check with this requirement.
fn fresh_enough(account: &AccountId, facts: &AccessFacts, token: Option<&ConsistencyToken>) -> bool {
    token.is_none_or(|token| facts.satisfies(account, token))
}

#[async_trait]
impl FactsCache for Cache {
    async fn access_facts_of(
        &self,
        pairs: &[(&AccountId, &UserId)],
        consistency: &Consistency,
    ) -> DomainResult<Vec<Arc<AccessFacts>>> {
        let token = match consistency {
            Consistency::Full => {
                self.stats.miss(pairs.len() as u64);
                let read = self.store.access_facts_of(pairs).await?;
                return Ok(read.into_iter().map(Arc::new).collect());
            }
            Consistency::AtLeastAsFresh(token) => Some(token),
            Consistency::MinimizeLatency => None,
        };
        // Read before anything else, so a clear in between voids our fills.
        let local_epoch = self.local.epoch();
        let trusted = self.trusted();
        // Shared, not copied: a warm check clones no facts.
        let mut found: Vec<Option<Arc<AccessFacts>>> = vec![None; pairs.len()];
        let mut missing: Vec<usize> = Vec::new();
        for (i, (account, user)) in pairs.iter().enumerate() {
            // Untrusted, the local layer is not even looked at.
            let held = if trusted {
                self.local.get(account, user)
            } else {
                None
            };
            match held {
                Some(facts) if fresh_enough(account, &facts, token) => {
                    self.stats.local_hit(1);
                    found[i] = Some(facts);
                }
                Some(_) | None => missing.push(i),
            }
        }
        if missing.is_empty() {
            return all_found(found);
        }
        // Redis, when this replica's lease is live: one round trip.
        let mut generations: Option<(u64, Vec<u64>)> = None;
        if let Some(redis) = self.redis.as_ref().filter(|_| trusted) {
            let epoch = redis.coherence.epoch();
            let asked: Vec<(&AccountId, &UserId)> = missing.iter().map(|&i| pairs[i]).collect();
            match redis.layer.lookup(&asked, epoch).await {
                Ok(looked) => {
                    let mut seen = Vec::with_capacity(looked.len());
                    let mut still_missing = Vec::new();
                    for (&i, Looked { facts, generation }) in missing.iter().zip(looked) {
                        let (account, user) = pairs[i];
                        // A Redis entry older than a write this replica has
                        // heard of (a failed-over Redis that lost the write's
                        // generation bump) is a miss too.
                        match facts
                            .filter(|f| fresh_enough(account, f, token) && self.local.current(account, f))
                        {
                            Some(facts) => {
                                self.stats.redis_hit(1);
                                let facts = Arc::new(facts);
                                self.local.insert(account, user, Arc::clone(&facts), local_epoch);
                                found[i] = Some(facts);
                            }
                            None => {
                                still_missing.push(i);
                                seen.push(generation);
                            }
                        }
                    }
                    missing = still_missing;
                    generations = Some((epoch, seen));
                }
                Err(err) => {
                    self.stats.redis_error(1);
                    tracing::debug!(error = %err, "Redis lookup failed; reading the database");
                }
            }
        }
        if !missing.is_empty() {
            let asked: Vec<(&AccountId, &UserId)> = missing.iter().map(|&i| pairs[i]).collect();
            self.stats.miss(asked.len() as u64);
            let read = self.store.access_facts_of(&asked).await?;
            if let Some(token) = token
                && asked
                    .iter()
                    .zip(&read)
                    .any(|((account, _), facts)| !facts.satisfies(account, token))
            {
                return Err(DomainError::token_ahead());
            }
            if let (Some(redis), Some((epoch, seen))) = (&self.redis, &generations) {
                let items: Vec<_> = asked
                    .iter()
                    .zip(seen)
                    .zip(&read)
                    .map(|(((account, user), generation), facts)| (*account, *user, *generation, facts))
                    .collect();
                if let Err(err) = redis.layer.fill(&items, *epoch).await {
                    self.stats.redis_error(1);
                    tracing::debug!(error = %err, "Redis fill failed");
                }
            }
            for (&i, facts) in missing.iter().zip(read) {
                let (account, user) = pairs[i];
                let facts = Arc::new(facts);
                if trusted {
                    self.local.insert(account, user, Arc::clone(&facts), local_epoch);
                }
                found[i] = Some(facts);
            }
        }
        all_found(found)
    }

    async fn commit_visible_everywhere(&self, tx: Box<dyn Transaction>) -> DomainResult<WriteReceipt> {
        // A task of its own: once the commit may have happened, the
        // invalidation must run to its end even if the caller goes away.
        let invalidation = self.invalidation();
        self.run_to_end(async move {
            match tx.commit().await {
                Ok(receipt) => {
                    invalidation.run(&receipt).await;
                    Ok(receipt)
                }
                // COMMIT failed, but the database may have committed: every
                // replica hears of the write before the caller hears of the
                // error, so none answers from older state should it have.
                Err(CommitFailed {
                    error,
                    maybe_committed: Some(receipt),
                }) => {
                    invalidation.run(&receipt).await;
                    Err(error)
                }
                Err(CommitFailed {
                    error,
                    maybe_committed: None,
                }) => Err(error),
            }
        })
        .await
    }

    async fn make_visible_everywhere(&self, receipt: WriteReceipt) -> DomainResult<()> {
        let invalidation = self.invalidation();
        self.run_to_end(async move {
            invalidation.run(&receipt).await;
            Ok(())
        })
        .await
    }
}

/// What a write tells the layers: its own process's, then every replica's.
struct Invalidation {
    local: Arc<LocalLayer>,
    coherence: Option<Arc<Coherence>>,
}

impl Invalidation {
    /// Returns once no layer of any replica serves state older than `receipt`.
    async fn run(&self, receipt: &WriteReceipt) {
        if receipt.revisions.is_empty() {
            return;
        }
        self.local.note(&receipt.revisions);
        if let Some(coherence) = &self.coherence {
            coherence.written(receipt).await;
        }
    }
}

impl Cache {
    fn invalidation(&self) -> Invalidation {
        Invalidation {
            local: Arc::clone(&self.local),
            coherence: self.redis.as_ref().map(|redis| Arc::clone(&redis.coherence)),
        }
    }

    /// Runs `work` in a task of its own, which a caller that goes away (a
    /// deadline, a reset connection) cannot cut short, and waits for it.
    /// The request's span and subscriber go along, so the invalidation's
    /// Redis round trip shows up in the request's trace.
    async fn run_to_end<T: Send + 'static>(
        &self,
        work: impl Future<Output = DomainResult<T>> + Send + 'static,
    ) -> DomainResult<T> {
        tokio::spawn(work.in_current_span().with_current_subscriber())
            .await
            .map_err(|err| DomainError::Internal(format!("the commit task failed: {err}")))?
    }
}
