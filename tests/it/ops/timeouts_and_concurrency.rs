//! The server's own limits: a per-request time limit and a process-wide cap
//! on requests in flight, each answered with its gRPC code.

use std::sync::Arc;

use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use tokio::sync::Barrier;
use tonic::Code;

use crate::support::{Db, TestApp, check, connect};

/// One BatchAuthorize that needs a database round trip per check: 100
/// distinct users, so nothing is shared between checks.
fn heavy_batch() -> pb::BatchAuthorizeRequest {
    pb::BatchAuthorizeRequest {
        checks: (0..100)
            .map(|i| check(&format!("user-{i}"), "acme", "campaigns.view", None))
            .collect(),
        ..Default::default()
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
/// UNAVAILABLE instead of queueing, and the cap holds for the whole process,
/// not per connection: each of 20 clients has its own connection and sends
/// exactly one slow request, so a cap kept per connection would serve all 20.
/// Only a shared cap of 1 can refuse any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_over_the_limit_answer_unavailable() {
    const CLIENTS: usize = 20;
    let app = TestApp::spawn_with(Db::Mysql, |config| config.max_concurrent_requests = 1).await;
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        // Connected before any request is sent, so no call waits on a handshake.
        clients.push(AccessServiceClient::new(connect(app.addr).await));
    }
    // Released together, so the 20 slow requests overlap on the server.
    let start = Arc::new(Barrier::new(CLIENTS));
    let calls: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                client.batch_authorize(heavy_batch()).await
            })
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
        "20 slow requests on 20 connections over a process-wide limit of 1 must shed some"
    );
}
