//! The coherence protocol when one connection fails and the others work:
//! a replica whose invalidation subscription hears nothing while its lease
//! renewals go on, a writer whose revocations never reach Redis. Each test
//! owns its Redis and the proxies in front of it, and singles out a
//! replica's connections by what they send (see `support/proxy.rs`). Rule
//! 11 of docs/domain.md, under the faults docs/consistency.md says it holds.

use access_service::Config;
use access_service::grpc::pb;
use pb::DecisionReason as R;

use crate::support::cluster::{Mode, TcpProxy, TestRedis, until_trusted, url_addr};
use crate::support::{Db, TestApp, reason};

/// What a replica's invalidation subscription sends, and nothing else does.
const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
/// What the revocation script sends, and no other command of the protocol.
const REVOKE: &[u8] = b"SADD";

/// Two replicas on a Redis of the test's own, each through a proxy of its
/// own; A is the writer. B reaches the database directly, whatever A does.
pub(super) struct Pair {
    pub a: TestApp,
    pub b: TestApp,
    pub a_link: TcpProxy,
    pub b_link: TcpProxy,
    // Declared last: dropped after the replicas.
    _redis: TestRedis,
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
            _redis: redis,
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

/// As above, but the revocation never reaches Redis (the connection that
/// sends it is cut, again on every retry): the writer may not stop waiting
/// for B on the strength of a revocation Redis did not confirm, nor on the
/// time B's lease had left, since B keeps renewing it. It moves the database
/// fence and waits a term from there: B, which trusts its cache only on a
/// fence read less than a term old, drops its entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unconfirmed_revocation_moves_the_fence_before_the_write_returns() {
    let pair = Pair::with_lee(1000, 250).await;
    pair.silence_b();
    pair.a_link.rule(REVOKE, Mode::Cut);
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
        "B answered from an entry older than the removal, which had returned"
    );
    assert_eq!(after.fence_moves, before.fence_moves + 1, "A moved the fence");
    assert_eq!(
        after.revocations, before.revocations,
        "no revocation was confirmed"
    );
}
