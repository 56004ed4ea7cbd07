//! A write's side of the protocol: after its commit, invalidate in Redis
//! and publish, then wait until no replica can answer from older state.
//!
//! A replica the write listed is let go only on Redis's word or the
//! database's: its acknowledgement (it has applied the write), a revocation
//! Redis confirmed and the rest of the lease Redis reported (it can renew
//! only by dropping its entries), a lease Redis no longer holds, or a move
//! of the database fence and a whole term after it. Never on the time a
//! lease had left when it was listed: that lease may have been renewed since.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use redis::Value;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::domain::ids::AccountId;
use crate::domain::model::WriteReceipt;

use super::super::codec::{Invalidation, encode_invalidation};
use super::super::scripts::{LEASES, REVOKE};
use super::Coherence;

/// The replicas a write waits for: `None` until it is acknowledged or
/// revoked, then the instant from which it trusts nothing older than the
/// write (the end of the lease a revocation left it, or a term after the
/// fence moved).
type Pending = HashMap<String, Option<Instant>>;

/// (replica, ms left) pairs from a flat script reply; `None` when the reply
/// is not that, which is never read as "no replica".
fn lease_times(values: Value) -> Option<Vec<(String, u64)>> {
    let flat = redis::from_redis_value::<Vec<Value>>(values).ok()?;
    if flat.len() % 2 != 0 {
        return None;
    }
    flat.chunks(2)
        .map(|pair| {
            Some((
                redis::from_redis_value_ref::<String>(&pair[0]).ok()?,
                redis::from_redis_value_ref::<i64>(&pair[1])
                    .ok()?
                    .max(0)
                    .unsigned_abs(),
            ))
        })
        .collect()
}

impl Coherence {
    /// After a commit: invalidates the accounts it touched in Redis and on
    /// every replica, and returns once none can answer from older state.
    pub async fn written(&self, receipt: &WriteReceipt) {
        let write_id = self.next_write.fetch_add(1, Ordering::Relaxed);
        let (acks, mut acked) = mpsc::unbounded_channel();
        self.waiters.lock().await.insert(write_id, acks);
        let message = encode_invalidation(&Invalidation {
            origin: self.replica.clone(),
            write_id,
            revisions: receipt.revisions.clone(),
        });
        let accounts: Vec<&AccountId> = receipt
            .revisions
            .iter()
            .map(|r| &r.account)
            .chain(&receipt.children)
            .collect();
        if let Some(holders) = self.publish(&accounts, &message).await {
            self.stats.invalidation_sent(1);
            self.await_acks(holders, &mut acked).await;
        }
        self.waiters.lock().await.remove(&write_id);
    }

    /// Invalidates, lists the live leases and publishes, in one round trip,
    /// retried until it succeeds. When Redis cannot be reached it moves the
    /// database fence and returns `None` once a whole lease term has passed
    /// since: by then every replica has either seen the fence and dropped
    /// its entries, or stopped trusting them.
    async fn publish(&self, accounts: &[&AccountId], message: &[u8]) -> Option<Vec<String>> {
        // Until the fence has moved, only Redis can tell the replicas: keep
        // trying both (the task runs on even if the caller has gone).
        let mut fenced: Option<Instant> = None;
        loop {
            let mut pipe = redis::pipe();
            self.shared.invalidate_into(&mut pipe, accounts);
            pipe.cmd("EVAL")
                .arg(LEASES)
                .arg(1)
                .arg(self.keys.leases())
                .arg(&self.replica);
            pipe.cmd("PUBLISH")
                .arg(self.keys.invalidations())
                .arg(message)
                .ignore();
            let mut conn = self.conn.clone();
            let round_trip = pipe
                .query_async::<Vec<Value>>(&mut conn)
                .instrument(super::super::shared::redis_span("invalidate", "EVAL PUBLISH"));
            let failure = match tokio::time::timeout(self.settings.patience(), round_trip).await {
                Ok(Ok(mut replies)) => match replies.pop().and_then(lease_times) {
                    Some(leases) => return Some(leases.into_iter().map(|(replica, _)| replica).collect()),
                    None => "an unreadable list of leases".to_owned(),
                },
                Ok(Err(err)) => err.to_string(),
                Err(_) => "no reply in time".to_owned(),
            };
            self.stats.redis_error(1);
            // The other way to reach every replica: they drop everything
            // within a term of the fence moving. The term counts only from a
            // move that succeeded.
            let moved = match fenced {
                Some(moved) => moved,
                None => match self.move_fence().await {
                    Some(moved) => *fenced.insert(moved),
                    None => {
                        tracing::warn!(error = %failure, "neither Redis nor the cache fence can be reached; retrying");
                        tokio::time::sleep(self.settings.retry_pause()).await;
                        continue;
                    }
                },
            };
            let waited = moved.elapsed();
            let term = self.settings.waited_out();
            if waited >= term {
                tracing::warn!(error = %failure, "Redis unreachable: the write waited out every replica's lease instead of their acknowledgements");
                self.stats.write_waited_out(1);
                return None;
            }
            tokio::time::sleep((term - waited).min(self.settings.retry_pause())).await;
        }
    }

