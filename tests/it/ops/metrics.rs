//! The Prometheus endpoint (ACCESS_METRICS_ADDR): requests by method and
//! status code, whichever way the status travels, and the cache's, the
//! pool's and the invitations' figures, in a well-formed exposition.

use std::collections::BTreeMap;

use access_service::metrics::code_name;
use access_service::storage;
use sea_orm::DbBackend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;

use crate::support::cluster::{TestRedis, until_trusted};
use crate::support::locks::{limit_members, lock_account, wait_for_blocked_statements};
use crate::support::scrape::{Scrape, scrape};
use crate::support::{Db, TestApp};

fn rpc(method: &str, code: Code) -> [(&'static str, String); 4] {
    [
        ("grpc_type", "unary".to_owned()),
        ("grpc_service", "access.v1.AccessService".to_owned()),
        ("grpc_method", method.to_owned()),
        ("grpc_code", code_name(code).to_owned()),
    ]
}

fn labels<'a, const N: usize>(owned: &'a [(&'static str, String); N]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Calls that succeed, fail in a handler (status in the headers), hit an
/// unknown method and repeat a check (a cache hit) each move their series.
async fn requests_cache_and_invitations_are_exported(app: TestApp) {
    let addr = app.metrics_addr.expect("ACCESS_METRICS_ADDR is set");
    // No scrape before the calls: the first one counts the invitations, and
    // the next ones within 30 s reuse that count. The server is fresh, so
    // every counter starts at 0.
    app.account("acme", "owner").await;
    app.check("owner", "acme", "campaigns.view").await;
    app.check("owner", "acme", "campaigns.view").await;
    let refused = app
        .invite("stranger", "acme", "bob", "viewer", vec![])
        .await
        .expect_err("a stranger may not invite");
    app.invite("owner", "acme", "carol", "viewer", vec![])
        .await
        .expect("the owner invites");
    // A path nobody serves: counted, but under one bounded route.
    let mut raw = tonic::client::Grpc::new(app.channel.clone());
    raw.ready().await.expect("channel ready");
    let unknown = raw
        .unary(
            tonic::Request::new(()),
            http::uri::PathAndQuery::from_static("/made.up.v1.Nothing/Call"),
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await
        .expect_err("no such method");
    assert_eq!(unknown.code(), Code::Unimplemented);
    // A stream: counted when its trailers go out, after the last message.
    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .expect("reflection answers")
        .into_inner();
    while answers.message().await.expect("the stream ends OK").is_some() {}

    let after = scrape(addr).await;
    let handled =
        |method: &str, code: Code| after.value("grpc_server_handled_total", &labels(&rpc(method, code)));
    for (method, code, calls) in [
        ("CreateAccount", Code::Ok, 1.0),
        ("Authorize", Code::Ok, 2.0),
        ("Invite", Code::Ok, 1.0),
        ("Invite", refused.code(), 1.0),
    ] {
        assert_eq!(handled(method, code), calls, "{method} {code:?}");
    }
    assert_ne!(refused.code(), Code::Ok);
    let unknown_route = [
        ("grpc_type", "unary"),
        ("grpc_service", "unknown"),
        ("grpc_method", "unknown"),
        ("grpc_code", "UNIMPLEMENTED"),
    ];
    assert_eq!(after.value("grpc_server_handled_total", &unknown_route), 1.0);
    let stream = [
        ("grpc_type", "bidi_stream"),
        ("grpc_service", "grpc.reflection.v1.ServerReflection"),
        ("grpc_method", "ServerReflectionInfo"),
        ("grpc_code", "OK"),
    ];
    assert_eq!(after.value("grpc_server_handled_total", &stream), 1.0);
    // Started when they arrived: as many as ended, per method; a method
    // never called shows 0, as go-grpc-prometheus initialises it.
    let method = |name: &str| {
        [
            ("grpc_type", "unary".to_owned()),
            ("grpc_service", "access.v1.AccessService".to_owned()),
            ("grpc_method", name.to_owned()),
        ]
    };
    assert_eq!(
        after.value("grpc_server_started_total", &labels(&method("Invite"))),
        2.0
    );
    assert!(after.has("grpc_server_started_total", &labels(&method("DeleteRole"))));
    assert_eq!(
        after.value("grpc_server_started_total", &labels(&method("DeleteRole"))),
        0.0
    );
    let watch = [
        ("grpc_type", "server_stream"),
        ("grpc_service", "access.v1.AccessService"),
        ("grpc_method", "WatchChanges"),
    ];
    assert!(after.has("grpc_server_started_total", &watch));
    assert!(
        !after.has("grpc_server_handled_total", &watch),
        "a code's series appears when a call ends with it"
    );
    // The histogram, by method without the code as go-grpc-prometheus's,
    // saw the same two checks, in its count and its +Inf bucket.
    let authorize = method("Authorize");
    assert_eq!(
        after.value("grpc_server_handling_seconds_count", &labels(&authorize)),
        2.0
    );
    let mut inf = labels(&authorize);
    inf.push(("le", "+Inf"));
    assert_eq!(after.value("grpc_server_handling_seconds_bucket", &inf), 2.0);
    // The two checks' answers, by reason; the refused Invite is no decision.
    assert_eq!(
        after.value(
            "access_decisions_total",
            &[("decision", "allow"), ("reason", "ALLOWED")]
        ),
        2.0
    );
    // The process and the build.
    assert_eq!(
        after.value(
            "access_build_info",
            &[
                ("version", access_service::metrics::VERSION),
                ("revision", access_service::metrics::REVISION)
            ]
        ),
        1.0
    );
    assert!(after.value("process_resident_memory_bytes", &[]) > 1_048_576.0);
    assert!(after.value("process_cpu_seconds_total", &[]) > 0.0);
    assert!(after.value("process_start_time_seconds", &[]) > 1.7e9);

    // The cache's own counters, exported as they are: the repeated check hit.
    let counts = app.cache_counts();
    assert!(counts.local_hits >= 1, "{counts:?}");
    assert_eq!(
        after.value("access_cache_hits_total", &[("layer", "local")]),
        counts.local_hits as f64
    );
    assert_eq!(
        after.value("access_cache_misses_total", &[]),
        counts.misses as f64
    );
    assert_eq!(after.value("access_cache_trusted", &[]), 1.0);

    // The pool and the invitations.
    let max = after.value("access_db_pool_max_connections", &[]);
    assert!(max >= 1.0, "pool max {max}");
    assert!(after.value("access_db_pool_connections", &[("state", "in_use")]) <= max);
    assert!(after.value("access_db_statements_total", &[]) > 0.0);
    assert_eq!(after.value("access_invitations", &[("state", "pending")]), 1.0);
    assert_eq!(after.value("access_invitations", &[("state", "accepted")]), 0.0);
    // The invitation's email, queued (no relay), and how long it has waited.
    assert_eq!(after.value("access_outbox_messages", &[("state", "queued")]), 1.0);
    assert_eq!(after.value("access_outbox_messages", &[("state", "sent")]), 0.0);
    let waited = after.value("access_outbox_oldest_queued_seconds", &[]);
    assert!(waited > 0.0 && waited < 60.0, "oldest queued {waited} s");
}

/// Anything but GET /metrics is refused with an HTTP status, not served.
async fn other_paths_are_not_found(app: TestApp) {
    let addr = app.metrics_addr.expect("ACCESS_METRICS_ADDR is set");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.expect("read");
    assert!(raw.starts_with("HTTP/1.1 404"), "{raw}");
}

crate::on_both_databases!(
    mod with_metrics, |config| config.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
    requests_cache_and_invitations_are_exported,
    other_paths_are_not_found
);

/// The invitations gauge counts from `idx_invitations_state_expiry`
/// (migration 13) without reading the table: in the database's own plan of
/// each statement it sends, every step on `invitations` reads that index
/// alone (SQLite's covering index; MySQL's "Using index", never a scan of
/// type ALL), and the counts are right.
async fn invitation_counts_read_an_index_not_the_table(app: TestApp) {
    app.account("acme", "owner").await;
    for i in 0..12 {
        let invitation = app
            .invite("owner", "acme", &format!("i{i:02}"), "viewer", vec![])
            .await
            .expect("invite")
            .invitation
            .expect("invitation returned");
        if i % 4 == 0 {
            app.revoke("owner", &invitation.id).await.expect("revoke");
        }
    }
    let index = "idx_invitations_state_expiry";
    let now = chrono::Utc::now();
    for statement in storage::invitation_count_statements(app.db.get_database_backend(), now) {
        let sql = statement.sql.clone();
        let plan: Vec<String> = app
            .plan(statement)
            .await
            .into_iter()
            .filter(|step| step.contains("invitations"))
            .collect();
        assert!(!plan.is_empty(), "{sql}: no plan step reads invitations");
        for step in &plan {
            let covered = if app.db.get_database_backend() == DbBackend::Sqlite {
                step.contains(&format!("COVERING INDEX {index}"))
            } else {
                step.contains(&format!("key={index}"))
                    && step.contains("Using index")
                    && !step.contains("type=ALL")
            };
            assert!(covered, "{sql}: {step}");
        }
    }
    let counts: BTreeMap<&str, u64> = storage::invitation_counts(&app.db, now)
        .await
        .expect("counted")
        .into_iter()
        .map(|(state, n)| (state.as_str(), n))
        .collect();
    assert_eq!(counts.get("pending"), Some(&9));
    assert_eq!(counts.get("revoked"), Some(&3));
    assert_eq!(counts.get("expired"), Some(&0));
}

crate::on_both_databases!(invitation_counts_read_an_index_not_the_table);

/// Without ACCESS_METRICS_ADDR there is no endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_endpoint_unless_configured() {
    let app = TestApp::spawn_with(crate::support::Db::Sqlite, |_config| {}).await;
    assert_eq!(app.metrics_addr, None);
}

/// A version of ACCESS_API_KEYS_FILE that cannot be used keeps the keys in
/// force, and is counted: a rotation or revocation that did not take shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_files_that_fail_to_reload_are_counted() {
    let key = "web-secret-long-enough-for-tests";
    let files = crate::support::pki::Files::new();
    let path = files.put(
        "keys",
        &crate::support::api_keys(&[("web", "read+write+platform", key)]),
    );
    let app = TestApp::spawn_with(Db::Sqlite, |config| {
        config.api_keys_file = Some(path.clone());
        config.reload_interval_ms = 0;
        config.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    let addr = app.metrics_addr.expect("ACCESS_METRICS_ADDR is set");
    let get = || async {
        app.client_with_key(key)
            .get_account(access_service::grpc::pb::GetAccountRequest {
                account_id: "acme".into(),
                ..Default::default()
            })
            .await
    };
    let failures = |scrape: &Scrape| scrape.value("access_api_keys_reload_failures_total", &[]);
    let _ = get().await;
    assert_eq!(failures(&scrape(addr).await), 0.0);
    // The same key bound to no tenant at all: refused, not read as "every tenant".
    let unbound = format!(
        "web:read+write+platform[]:{}",
        access_service::grpc::middleware::ApiKeys::hash_of(key)
    );
    for (bad, count) in [
        ("web:read:not-a-hash", 1.0),
        ("# emptied by mistake\n", 2.0),
        (unbound.as_str(), 3.0),
    ] {
        files.put("keys", bad);
        let answer = get().await;
        assert!(
            !matches!(&answer, Err(status) if status.code() == Code::Unauthenticated),
            "{bad:?}: the keys in force stay: {answer:?}"
        );
        assert_eq!(failures(&scrape(addr).await), count, "{bad:?}");
    }
}

/// Redis as the cache sees it: trusted while this replica's lease is live,
/// untrusted once Redis goes away; and the protocol's own counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_state_and_the_protocol_counters_are_exported() {
    let mut redis = TestRedis::start().await;
    let app = TestApp::spawn_with(crate::support::Db::Mysql, |config| {
        config.redis_url = Some(redis.url());
        config.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    let addr = app.metrics_addr.expect("ACCESS_METRICS_ADDR is set");
    until_trusted(&[&app]).await;
    app.account("acme", "owner").await;
    app.check("owner", "acme", "campaigns.view").await;

    let up = scrape(addr).await;
    let counts = app.cache_counts();
    assert_eq!(up.value("access_cache_redis_enabled", &[]), 1.0);
    assert_eq!(up.value("access_cache_trusted", &[]), 1.0);
    assert!(counts.invalidations_sent >= 1, "{counts:?}");
    assert_eq!(
        up.value("access_cache_invalidations_total", &[("direction", "sent")]),
        counts.invalidations_sent as f64
    );
    assert!(up.value("access_cache_lease_renewals_total", &[]) >= 1.0);
    assert!(up.value("access_cache_redis_round_trips_total", &[("purpose", "lookup")]) >= 1.0);

    redis.stop();
    let untrusted = async {
        while app.cache().trusted() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), untrusted)
        .await
        .expect("the replica stops trusting its cache when Redis goes away");
    let down = scrape(addr).await;
    assert_eq!(down.value("access_cache_trusted", &[]), 0.0);
    assert_eq!(down.value("access_cache_redis_enabled", &[]), 1.0);
}

/// The wait for a database connection is measured: with both pooled
/// connections held by writes that wait on a row lock the test holds, a
/// check waits for a connection until the lock goes, and the histogram
/// shows a wait at least that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_for_a_database_connection_are_measured() {
    // The wait events reach the App's own subscriber, as they reach the
    // process-wide one in production (tests install none).
    let dispatch =
        access_service::telemetry::trace_dispatch(&opentelemetry_sdk::trace::SdkTracerProvider::default());
    let app = TestApp::spawn_traced(
        Db::Mysql,
        |config| {
            config.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
            config.db_max_connections = 2;
            config.request_timeout_ms = 60_000;
            config.db_acquire_timeout_ms = 60_000;
        },
        Some(dispatch),
    )
    .await;
    let addr = app.metrics_addr.expect("ACCESS_METRICS_ADDR is set");
    app.account("acme", "owner").await;
    let before = scrape(addr).await;
    let long = [("le", "1")];
    let long_waits = |scrape: &Scrape| {
        scrape.value("access_db_pool_wait_seconds_count", &[])
            - scrape.value("access_db_pool_wait_seconds_bucket", &long)
    };

    let lock = lock_account(&app, "acme").await;
    let writes = [limit_members(&app), limit_members(&app)];
    wait_for_blocked_statements(&app, 2).await;
    let mut client = app.client.clone();
    let check = tokio::spawn(async move {
        client
            .authorize(crate::support::check("owner", "acme", "campaigns.view", None))
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert!(!check.is_finished(), "the check waits for a connection");
    lock.rollback().await.expect("release the row");
    for write in writes {
        write.await.expect("write task").expect("the write succeeds");
    }
    let answer = check.await.expect("check task").expect("the check is answered");
    assert!(answer.into_inner().allowed);

    let after = scrape(addr).await;
    assert!(
        after.value("access_db_pool_wait_seconds_count", &[])
            > before.value("access_db_pool_wait_seconds_count", &[]),
        "every acquire is a sample"
    );
    assert!(
        after.value("access_db_pool_wait_seconds_bucket", &long) >= 1.0,
        "the quick acquires are in the 1 s bucket (so it is the one read)"
    );
    assert!(
        long_waits(&after) - long_waits(&before) >= 1.0,
        "the check's wait of over a second is in the histogram"
    );
}
