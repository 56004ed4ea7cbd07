//! Several replicas and the servers they lean on, owned by the test: a
//! unique namespace on the shared Redis, a Redis of the test's own that it
//! can stop and start again, TCP proxies it can break a connection at a
//! time ([`TcpProxy`]), and a load of Authorize calls whose every answer is
//! recorded with the phase its call started in.
//! Replicas themselves are [`TestApp::replica`].

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use access_service::Config;
use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tonic::Code;

use crate::support::{TestApp, reason};

pub use super::proxy::{Mode, TcpProxy, url_addr};

/// How long a wait for something that must happen may last before the test
/// gives up: a guard against hanging, never an assertion about speed.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Waits until every app trusts its cache (its lease is live and its
/// subscription up), as a fresh replica does within a renewal or two.
pub async fn until_trusted(apps: &[&TestApp]) {
    let wait = async {
        while !apps.iter().all(|app| app.cache().trusted()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, wait)
        .await
        .expect("every replica comes to trust its cache");
}

// === A namespace of its own on the shared Redis ===

/// The Redis the tests share (`scripts/services` starts it).
fn shared_redis_url() -> String {
    std::env::var("ACCESS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A namespace no other test uses on the shared Redis; its keys are deleted
/// when dropped. Declare it before the apps that use it, so it outlives them.
pub struct RedisNamespace {
    url: String,
    name: String,
}

impl RedisNamespace {
    pub fn new() -> Self {
        Self {
            url: shared_redis_url(),
            name: format!("access_test_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// Points `config` at the shared Redis, under this namespace.
    pub fn configure(&self, config: &mut Config) {
        config.redis_url = Some(self.url.clone());
        config.redis_namespace = self.name.clone();
    }
}

impl Drop for RedisNamespace {
    fn drop(&mut self) {
        let pattern = format!("{}:*", self.name);
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        // Blocking calls: on a thread of their own, outside the runtime.
        let _ = std::thread::spawn(move || {
            let Ok(mut conn) = client.get_connection() else {
                return;
            };
            let keys: Vec<String> = match redis::Commands::scan_match(&mut conn, &pattern) {
                Ok(keys) => keys.filter_map(Result::ok).collect(),
                Err(_) => return,
            };
            if !keys.is_empty() {
                let _ = redis::cmd("DEL").arg(keys).query::<()>(&mut conn);
            }
        })
        .join();
    }
}

// === A Redis of the test's own ===

/// A free port on the loopback interface (free when asked; taken a moment later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A `redis-server` child process on a free port, without persistence:
/// stopped (killed) and started again on the same port at will, and killed
/// when dropped.
pub struct TestRedis {
    port: u16,
    child: Option<Child>,
}

impl TestRedis {
    /// Starts a Redis and waits until it answers.
    pub async fn start() -> Self {
        let mut redis = Self {
            port: free_port(),
            child: None,
        };
        redis.restart().await;
        redis
    }

    /// Where it listens, for `ACCESS_REDIS_URL`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (no shutdown, no save): every connection drops.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the server on the same port, empty, and waits until it answers.
    pub async fn restart(&mut self) {
        self.stop();
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (scripts/services installs it)");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).expect("a valid Redis URL");
        let answers = async {
            loop {
                if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                    && redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
                {
                    return;
                }
                if let Some(child) = self.child.as_mut()
                    && let Ok(Some(status)) = child.try_wait()
                {
                    panic!("redis-server on port {} exited: {status}", self.port);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(HANG_GUARD, answers)
            .await
            .expect("redis-server answers");
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

// === A recorded load of Authorize calls ===

/// Most phases a load goes through.
const PHASES: usize = 8;

/// One answer of a load.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    /// Index of the replica asked, in the order given to [`Load::start`].
    pub replica: usize,
    /// Index of the check asked.
    pub check: usize,
    /// The phase of the load when the call was sent.
    pub phase: usize,
    /// The phase of the load when its answer arrived: a call sent before an
    /// event may be answered after it, from the state after it.
    pub answered_in: usize,
    /// The decision's reason, or the status code of a failed call.
    pub outcome: Result<pb::DecisionReason, Code>,
}

struct LoadState {
    phase: AtomicUsize,
    stop: AtomicBool,
    /// Calls finished, by replica and by the phase they started in.
    done: Vec<[AtomicU64; PHASES]>,
    progress: Notify,
}

/// Authorize calls with no consistency token, sent back to back by several
/// tasks on each replica, cycling through the checks, until stopped; each
/// answer is recorded with the phase the load was in when its call was sent.
/// The test moves the phase on ([`Load::enter`]) after each event (a write
/// returned, a server stopped), so an answer whose phase is later than an
/// event comes from a call that started after it.
pub struct Load {
    state: Arc<LoadState>,
    tasks: Vec<JoinHandle<Vec<Answer>>>,
}

impl Load {
    /// Starts `tasks_per_replica` tasks on each replica, in phase 0.
    pub fn start(replicas: &[&TestApp], checks: &[pb::AuthorizeRequest], tasks_per_replica: usize) -> Self {
        assert!(!checks.is_empty());
        let state = Arc::new(LoadState {
            phase: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            done: replicas.iter().map(|_| Default::default()).collect(),
            progress: Notify::new(),
        });
        let checks: Arc<[pb::AuthorizeRequest]> = checks.into();
        let mut tasks = Vec::new();
        for (replica, app) in replicas.iter().enumerate() {
            for task in 0..tasks_per_replica {
                let state = Arc::clone(&state);
                let checks = Arc::clone(&checks);
                let mut client = AccessServiceClient::new(app.channel.clone());
                tasks.push(tokio::spawn(async move {
                    let mut answers = Vec::new();
                    let mut next = task;
                    while !state.stop.load(Ordering::Acquire) {
                        let check = next % checks.len();
                        next += 1;
                        let phase = state.phase.load(Ordering::Acquire);
                        let outcome = client
                            .authorize(checks[check].clone())
                            .await
                            .map(|response| reason(response.get_ref()))
                            .map_err(|status| status.code());
                        answers.push(Answer {
                            replica,
                            check,
                            phase,
                            answered_in: state.phase.load(Ordering::Acquire),
                            outcome,
                        });
                        state.done[replica][phase].fetch_add(1, Ordering::AcqRel);
                        state.progress.notify_waiters();
                    }
                    answers
                }));
            }
        }
        Self { state, tasks }
    }

    /// Moves the load to `phase`: calls sent from now on are recorded in it.
    pub fn enter(&self, phase: usize) {
        assert!(phase < PHASES);
        let before = self.state.phase.swap(phase, Ordering::AcqRel);
        assert!(before < phase, "phases only move forward");
    }

    /// Calls finished so far on `replica` that started in `phase`.
    pub fn calls(&self, replica: usize, phase: usize) -> u64 {
        self.state.done[replica][phase].load(Ordering::Acquire)
    }

    /// Waits until every replica has finished at least `calls` calls started in `phase`.
    pub async fn until(&self, phase: usize, calls: u64) {
        let wait = async {
            loop {
                let progress = self.state.progress.notified();
                tokio::pin!(progress);
                progress.as_mut().enable();
                if (0..self.state.done.len()).all(|replica| self.calls(replica, phase) >= calls) {
                    return;
                }
                progress.await;
            }
        };
        if tokio::time::timeout(HANG_GUARD, wait).await.is_err() {
            let counts: Vec<u64> = (0..self.state.done.len())
                .map(|replica| self.calls(replica, phase))
                .collect();
            panic!("the load stalled in phase {phase}: {counts:?} calls per replica, {calls} wanted");
        }
    }

    /// Stops every task and returns every answer.
    pub async fn stop(self) -> Vec<Answer> {
        self.state.stop.store(true, Ordering::Release);
        let mut answers = Vec::new();
        for task in self.tasks {
            answers.extend(task.await.expect("a load task finishes"));
        }
        answers
    }
}
