//! The change stream (docs/domain.md rule 12: every change published once
//! committed, in commit order): the Redis Stream other services read with
//! consumer groups, WatchChanges, and the upgrade that gave the activity
//! log's earlier entries opaque ids. Real Redis (a namespace of the test's
//! own on the shared one, or a Redis the test starts), both databases.

mod bounds;
mod following;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use access_service::grpc::pb;
use access_service::storage::migration::Migrator;
use redis::Value;
use sea_orm::ConnectionTrait;
use sea_orm_migration::MigratorTrait;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::cluster::{RedisNamespace, TcpProxy, TestRedis, url_addr};
use crate::support::{Db, TestApp, assert_refused, bad_fields, email, expect_code};

/// A wait for something that must happen: a guard against hanging, never an
/// assertion about speed.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Keys of the stream the tests read (the default ACCESS_CHANGE_STREAM).
fn stream_key(namespace: &str) -> String {
    format!("{namespace}:{{changes}}")
}

/// One stream entry's fields.
type Event = BTreeMap<String, String>;

fn text(value: &Value) -> String {
    if let Value::BulkString(bytes) = value {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    if let Value::SimpleString(s) = value {
        return s.clone();
    }
    panic!("not a string: {value:?}")
}

fn items(value: &Value) -> &[Value] {
    let Value::Array(items) = value else {
        panic!("not an array: {value:?}")
    };
    items
}

/// A consumer in a consumer group of the stream, as another service reads it.
struct Consumer {
    conn: redis::aio::MultiplexedConnection,
    stream: String,
}

impl Consumer {
    /// Creates the group (from the stream's start) and joins it.
    async fn join(url: &str, stream: String) -> Self {
        let client = redis::Client::open(url).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("redis answers");
        let _: () = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&stream)
            .arg("group")
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await
            .expect("group created");
        Self { conn, stream }
    }

    /// New entries delivered to this consumer (XREADGROUP >), acknowledged.
    async fn read(&mut self) -> Vec<Event> {
        let reply: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("group")
            .arg("consumer")
            .arg("COUNT")
            .arg(1000)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">")
            .query_async(&mut self.conn)
            .await
            .expect("XREADGROUP answers");
        let mut events = Vec::new();
        if matches!(reply, Value::Nil) {
            return events;
        }
        for stream in items(&reply) {
            let stream = items(stream);
            for entry in items(&stream[1]) {
                let entry = items(entry);
                let id = text(&entry[0]);
                let fields = items(&entry[1]);
                let event: Event = fields
                    .chunks(2)
                    .map(|pair| (text(&pair[0]), text(&pair[1])))
                    .collect();
                let _: i64 = redis::cmd("XACK")
                    .arg(&self.stream)
                    .arg("group")
                    .arg(&id)
                    .query_async(&mut self.conn)
                    .await
                    .expect("XACK answers");
                events.push(event);
            }
        }
        events
    }

    /// Reads what came after a few more publisher rounds (none, when every
    /// change came already).
    async fn read_more(&mut self, seen: &mut Vec<Event>) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        seen.extend(self.read().await);
    }

    /// Reads until `n` events came (failing past the guard).
    async fn read_until(&mut self, seen: &mut Vec<Event>, n: usize) {
        let wait = async {
            while seen.len() < n {
                seen.extend(self.read().await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(HANG_GUARD, wait)
            .await
            .unwrap_or_else(|_| panic!("{} of {n} changes reached the stream: {seen:?}", seen.len()));
    }
}

/// A server publishing to a namespace of its own on the shared Redis, and a
/// consumer of its stream. The namespace comes first: it outlives the others.
async fn streamed(kind: Db) -> (RedisNamespace, TestApp, Consumer) {
    let namespace = RedisNamespace::new();
    let app = TestApp::spawn_with(kind, |config| {
        namespace.configure(config);
        config.change_poll_ms = 20;
    })
    .await;
    let url = app.config.redis_url.clone().expect("redis configured");
    let consumer = Consumer::join(&url, stream_key(&app.config.redis_namespace)).await;
    (namespace, app, consumer)
}

/// The changes the database holds, in commit order: (id, account, revision, kind).
async fn logged_changes(app: &TestApp) -> Vec<(String, String, u64, String)> {
    let backend = app.db.get_database_backend();
    app.db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT public_id, account_id, revision, action FROM activity_log WHERE revision > 0 ORDER BY id",
        ))
        .await
        .expect("log read")
        .into_iter()
        .map(|row| {
            (
                row.try_get::<String>("", "public_id").expect("id"),
                row.try_get::<String>("", "account_id").expect("account"),
                u64::try_from(row.try_get::<i64>("", "revision").expect("revision")).expect("positive"),
                row.try_get::<String>("", "action").expect("action"),
            )
        })
        .collect()
}

