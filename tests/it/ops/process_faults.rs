//! Faults that take a whole replica at once: its process paused (SIGSTOP,
//! as a stalled VM or a frozen container: every task, timer and connection
//! stops together, and all resume together) or killed in the middle of a
//! write (SIGKILL), and a randomized run of such faults beside Redis restarts, a write workload and a check hammer, judged
//! by an independent checker. Rule 11 of docs/domain.md, under the faults
//! docs/consistency.md says it holds. The replicas that fail here are
//! processes of their own (`support/process.rs`); the writer A is in-process
//! so its counters can be read.

use std::time::Duration;

use access_service::Config;

use crate::support::cluster::TestRedis;
use crate::support::process::ReplicaProcess;
use crate::support::{Db, TestApp};

/// Lease timings short enough for a test, as the other fault tests use.
pub(super) const LEASE_MS: u64 = 1000;
pub(super) const ACK_TIMEOUT_MS: u64 = 250;

/// A writer A on MySQL and the test's own Redis, and the environment that
/// makes a process a replica of it.
pub(super) async fn writer(redis: &TestRedis) -> (TestApp, Vec<(&'static str, String)>) {
    let a = TestApp::spawn_with(Db::Mysql, |config: &mut Config| {
        config.redis_url = Some(redis.url());
        config.cache_lease_ms = LEASE_MS;
        config.cache_ack_timeout_ms = ACK_TIMEOUT_MS;
    })
    .await;
    let env = vec![
        ("ACCESS_DATABASE_URL", a.database_url().to_owned()),
        ("ACCESS_REDIS_URL", redis.url()),
        ("ACCESS_REDIS_NAMESPACE", a.config.redis_namespace.clone()),
        ("ACCESS_CACHE_LEASE_MS", LEASE_MS.to_string()),
        ("ACCESS_CACHE_ACK_TIMEOUT_MS", ACK_TIMEOUT_MS.to_string()),
    ];
    (a, env)
}

/// Waits until the process trusts its cache (its lease live, subscribed).
pub(super) async fn until_trusted(replica: &ReplicaProcess) {
    let wait = async {
        while replica.metric("access_cache_trusted", &[]).await < 1.0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("the replica comes to trust its cache");
}

/// Whether Lee may send, asked of `replica`.
async fn lee_on(replica: &ReplicaProcess) -> bool {
    replica
        .check("lee", "acme", "campaigns.send")
        .await
        .expect("the replica answers")
        .allowed
}

/// B answers Lee's check from its cache, then freezes whole with its lease
/// live; Lee is removed through A meanwhile. The write cannot hear from B:
/// it revokes B's lease and returns once what that lease had left has
/// passed. B, resumed, must not answer from the entry it held.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_paused_while_a_write_returned_never_answers_from_before_it() {
    let redis = TestRedis::start().await;
    let (a, env) = writer(&redis).await;
    a.account("acme", "olivia").await;
    a.member("olivia", "acme", "lee", "manager", vec![]).await;
    let mut b = ReplicaProcess::start(&env).await;
    until_trusted(&b).await;
    assert!(lee_on(&b).await);
    let hits = b.metric("access_cache_hits_total", &[("layer", "local")]).await;
    assert!(lee_on(&b).await);
    assert!(
        b.metric("access_cache_hits_total", &[("layer", "local")]).await > hits,
        "B answers Lee from its cache before the pause"
    );

    b.pause();
    let before = a.cache_counts();
    a.remove("olivia", "acme", "lee").await.expect("removed");
    let after = a.cache_counts();
    b.resume();

    assert!(
        !lee_on(&b).await,
        "B, resumed, answered from an entry older than the removal, which had returned"
    );
    assert_eq!(after.revocations, before.revocations + 1, "B's lease was revoked");
}
