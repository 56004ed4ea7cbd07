//! A replica as an operating-system process of its own: the release or
//! debug `access-service` binary this test build made, serving on a free
//! port, configured through its environment as an operator would. Unlike an
//! in-process [`TestApp`](super::TestApp) it can be paused whole (SIGSTOP:
//! every task, timer and connection of it at once, as a stalled VM or a
//! container frozen by its runtime) and resumed, or killed at once (SIGKILL,
//! in the middle of whatever it was doing) and started again where it was.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::cluster::free_port;

/// How long a start may take before the test gives up: a guard, not a measure.
const START_GUARD: Duration = Duration::from_secs(60);

/// A running `access-service serve` child process.
pub struct ReplicaProcess {
    child: Child,
    env: Vec<(String, String)>,
    port: u16,
    log: PathBuf,
    paused: bool,
    /// A connection to it (one HTTP/2 connection, opened lazily).
    pub channel: Channel,
    /// Its metrics endpoint.
    pub metrics_addr: std::net::SocketAddr,
}

impl ReplicaProcess {
    /// Starts the server with `env` added to a minimal environment (a free
    /// loopback port, warnings only in its log) and waits until its gRPC
    /// health check answers.
    pub async fn start(env: &[(&str, String)]) -> Self {
        let port = free_port();
        let metrics_addr: std::net::SocketAddr =
            format!("127.0.0.1:{}", free_port()).parse().expect("an address");
        let log = std::env::temp_dir().join(format!("access-replica-{}.log", uuid::Uuid::new_v4().simple()));
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect();
        env.push(("ACCESS_METRICS_ADDR".to_owned(), metrics_addr.to_string()));
        let child = spawn(port, &env, &log);
        let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("valid uri")
            .connect_lazy();
        let mut replica = Self {
            child,
            env,
            port,
            log,
            paused: false,
            channel,
            metrics_addr,
        };
        replica.until_serving().await;
        replica
    }

    /// Kills the process at once (SIGKILL, paused or not), then starts it
    /// again with the same settings and ports, and waits until it serves.
    /// Its channel reconnects by itself.
    pub async fn kill_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.paused = false;
        self.child = spawn(self.port, &self.env, &self.log);
        self.until_serving().await;
    }

    async fn until_serving(&mut self) {
        let mut health = HealthClient::new(self.channel.clone());
        let wait = async {
            loop {
                if health.check(HealthCheckRequest::default()).await.is_ok() {
                    return;
                }
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("the replica exited ({status}): {}", self.log_text());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        if tokio::time::timeout(START_GUARD, wait).await.is_err() {
            panic!("the replica never served: {}", self.log_text());
        }
    }

    /// Authorize through this replica.
    pub async fn check(
        &self,
        user: &str,
        account: &str,
        permission: &str,
    ) -> Result<pb::AuthorizeResponse, tonic::Status> {
        AccessServiceClient::new(self.channel.clone())
            .authorize(super::check(user, account, permission, None))
            .await
            .map(tonic::Response::into_inner)
    }

    /// The value of one sample of its metrics now (0 if absent).
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        super::scrape::scrape(self.metrics_addr).await.value(name, labels)
    }

    /// Freezes the whole process (SIGSTOP).
    pub fn pause(&mut self) {
        self.signal("STOP");
        self.paused = true;
    }

    /// Lets it run again (SIGCONT).
    pub fn resume(&mut self) {
        self.signal("CONT");
        self.paused = false;
    }

    /// Whether it is paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {}", self.child.id());
    }

    /// What the process has logged so far (warnings and errors).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `access-service serve` on `port` with `env`, its output appended to `log`.
fn spawn(port: u16, env: &[(String, String)], log: &std::path::Path) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("a log file for the replica");
    Command::new(env!("CARGO_BIN_EXE_access-service"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ACCESS_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("ACCESS_LOG", "warn")
        .envs(env.iter().map(|(key, value)| (key.as_str(), value.as_str())))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("the log file, twice"))
        .stderr(out)
        .spawn()
        .expect("the access-service binary starts")
}

impl Drop for ReplicaProcess {
    fn drop(&mut self) {
        // SIGKILL ends a stopped process too.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