/// An account's revision now.
async fn revision(app: &TestApp, account: &str) -> u64 {
    let n = app
        .count(&format!(
            "SELECT revision AS n FROM accounts WHERE id = '{account}'"
        ))
        .await;
    u64::try_from(n).expect("a revision is positive")
}

fn as_logged(events: &[Event]) -> Vec<(String, String, u64, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["id"].clone(),
                e["account_id"].clone(),
                e["revision"].parse().expect("revision is decimal"),
                e["kind"].clone(),
            )
        })
        .collect()
}

/// Revisions of each account never go down, in the order given.
fn in_order_per_account(changes: &[(String, String, u64, String)]) {
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for (id, account, revision, kind) in changes {
        let previous = last.insert(account, *revision).unwrap_or(0);
        assert!(
            *revision >= previous,
            "{kind} {id} of {account} at revision {revision} after {previous}"
        );
    }
}

/// A scripted sequence over two accounts: every kind of member change, a
/// role, a sign-in (not a change) and a refused write (nothing).
async fn scripted_sequence(app: &TestApp) {
    app.account("acme", "olivia").await;
    app.account("globex", "gary").await;
    app.member("olivia", "acme", "lee", "manager", vec![]).await;
    app.member("gary", "globex", "ann", "viewer", vec![]).await;
    app.create_role("olivia", "acme", "helper", &["campaigns.view"])
        .await
        .expect("role created");
    app.update_member_role("olivia", "acme", "lee", "helper")
        .await
        .expect("role changed");
    app.client
        .clone()
        .record_sign_in(pb::RecordSignInRequest {
            user_id: "lee".into(),
            account_id: "acme".into(),
        })
        .await
        .expect("sign-in recorded");
    app.deactivate("gary", "globex", "ann")
        .await
        .expect("deactivated");
    // Refused: nothing written, nothing published.
    expect_code(app.remove("lee", "acme", "olivia").await, Code::PermissionDenied);
    app.reactivate("gary", "globex", "ann")
        .await
        .expect("reactivated");
    app.remove("olivia", "acme", "lee").await.expect("removed");
}

/// Rule 12: a consumer group on the stream sees every change
/// of a scripted sequence once, in commit order per account, with its
/// revision, kind and target; sign-ins and refused writes publish nothing;
/// nothing more arrives afterwards.
async fn consumer_group_sees_every_change_once_in_order(kind: Db) {
    let (_namespace, app, mut consumer) = streamed(kind).await;
    scripted_sequence(&app).await;
    let logged = logged_changes(&app).await;
    // 2 creates, 2 x (invite, accept), role, member update, deactivate,
    // reactivate, remove: the sign-in and the refusal are not changes.
    assert_eq!(logged.len(), 11, "{logged:?}");
    let mut seen = Vec::new();
    consumer.read_until(&mut seen, logged.len()).await;
    // Several publisher rounds later, nothing more: every change came once.
    consumer.read_more(&mut seen).await;
    let published = as_logged(&seen);
    assert_eq!(
        published, logged,
        "the stream holds the log's changes, once each, in commit order"
    );
    let ids: HashSet<&str> = seen.iter().map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.len(), seen.len(), "no change twice");
    in_order_per_account(&published);
    assert!(seen.iter().all(|e| e["kind"] != "member.sign_in"));
    let removal = seen.last().expect("events");
    assert_eq!(removal["kind"], "member.remove");
    assert_eq!(removal["target"], "lee");
    assert_eq!(removal["actor_user_id"], "olivia");
    // No key configured: every change came through the local caller.
    assert!(
        seen.iter()
            .all(|e| e["via_kind"] == "local" && e["via_name"] == "local"),
        "{seen:?}"
    );
    assert_eq!(
        removal["revision"],
        revision(&app, "acme").await.to_string(),
        "the last change carries the account's revision now"
    );
    assert!(removal["create_time"].ends_with('Z'), "{removal:?}");
    serde_json::from_str::<serde_json::Value>(&removal["details_json"]).expect("details are JSON");
}

