//! TestApp: the real server, in-process on port 0, over a fresh database,
//! and the clients that reach it.

use std::sync::Arc;

use access_service::cache::{Cache, CacheCounts};
use access_service::grpc::middleware::ApiKeys;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use access_service::storage::StatementCounter;
use access_service::{App, Config};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Status;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::channel::{Client, TestChannel};
use super::database::{Db, TestDb};

/// A running server and a client connected to it.
pub struct TestApp {
    /// Where the server listens, for tests that open their own connections.
    pub addr: std::net::SocketAddr,
    /// Where its metrics endpoint listens, when configured.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Where its plaintext health-only listener is, when configured.
    pub health_addr: Option<std::net::SocketAddr>,
    /// Sends through [`TestChannel`]: plain, or adding actor tokens.
    pub client: Client,
    pub channel: Channel,
    /// A direct connection for assertions on what was (not) written.
    pub db: DatabaseConnection,
    /// SQL statements the server has sent (not this test's direct connection).
    pub statements: StatementCounter,
    /// What the server was built with: a replica starts from it.
    pub config: Config,
    /// The server's cache: its counters and whether it trusts its entries.
    cache: Arc<Cache>,
    stop: Option<oneshot::Sender<()>>,
    /// The server's task: it ends when its shutdown sequence does.
    served: Option<JoinHandle<anyhow::Result<()>>>,
    // Declared last: dropped after the server stops.
    database: Arc<TestDb>,
}

impl TestApp {
    /// Starts a server whose configuration `adjust` may change.
    pub async fn spawn_with(kind: Db, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_traced(kind, adjust, None).await
    }

    /// Starts a server whose request spans go to `trace` (its own subscriber,
    /// not the process-wide one) when given.
    pub async fn spawn_traced(
        kind: Db,
        adjust: impl FnOnce(&mut Config),
        trace: Option<tracing::Dispatch>,
    ) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            // The first test to get here installs the global subscriber.
            let _telemetry =
                access_service::telemetry::init("info", access_service::config::LogFormat::Text, None);
        }
        let database = Arc::new(TestDb::create(kind).await);
        let mut config = Config {
            listen_addr: "127.0.0.1:0".parse().expect("loopback address"),
            database_url: database.url.clone(),
            db_max_connections: 8,
            ..Config::default()
        };
        // Scenarios resend an invitation right after sending it; the
        // cooldown's own tests (api::invitations::email_limits) set it.
        config.email.invitation_resend_cooldown_secs = 0;
        adjust(&mut config);
        Self::start(config, database, trace).await
    }

    /// Another server on the same database, with the same configuration
    /// (the same Redis and namespace, if any) but its own port, pool and
    /// cache: a replica. The database is dropped with the last of them.
    pub async fn replica(&self) -> Self {
        self.replica_with(|_config| {}).await
    }

    /// A replica whose configuration `adjust` may change (to reach Redis
    /// through a proxy of its own, say).
    pub async fn replica_with(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.config.clone();
        adjust(&mut config);
        Self::start(config, Arc::clone(&self.database), None).await
    }

    async fn start(config: Config, database: Arc<TestDb>, trace: Option<tracing::Dispatch>) -> Self {
        let mut app = App::build(config.clone()).await.expect("app builds");
        if let Some(dispatch) = trace {
            app = app.with_trace_dispatch(dispatch);
        }
        let addr = app.local_addr().expect("bound address");
        let metrics_addr = app.metrics_addr();
        let health_addr = app.health_addr();
        let statements = app.statement_counter();
        let cache = app.cache();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let channel = if config.tls_cert_file.is_some() {
            // A TLS server: its tests open their own TLS connections (with the
            // CA and client certificate each needs); this one is never used.
            Channel::from_shared(format!("http://{addr}"))
                .expect("valid uri")
                .connect_lazy()
        } else {
            connect(addr).await
        };
        let db = Database::connect(database.url.clone())
            .await
            .expect("direct connection");
        Self {
            addr,
            metrics_addr,
            health_addr,
            client: AccessServiceClient::new(TestChannel::plain(channel.clone())),
            channel,
            db,
            statements,
            config,
            cache,
            stop: Some(stop),
            served: Some(served),
            database,
        }
    }

    /// This server's client from now on sends, with each call for a person,
    /// a token from `issuer` for the person the request names (the server
    /// must be in the token mode for `issuer`: `issuer.configure`).
    pub fn acting_with_tokens(mut self, issuer: std::sync::Arc<super::issuer::TestIssuer>) -> Self {
        self.client = AccessServiceClient::new(TestChannel::minting(self.channel.clone(), issuer));
        self
    }

    /// Signals shutdown, as SIGTERM does, and returns the server's task,
    /// which ends with the shutdown sequence.
    pub fn shut_down(&mut self) -> JoinHandle<anyhow::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.served.take().expect("the server is shut down once")
    }

    /// This server's cache (trust, sizes).
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// What this server's cache layers have done so far.
    pub fn cache_counts(&self) -> CacheCounts {
        self.cache.stats().counts()
    }

    /// Runs `call` and returns its result with the number of SQL statements
    /// the server sent meanwhile (the test's own direct connection excluded).
    pub async fn statements_during<T>(&self, call: impl std::future::Future<Output = T>) -> (T, u64) {
        let before = self.statements.get();
        let result = call.await;
        (result, self.statements.get() - before)
    }

    /// The URL of this test's database.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    /// Runs a `SELECT COUNT(*) AS n ...` on the test database.
    pub async fn count(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .expect("count query runs")
            .expect("count returns a row");
        row.try_get::<i64>("", "n").expect("count is an integer")
    }

    /// Activity-log rows of one account with one action.
    pub async fn activity_count(&self, account: &str, action: &str) -> i64 {
        self.count(&format!(
            "SELECT COUNT(*) AS n FROM activity_log WHERE account_id = '{account}' AND action = '{action}'"
        ))
        .await
    }
}

