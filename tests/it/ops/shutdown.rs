//! The shutdown sequence (SIGTERM): health turns NOT_SERVING, the listener
//! closes, in-flight requests finish, and past ACCESS_SHUTDOWN_TIMEOUT_SECS
//! the ones left are cut. A request is held in flight by a row lock this
//! test takes on the account (every change to an account locks its row), so
//! it ends exactly when the test lets it: no timing decides the outcome.

use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;

use crate::support::{
    Db, TestApp,
    locks::{limit_members, lock_account, wait_for_blocked_statements},
};

/// A safety net, never an expectation: what the test waits for happens at
/// once or never, and "never" must fail the test rather than hang it.
const NEVER: Duration = Duration::from_secs(60);

async fn bounded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(NEVER, future)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
}

/// A server whose requests may wait as long as the test needs.
async fn patient_app(shutdown_timeout_secs: u64) -> TestApp {
    TestApp::spawn_with(Db::Mysql, |config| {
        config.request_timeout_ms = 120_000;
        config.shutdown_grace_secs = 0;
        config.shutdown_timeout_secs = shutdown_timeout_secs;
    })
    .await
}

/// Waits until one statement of the server waits for the account row: then
/// its request is in flight. Bounded: a request that never gets there fails
/// the test instead of hanging it.
async fn wait_for_blocked_statement(app: &TestApp) {
    wait_for_blocked_statements(app, 1).await;
}

/// The limit stored for "acme", read directly.
async fn stored_max_members(app: &TestApp) -> i64 {
    app.count("SELECT COALESCE(max_members, -1) AS n FROM accounts WHERE id = 'acme'")
        .await
}

/// Draining: health is NOT_SERVING, health watches end, new connections are
/// refused, and the request in flight when the signal came still completes,
/// committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_requests_finish_after_health_turns_not_serving() {
    let mut app = patient_app(120).await;
    app.account("acme", "owner").await;
    let mut health = HealthClient::new(app.channel.clone());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "access.v1.AccessService".into(),
        })
        .await
        .expect("watch health")
        .into_inner();
    let first = watch
        .message()
        .await
        .expect("a status")
        .expect("the stream is open");
    assert_eq!(first.status(), ServingStatus::Serving);

    let lock = lock_account(&app, "acme").await;
    let write = limit_members(&app);
    wait_for_blocked_statement(&app).await;

    let served = app.shut_down();
    // The watch is a stream already open on the connection: it keeps
    // working while the server drains, and tells the change.
    let next = bounded("NOT_SERVING", watch.message())
        .await
        .expect("a status")
        .expect("the stream is open");
    assert_eq!(next.status(), ServingStatus::NotServing);
    // Then, once the server drains, the watch (which would never end on its
    // own and hold the drain to its deadline) ends with UNAVAILABLE.
    let ended = bounded("the end of the watch", watch.message())
        .await
        .expect_err("the watch ends with a status");
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");

    // The listener closes after health turned: wait for it, bounded.
    let mut refused = false;
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(app.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "new connections are refused while draining");
    assert!(
        !served.is_finished(),
        "the server waits for the request in flight"
    );
    assert!(!write.is_finished(), "the request is still held by the lock");

    lock.rollback().await.expect("release the row");
    let answer = bounded("the answer", write)
        .await
        .expect("task")
        .expect("the in-flight request completes");
    assert_eq!(answer.account.expect("account").max_members, Some(10));
    bounded("the end of serving", served)
        .await
        .expect("task")
        .expect("the server stops cleanly");
    assert_eq!(stored_max_members(&app).await, 10);
}

/// Past the deadline, a request that would never finish and a stream the
/// client keeps open are answered UNAVAILABLE (clients retry elsewhere),
/// nothing of the request is committed, and the server stops anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_cuts_requests_that_never_finish() {
    let mut app = patient_app(1).await;
    app.account("acme", "owner").await;
    // A stream the client never closes: the server waits for its next request.
    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]).chain(tokio_stream::pending()))
        .await
        .expect("reflection answers")
        .into_inner();
    stream
        .message()
        .await
        .expect("a first answer")
        .expect("the stream is open");
    let lock = lock_account(&app, "acme").await;
    let write = limit_members(&app);
    wait_for_blocked_statement(&app).await;

    let served = app.shut_down();
    let status = bounded("the cut", write)
        .await
        .expect("task")
        .expect_err("the deadline cuts the request");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let ended = bounded("the end of the stream", stream.message())
        .await
        .expect_err("the deadline ends the stream");
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    bounded("the end of serving", served)
        .await
        .expect("task")
        .expect("the server stops anyway");

    lock.rollback().await.expect("release the row");
    assert_eq!(
        stored_max_members(&app).await,
        -1,
        "a cut request commits nothing"
    );
}
