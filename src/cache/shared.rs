//! The Redis layer: facts of (account, user) shared by every replica, each
//! stamped with the account's generation and the cache epoch. Writers bump
//! the generation of every account whose decisions they changed (one script
//! per account, so one slot on Redis Cluster); a lookup reads the entry and
//! the generation together and uses the entry only if they match, and a fill
//! stores only if the generation is still the one seen before the database
//! read: a fill that raced a write never stores the older facts.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{RedisResult, Value};
use tracing::Instrument;

use crate::domain::ids::{AccountId, UserId};
use crate::domain::model::AccessFacts;
use crate::redis_keys::Keys;

use super::codec::{Stamp, decode_entry, encode_entry};
use super::scripts::{FILL, INVALIDATE};
use super::signing::EntryKeys;
use super::stats::CacheStats;

/// The span of one Redis round trip (`what` the cache does, the commands
/// it pipelines), for traces: OpenTelemetry database conventions.
pub(super) fn redis_span(what: &'static str, commands: &'static str) -> tracing::Span {
    tracing::debug_span!(
        "redis",
        otel.name = format_args!("redis {what}"),
        otel.kind = "client",
        db.system.name = "redis",
        db.operation.name = commands,
    )
}

/// What a lookup found for one pair.
pub struct Looked {
    /// The facts, when an entry was there and usable.
    pub facts: Option<AccessFacts>,
    /// The account's generation at the lookup: what a fill must still find.
    pub generation: u64,
}

/// The Redis layer of one process.
#[derive(Clone)]
pub struct SharedLayer {
    conn: ConnectionManager,
    keys: Keys,
    ttl: Duration,
    stats: Arc<CacheStats>,
    signatures: Arc<EntryKeys>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl SharedLayer {
    /// The layer over a connection.
    pub fn new(
        conn: ConnectionManager,
        keys: Keys,
        ttl: Duration,
        stats: Arc<CacheStats>,
        signatures: Arc<EntryKeys>,
    ) -> Self {
        Self {
            conn,
            keys,
            ttl,
            stats,
            signatures,
        }
    }

    /// The key builder, shared with the coherence protocol.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The signing keys, shared with the coherence protocol (its
    /// acknowledgements).
    pub fn signatures(&self) -> &EntryKeys {
        &self.signatures
    }

    /// Looks up every pair in one round trip.
    pub async fn lookup(&self, pairs: &[(&AccountId, &UserId)], epoch: u64) -> RedisResult<Vec<Looked>> {
        let mut pipe = redis::pipe();
        for (account, user) in pairs {
            pipe.cmd("HGET").arg(self.keys.facts(account)).arg(user.as_str());
            pipe.cmd("GET").arg(self.keys.generation(account));
        }
        self.stats.redis_read(1);
        let values: Vec<Value> = pipe
            .query_async(&mut self.conn.clone())
            .instrument(redis_span("lookup", "HGET GET"))
            .await?;
        let now = now_ms();
        let mut looked = Vec::with_capacity(pairs.len());
        let mut values = values.into_iter();
        let mut pairs = pairs.iter();
        while let (Some(entry), Some(generation), Some((account, user))) =
            (values.next(), values.next(), pairs.next())
        {
            let generation = redis::from_redis_value::<Option<u64>>(generation)?.unwrap_or(0);
            let entry = redis::from_redis_value::<Option<Vec<u8>>>(entry)?;
            let stamp = Stamp { epoch, generation };
            let checked = entry.as_deref().and_then(|stored| {
                let checked = self.signatures.check(account, user, stored);
                if checked.is_none() {
                    self.stats.redis_entry_refused(1);
                }
                checked
            });
            looked.push(Looked {
                facts: checked.and_then(|bytes| decode_entry(bytes, stamp, now)),
                generation,
            });
        }
        Ok(looked)
    }

    /// Stores facts read from the database, each only if its account's
    /// generation has not moved since the lookup: one round trip.
    pub async fn fill(
        &self,
        items: &[(&AccountId, &UserId, u64, &AccessFacts)],
        epoch: u64,
    ) -> RedisResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let ttl_ms = self.ttl_ms();
        let expires_at = now_ms().saturating_add(i64::try_from(ttl_ms).unwrap_or(i64::MAX));
        let mut pipe = redis::pipe();
        for (account, user, generation, facts) in items {
            let stamp = Stamp {
                epoch,
                generation: *generation,
            };
            pipe.cmd("EVAL")
                .arg(FILL)
                .arg(2)
                .arg(self.keys.facts(account))
                .arg(self.keys.generation(account))
                .arg(user.as_str())
                .arg(*generation)
                .arg(
                    self.signatures
                        .sign(account, user, encode_entry(facts, stamp, expires_at)),
                )
                .arg(ttl_ms)
                .arg(ttl_ms.saturating_mul(2))
                .ignore();
        }
        self.stats.redis_fill(1);
        pipe.query_async::<()>(&mut self.conn.clone())
            .instrument(redis_span("fill", "EVAL"))
            .await
    }

    /// Adds to `pipe` the invalidation of each account (one script each).
    pub fn invalidate_into(&self, pipe: &mut redis::Pipeline, accounts: &[&AccountId]) {
        for account in accounts {
            pipe.cmd("EVAL")
                .arg(INVALIDATE)
                .arg(2)
                .arg(self.keys.facts(account))
                .arg(self.keys.generation(account))
                .arg(self.ttl_ms().saturating_mul(2))
                .ignore();
        }
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }
}
