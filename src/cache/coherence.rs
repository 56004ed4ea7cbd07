//! Coherence across replicas: leases, invalidations and acknowledgements.
//!
//! The guarantee: once a write has returned to its caller, no replica
//! answers from an entry older than that write. Each replica holds a lease
//! in Redis (renewed every `term / 4`) and trusts its local entries, and
//! Redis entries, only while its lease is live on its own clock (one that
//! counts time suspended, [`super::clock`]) and its subscription to the invalidation channel is up, and only on a
//! renewal made since that subscription began (a Redis that restarted has
//! lost every lease). A write, after its commit, bumps the Redis generation
//! of every account it touched, lists the live leases and publishes its
//! invalidation (one round trip), then returns only when every replica
//! listed has acknowledged or been let go on Redis's word or the database
//! fence's ([`writer`]). When Redis cannot be reached, a write moves the
//! fence and waits one lease term instead: by then no replica trusts
//! anything it held. See docs/consistency.md.

mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::Msg;
use redis::aio::ConnectionManager;
use tokio::sync::{Mutex, Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;

use crate::redis_keys::Keys;

use super::Fence;
use super::codec::decode_invalidation;
use super::local::LocalLayer;
use super::scripts::{FENCE, RENEW};
use super::shared::SharedLayer;
use super::signing::{ack_payload, read_ack};
use super::stats::CacheStats;

/// Timings of the lease protocol.
#[derive(Clone, Copy, Debug)]
pub struct LeaseSettings {
    /// How long a lease lasts.
    pub term: Duration,
    /// How long a write waits for acknowledgements before revoking leases.
    pub ack_timeout: Duration,
}

impl LeaseSettings {
    fn renew_every(&self) -> Duration {
        self.term / 4
    }

    /// Taken off a replica's own trust, and added to a writer's waits, so
    /// that clock rates that differ a little never open a gap.
    fn margin(&self) -> Duration {
        self.term / 10
    }

    /// How long a writer waits after moving the fence: every replica has
    /// read it since, or stopped trusting its entries.
    fn waited_out(&self) -> Duration {
        self.term + self.margin()
    }

    /// The longest a writer waits for one call (a Redis round trip, a move
    /// of the fence) before it counts the call as failed and goes on.
    fn patience(&self) -> Duration {
        self.term / 2
    }

    /// The pause before a writer tries again what failed.
    fn retry_pause(&self) -> Duration {
        self.term / 8
    }
}

/// One replica's side of the protocol.
pub struct Coherence {
    replica: String,
    keys: Keys,
    /// The protocol's connection, apart from the lookups' and fills'.
    conn: ConnectionManager,
    client: redis::Client,
    shared: SharedLayer,
    local: Arc<LocalLayer>,
    stats: Arc<CacheStats>,
    settings: LeaseSettings,
    trusted_until_ns: AtomicU64,
    /// The subscription `trusted_until_ns` was granted on: trust lasts only
    /// as long as that subscription.
    trusted_on: AtomicU64,
    subscribed: AtomicBool,
    /// The database fence (the second channel, for writes that cannot reach Redis).
    fence: Arc<dyn Fence>,
    /// The fence generation this replica has acted on (`i64::MIN`: none yet).
    fence_seen: AtomicI64,
    /// Trust from the fence: until a term after the last fence read was sent.
    fence_checked_until_ns: AtomicU64,
    /// A renewal failed without a reply: the next success is treated as a lapse.
    renewal_lost: AtomicBool,
    /// Counts the times the subscription was established.
    subscriptions: AtomicU64,
    epoch: AtomicU64,
    next_write: AtomicU64,
    waiters: Mutex<HashMap<u64, mpsc::UnboundedSender<String>>>,
    resubscribe: Notify,
    /// The subscriber, the renewer and the fence watcher, aborted by [`Coherence::stop`].
    tasks: OnceLock<[JoinHandle<()>; 3]>,
}

impl Coherence {
    /// Starts the protocol: subscribes, then renews the lease in the background.
    pub fn start(
        client: redis::Client,
        protocol: ConnectionManager,
        shared: SharedLayer,
        local: Arc<LocalLayer>,
        stats: Arc<CacheStats>,
        settings: LeaseSettings,
        fence: Arc<dyn Fence>,
    ) -> Arc<Self> {
        let coherence = Arc::new(Self {
            replica: uuid::Uuid::new_v4().simple().to_string(),
            keys: shared.keys().clone(),
            conn: protocol,
            client,
            shared,
            local,
            stats,
            settings,
            trusted_until_ns: AtomicU64::new(0),
            trusted_on: AtomicU64::new(0),
            subscribed: AtomicBool::new(false),
            fence,
            fence_seen: AtomicI64::new(i64::MIN),
            fence_checked_until_ns: AtomicU64::new(0),
            renewal_lost: AtomicBool::new(false),
            subscriptions: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            next_write: AtomicU64::new(1),
            waiters: Mutex::new(HashMap::new()),
            resubscribe: Notify::new(),
            tasks: OnceLock::new(),
        });
        let subscriber = tokio::spawn(Arc::clone(&coherence).listen());
        let renewer = tokio::spawn(Arc::clone(&coherence).renew());
        let fence_watcher = tokio::spawn(Arc::clone(&coherence).watch_fence());
        let _ = coherence.tasks.set([subscriber, renewer, fence_watcher]);
        coherence
    }

    /// Whether this replica may answer from its entries (and Redis's) now:
    /// subscribed, and its lease renewed on this subscription and live.
    pub fn trusted(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
            && self.trusted_on.load(Ordering::Acquire) == self.subscriptions.load(Ordering::Acquire)
            && super::clock::now_ns()
                < self
                    .trusted_until_ns
                    .load(Ordering::Acquire)
                    .min(self.fence_checked_until_ns.load(Ordering::Acquire))
    }

    /// The cache epoch entries are stamped with.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Stops renewing and gives the lease back, so writers stop waiting for
    /// this replica at once.
    pub async fn stop(&self) {
        for task in self.tasks.get().into_iter().flatten() {
            task.abort();
        }
        self.subscribed.store(false, Ordering::Release);
        let mut release = redis::cmd("ZREM");
        release.arg(self.keys.leases()).arg(&self.replica);
        let mut conn = self.conn.clone();
        let _ = tokio::time::timeout(self.settings.term, release.query_async::<()>(&mut conn)).await;
    }

    /// Keeps a subscription to the invalidation channel (and this replica's
    /// acknowledgements) up; drops every local entry each time it is
    /// (re)established, since messages may have been missed in between.
    async fn listen(self: Arc<Self>) {
        loop {
            self.subscribed.store(false, Ordering::Release);
            let connect = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(self.keys.invalidations()).await?;
                pubsub.subscribe(self.keys.acks(&self.replica)).await?;
                redis::RedisResult::Ok(pubsub)
            };
            let Ok(Ok(pubsub)) = tokio::time::timeout(self.settings.term, connect).await else {
                self.stats.redis_error(1);
                tokio::time::sleep(self.settings.renew_every()).await;
                continue;
            };
            if !self.eviction_is_safe().await {
                tokio::time::sleep(self.settings.term).await;
                continue;
            }
            // A new subscription voids the trust granted before it: the old
            // connection may have dropped because Redis restarted, empty,
            // and writers wait only for replicas whose lease Redis holds.
            // Trust comes back with the next renewal, which puts it there.
            self.subscriptions.fetch_add(1, Ordering::AcqRel);
            self.local.clear();
            self.subscribed.store(true, Ordering::Release);
            tracing::debug!(replica = %self.replica, "cache invalidations subscribed");
            let mut messages = pubsub.into_on_message();
            loop {
                tokio::select! {
                    message = messages.next() => match message {
                        Some(message) => self.on_message(&message).await,
                        None => break,
                    },
                    () = self.resubscribe.notified() => break,
                }
            }
            tracing::warn!(replica = %self.replica, "cache invalidation subscription lost; not trusting cached entries until it is back");
        }
    }

    /// Whether Redis keeps the protocol's keys until they expire: an
    /// eviction policy that may drop the lease set (or the revoked set)
    /// makes every replica's lease vanish at once, and writers stop waiting
    /// for anyone. Only `noeviction` is safe; with another, this replica
    /// never trusts its cache (every check reads the database) and says so.
    /// A Redis that does not let us read its configuration (a managed one,
    /// or an ACL without CONFIG) is taken at its operator's word, with a
    /// warning: docs/operations.md asks for `noeviction`.
    async fn eviction_is_safe(&self) -> bool {
        let mut conn = self.conn.clone();
        let mut config_get = redis::cmd("CONFIG");
        config_get.arg("GET").arg("maxmemory-policy");
        let asked = config_get.query_async::<Vec<String>>(&mut conn);
        match tokio::time::timeout(self.settings.renew_every(), asked).await {
            Ok(Ok(reply)) => match reply.get(1).map(String::as_str) {
                Some("noeviction") => true,
                policy => {
                    tracing::error!(
                        replica = %self.replica,
                        policy = policy.unwrap_or("unknown"),
                        "Redis may evict the cache's leases (maxmemory-policy is not noeviction): \
                         not trusting cached entries; set maxmemory-policy noeviction"
                    );
                    false
                }
            },
            Ok(Err(err)) => {
                tracing::warn!(
                    replica = %self.replica,
                    error = %err,
                    "cannot read Redis's maxmemory-policy; it must be noeviction"
                );
                true
            }
            Err(_) => {
                self.stats.redis_error(1);
                false
            }
        }
    }

    async fn on_message(&self, message: &Msg) {
        let channel = message.get_channel_name();
        if channel == self.keys.acks(&self.replica) {
            let payload: String = message.get_payload().unwrap_or_default();
            let Some((write_id, replica)) = read_ack(self.shared.signatures(), &self.replica, &payload)
            else {
                // Forged (or from a replica with other keys): a write must
                // not stop waiting for a replica on its word.
                self.stats.ack_refused(1);
                return;
            };
            if let Some(waiter) = self.waiters.lock().await.get(&write_id) {
                self.stats.ack_received(1);
                let _ = waiter.send(replica);
            }
            return;
        }
        let Some(invalidation) = decode_invalidation(message.get_payload_bytes()) else {
            return;
        };
        if invalidation.origin == self.replica {
            // Its own write, heard back: this subscription is alive.
            if let Some(waiter) = self.waiters.lock().await.get(&invalidation.write_id) {
                let _ = waiter.send(self.replica.clone());
            }
            return;
        }
        self.stats.invalidation_received(1);
        // Applied before the acknowledgement leaves: once the writer has it,
        // this replica serves nothing older.
        self.local.note(&invalidation.revisions);
        let ack = redis::cmd("PUBLISH")
            .arg(self.keys.acks(&invalidation.origin))
            .arg(ack_payload(
                self.shared.signatures(),
                &invalidation.origin,
                invalidation.write_id,
                &self.replica,
            ))
            .to_owned();
        let mut conn = self.conn.clone();
        tokio::spawn(async move {
            let _ = ack.query_async::<()>(&mut conn).await;
        });
    }

    /// Renews the lease every `term / 4` while subscribed. Trust runs from
    /// the moment the renewal was sent, so it always ends before Redis's
    /// expiry of the lease, which is what writers wait for.
    async fn renew(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(self.settings.renew_every());
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let term_ms = u64::try_from(self.settings.term.as_millis()).unwrap_or(u64::MAX);
        loop {
            ticks.tick().await;
            if !self.subscribed.load(Ordering::Acquire) {
                continue;
            }
            let subscription = self.subscriptions.load(Ordering::Acquire);
            let sent = super::clock::now_ns();
            let renewal = redis::cmd("EVAL")
                .arg(RENEW)
                .arg(3)
                .arg(self.keys.leases())
                .arg(self.keys.revoked())
                .arg(self.keys.epoch())
                .arg(&self.replica)
                .arg(term_ms)
                .arg(self.epoch.load(Ordering::Acquire))
                .to_owned();
            let mut conn = self.conn.clone();
            let reply = tokio::time::timeout(
                self.settings.renew_every(),
                renewal.query_async::<(u8, u64)>(&mut conn),
            )
            .await;
            let Ok(Ok((status, epoch))) = reply else {
                // The script may still have run: its news (a revocation) is
                // lost with the reply, so the next renewal that succeeds
                // counts as a lapse.
                self.renewal_lost.store(true, Ordering::Release);
                self.stats.redis_error(1);
                continue;
            };
            self.stats.lease_renewal(1);
            let lost = self.renewal_lost.swap(false, Ordering::AcqRel);
            let lapsed = status != 0 || lost || sent >= self.trusted_until_ns.load(Ordering::Acquire);
            // fetch_max: a fence move may have raised it meanwhile.
            let epoch_moved = self.epoch.fetch_max(epoch, Ordering::AcqRel) < epoch;
            if lapsed || epoch_moved {
                // Invalidations may have been missed while the lease was not live.
                self.stats.lease_lapse(u64::from(lapsed));
                self.local.clear();
            }
            if status == 2 || lost {
                // A writer waited for an acknowledgement that never came (or
                // may have: a lost reply may have carried the revocation):
                // the subscription may be dead without having said so.
                self.resubscribe.notify_one();
                continue;
            }
            let until = sent
                + u64::try_from(
                    self.settings
                        .term
                        .saturating_sub(self.settings.margin())
                        .as_nanos(),
                )
                .unwrap_or(0);
            self.trusted_until_ns.store(until, Ordering::Release);
            // After the time: whoever sees this subscription sees the time.
            self.trusted_on.store(subscription, Ordering::Release);
        }
    }

    /// Reads the database fence every `term / 4`. A moved fence means a
    /// write could not reach Redis: drop every local entry and move the
    /// epoch (so Redis entries from before are never read) before trusting
    /// anything again. Trust needs a fence read sent less than a term ago, so
    /// a writer that moved the fence and waited a term has reached every
    /// replica that still trusts its cache, with or without Redis.
    ///
    /// Each read also brings the changes committed since the last one
    /// ([`Fence::read`]): their revisions are noted before trust is
    /// extended, so no replica trusts an entry older than a change
    /// committed a read ago, whether or not its writer lived to invalidate
    /// it; and Redis's entries of the accounts no invalidation had told of
    /// are dropped, for the replicas that start later.
    async fn watch_fence(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(self.settings.renew_every());
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let trust = u64::try_from(
            self.settings
                .term
                .saturating_sub(self.settings.margin())
                .as_nanos(),
        )
        .unwrap_or(0);
        // The change log's position this replica has read through.
        let mut log: Option<i64> = None;
        loop {
            ticks.tick().await;
            let sent = super::clock::now_ns();
            // A slow read still extends trust (from when it was sent), so it
            // gets as long as that trust would last: a database slower than
            // a quarter term must not turn every replica's cache off at once.
            let patience = self.settings.term.saturating_sub(self.settings.margin());
            let Ok(Ok(read)) = tokio::time::timeout(patience, self.fence.read(log)).await else {
                continue;
            };
            let generation = read.generation;
            if self.fence_seen.load(Ordering::Acquire) != generation {
                let mut script = redis::cmd("EVAL");
                script
                    .arg(FENCE)
                    .arg(2)
                    .arg(self.keys.epoch())
                    .arg(self.keys.fence())
                    .arg(generation)
                    .arg(self.epoch.load(Ordering::Acquire));
                let mut conn = self.conn.clone();
                let Ok(Ok(epoch)) =
                    tokio::time::timeout(self.settings.renew_every(), script.query_async::<u64>(&mut conn))
                        .await
                else {
                    self.stats.redis_error(1);
                    continue;
                };
                self.epoch.fetch_max(epoch, Ordering::AcqRel);
                self.local.clear();
                self.fence_seen.store(generation, Ordering::Release);
            }
            self.heard_from_log(&read.written, log.is_some()).await;
            log = Some(read.through);
            if !read.complete {
                // Further behind than one read: no trust until caught up.
                ticks.reset_immediately();
                continue;
            }
            self.fence_checked_until_ns.store(sent + trust, Ordering::Release);
        }
    }

    /// Notes the revisions of changes read in the log that no invalidation
    /// has told this replica of, and, unless this is the replica's first
    /// read (which looks back before it started), drops Redis's entries of
    /// their accounts, as their writer would have.
    async fn heard_from_log(&self, written: &[crate::domain::model::AccountRevision], repair: bool) {
        let unheard = self.local.unheard(written);
        if unheard.is_empty() {
            return;
        }
        self.local.note(&unheard);
        if !repair {
            return;
        }
        self.stats.write_found_in_log(unheard.len() as u64);
        let mut accounts: Vec<&crate::domain::ids::AccountId> = unheard.iter().map(|r| &r.account).collect();
        accounts.sort();
        accounts.dedup();
        let mut pipe = redis::pipe();
        self.shared.invalidate_into(&mut pipe, &accounts);
        let mut conn = self.conn.clone();
        let dropped =
            tokio::time::timeout(self.settings.renew_every(), pipe.query_async::<()>(&mut conn)).await;
        if !matches!(dropped, Ok(Ok(()))) {
            // The other replicas read the same change and try too; each of
            // them refuses the old entries already, having noted the revision.
            self.stats.redis_error(1);
        }
    }
}
