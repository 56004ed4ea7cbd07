//! The coherence protocol when one connection fails and the others work:
//! a replica whose invalidation subscription hears nothing while its lease
//! renewals go on, a writer whose revocations never reach Redis. Each test
//! owns its Redis and the proxies in front of it, and singles out a
//! replica's connections by what they send (see `support/proxy.rs`). Rule
//! 11 of docs/domain.md, under the faults docs/consistency.md says it holds.

use std::time::Duration;

use access_service::Config;
use access_service::grpc::pb;
use pb::DecisionReason as R;

use crate::support::cluster::{Mode, TcpProxy, TestRedis, until_trusted, url_addr};
use crate::support::{Db, TestApp, reason};

/// What a replica's invalidation subscription sends, and nothing else does.
const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
/// What the revocation script sends, and no other command of the protocol.
const REVOKE: &[u8] = b"SADD";
/// What a lease renewal sends, and no lookup or fill.
const RENEW: &[u8] = b"ZADD";
/// What a lookup sends, and no command of the protocol.
const LOOKUP: &[u8] = b"HGET";

/// Two replicas on a Redis of the test's own, each through a proxy of its
/// own; A is the writer. B reaches the database directly, whatever A does.
pub(super) struct Pair {
    pub a: TestApp,
    pub b: TestApp,
    pub a_link: TcpProxy,
    pub b_link: TcpProxy,
    // Declared last: dropped after the replicas.
    pub redis: TestRedis,
}

impl Pair {
    /// Starts both replicas, A's configuration as `adjust` leaves it (B's
    /// is A's, but for its Redis link and its database URL).
    pub async fn start(adjust: impl FnOnce(&mut Config)) -> Self {
        let redis = TestRedis::start().await;
        let a_link = TcpProxy::start(url_addr(&redis.url())).await;
        let b_link = TcpProxy::start(url_addr(&redis.url())).await;
        let a = TestApp::spawn_with(Db::Mysql, |config| {
            config.redis_url = Some(a_link.route(&redis.url()));
            adjust(config);
        })
        .await;
        let b = a
            .replica_with(|config| {
                config.redis_url = Some(b_link.route(&redis.url()));
                config.database_url = a.database_url().to_owned();
            })
            .await;
        until_trusted(&[&a, &b]).await;
        Self {
            a,
            b,
            a_link,
            b_link,
            redis,
        }
    }

    /// As [`Pair::start`] with these lease timings; Lee is a manager of
    /// acme, and B holds his facts.
    async fn with_lee(lease_ms: u64, ack_timeout_ms: u64) -> Self {
        let pair = Self::start(|config| {
            config.cache_lease_ms = lease_ms;
            config.cache_ack_timeout_ms = ack_timeout_ms;
        })
        .await;
        pair.a.account("acme", "olivia").await;
        pair.a.member("olivia", "acme", "lee", "manager", vec![]).await;
        assert!(pair.b.check("lee", "acme", "campaigns.send").await.allowed);
        pair
    }

    /// B's subscription stays open and hears nothing more; its renewals go on.
    pub fn silence_b(&self) {
        assert_eq!(
            self.b_link.affect(SUBSCRIBE, Mode::DropToClient),
            1,
            "B has one subscription connection"
        );
    }

    /// Lee's check on B, which must not answer from before his removal.
    pub async fn lee_on_b(&self) -> (bool, R) {
        let lee = self.b.check("lee", "acme", "campaigns.send").await;
        (lee.allowed, reason(&lee))
    }
}

/// B never acknowledges (its subscription is silent) but renews its lease:
/// the write revokes it, and returns only once what B's lease had left has
/// passed; B drops its entries at its next renewal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_that_renews_but_hears_nothing_is_revoked_before_the_write_returns() {
    let pair = Pair::with_lee(1000, 250).await;
    pair.silence_b();
    let before = pair.a.cache_counts();
    pair.a.remove("olivia", "acme", "lee").await.expect("removed");
    let after = pair.a.cache_counts();
    assert_eq!(
        pair.lee_on_b().await,
        (false, R::NotAMember),
        "B answered from an entry older than the removal, which had returned"
    );
    assert_eq!(after.revocations, before.revocations + 1, "B's lease was revoked");
    assert_eq!(after.fence_moves, before.fence_moves);
}