/// Two replicas publish from one log to one stream: still every change
/// once (the cursor moves by compare-and-set, so racing replicas never
/// append a batch twice).
async fn replicas_publish_each_change_once(kind: Db) {
    let namespace = RedisNamespace::new();
    let a = TestApp::spawn_with(kind, |config| {
        namespace.configure(config);
        config.change_poll_ms = 5;
    })
    .await;
    let b = a.replica().await;
    let url = a.config.redis_url.clone().expect("redis configured");
    let mut consumer = Consumer::join(&url, stream_key(&a.config.redis_namespace)).await;
    a.account("acme", "olivia").await;
    for i in 0..6 {
        let app = if i % 2 == 0 { &a } else { &b };
        app.member("olivia", "acme", &format!("user-{i}"), "viewer", vec![])
            .await;
    }
    let logged = logged_changes(&a).await;
    assert_eq!(logged.len(), 13, "{logged:?}");
    let mut seen = Vec::new();
    consumer.read_until(&mut seen, logged.len()).await;
    consumer.read_more(&mut seen).await;
    assert_eq!(as_logged(&seen), logged, "each change once, in commit order");
}

/// The trigger that fails the append of one entry, so the write it belongs
/// to rolls back after every other statement of it ran.
const POISON_SQLITE: &str = "CREATE TRIGGER poison BEFORE INSERT ON activity_log \
     WHEN NEW.target = 'poison@example.com' BEGIN SELECT RAISE(ABORT, 'poisoned'); END";
const POISON_MYSQL: &str = "CREATE TRIGGER poison BEFORE INSERT ON activity_log FOR EACH ROW \
     BEGIN IF NEW.target = 'poison@example.com' THEN \
     SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned'; END IF; END";

/// A write that rolls back at its last statement (its log entry) publishes
/// nothing, and leaves no trace: the change after it comes next, at the
/// revision after the last published one.
async fn rolled_back_write_publishes_nothing(kind: Db) {
    let (_namespace, app, mut consumer) = streamed(kind).await;
    app.account("acme", "olivia").await;
    let poison = match kind {
        Db::Sqlite => POISON_SQLITE,
        Db::Mysql => POISON_MYSQL,
    };
    app.db.execute_unprepared(poison).await.expect("trigger created");
    let before = revision(&app, "acme").await;
    let refused = app.invite("olivia", "acme", "poison", "viewer", vec![]).await;
    expect_code(refused, Code::Internal);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM invitations").await,
        0,
        "the invitation rolled back with its entry"
    );
    assert_eq!(revision(&app, "acme").await, before, "no revision was committed");
    app.invite("olivia", "acme", "lee", "viewer", vec![])
        .await
        .expect("the next write commits");
    let mut seen = Vec::new();
    consumer.read_until(&mut seen, 2).await;
    consumer.read_more(&mut seen).await;
    let kinds: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|e| (e["kind"].as_str(), e["target"].as_str(), e["revision"].as_str()))
        .collect();
    let after = (before + 1).to_string();
    assert_eq!(
        kinds,
        [
            ("account.create", "acme", before.to_string().as_str()),
            ("invitation.create", email("lee").as_str(), after.as_str()),
        ],
        "the rolled-back invitation published nothing"
    );
}

/// Redis unreachable (a proxy the test cuts) while changes commit: they
/// are published once it is back, each once, in order, after those
/// published before.
async fn publisher_catches_up_after_redis_was_unreachable(kind: Db) {
    let redis = TestRedis::start().await;
    let proxy = TcpProxy::start(url_addr(&redis.url())).await;
    let app = TestApp::spawn_with(kind, |config| {
        config.redis_url = Some(proxy.route(&redis.url()));
        config.change_poll_ms = 20;
        // Writes wait the lease out while Redis is away: keep it short.
        config.cache_lease_ms = 300;
        config.cache_ack_timeout_ms = 100;
    })
    .await;
    // The consumer reaches Redis directly: only the service loses it.
    let mut consumer = Consumer::join(&redis.url(), stream_key(&app.config.redis_namespace)).await;
    app.account("acme", "olivia").await;
    app.member("olivia", "acme", "lee", "viewer", vec![]).await;
    let mut seen = Vec::new();
    consumer.read_until(&mut seen, 3).await;

    proxy.cut();
    app.member("olivia", "acme", "ann", "viewer", vec![]).await;
    app.deactivate("olivia", "acme", "lee")
        .await
        .expect("deactivated");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        consumer.read().await.is_empty(),
        "nothing reaches Redis while it is cut off"
    );

    proxy.restore();
    let logged = logged_changes(&app).await;
    assert_eq!(logged.len(), 6, "{logged:?}");
    consumer.read_until(&mut seen, logged.len()).await;
    consumer.read_more(&mut seen).await;
    assert_eq!(as_logged(&seen), logged, "caught up: every change once, in order");
}

