//! The cache when what it leans on fails, still keeping docs/domain.md rules
//! 1 (fail closed) and 11 (changes visible at once): each test owns
//! the server it takes away (a Redis child process of its own, or a TCP
//! proxy to MySQL that it cuts) and asserts answers and counts, never
//! timings. MySQL only, as in `properties/replicas.rs`: these are replicas' failures.

use std::time::Duration;

use access_service::grpc::pb;
use pb::DecisionReason as R;
use tonic::Code;

use crate::support::cluster::{Answer, Load, TcpProxy, TestRedis, until_trusted, url_addr};
use crate::support::{Db, TestApp, check, expect_code, mysql_admin_url, reason};

/// Tasks calling each replica at once.
const TASKS_PER_REPLICA: usize = 3;

/// How a test takes Redis away.
#[derive(Clone, Copy, Debug)]
enum Outage {
    /// The process is killed, and started again (empty) on the same port.
    Stopped,
    /// A proxy in front of it is cut, then restored: Redis keeps its
    /// entries, which were filled before a write it never heard of.
    Unreachable,
}

/// A Redis of the test's own, reached directly or through a proxy.
struct RedisLink {
    redis: TestRedis,
    proxy: Option<TcpProxy>,
}

impl RedisLink {
    async fn start(outage: Outage) -> Self {
        let redis = TestRedis::start().await;
        let proxy = match outage {
            Outage::Stopped => None,
            Outage::Unreachable => Some(TcpProxy::start(url_addr(&redis.url())).await),
        };
        Self { redis, proxy }
    }

    /// The URL the replicas use.
    fn url(&self) -> String {
        let url = self.redis.url();
        self.proxy.as_ref().map_or(url.clone(), |proxy| proxy.route(&url))
    }

    fn take_away(&mut self) {
        match &self.proxy {
            Some(proxy) => proxy.cut(),
            None => self.redis.stop(),
        }
    }

    async fn bring_back(&mut self) {
        match &self.proxy {
            Some(proxy) => proxy.restore(),
            None => self.redis.restart().await,
        }
    }
}

/// The load's phases.
const UP: usize = 0;
const DOWN: usize = 1;
const WRITING: usize = 2;
const WRITTEN: usize = 3;
const BACK: usize = 4;
const PHASE_NAMES: [&str; 5] = ["up", "down", "writing", "written", "back"];

/// The checks of the load: "lee", whom the write removes, and "ann", whom
/// nothing changes.
const LEE: usize = 0;
const ANN: usize = 1;

/// Whether an answer is what the database said at some instant between its
/// call being sent and answered. The removal commits while the load is in
/// WRITING: Lee may be allowed by a call sent before it returned, and
/// refused by one answered after it began (even if sent before).
fn matches_database(answer: &Answer) -> bool {
    match (answer.check, answer.outcome) {
        (ANN, Ok(R::Allowed)) => true,
        (LEE, Ok(R::Allowed)) => answer.phase <= WRITING,
        (LEE, Ok(R::NotAMember)) => answer.answered_in >= WRITING,
        _ => false,
    }
}

