//! TestApp: the real server, in-process on port 0, over a fresh database.

use std::collections::BTreeMap;
use std::path::PathBuf;

use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use access_service::{App, Config};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Db {
    Sqlite,
    Mysql,
}

/// Where the MySQL test server is; the test script creates this user.
fn mysql_admin_url() -> String {
    std::env::var("ACCESS_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://access_test:access_test@127.0.0.1:3306".to_owned())
}

/// A uniquely named database, removed when dropped (even when the test panics).
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
    pub client: AccessServiceClient<Channel>,
    pub channel: Channel,
    /// A direct connection for assertions on what was (not) written.
    pub db: DatabaseConnection,
    stop: Option<oneshot::Sender<()>>,
    // Declared last: dropped after the server stops.
    _database: TestDb,
}

impl TestApp {
    pub async fn spawn(kind: Db) -> Self {
        Self::spawn_with(kind, |_| {}).await
    }

    pub async fn spawn_with(kind: Db, adjust: impl FnOnce(&mut Config)) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            // The first test to get here installs the global subscriber.
            let _telemetry = access_service::telemetry::init("info");
        }
        let database = TestDb::create(kind).await;
        let mut config = Config {
            listen_addr: "127.0.0.1:0".parse().expect("loopback address"),
            database_url: database.url.clone(),
            db_max_connections: 8,
            ..Config::default()
        };
        adjust(&mut config);
        let app = App::build(config).await.expect("app builds");
        let addr = app.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("valid uri")
            .connect()
            .await
            .expect("client connects");
        let db = Database::connect(database.url.clone())
            .await
            .expect("direct connection");
        Self {
            client: AccessServiceClient::new(channel.clone()),
            channel,
            db,
            stop: Some(stop),
            _database: database,
        }
    }

    /// The URL of this test's database.
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// Row counts of every table: equal before and after a refused request.
    pub async fn table_counts(&self) -> BTreeMap<&'static str, i64> {
        let mut counts = BTreeMap::new();
        for table in [
            "accounts",
            "users",
            "roles",
            "role_permissions",
            "memberships",
            "membership_scopes",
            "membership_grants",
            "invitations",
            "invitation_scopes",
            "shared_templates",
            "shared_template_children",
            "activity_log",
        ] {
            counts.insert(
                table,
                self.count(&format!("SELECT COUNT(*) AS n FROM {table}")).await,
            );
        }
        counts
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
            .create_account(pb::CreateAccountRequest {
                account_id: id.into(),
                name: format!("Account {id}"),
                owner: Some(person(owner)),
                parent_account_id: parent.into(),
                actor_user_id: actor.into(),
            })
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
    }
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

/// The fields named by a status's google.rpc.BadRequest.
pub fn bad_fields(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|bad| bad.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// The google.rpc.ErrorInfo reason of a status.
pub fn error_reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// Runs each named scenario on SQLite and on MySQL: `scenario(app: TestApp)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::TestApp::spawn($crate::helpers::Db::Sqlite).await).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::TestApp::spawn($crate::helpers::Db::Mysql).await).await;
                }
            )*
        }
    };
}
