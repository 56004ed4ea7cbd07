//! The server's own limits: a per-request time limit and a process-wide cap
//! on requests in flight, each answered with its gRPC code.

use access_service::grpc::pb;
use tonic::Code;

use crate::helpers::{Db, TestApp, check};

/// One BatchAuthorize that needs a database round trip per check: 100
/// distinct users, so nothing is shared between checks.
fn heavy_batch() -> pb::BatchAuthorizeRequest {
    pb::BatchAuthorizeRequest {
        checks: (0..100)
            .map(|i| check(&format!("user-{i}"), "acme", "campaigns.view", None))
            .collect(),
    }
}

/// A request past ACCESS_REQUEST_TIMEOUT_MS answers DEADLINE_EXCEEDED (not
/// CANCELLED, which is what tonic's own timeout would give).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_answer_deadline_exceeded() {
    let app = TestApp::spawn_with(Db::Mysql, |config| config.request_timeout_ms = 1).await;
    let status = app
        .client
        .clone()
        .batch_authorize(heavy_batch())
        .await
        .expect_err("100 round trips cannot fit in 1 ms");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
}

/// Past ACCESS_MAX_CONCURRENT_REQUESTS, requests are refused at once with
/// UNAVAILABLE instead of queueing; the others are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_over_the_limit_answer_unavailable() {
    let app = TestApp::spawn_with(Db::Mysql, |config| config.max_concurrent_requests = 1).await;
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let mut client = app.client.clone();
            tokio::spawn(async move { client.batch_authorize(heavy_batch()).await })
        })
        .collect();
    let (mut served, mut refused) = (0, 0);
    for call in calls {
        match call.await.expect("task runs") {
            Ok(_) => served += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                refused += 1;
            }
        }
    }
    assert!(served >= 1, "some requests are served");
    assert!(
        refused >= 1,
        "20 concurrent slow requests over a limit of 1 must shed some"
    );
}
