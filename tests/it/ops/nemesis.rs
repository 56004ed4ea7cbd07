//! A randomized fault run, as Jepsen's nemesis does it: three replicas on
//! MySQL and a Redis of the test's own, a write workload, a check hammer,
//! and faults injected one at a time at random, judged afterwards by an
//! independent checker that counts every answer contradicting a write that
//! had returned before its check was sent (rule 11 of docs/domain.md).
//! A is in the test's process; B and C are processes of their own
//! (`support/process.rs`), each reaching Redis and MySQL through proxies of
//! its own (`support/proxy.rs`), so a fault can take one replica's process,
//! its subscription, its Redis link or its database link. Seedable and
//! bounded in time: docs/consistency.md, "The randomized run".

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use access_service::grpc::pb::access_service_client::AccessServiceClient;
use access_service::grpc::pb::{Consistency, consistency::Requirement};
use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};
use tonic::transport::Channel;

use super::process_faults::{until_trusted, writer};
use crate::support::cluster::{Mode, TcpProxy, TestRedis, url_addr};
use crate::support::process::ReplicaProcess;
use crate::support::{deactivate, never_sent, reactivate};

/// Users whose access the workload flips; all managers of acme at first.
const USERS: usize = 4;
/// Check tasks per replica.
const CHECKERS: usize = 2;

/// What the nemesis can do, each as likely as the others.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The replica's process frozen whole (SIGSTOP), then resumed.
    Pause,
    /// Its process killed (SIGKILL) just after a write through it was sent,
    /// then started again.
    KillDuringWrite,
    /// Redis killed and started again, empty.
    RestartRedis,
    /// Its invalidation subscription hears nothing; everything else works.
    SilenceSubscription,
    /// Every connection between it and Redis holds its bytes.
    PartitionFromRedis,
    /// Every connection between it and MySQL holds its bytes.
    StallDatabase,
    /// Its connections to MySQL cut, new ones refused.
    CutDatabase,
    /// Its next COMMIT carried out by MySQL, the reply lost with the connection.
    SwallowCommitReply,
}

const FAULTS: [Fault; 8] = [
    Fault::Pause,
    Fault::KillDuringWrite,
    Fault::RestartRedis,
    Fault::SilenceSubscription,
    Fault::PartitionFromRedis,
    Fault::StallDatabase,
    Fault::CutDatabase,
    Fault::SwallowCommitReply,
];

/// What a replica's invalidation subscription sends, and nothing else does.
const SUBSCRIBE: &[u8] = b"SUBSCRIBE";

/// A replica process and the proxies it reaches Redis and MySQL through.
struct Replica {
    process: ReplicaProcess,
    redis_link: TcpProxy,
    database_link: TcpProxy,
}