// === WatchChanges (no Redis needed: it reads the database) ===

fn watch_account(actor: &str, account: &str, after_revision: u64) -> pb::WatchChangesRequest {
    pb::WatchChangesRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        after_revision,
        ..Default::default()
    }
}

/// Reads `n` events from a watch (failing past the guard).
async fn next_events(
    stream: &mut tonic::Streaming<pb::WatchChangesResponse>,
    n: usize,
) -> Vec<pb::ChangeEvent> {
    let mut events = Vec::new();
    let wait = async {
        while events.len() < n {
            let message = stream
                .next()
                .await
                .expect("the watch goes on")
                .expect("the watch answers");
            events.push(message.event.expect("an event"));
        }
    };
    tokio::time::timeout(HANG_GUARD, wait)
        .await
        .unwrap_or_else(|_| panic!("{} of {n} events came", events.len()));
    events
}

/// WatchChanges on one account resumes after a given revision: exactly the
/// later changes, each once, in order, then the changes committed while
/// watching; a watch resumed from the last event's revision (or id) starts
/// with what came after it.
async fn watch_resumes_after_a_revision(app: TestApp) {
    app.account("acme", "olivia").await;
    app.account("globex", "gary").await;
    app.member("olivia", "acme", "lee", "manager", vec![]).await;
    let resume_at = revision(&app, "acme").await;
    app.member("olivia", "acme", "ann", "viewer", vec![]).await;
    app.member("gary", "globex", "bob", "viewer", vec![]).await;
    app.deactivate("olivia", "acme", "ann")
        .await
        .expect("deactivated");

    let mut client = app.client.clone();
    let mut stream = client
        .watch_changes(watch_account("olivia", "acme", resume_at))
        .await
        .expect("watch starts")
        .into_inner();
    let backlog = next_events(&mut stream, 3).await;
    let kinds: Vec<&str> = backlog.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["invitation.create", "invitation.accept", "member.deactivate"]
    );
    assert!(
        backlog
            .iter()
            .all(|e| e.account_id == "acme" && e.revision > resume_at)
    );
    assert!(
        backlog.windows(2).all(|w| w[0].revision < w[1].revision),
        "{backlog:?}"
    );

    // Followed: a change committed while watching arrives, nothing else.
    app.reactivate("olivia", "acme", "ann")
        .await
        .expect("reactivated");
    let live = next_events(&mut stream, 1).await;
    assert_eq!(live[0].kind, "member.reactivate");
    assert_eq!(live[0].target, "ann");
    assert_eq!(live[0].revision, revision(&app, "acme").await);
    drop(stream);

    // Resumed after the last event seen: nothing lost, nothing repeated.
    app.remove("olivia", "acme", "ann").await.expect("removed");
    let mut resumed = client
        .watch_changes(watch_account("olivia", "acme", live[0].revision))
        .await
        .expect("watch resumes")
        .into_inner();
    let next = next_events(&mut resumed, 1).await;
    assert_eq!(next[0].kind, "member.remove");
    let mut by_id = client
        .watch_changes(pb::WatchChangesRequest {
            actor_user_id: "olivia".into(),
            account_id: "acme".into(),
            after_id: live[0].id.clone(),
            ..Default::default()
        })
        .await
        .expect("watch resumes by id")
        .into_inner();
    assert_eq!(next_events(&mut by_id, 1).await[0].id, next[0].id);
}