/// As above, but Redis never confirms the revocation: the connection that
/// sends it is cut (`Mode::Cut`), or it stays open and the request never
/// arrives, so no reply comes (`Mode::DropToServer`), again on every retry.
/// The writer may not stop waiting for B on the strength of a revocation
/// Redis did not confirm, nor on the time B's lease had left, since B keeps
/// renewing it. It moves the database fence and waits a term from there: B,
/// which trusts its cache only on a fence read less than a term old, drops
/// its entries.
async fn an_unconfirmed_revocation_moves_the_fence(failure: Mode) {
    let pair = Pair::with_lee(1000, 250).await;
    pair.silence_b();
    pair.a_link.rule(REVOKE, failure);
    let before = pair.a.cache_counts();
    pair.a.remove("olivia", "acme", "lee").await.expect("removed");
    let after = pair.a.cache_counts();
    assert!(
        pair.b.cache().trusted(),
        "B kept its lease and its subscription open"
    );
    assert_eq!(
        pair.lee_on_b().await,
        (false, R::NotAMember),
        "{failure:?}: B answered from an entry older than the removal, which had returned"
    );
    assert_eq!(after.fence_moves, before.fence_moves + 1, "A moved the fence");
    assert_eq!(
        after.revocations, before.revocations,
        "no revocation was confirmed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_whose_connection_is_cut_moves_the_fence_before_the_write_returns() {
    an_unconfirmed_revocation_moves_the_fence(Mode::Cut).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_that_gets_no_reply_moves_the_fence_before_the_write_returns() {
    an_unconfirmed_revocation_moves_the_fence(Mode::DropToServer).await;
}

/// B's protocol connection (renewals, acknowledgements) is slow, each
/// message a tenth of a term late, well within the ack timeout: the write
/// waits for B's acknowledgement and revokes nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_acknowledgement_within_the_ack_timeout_revokes_nobody() {
    let pair = Pair::with_lee(1000, 500).await;
    assert_eq!(
        pair.b_link
            .affect(RENEW, Mode::Delayed(Duration::from_millis(100))),
        1,
        "B's renewals go on one connection"
    );
    let before = pair.a.cache_counts();
    pair.a.remove("olivia", "acme", "lee").await.expect("removed");
    let after = pair.a.cache_counts();
    assert_eq!(
        (after.acks_received - before.acks_received, after.revocations),
        (1, before.revocations),
        "B's acknowledgement came in time"
    );
    assert_eq!(pair.lee_on_b().await, (false, R::NotAMember));
}

/// A's own subscription goes silent (it stays open): A hears neither its
/// own invalidations nor B's acknowledgements, which come on it. Its first
/// write revokes B, which it cannot tell from a dead replica, and finds it
/// did not hear itself: it subscribes again, so its next write hears B's
/// acknowledgement and revokes nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_that_does_not_hear_itself_subscribes_again() {
    let pair = Pair::with_lee(1000, 250).await;
    assert_eq!(
        pair.a_link.affect(SUBSCRIBE, Mode::DropToClient),
        1,
        "A has one subscription connection"
    );
    let before = pair.a.cache_counts();
    pair.a.remove("olivia", "acme", "lee").await.expect("removed");
    let first = pair.a.cache_counts();
    assert_eq!(
        first.revocations,
        before.revocations + 1,
        "the first write revoked B, whose acknowledgement A could not hear"
    );
    assert_eq!(pair.lee_on_b().await, (false, R::NotAMember));

    until_trusted(&[&pair.a, &pair.b]).await;
    pair.a.account("globex", "gary").await;
    let second = pair.a.cache_counts();
    assert_eq!(
        (second.revocations, second.acks_received - first.acks_received),
        (first.revocations, 1),
        "the second write heard B's acknowledgement: A subscribed again"
    );
}