impl Replica {
    /// Starts a replica of A (`env`) whose Redis and MySQL URLs go through
    /// proxies of its own.
    async fn start(env: &[(&'static str, String)], redis: &TestRedis) -> Self {
        let database_url = env
            .iter()
            .find(|(key, _)| *key == "ACCESS_DATABASE_URL")
            .map(|(_, url)| url.clone())
            .expect("A's database URL");
        let redis_link = TcpProxy::start(url_addr(&redis.url())).await;
        let database_link = TcpProxy::start(url_addr(&database_url)).await;
        let mut env = env.to_vec();
        for (key, value) in &mut env {
            match *key {
                "ACCESS_DATABASE_URL" => *value = database_link.route(&database_url),
                "ACCESS_REDIS_URL" => *value = redis_link.route(&redis.url()),
                _ => {}
            }
        }
        Self {
            process: ReplicaProcess::start(&env).await,
            redis_link,
            database_link,
        }
    }
}

/// Lets a fault on `link` last, then heals it.
async fn restore_after(link: &TcpProxy, lasting: Duration) {
    tokio::time::sleep(lasting).await;
    link.restore();
}

/// One write of the workload: `user` made active (reactivated) or not
/// (deactivated), sent at `start`, answered at `end`; `ok` when it returned
/// success. A failed write (its replica killed or cut off under it) may or may not have
/// committed: `active` is then what the database held afterwards.
struct Write {
    user: usize,
    start: Instant,
    end: Instant,
    active: bool,
    ok: bool,
}

/// One check: `user`'s campaigns.send, sent to `replica` at `sent`,
/// answered at `answered` (an error: `None`).
struct Check {
    replica: usize,
    user: usize,
    sent: Instant,
    answered: Instant,
    allowed: Option<bool>,
}

fn user(i: usize) -> String {
    format!("u{i}")
}

/// The seed and length of the run: ACCESS_TEST_NEMESIS_SEED replays a run
/// (each run prints its seed), ACCESS_TEST_NEMESIS_SECS makes it longer.
fn run_settings() -> (u64, Duration) {
    let seed = std::env::var("ACCESS_TEST_NEMESIS_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| u64::from(uuid::Uuid::new_v4().as_fields().0));
    let secs = std::env::var("ACCESS_TEST_NEMESIS_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(8);
    (seed, Duration::from_secs(secs))
}

fn rng(seed: u64, stream: u64) -> TestRng {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..].copy_from_slice(&stream.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::XorShift, &bytes)
}

/// Which states a check may see: the one the last write returned before the
/// check was sent left, and those of writes running while it was (an
/// overlapping write may or may not be seen). A failed write runs, as far as
/// anyone can tell, until the next write of its user returns. Writes are
/// sequential.
fn may_see(writes: &[Write], check: &Check) -> Vec<bool> {
    let of_user: Vec<&Write> = writes.iter().filter(|w| w.user == check.user).collect();
    let mut states = vec![
        of_user
            .iter()
            .rfind(|w| w.ok && w.end < check.sent)
            .is_none_or(|w| w.active),
    ];
    for (i, w) in of_user.iter().enumerate() {
        let until = if w.ok {
            Some(w.end)
        } else {
            of_user[i + 1..].iter().find(|next| next.ok).map(|next| next.end)
        };
        if w.start < check.answered && until.is_none_or(|until| until >= check.sent) {
            states.push(w.active);
        }
    }
    states
}

/// Deactivates `name` when `active`, else reactivates them; sends again a
/// call a connection's end left unsent (docs/operations.md, "Connections
/// that end"), as every well-behaved caller does.
async fn flip(
    client: &mut AccessServiceClient<Channel>,
    name: &str,
    active: bool,
) -> Result<(), tonic::Status> {
    loop {
        let result = if active {
            client
                .deactivate_member(deactivate("olivia", "acme", name))
                .await
                .map(drop)
        } else {
            client
                .reactivate_member(reactivate("olivia", "acme", name))
                .await
                .map(drop)
        };
        match result {
            Err(status) if never_sent(&status) => {}
            result => return result,
        }
    }
}

/// Three replicas (A in-process, B and C processes) on MySQL and a Redis of
/// the test's own. One task flips users' access through a random replica,
/// one write at a time; check tasks on every replica ask, back to back,
/// whether a random user may send; a nemesis, meanwhile, strikes B or C
/// with one of [`FAULTS`] for up to two and a half lease terms, or restarts
/// Redis empty. Seedable and bounded in time. The checker counts every answer that contradicts a
/// write returned before its check was sent: there must be none.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_answer_contradicts_a_returned_write_under_random_faults() {
    let (seed, length) = run_settings();
    eprintln!("nemesis: seed {seed}, {length:?} (replay with ACCESS_TEST_NEMESIS_SEED={seed})");
    let mut redis = TestRedis::start().await;
    let (a, env) = writer(&redis).await;
    a.account("acme", "olivia").await;
    for i in 0..USERS {
        a.member("olivia", "acme", &user(i), "manager", vec![]).await;
    }
    let mut replicas = Vec::new();
    for _ in 0..2 {
        replicas.push(Replica::start(&env, &redis).await);
    }
    for replica in &replicas {
        until_trusted(&replica.process).await;
    }
    let channels: Vec<Channel> = std::iter::once(a.channel.clone())
        .chain(replicas.iter().map(|r| r.process.channel.clone()))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let began = Instant::now();

    let mut checkers = Vec::new();
    for (replica, channel) in channels.iter().enumerate() {
        for task in 0..CHECKERS {
            let mut client = AccessServiceClient::new(channel.clone());
            let stop = Arc::clone(&stop);
            let mut rng = rng(seed, (replica * CHECKERS + task) as u64 + 1);
            checkers.push(tokio::spawn(async move {
                let mut checks = Vec::new();
                while !stop.load(Ordering::Acquire) {
                    let user_index = rng.random_range(0..USERS);
                    let sent = Instant::now();
                    let request = crate::support::check(&user(user_index), "acme", "campaigns.send", None);
                    let answer =
                        tokio::time::timeout(Duration::from_secs(30), client.authorize(request)).await;
                    let allowed = match answer {
                        Ok(Ok(response)) => Some(response.into_inner().allowed),
                        // A killed replica refuses connections until it is back.
                        _ => {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            None
                        }
                    };
                    checks.push(Check {
                        replica,
                        user: user_index,
                        sent,
                        answered: Instant::now(),
                        allowed,
                    });
                }
                checks
            }));
        }
    }

    // Which replica a write is going through now (0: none, or through A).
    let in_flight = Arc::new(AtomicUsize::new(0));
    let workload = {
        let channels = channels.clone();
        let stop = Arc::clone(&stop);
        let in_flight = Arc::clone(&in_flight);
        let mut rng = rng(seed, 0);
        tokio::spawn(async move {
            let mut active = [true; USERS];
            let mut writes = Vec::new();
            while !stop.load(Ordering::Acquire) {
                let user_index = rng.random_range(0..USERS);
                // Most writes through A; some through a process, which may be
                // paused or killed under them.
                let via = if rng.random_range(0..10) < 6 {
                    0
                } else {
                    rng.random_range(1..channels.len())
                };
                let mut client = AccessServiceClient::new(channels[via].clone());
                let name = user(user_index);
                in_flight.store(via, Ordering::Release);
                let start = Instant::now();
                let result = flip(&mut client, &name, active[user_index]).await;
                let end = Instant::now();
                in_flight.store(0, Ordering::Release);
                let ok = match result {
                    Ok(()) => {
                        active[user_index] = !active[user_index];
                        true
                    }
                    Err(status) if via != 0 => {
                        // Its replica died under it: the database says whether
                        // it committed, once the dead connection's COMMIT (if
                        // one was sent) has been dealt with.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        let mut a = AccessServiceClient::new(channels[0].clone());
                        let mut request = crate::support::check(&name, "acme", "campaigns.send", None);
                        request.consistency = Some(Consistency {
                            requirement: Some(Requirement::FullyConsistent(true)),
                        });
                        active[user_index] = loop {
                            match a.authorize(request.clone()).await {
                                Ok(answer) => break answer.into_inner().allowed,
                                Err(err) if never_sent(&err) => {}
                                Err(err) => panic!("A answers after {status:?}: {err:?}"),
                            }
                        };
                        false
                    }
                    Err(status) => panic!("a write through A failed (seed {seed}): {status:?}"),
                };
                writes.push(Write {
                    user: user_index,
                    start,
                    end,
                    active: active[user_index],
                    ok,
                });
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..80))).await;
            }
            writes
        })
    };

    // The nemesis, here: one fault at a time.
    let mut nemesis = rng(seed, u64::MAX);
    let mut struck = [0usize; FAULTS.len()];
    while began.elapsed() < length {
        tokio::time::sleep(Duration::from_millis(nemesis.random_range(100..1200))).await;
        let fault = nemesis.random_range(0..FAULTS.len());
        let which = nemesis.random_range(0..replicas.len());
        let lasting = Duration::from_millis(nemesis.random_range(50..2500));
        let replica = &mut replicas[which];
        match FAULTS[fault] {
            Fault::Pause => {
                replica.process.pause();
                tokio::time::sleep(lasting).await;
                replica.process.resume();
            }
            Fault::KillDuringWrite => {
                // Right after a write through it was sent: before, during or
                // after its COMMIT, as chance has it.
                let through = async {
                    while in_flight.load(Ordering::Acquire) != which + 1 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(2), through).await;
                tokio::time::sleep(Duration::from_millis(nemesis.random_range(0..15))).await;
                replica.process.kill_and_restart().await;
            }
            Fault::RestartRedis => redis.restart().await,
            Fault::SilenceSubscription => {
                replica.redis_link.affect(SUBSCRIBE, Mode::DropToClient);
                restore_after(&replica.redis_link, lasting).await;
            }
            Fault::PartitionFromRedis => {
                replica.redis_link.freeze();
                restore_after(&replica.redis_link, lasting).await;
            }
            Fault::StallDatabase => {
                replica.database_link.freeze();
                restore_after(&replica.database_link, lasting).await;
            }
            Fault::CutDatabase => {
                replica.database_link.cut();
                restore_after(&replica.database_link, lasting).await;
            }
            Fault::SwallowCommitReply => {
                // The next COMMIT through this replica is carried out, and its
                // OK lost with the connection.
                replica.database_link.cut_after_reply_to(b"COMMIT");
                restore_after(&replica.database_link, lasting).await;
            }
        }
        struck[fault] += 1;
    }
    stop.store(true, Ordering::Release);
    let writes = workload.await.expect("the workload ends");
    let mut checks = Vec::new();
    for checker in checkers {
        checks.extend(checker.await.expect("a checker ends"));
    }

    let replica_count = channels.len();
    let answered: Vec<usize> = (0..replica_count)
        .map(|r| {
            checks
                .iter()
                .filter(|c| c.replica == r && c.allowed.is_some())
                .count()
        })
        .collect();
    let failed = checks.iter().filter(|c| c.allowed.is_none()).count();
    let contradicting: Vec<&Check> = checks
        .iter()
        .filter(|c| {
            c.allowed
                .is_some_and(|allowed| !may_see(&writes, c).contains(&allowed))
        })
        .collect();
    let faults: Vec<String> = FAULTS
        .iter()
        .zip(struck.iter())
        .map(|(fault, times)| format!("{fault:?} ×{times}"))
        .collect();
    eprintln!(
        "nemesis: seed {seed}: {} writes ({} failed), faults: {}; answers per replica {answered:?}, \
         {failed} failed checks, {} contradicting",
        writes.len(),
        writes.iter().filter(|w| !w.ok).count(),
        faults.join(", "),
        contradicting.len()
    );
    for c in contradicting.iter().take(5) {
        eprintln!(
            "  replica {} said {:?} for {} (sent at {:?}, answered at {:?})",
            c.replica,
            c.allowed,
            user(c.user),
            c.sent.duration_since(began),
            c.answered.duration_since(began)
        );
    }
    assert!(
        contradicting.is_empty(),
        "{} answers contradicted a write that had returned before their check was sent (seed {seed})",
        contradicting.len()
    );
    assert!(writes.len() >= 5, "the workload wrote ({} writes)", writes.len());
    assert!(struck.iter().sum::<usize>() >= 2, "the nemesis struck");
    assert!(
        answered.iter().all(|&n| n >= 20),
        "every replica answered checks throughout: {answered:?}"
    );
    for replica in &replicas {
        assert!(!replica.process.is_paused());
    }
}