/// A watch is not a request bounded by ACCESS_REQUEST_TIMEOUT_MS (300 ms
/// here): it follows commits for as long as the watcher may watch, and ends
/// with PERMISSION_DENIED at the first change after the watcher lost the
/// right.
async fn a_watch_lasts_until_the_right_is_lost(app: TestApp) {
    app.account("acme", "olivia").await;
    app.member("olivia", "acme", "vera", "admin", vec![]).await;
    let mut stream = app
        .client
        .clone()
        .watch_changes(watch_account("vera", "acme", 0))
        .await
        .expect("watch starts")
        .into_inner();
    assert_eq!(next_events(&mut stream, 3).await.len(), 3);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    app.member("olivia", "acme", "lee", "viewer", vec![]).await;
    let later = next_events(&mut stream, 2).await;
    assert_eq!(later[1].kind, "invitation.accept", "{later:?}");
    app.remove("olivia", "acme", "vera").await.expect("removed");
    let end = tokio::time::timeout(HANG_GUARD, stream.next())
        .await
        .expect("the watch ends")
        .expect("with a status");
    assert_refused(end, Code::PermissionDenied, "NOT_A_MEMBER");
}

/// Shutting down ends a watch as soon as the server drains (UNAVAILABLE:
/// resume on another replica), rather than holding the drain to its
/// deadline, which is ten minutes here: the server stops long before.
async fn shutting_down_ends_a_watch(kind: Db) {
    let mut app = TestApp::spawn_with(kind, |config| {
        config.shutdown_grace_secs = 0;
        config.shutdown_timeout_secs = 600;
    })
    .await;
    app.account("acme", "olivia").await;
    let mut stream = app
        .client
        .clone()
        .watch_changes(watch_account("olivia", "acme", 0))
        .await
        .expect("watch starts")
        .into_inner();
    assert_eq!(next_events(&mut stream, 1).await.len(), 1);
    let served = app.shut_down();
    let end = tokio::time::timeout(HANG_GUARD, stream.next())
        .await
        .expect("the watch ends while draining")
        .expect("with a status");
    expect_code(end, Code::Unavailable);
    tokio::time::timeout(HANG_GUARD, served)
        .await
        .expect("the server stops without waiting for the deadline")
        .expect("the server task ends")
        .expect("the server stops cleanly");
}