    /// Moves the database fence; returns when it was known moved, or `None`
    /// when it could not be, in time.
    async fn move_fence(&self) -> Option<Instant> {
        match tokio::time::timeout(self.settings.patience(), self.fence.bump()).await {
            Ok(Ok(())) => {
                self.stats.fence_move(1);
                Some(Instant::now())
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "the cache fence could not be moved");
                None
            }
            Err(_) => {
                tracing::warn!("the cache fence did not move in time");
                None
            }
        }
    }

    /// Waits until each leased replica has acknowledged, or has been let go
    /// on Redis's word or the fence's (see the module's comment); revokes
    /// the leases of those that are late.
    async fn await_acks(&self, holders: Vec<String>, acked: &mut mpsc::UnboundedReceiver<String>) {
        let mut pending: Pending = holders.into_iter().map(|replica| (replica, None)).collect();
        let mut revoke_at = Instant::now() + self.settings.ack_timeout;
        let mut echoed = false;
        let mut revoked_once = false;
        let mut listening = true;
        loop {
            let now = Instant::now();
            pending.retain(|_, let_go| let_go.is_none_or(|at| at > now));
            let Some(wake) = pending.values().map(|at| at.unwrap_or(revoke_at)).min() else {
                return;
            };
            if now >= revoke_at && pending.values().any(Option::is_none) {
                if !revoked_once && !echoed {
                    // This write's own message never came back: acknowledgements
                    // come on the same subscription, which may be dead without
                    // having said so. Start it again, or every later write would
                    // revoke every replica too.
                    tracing::warn!(replica = %self.replica, "this replica did not hear its own invalidation: resubscribing");
                    self.resubscribe.notify_one();
                }
                revoked_once = true;
                if !self.revoke(&mut pending).await {
                    revoke_at = Instant::now() + self.settings.retry_pause();
                }
                continue;
            }
            tokio::select! {
                replica = acked.recv(), if listening => match replica {
                    Some(replica) if replica == self.replica => echoed = true,
                    Some(replica) => {
                        pending.remove(&replica);
                    }
                    // No acknowledgement can come any more: the waits go on.
                    None => listening = false,
                },
                () = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }

    /// Revokes the leases of the pending replicas that are neither
    /// acknowledged nor revoked yet, and notes when each can be let go:
    /// once the rest of its lease has passed, at once if Redis no longer
    /// holds it. When Redis does not confirm, moves the fence instead, and
    /// notes a whole term after the move. Returns false when neither worked:
    /// nothing was let go, and the caller tries again.
    async fn revoke(&self, pending: &mut Pending) -> bool {
        let late: Vec<String> = pending
            .iter()
            .filter(|(_, let_go)| let_go.is_none())
            .map(|(replica, _)| replica.clone())
            .collect();
        let remember_ms = u64::try_from((self.settings.term * 10).as_millis()).unwrap_or(u64::MAX);
        let mut script = redis::cmd("EVAL");
        script
            .arg(REVOKE)
            .arg(2)
            .arg(self.keys.leases())
            .arg(self.keys.revoked())
            .arg(remember_ms)
            .arg(&late);
        let mut conn = self.conn.clone();
        let reply =
            tokio::time::timeout(self.settings.patience(), script.query_async::<Value>(&mut conn)).await;
        // Measured after the reply: the ms left were counted when the script
        // ran, which was before.
        let received = Instant::now();
        if let Ok(Ok(reply)) = reply
            && let Some(left) = lease_times(reply)
        {
            let left: HashMap<String, u64> = left.into_iter().collect();
            self.stats.revocation(left.len() as u64);
            tracing::warn!(replicas = ?left.keys().collect::<Vec<_>>(), "replicas did not acknowledge an invalidation in time: leases revoked");
            let margin = self.settings.margin();
            for replica in late {
                match left.get(&replica) {
                    Some(ms) => {
                        pending.insert(replica, Some(received + Duration::from_millis(*ms) + margin));
                    }
                    // Its lease had run out: its next renewal finds it gone,
                    // and it drops every entry before trusting any.
                    None => {
                        pending.remove(&replica);
                    }
                }
            }
            return true;
        }
        self.stats.redis_error(1);
        // Redis did not confirm: the revocation may or may not have been
        // made. The fence reaches those replicas through the database.
        let Some(moved) = self.move_fence().await else {
            return false;
        };
        tracing::warn!(replicas = ?late, "late replicas could not be revoked in Redis: the cache fence moved instead");
        let until = moved + self.settings.waited_out();
        for replica in late {
            pending.insert(replica, Some(until));
        }
        true
    }
}
