//! TestApp: the real server, in-process on port 0, over a fresh database.

use std::path::PathBuf;
use std::sync::Arc;

use access_service::cache::{Cache, CacheCounts};
use access_service::grpc::middleware::ApiKeys;
use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use access_service::storage::StatementCounter;
use access_service::{App, Config};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

mod plans;
mod tables;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Mysql,
}

/// Where the MySQL test server is; the test script creates this user.
pub fn mysql_admin_url() -> String {
    std::env::var("ACCESS_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://access_test:access_test@127.0.0.1:3306".to_owned())
}

/// A uniquely named database, removed when dropped (even when the test
/// panics). Replicas share it: it is dropped with the last of them.
pub struct TestDb {
    pub url: String,
    kind: Db,
    name: String,
    sqlite_path: Option<PathBuf>,
}

impl TestDb {
    async fn create(kind: Db) -> Self {
        let name = format!("access_test_{}", uuid::Uuid::new_v4().simple());
        match kind {
            Db::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Self {
                    url: format!("sqlite://{}?mode=rwc", path.display()),
                    kind,
                    name,
                    sqlite_path: Some(path),
                }
            }
            Db::Mysql => {
                let admin = Database::connect(mysql_admin_url())
                    .await
                    .expect("MySQL must be reachable for the tests: run scripts/test, which starts it");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE `{name}`"))
                    .await
                    .expect("create test database");
                Self {
                    url: format!("{}/{name}", mysql_admin_url()),
                    kind,
                    name,
                    sqlite_path: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self.kind {
            Db::Sqlite => {
                if let Some(path) = &self.sqlite_path {
                    let _ = std::fs::remove_file(path);
                }
            }
            Db::Mysql => {
                // Drop runs outside any runtime guarantee: use a private one.
                let name = self.name.clone();
                let _ = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        if let Ok(admin) = Database::connect(mysql_admin_url()).await {
                            let _ = admin
                                .execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`"))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// A running server and a client connected to it.
pub struct TestApp {
    /// Where the server listens, for tests that open their own connections.
    pub addr: std::net::SocketAddr,
    /// Where its metrics endpoint listens, when configured.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Where its plaintext health-only listener is, when configured.
    pub health_addr: Option<std::net::SocketAddr>,
    pub client: AccessServiceClient<Channel>,
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
            let _telemetry = access_service::telemetry::init("info", access_service::config::LogFormat::Text);
        }
        let database = Arc::new(TestDb::create(kind).await);
        let mut config = Config {
            listen_addr: "127.0.0.1:0".parse().expect("loopback address"),
            database_url: database.url.clone(),
            db_max_connections: 8,
            ..Config::default()
        };
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
            client: AccessServiceClient::new(channel.clone()),
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

    // === Shortcuts for the flows most tests need ===

    /// Creates a top-level account owned by `owner` (email `<owner>@example.com`).
    pub async fn account(&self, id: &str, owner: &str) -> pb::Account {
        self.child_account(id, owner, "", "").await
    }

    /// Creates an account; with a parent, `actor` creates it.
    pub async fn child_account(&self, id: &str, owner: &str, parent: &str, actor: &str) -> pb::Account {
        self.client
            .clone()
            .create_account(create_child(id, owner, parent, actor))
            .await
            .expect("account created")
            .into_inner()
            .account
            .expect("account returned")
    }

    /// Invites `user` (as `<user>@example.com`), returning the invitation and token.
    pub async fn invite(
        &self,
        actor: &str,
        account: &str,
        user: &str,
        role: &str,
        scopes: Vec<pb::Scope>,
    ) -> Result<pb::InviteResponse, Status> {
        self.client
            .clone()
            .invite(pb::InviteRequest {
                actor_user_id: actor.into(),
                account_id: account.into(),
                email: email(user),
                role: role.into(),
                scopes,
                ..Default::default()
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Accepts as `user`.
    pub async fn accept(&self, token: &str, user: &str) -> Result<pb::AcceptInvitationResponse, Status> {
        self.client
            .clone()
            .accept_invitation(pb::AcceptInvitationRequest {
                token: token.into(),
                user: Some(person(user)),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Invites and accepts: `user` becomes an active member with `role`.
    pub async fn member(&self, actor: &str, account: &str, user: &str, role: &str, scopes: Vec<pb::Scope>) {
        let invitation = self
            .invite(actor, account, user, role, scopes)
            .await
            .unwrap_or_else(|status| panic!("invite {user} as {role}: {status:?}"));
        self.accept(&invitation.token, user)
            .await
            .unwrap_or_else(|status| panic!("{user} accepts: {status:?}"));
    }

    /// Authorize with no resource and no two-factor.
    pub async fn check(&self, user: &str, account: &str, permission: &str) -> pb::AuthorizeResponse {
        self.check_request(check(user, account, permission, None)).await
    }

    /// Authorize on a resource.
    pub async fn check_on(
        &self,
        user: &str,
        account: &str,
        permission: &str,
        resource: (pb::ResourceType, &str),
    ) -> pb::AuthorizeResponse {
        self.check_request(check(user, account, permission, Some(resource)))
            .await
    }

    pub async fn check_request(&self, request: pb::AuthorizeRequest) -> pb::AuthorizeResponse {
        self.client
            .clone()
            .authorize(request)
            .await
            .expect("authorize answers")
            .into_inner()
    }

    /// A team: parent "team" owned by "boss", and for each suffix `s` a child "child-s" owned by "owner-s".
    pub async fn team(&self, suffixes: &[&str]) {
        self.account("team", "boss").await;
        for suffix in suffixes {
            self.child_account(
                &format!("child-{suffix}"),
                &format!("owner-{suffix}"),
                "team",
                "boss",
            )
            .await;
        }
    }

    /// Invites `user` as "owner", returning the invitation and its token.
    pub async fn invited(&self, account: &str, user: &str, role: &str) -> (pb::Invitation, String) {
        let response = self
            .invite("owner", account, user, role, vec![])
            .await
            .unwrap_or_else(|status| panic!("invite {user} as {role}: {status:?}"));
        (response.invitation.expect("invitation returned"), response.token)
    }

    // === One call per RPC: the way tests call the server ===

    /// GetAccount, which must succeed.
    pub async fn get_account(&self, account: &str) -> pb::Account {
        self.client
            .clone()
            .get_account(pb::GetAccountRequest {
                account_id: account.into(),
                ..Default::default()
            })
            .await
            .expect("get account")
            .into_inner()
            .account
            .expect("account returned")
    }

    /// SetAccountLimits (`None` clears a quota), as the platform: the
    /// default server has no API key, so every caller holds every scope.
    pub async fn set_limits(
        &self,
        account: &str,
        max_members: Option<i32>,
        max_restricted_members: Option<i32>,
    ) -> Result<pb::Account, Status> {
        self.client
            .clone()
            .set_account_limits(pb::SetAccountLimitsRequest {
                account_id: account.into(),
                max_members,
                max_restricted_members,
            })
            .await
            .map(|response| response.into_inner().account.expect("account returned"))
    }

    /// CloseAccount.
    pub async fn close(&self, actor: &str, account: &str) -> Result<pb::Account, Status> {
        self.client
            .clone()
            .close_account(pb::CloseAccountRequest {
                actor_user_id: actor.into(),
                account_id: account.into(),
            })
            .await
            .map(|response| response.into_inner().account.expect("account returned"))
    }

    /// TransferOwnership.
    pub async fn transfer(&self, actor: &str, account: &str, new_owner: &str) -> Result<pb::Account, Status> {
        self.client
            .clone()
            .transfer_ownership(transfer(actor, account, new_owner))
            .await
            .map(|response| response.into_inner().account.expect("account returned"))
    }

    /// UpdateMember, changing only the role.
    pub async fn update_member_role(
        &self,
        actor: &str,
        account: &str,
        user: &str,
        role: &str,
    ) -> Result<pb::Member, Status> {
        self.client
            .clone()
            .update_member(pb::UpdateMemberRequest {
                actor_user_id: actor.into(),
                account_id: account.into(),
                user_id: user.into(),
                role: role.into(),
                ..Default::default()
            })
            .await
            .map(|response| response.into_inner().member.expect("member returned"))
    }

    /// DeactivateMember.
    pub async fn deactivate(&self, actor: &str, account: &str, user: &str) -> Result<pb::Member, Status> {
        self.client
            .clone()
            .deactivate_member(deactivate(actor, account, user))
            .await
            .map(|response| response.into_inner().member.expect("member returned"))
    }

    /// ReactivateMember.
    pub async fn reactivate(&self, actor: &str, account: &str, user: &str) -> Result<pb::Member, Status> {
        self.client
            .clone()
            .reactivate_member(reactivate(actor, account, user))
            .await
            .map(|response| response.into_inner().member.expect("member returned"))
    }

    /// RemoveMember.
    pub async fn remove(
        &self,
        actor: &str,
        account: &str,
        user: &str,
    ) -> Result<pb::RemoveMemberResponse, Status> {
        self.client
            .clone()
            .remove_member(remove(actor, account, user))
            .await
            .map(tonic::Response::into_inner)
    }

    /// ListUsers: the rows of one page, asserting that it is the only page.
    pub async fn users(&self, request: pb::ListUsersRequest) -> Vec<pb::Member> {
        let response = self
            .client
            .clone()
            .list_users(request)
            .await
            .expect("list users")
            .into_inner();
        assert_eq!(response.next_page_token, "", "one page holds them all");
        response.users
    }

    /// RevokeInvitation.
    pub async fn revoke(&self, actor: &str, id: &str) -> Result<pb::Invitation, Status> {
        self.client
            .clone()
            .revoke_invitation(pb::RevokeInvitationRequest {
                actor_user_id: actor.into(),
                invitation_id: id.into(),
            })
            .await
            .map(|response| response.into_inner().invitation.expect("invitation returned"))
    }

    /// CreateRole, as built by [`create_role`].
    pub async fn create_role(
        &self,
        actor: &str,
        account: &str,
        name: &str,
        permissions: &[&str],
    ) -> Result<pb::Role, Status> {
        self.client
            .clone()
            .create_role(create_role(actor, account, name, permissions))
            .await
            .map(|response| response.into_inner().role.expect("role returned"))
    }

    /// RequestAccess.
    pub async fn request_access(
        &self,
        user: &str,
        account: &str,
        permission: &str,
        note: &str,
    ) -> Result<pb::AccessRequest, Status> {
        self.client
            .clone()
            .request_access(ask(user, account, permission, note))
            .await
            .map(|response| {
                response
                    .into_inner()
                    .access_request
                    .expect("access request returned")
            })
    }

    /// DecideAccessRequest.
    pub async fn decide(&self, actor: &str, id: &str, approve: bool) -> Result<pb::AccessRequest, Status> {
        self.client
            .clone()
            .decide_access_request(decide(actor, id, approve))
            .await
            .map(|response| {
                response
                    .into_inner()
                    .access_request
                    .expect("access request returned")
            })
    }

    /// ListSharedTemplates: what `actor` sees in `account`, asserting that one page holds it all.
    pub async fn shared_templates(&self, actor: &str, account: &str) -> Vec<pb::SharedTemplate> {
        let response = self
            .client
            .clone()
            .list_shared_templates(list_shared_templates(actor, account))
            .await
            .expect("list shared templates")
            .into_inner();
        assert_eq!(response.next_page_token, "", "one page holds them all");
        response.shared_templates
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

pub fn email(user: &str) -> String {
    format!("{user}@example.com")
}

pub fn person(user: &str) -> pb::Person {
    pb::Person {
        user_id: user.into(),
        email: email(user),
        name: format!("Name of {user}"),
    }
}

pub fn check(
    user: &str,
    account: &str,
    permission: &str,
    resource: Option<(pb::ResourceType, &str)>,
) -> pb::AuthorizeRequest {
    pb::AuthorizeRequest {
        user_id: user.into(),
        account_id: account.into(),
        permission: permission.into(),
        resource: resource.map(|(resource_type, id)| pb::Resource {
            r#type: resource_type.into(),
            id: id.into(),
        }),
        context: None,
        ..Default::default()
    }
}

// === Requests ===
// Where TestApp has a method for an RPC, tests call that method (plain
// arguments in; the answer's payload or the refusal out), never the raw client
// with a builder. The public builders here serve RPCs without a method and
// requests a test must shape itself (a batch of checks, a page token, a child
// account), sent with `app.client`; the private ones are what the methods send.

/// CreateAccount of a top-level account.
pub fn create_account(id: &str, owner: pb::Person) -> pb::CreateAccountRequest {
    pb::CreateAccountRequest {
        account_id: id.into(),
        name: format!("Account {id}"),
        owner: Some(owner),
        parent_account_id: String::new(),
        actor_user_id: String::new(),
    }
}

/// CreateAccount under `parent`, by `actor`.
pub fn create_child(id: &str, owner: &str, parent: &str, actor: &str) -> pb::CreateAccountRequest {
    pb::CreateAccountRequest {
        parent_account_id: parent.into(),
        actor_user_id: actor.into(),
        ..create_account(id, person(owner))
    }
}

/// ListAccounts.
pub fn list_accounts(user: &str, page_size: i32, page_token: &str) -> pb::ListAccountsRequest {
    pb::ListAccountsRequest {
        user_id: user.into(),
        page_size,
        page_token: page_token.into(),
    }
}

/// ListUsers with no filter and the default page.
pub fn list_users(actor: &str, account: &str) -> pb::ListUsersRequest {
    pb::ListUsersRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

/// TransferOwnership.
pub fn transfer(actor: &str, account: &str, new_owner: &str) -> pb::TransferOwnershipRequest {
    pb::TransferOwnershipRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        new_owner_user_id: new_owner.into(),
    }
}

/// DeactivateMember.
pub fn deactivate(actor: &str, account: &str, user: &str) -> pb::DeactivateMemberRequest {
    pb::DeactivateMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
    }
}

/// ReactivateMember.
pub fn reactivate(actor: &str, account: &str, user: &str) -> pb::ReactivateMemberRequest {
    pb::ReactivateMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
    }
}

/// RemoveMember.
pub fn remove(actor: &str, account: &str, user: &str) -> pb::RemoveMemberRequest {
    pb::RemoveMemberRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        user_id: user.into(),
    }
}

/// CreateRole, described as "The <name> role".
fn create_role(actor: &str, account: &str, name: &str, permissions: &[&str]) -> pb::CreateRoleRequest {
    pb::CreateRoleRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        name: name.into(),
        description: format!("The {name} role"),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

/// RequestAccess.
fn ask(user: &str, account: &str, permission: &str, note: &str) -> pb::RequestAccessRequest {
    pb::RequestAccessRequest {
        user_id: user.into(),
        account_id: account.into(),
        permission: permission.into(),
        note: note.into(),
    }
}

/// DecideAccessRequest.
fn decide(actor: &str, id: &str, approve: bool) -> pb::DecideAccessRequestRequest {
    pb::DecideAccessRequestRequest {
        actor_user_id: actor.into(),
        access_request_id: id.into(),
        approve,
    }
}

/// ShareTemplate (no children: every child).
pub fn share(actor: &str, account: &str, template: &str, children: &[&str]) -> pb::ShareTemplateRequest {
    pb::ShareTemplateRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        template_id: template.into(),
        child_account_ids: children.iter().map(|id| (*id).to_owned()).collect(),
    }
}

/// ListSharedTemplates with the default page.
pub fn list_shared_templates(actor: &str, account: &str) -> pb::ListSharedTemplatesRequest {
    pb::ListSharedTemplatesRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

// === Reading answers ===

/// The template ids of shared templates.
pub fn template_ids(shared: &[pb::SharedTemplate]) -> Vec<&str> {
    shared.iter().map(|s| s.template_id.as_str()).collect()
}

/// A timestamp that must be set, as a comparable (seconds, nanos).
pub fn instant(ts: Option<prost_types::Timestamp>) -> (i64, i32) {
    let ts = ts.expect("timestamp set");
    (ts.seconds, ts.nanos)
}

pub fn scope(resource_type: pb::ResourceType, ids: &[&str]) -> pb::Scope {
    pb::Scope {
        resource_type: resource_type.into(),
        resource_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
    }
}

/// The reason of a decision, as the enum.
pub fn reason(response: &pb::AuthorizeResponse) -> pb::DecisionReason {
    pb::DecisionReason::try_from(response.reason).expect("known reason")
}

/// Asserts a status code and returns the status for more checks.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(result: Result<T, Status>, code: Code) -> Status {
    match result {
        Ok(value) => panic!("expected {code:?}, got Ok({value:?})"),
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            status
        }
    }
}

/// Asserts that a call was refused with `code` and the google.rpc.ErrorInfo
/// `reason` together (the code says what kind of refusal, the reason which
/// rule), and returns the status for more checks.
#[track_caller]
pub fn assert_refused<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, reason: &str) -> Status {
    refused(result, code, reason, None)
}

/// [`assert_refused`] in a loop or table: `case` names the case in the failure.
#[track_caller]
pub fn assert_refused_for<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: &str,
    case: impl std::fmt::Display,
) -> Status {
    refused(result, code, reason, Some(&case))
}

#[track_caller]
fn refused<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: &str,
    case: Option<&dyn std::fmt::Display>,
) -> Status {
    let case = case.map(|case| format!("{case}: ")).unwrap_or_default();
    match result {
        Ok(value) => panic!("{case}expected {code:?} {reason}, got Ok({value:?})"),
        Err(status) => {
            assert_eq!(
                (status.code(), error_reason(&status).as_str()),
                (code, reason),
                "{case}unexpected refusal: {status:?}"
            );
            status
        }
    }
}

/// The fields named by a status's google.rpc.BadRequest.
pub fn bad_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The google.rpc.ErrorInfo metadata of a status as sorted `key=value` pairs.
pub fn error_metadata(status: &Status) -> Vec<String> {
    let mut pairs: Vec<String> = status
        .get_details_error_info()
        .map(|info| {
            info.metadata
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    pairs
}

/// The google.rpc.ErrorInfo reason of a status.
pub fn error_reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// Runs each named scenario, `async fn scenario(app: TestApp)`, on SQLite and on MySQL as the
/// tests `sqlite::scenario` and `mysql::scenario`:
/// - `on_both_databases!(a, b)`: on a default server, with two worker threads;
/// - `on_both_databases!(workers = 4; a, b)`: with more worker threads;
/// - `on_both_databases!(mod short_ttl, |config| config.invitation_ttl_secs = 1; a, b)`: on a
///   server with that configuration, as `short_ttl::sqlite::a` and so on;
/// - `on_both_databases!(db; a, b)`: for a scenario that starts its own servers,
///   `async fn scenario(kind: Db)`, given the kind of database only.
#[macro_export]
macro_rules! on_both_databases {
    (mod $module:ident, |$config:ident| $adjust:expr; $($name:ident),* $(,)?) => {
        mod $module {
            use super::{$($name),*};
            $crate::on_both_databases!(@tests 2, |$config| $adjust; $($name),*);
        }
    };
    (workers = $workers:tt; $($name:ident),* $(,)?) => {
        $crate::on_both_databases!(@tests $workers, |_config| {}; $($name),*);
    };
    (@tests $workers:tt, |$config:ident| $adjust:expr; $($name:ident),*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn_with($crate::helpers::Db::Sqlite, |$config| $adjust).await;
                    super::$name(app).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn_with($crate::helpers::Db::Mysql, |$config| $adjust).await;
                    super::$name(app).await;
                }
            )*
        }
    };
    (db; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Db::Sqlite).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Db::Mysql).await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_databases!(@tests 2, |_config| {}; $($name),*);
    };
}