/// Two replicas answer a load of checks while Redis goes away, a member is
/// removed (the write cannot reach Redis: it waits the leases out), and
/// Redis comes back: every answer matches the database, none fails, none
/// that started after the removal returned allows the removed member, and
/// the caches serve again once Redis is back.
async fn redis_outage_during_load(outage: Outage) {
    let mut link = RedisLink::start(outage).await;
    let a = TestApp::spawn_with(Db::Mysql, |config| {
        config.redis_url = Some(link.url());
        // Short leases keep the write that waits them out short.
        config.cache_lease_ms = 500;
        config.cache_ack_timeout_ms = 150;
    })
    .await;
    let b = a.replica().await;
    until_trusted(&[&a, &b]).await;
    a.account("acme", "olivia").await;
    a.member("olivia", "acme", "lee", "manager", vec![]).await;
    a.member("olivia", "acme", "ann", "viewer", vec![]).await;
    let checks = [
        check("lee", "acme", "campaigns.send", None),
        check("ann", "acme", "campaigns.view", None),
    ];
    let load = Load::start(&[&a, &b], &checks, TASKS_PER_REPLICA);
    load.until(UP, 200).await;
    let up = [a.cache_counts(), b.cache_counts()];

    link.take_away();
    load.enter(DOWN);
    load.until(DOWN, 200).await;
    let down = [a.cache_counts(), b.cache_counts()];

    load.enter(WRITING);
    a.remove("olivia", "acme", "lee")
        .await
        .expect("a write succeeds while Redis is away");
    load.enter(WRITTEN);
    let written = [a.cache_counts(), b.cache_counts()];
    load.until(WRITTEN, 300).await;

    link.bring_back().await;
    until_trusted(&[&a, &b]).await;
    let back = [a.cache_counts(), b.cache_counts()];
    load.enter(BACK);
    load.until(BACK, 500).await;
    let answers = load.stop().await;
    let end = [a.cache_counts(), b.cache_counts()];

    for (replica, name) in ["A", "B"].iter().enumerate() {
        let per_phase: Vec<String> = PHASE_NAMES
            .iter()
            .enumerate()
            .map(|(phase, phase_name)| format!("{phase_name} {}", load_calls(&answers, replica, phase)))
            .collect();
        println!("{outage:?}, replica {name}: calls {}", per_phase.join(", "));
        println!(
            "  up {:?}\n  down {:?}\n  written {:?}\n  back {:?}\n  end {:?}",
            up[replica], down[replica], written[replica], back[replica], end[replica]
        );
    }
    let wrong: Vec<&Answer> = answers.iter().filter(|a| !matches_database(a)).collect();
    let stale = wrong
        .iter()
        .filter(|a| a.check == LEE && a.phase >= WRITTEN && a.outcome == Ok(R::Allowed))
        .count();
    println!(
        "{outage:?}: {} checks, {} wrong, {stale} stale",
        answers.len(),
        wrong.len()
    );
    assert_eq!(
        stale, 0,
        "no allowed answer for lee started after the removal returned"
    );
    assert!(
        wrong.is_empty(),
        "every answer matches the database, none fails: {} wrong, first {:?}",
        wrong.len(),
        wrong.first()
    );
    for replica in 0..2 {
        for phase in [UP, DOWN, WRITTEN, BACK] {
            assert!(
                load_calls(&answers, replica, phase) >= 200,
                "replica {replica} answered in phase {}",
                PHASE_NAMES[phase]
            );
        }
    }
    assert_eq!(
        written[0].writes_waited_out,
        down[0].writes_waited_out + 1,
        "the removal waited the leases out instead of their acknowledgements"
    );
    for replica in 0..2 {
        let served = |c: access_service::cache::CacheCounts| c.local_hits + c.redis_hits;
        assert!(
            served(up[replica]) > 0,
            "replica {replica} served from its cache before the outage"
        );
        assert!(
            down[replica].misses > up[replica].misses,
            "replica {replica} read the database while Redis was away"
        );
        assert!(
            served(end[replica]) > served(back[replica]),
            "replica {replica} serves from its cache again once Redis is back: {:?} -> {:?}",
            back[replica],
            end[replica]
        );
    }
}