/// A team watch (the parent's owner) sees the parent's and the children's
/// changes in commit order, a child created while watching included, and
/// resumes after an event's id; all accounts is the platform's.
async fn watch_a_team_and_who_may_watch(app: TestApp) {
    app.team(&["a"]).await;
    app.account("other", "olga").await;
    app.member("boss", "child-a", "lee", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let team = pb::WatchChangesRequest {
        actor_user_id: "boss".into(),
        team_account_id: "team".into(),
        ..Default::default()
    };
    let mut stream = client
        .watch_changes(team.clone())
        .await
        .expect("watch")
        .into_inner();
    let first = next_events(&mut stream, 4).await;
    let seen: Vec<(&str, &str)> = first
        .iter()
        .map(|e| (e.account_id.as_str(), e.kind.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("team", "account.create"),
            ("child-a", "account.create"),
            ("child-a", "invitation.create"),
            ("child-a", "invitation.accept"),
        ]
    );
    app.child_account("child-b", "owner-b", "team", "boss").await;
    app.member("olga", "other", "ann", "viewer", vec![]).await;
    app.member("owner-b", "child-b", "bob", "viewer", vec![]).await;
    let live = next_events(&mut stream, 3).await;
    assert!(live.iter().all(|e| e.account_id == "child-b"), "{live:?}");
    drop(stream);
    let mut resumed = client
        .watch_changes(pb::WatchChangesRequest {
            after_id: first[3].id.clone(),
            ..team.clone()
        })
        .await
        .expect("watch resumes")
        .into_inner();
    let again = next_events(&mut resumed, 3).await;
    let ids = |events: &[pb::ChangeEvent]| events.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&live));

    // All accounts: no actor, a key with the platform scope (authentication
    // is off here, so the caller holds every scope).
    let mut all = client
        .watch_changes(pb::WatchChangesRequest {
            all_accounts: true,
            ..Default::default()
        })
        .await
        .expect("the platform watches everything")
        .into_inner();
    let everything = next_events(&mut all, 10).await;
    assert!(everything.iter().any(|e| e.account_id == "other"));

    // Who may not.
    let refusal = |request: pb::WatchChangesRequest| {
        let mut client = app.client.clone();
        async move { client.watch_changes(request).await.map(|_| ()) }
    };
    assert_refused(
        refusal(pb::WatchChangesRequest {
            actor_user_id: "olga".into(),
            all_accounts: true,
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        "SCOPE_MISSING",
    );
    assert_refused(
        refusal(pb::WatchChangesRequest {
            actor_user_id: "owner-a".into(),
            team_account_id: "team".into(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        "NOT_A_MEMBER",
    );
    app.member("boss", "team", "vera", "admin", vec![]).await;
    assert_refused(
        refusal(pb::WatchChangesRequest {
            actor_user_id: "vera".into(),
            team_account_id: "team".into(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        "TEAM_OWNER_ONLY",
    );
    assert_refused(
        refusal(watch_account("lee", "child-a", 0)).await,
        Code::PermissionDenied,
        "PERMISSION_NOT_GRANTED",
    );
    for (request, field) in [
        (
            pb::WatchChangesRequest {
                actor_user_id: "boss".into(),
                ..Default::default()
            },
            "account_id",
        ),
        (
            pb::WatchChangesRequest {
                after_revision: 3,
                ..team.clone()
            },
            "after_revision",
        ),
        (
            pb::WatchChangesRequest {
                after_id: "0123456789abcdef0123456789abcdef".into(),
                ..team.clone()
            },
            "after_id",
        ),
        (
            // An event of another scope is not a place in this one.
            pb::WatchChangesRequest {
                after_id: everything
                    .iter()
                    .find(|e| e.account_id == "other")
                    .map(|e| e.id.clone())
                    .unwrap_or_default(),
                ..team.clone()
            },
            "after_id",
        ),
    ] {
        let status = expect_code(refusal(request).await, Code::InvalidArgument);
        assert_eq!(bad_fields(&status), [field]);
    }
}

/// Migration 000011 on a log that has entries: they get opaque ids too
/// (32 hex, distinct) and no revision, so they stay listed but are not part
/// of the change stream; the changes after the upgrade are.
async fn entries_logged_before_the_upgrade_get_opaque_ids(app: TestApp) {
    app.account("acme", "olivia").await;
    app.member("olivia", "acme", "lee", "viewer", vec![]).await;
    let db = sea_orm::Database::connect(app.database_url())
        .await
        .expect("connect");
    // Back to the schema before 000011 (and the migrations after it), then up again.
    let down_to_000011 = Migrator::migrations()
        .iter()
        .rev()
        .position(|migration| migration.name().contains("_000011_"))
        .expect("000011 is a migration")
        + 1;
    Migrator::down(&db, Some(u32::try_from(down_to_000011).expect("a few")))
        .await
        .expect("000011 goes down");
    Migrator::up(&db, None)
        .await
        .expect("000011 goes up on a log with entries");
    let listed = app
        .client
        .clone()
        .list_activity(pb::ListActivityRequest {
            actor_user_id: "olivia".into(),
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .entries;
    assert_eq!(listed.len(), 3);
    let ids: HashSet<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{listed:?}");
    for entry in &listed {
        assert_eq!(entry.id.len(), 32, "{entry:?}");
        assert!(
            entry
                .id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{entry:?}"
        );
        assert_eq!(entry.revision, 0, "no revision was recorded before: {entry:?}");
    }
    app.deactivate("olivia", "acme", "lee")
        .await
        .expect("deactivated");
    let mut stream = app
        .client
        .clone()
        .watch_changes(watch_account("olivia", "acme", 0))
        .await
        .expect("watch starts")
        .into_inner();
    let first = next_events(&mut stream, 1).await;
    assert_eq!(
        first[0].kind, "member.deactivate",
        "older entries are not streamed"
    );
}

crate::on_both_databases!(mod short_timeout, |config| config.request_timeout_ms = 300; a_watch_lasts_until_the_right_is_lost);
crate::on_both_databases!(
    watch_resumes_after_a_revision,
    watch_a_team_and_who_may_watch,
    entries_logged_before_the_upgrade_get_opaque_ids,
);
/// Scenarios that start their own servers (and Redis).
mod own_servers {
    use super::{
        consumer_group_sees_every_change_once_in_order, publisher_catches_up_after_redis_was_unreachable,
        replicas_publish_each_change_once, rolled_back_write_publishes_nothing, shutting_down_ends_a_watch,
    };

    crate::on_both_databases!(
        db;
        consumer_group_sees_every_change_once_in_order,
        replicas_publish_each_change_once,
        rolled_back_write_publishes_nothing,
        publisher_catches_up_after_redis_was_unreachable,
        shutting_down_ends_a_watch,
    );
}