/// A client that presents `authorization: Bearer <key>` on every call.
pub type KeyedClient = AccessServiceClient<InterceptedService<Channel, BearerKey>>;

/// The interceptor of a [`KeyedClient`]: adds the caller's API key.
#[derive(Clone)]
pub struct BearerKey(MetadataValue<Ascii>);

impl Interceptor for BearerKey {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

impl TestApp {
    /// A client on this server's connection that presents `key`.
    pub fn client_with_key(&self, key: &str) -> KeyedClient {
        let value = format!("Bearer {key}").parse().expect("an ASCII key");
        AccessServiceClient::with_interceptor(self.channel.clone(), BearerKey(value))
    }
}

/// ACCESS_API_KEYS for `(name, scopes, secret)` triples: the secrets' SHA-256,
/// as an operator configures them.
pub fn api_keys(keys: &[(&str, &str, &str)]) -> String {
    keys.iter()
        .map(|(name, scopes, secret)| format!("{name}:{scopes}:{}", ApiKeys::hash_of(secret)))
        .collect::<Vec<_>>()
        .join(",")
}

/// The API keys of a keyed server (`app.replica_with(keys)`): one for the
/// check and platform scopes each, two for the web app (read and write; a
/// rotation in progress), one holding everything but one scope each, and
/// the tenant-bound keys of [`TENANT_KEYS`].
pub fn keys(config: &mut Config) {
    let mut keys = vec![
        ("campaigns", "check", "check-secret-long-enough-for-tests"),
        ("web-2026-10", "read+write", OLD_WEB_KEY),
        ("web-2026-11", "read+write", WEB_KEY),
        ("billing", "platform", "platform-secret-long-enough-for-tests"),
        (
            "no-check",
            "read+write+platform",
            "no-check-secret-long-enough-for-tests",
        ),
        (
            "no-read",
            "check+write+platform",
            "no-read-secret-long-enough-for-tests",
        ),
        (
            "no-write",
            "check+read+platform",
            "no-write-secret-long-enough-for-tests",
        ),
        (
            "no-platform",
            "check+read+write",
            "no-platform-secret-long-enough-for-tests",
        ),
    ];
    keys.extend(TENANT_KEYS);
    config.api_keys = Some(api_keys(&keys));
}

/// The web app's key (`read+write`, every tenant).
pub const WEB_KEY: &str = "new-web-secret-long-enough-for-tests";

/// The web app's previous key, still configured while it rotates.
pub const OLD_WEB_KEY: &str = "old-web-secret-long-enough-for-tests";

/// Keys bound to tenants, each holding every scope (a tenant's portal that
/// delivers its own invitations): `(name, scopes[tenants], secret)`.
pub const TENANT_KEYS: [(&str, &str, &str); 3] = [
    // The `other` account only (a team root of its own in the abuse fixture).
    (
        "other-portal",
        "check+read+write+platform+invitation_tokens[other]",
        OTHER_TENANT_KEY,
    ),
    // The `team` team: its root and every child.
    (
        "team-portal",
        "check+read+write+platform+invitation_tokens[team]",
        TEAM_KEY,
    ),
    // The child `child-a` of `team` only.
    (
        "child-portal",
        "check+read+write+platform+invitation_tokens[child-a]",
        CHILD_KEY,
    ),
];

/// The key of `child-portal`, bound to the child account `child-a`.
pub const CHILD_KEY: &str = "child-tenant-secret-long-enough-for-tests";

/// The key of `other-portal`, bound to the account `other`.
pub const OTHER_TENANT_KEY: &str = "other-tenant-secret-long-enough-for-tests";

/// The key of `team-portal`, bound to the team `team`.
pub const TEAM_KEY: &str = "team-tenant-secret-long-enough-for-tests";

/// A new HTTP/2 connection to the server at `addr`: each Channel built this way
/// is one TCP connection of its own.
pub async fn connect(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("valid uri")
        .connect()
        .await
        .expect("client connects")
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