fn load_calls(answers: &[Answer], replica: usize, phase: usize) -> usize {
    answers
        .iter()
        .filter(|a| a.replica == replica && a.phase == phase)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stopped_and_restarted_during_a_load() {
    redis_outage_during_load(Outage::Stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_unreachable_during_a_load_with_its_entries_kept() {
    redis_outage_during_load(Outage::Unreachable).await;
}

/// MySQL cut off (a proxy between the server and MySQL refuses and drops
/// connections): checks whose facts are cached are still answered from
/// them; anything else, checks never seen and writes, fails closed with
/// UNAVAILABLE; nothing is half-written; all works again once restored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mysql_unreachable_answers_cached_checks_and_fails_closed_otherwise() {
    let redis = TestRedis::start().await;
    let proxy = TcpProxy::start(url_addr(&mysql_admin_url())).await;
    let app = TestApp::spawn_with(Db::Mysql, |config| {
        config.database_url = proxy.route(&config.database_url);
        config.redis_url = Some(redis.url());
        // Each refused call waits this long for a connection.
        config.db_acquire_timeout_ms = 300;
        // Without the database a replica trusts its entries for at most a
        // term (it cannot read the cache fence): long enough for this test.
        config.cache_lease_ms = 5000;
    })
    .await;
    until_trusted(&[&app]).await;
    app.account("acme", "olivia").await;
    app.account("globex", "gary").await;
    app.member("olivia", "acme", "lee", "manager", vec![]).await;
    app.member("olivia", "acme", "ann", "viewer", vec![]).await;
    let warmed = [
        check("lee", "acme", "campaigns.send", None),
        check("olivia", "acme", "account.close", None),
    ];
    for request in &warmed {
        assert!(app.check_request(request.clone()).await.allowed, "{request:?}");
    }
    let rows = app.table_counts().await;
    let before = app.cache_counts();

    proxy.cut();
    // Cached facts answer any permission of a warmed (user, account) pair.
    let more = [
        check("lee", "acme", "campaigns.view", None),
        check("lee", "acme", "users.remove", None),
    ];
    let mut answered = 0;
    for _ in 0..10 {
        for request in warmed.iter().chain(&more) {
            let answer = app.check_request(request.clone()).await;
            let expected = request.permission != "users.remove";
            assert_eq!(answer.allowed, expected, "{request:?}: {answer:?}");
            answered += 1;
        }
    }
    let cached = app.cache_counts();
    assert_eq!(
        (cached.local_hits - before.local_hits, cached.misses),
        (answered, before.misses),
        "every answer came from memory, none from the database"
    );

    // What no layer holds fails closed.
    let never_seen = [
        check("ann", "acme", "campaigns.view", None),
        check("gary", "globex", "campaigns.view", None),
        check("lee", "globex", "campaigns.view", None),
    ];
    let mut client = app.client.clone();
    for request in never_seen {
        let result = client.authorize(request.clone()).await;
        expect_code(result, Code::Unavailable);
    }
    let batch = client
        .batch_authorize(pb::BatchAuthorizeRequest {
            checks: vec![warmed[0].clone(), check("ann", "acme", "campaigns.view", None)],
            ..Default::default()
        })
        .await;
    expect_code(batch, Code::Unavailable);
    let mut fully = warmed[0].clone();
    fully.consistency = Some(pb::Consistency {
        requirement: Some(pb::consistency::Requirement::FullyConsistent(true)),
    });
    expect_code(client.authorize(fully).await, Code::Unavailable);

    // Writes are refused, and write nothing.
    expect_code(app.remove("olivia", "acme", "lee").await, Code::Unavailable);
    expect_code(
        app.invite("olivia", "acme", "zed", "viewer", vec![]).await,
        Code::Unavailable,
    );
    expect_code(app.close("gary", "globex").await, Code::Unavailable);

    proxy.restore();
    assert_eq!(app.table_counts().await, rows, "nothing was half-written");
    assert!(app.check_request(warmed[0].clone()).await.allowed);
    let ann = app.check("ann", "acme", "campaigns.view").await;
    assert!(ann.allowed, "the database answers again");
    app.remove("olivia", "acme", "lee")
        .await
        .expect("writes succeed again");
    let lee = app.check("lee", "acme", "campaigns.send").await;
    assert_eq!((lee.allowed, reason(&lee)), (false, R::NotAMember));
}

/// A restarted Redis is empty: every lease is gone, so a writer lists no
/// replica to wait for until each has renewed. A replica must therefore
/// trust its cache again only once a renewal made since has put its lease
/// back; otherwise a write made in between returns without waiting for a
/// replica that answers from its cache, and if that replica does not hear
/// the write's invalidation (here its link to Redis freezes), it answers
/// from an entry older than the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_redis_restart_a_replica_trusts_its_cache_only_with_a_lease_redis_holds() {
    let mut redis = TestRedis::start().await;
    let b_link = TcpProxy::start(url_addr(&redis.url())).await;
    let a = TestApp::spawn_with(Db::Mysql, |config| {
        config.redis_url = Some(redis.url());
        // Renewals 500 ms apart: a replica back on Redis waits for one.
        config.cache_lease_ms = 2000;
    })
    .await;
    let b = a
        .replica_with(|config| config.redis_url = Some(b_link.route(&redis.url())))
        .await;
    until_trusted(&[&a, &b]).await;
    a.account("acme", "olivia").await;
    a.member("olivia", "acme", "lee", "manager", vec![]).await;
    assert!(b.check("lee", "acme", "campaigns.send").await.allowed);

    redis.stop();
    let untrusted = async {
        while b.cache().trusted() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), untrusted)
        .await
        .expect("B stops trusting its cache when Redis goes away");
    let renewals = b.cache_counts().lease_renewals;
    redis.restart().await;
    until_trusted(&[&a, &b]).await;
    let renewed = b.cache_counts().lease_renewals > renewals;
    // A's connection to the restarted Redis is up before it writes.
    for _ in 0..2 {
        a.check("nobody", "acme", "campaigns.view").await;
    }
    // B holds lee's facts, then hears nothing more from Redis.
    assert!(b.check("lee", "acme", "campaigns.send").await.allowed);
    b_link.freeze();
    let before = a.cache_counts();
    a.remove("olivia", "acme", "lee").await.expect("removed");
    let after = a.cache_counts();
    let lee = b.check("lee", "acme", "campaigns.send").await;
    b_link.restore();
    println!(
        "B renewed before trusting again: {renewed}; A {before:?} -> {after:?}; B answered {:?}",
        reason(&lee)
    );
    assert_eq!(
        (lee.allowed, reason(&lee)),
        (false, R::NotAMember),
        "B answered from an entry older than the removal, which had returned"
    );
    assert_eq!(
        (after.acks_received - before.acks_received) + (after.revocations - before.revocations),
        1,
        "the write waited for B, which trusted its cache: its acknowledgement, or its lease revoked"
    );
    assert!(
        renewed,
        "B trusts its cache again only after renewing its lease in the restarted Redis"
    );
}