/// B's lookups stall (the connection they go on is frozen, as behind a
/// burst of large fills on a busy Redis): B's lease renewals, on a
/// connection of their own, go on, so B keeps trusting its cache instead of
/// lapsing and wiping it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lookups_that_stall_do_not_hold_up_lease_renewals() {
    let pair = Pair::with_lee(1000, 250).await;
    let before = pair.b.cache_counts();
    assert_eq!(
        pair.b_link.affect(LOOKUP, Mode::Frozen),
        1,
        "B's lookups go on one connection"
    );
    let renewed = async {
        while pair.b.cache_counts().lease_renewals < before.lease_renewals + 8 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    // Eight renewals take two terms: ten seconds is far more.
    let renewed = tokio::time::timeout(Duration::from_secs(10), renewed).await;
    let after = pair.b.cache_counts();
    let trusted = pair.b.cache().trusted();
    pair.b_link.restore();
    assert!(
        renewed.is_ok(),
        "B renewed its lease while its lookups stalled: {before:?} -> {after:?}"
    );
    assert!(trusted, "B trusts its cache");
    assert_eq!(after.lease_lapses, before.lease_lapses, "B's lease never lapsed");
}

/// A Redis that may evict keys under memory pressure could drop the lease
/// set, and with it every replica's lease, at once: a replica on such a
/// Redis never trusts its cache (every check reads the database), and
/// trusts it once the policy is `noeviction`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_that_may_evict_the_leases_is_not_trusted() {
    let redis = TestRedis::start().await;
    let mut admin = redis::Client::open(redis.url())
        .expect("a client")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let set_policy = |policy: &'static str| {
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory-policy")
            .arg(policy)
            .to_owned()
    };
    set_policy("allkeys-lru")
        .query_async::<()>(&mut admin)
        .await
        .expect("policy set");
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.redis_url = Some(redis.url());
        config.cache_lease_ms = 400;
        config.cache_ack_timeout_ms = 100;
    })
    .await;
    app.account("acme", "olivia").await;
    for _ in 0..3 {
        app.check("olivia", "acme", "campaigns.send").await;
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(
        !app.cache().trusted(),
        "the cache is not trusted on an allkeys-lru Redis"
    );
    let counts = app.cache_counts();
    assert_eq!(
        counts.local_hits + counts.redis_hits,
        0,
        "every check read the database"
    );
    set_policy("noeviction")
        .query_async::<()>(&mut admin)
        .await
        .expect("policy set");
    until_trusted(&[&app]).await;
}

/// A database slower than a quarter term (each fence read takes about 340
/// ms of a 1 s term) slows the fence reads but does not turn the cache off:
/// each read still extends trust from when it was sent, so C stays trusted
/// throughout and keeps answering from memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_fence_read_keeps_the_cache_trusted() {
    let pair = Pair::start(|_| {}).await;
    let mysql = TcpProxy::start(url_addr(&crate::support::mysql_admin_url())).await;
    let c = pair
        .a
        .replica_with(|config| {
            config.redis_url = Some(pair.redis.url());
            config.database_url = mysql.route(pair.a.database_url());
        })
        .await;
    until_trusted(&[&c]).await;
    // The fence's pool, apart from the requests': its connections are the
    // ones that have read the fence.
    assert!(
        mysql.rule(
            b"cache_fence",
            Mode::Delayed(std::time::Duration::from_millis(40))
        ) > 0,
        "C reads the fence through the proxy"
    );
    let lapses = c.cache_counts().lease_lapses;
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < until {
        assert!(c.cache().trusted(), "a slow fence read turned C's cache off");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(c.cache_counts().lease_lapses, lapses);
}