/// When only the writer loses Redis, B still renews its lease and stays
/// subscribed, so no invalidation and no lapse would ever reach it: the
/// writer moves the database's cache fence instead and waits a term, within
/// which B (which trusts its cache only on a fence read less than a term
/// old) sees the fence, drops its entries and moves the epoch past every
/// Redis entry stored before. Without the fence this test fails every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_cut_off_from_redis_alone_leaves_no_stale_answer_elsewhere() {
    let redis = TestRedis::start().await;
    let a_link = TcpProxy::start(url_addr(&redis.url())).await;
    let a = TestApp::spawn_with(Db::Mysql, |config| {
        config.redis_url = Some(a_link.route(&redis.url()));
        config.cache_lease_ms = 500;
    })
    .await;
    let b = a
        .replica_with(|config| config.redis_url = Some(redis.url()))
        .await;
    until_trusted(&[&a, &b]).await;
    a.account("acme", "olivia").await;
    a.member("olivia", "acme", "lee", "manager", vec![]).await;
    assert!(b.check("lee", "acme", "campaigns.send").await.allowed);

    a_link.cut();
    let before = a.cache_counts();
    a.remove("olivia", "acme", "lee").await.expect("removed");
    assert_eq!(a.cache_counts().writes_waited_out, before.writes_waited_out + 1);
    assert!(b.cache().trusted(), "B never lost Redis");
    let lee = b.check("lee", "acme", "campaigns.send").await;
    assert_eq!(
        (lee.allowed, reason(&lee)),
        (false, R::NotAMember),
        "B answered from an entry older than the removal, which had returned"
    );
}
