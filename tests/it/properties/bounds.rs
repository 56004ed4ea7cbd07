//! What one caller, or one tenant, can take from everyone else, bounded by
//! counts and sizes: scope ids per membership or invitation, pending
//! invitations per account, the bytes of a ListUsers page, requests in
//! flight per caller, the size of a request message.

use access_service::grpc::pb;
use access_service::grpc::pb::ResourceType::{Campaign, List};
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use prost::Message;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{
    Db, TestApp, api_keys, assert_refused, bad_fields, check, connect, email, expect_code, list_users, scope,
};

/// `n` list ids of `len` bytes each, distinct.
fn ids(prefix: &str, n: usize, len: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{prefix}{i:0>width$}", width = len - prefix.len()))
        .collect()
}

fn refs(ids: &[String]) -> Vec<&str> {
    ids.iter().map(String::as_str).collect()
}

/// ACCESS_MAX_SCOPE_IDS counts every type together: three list ids and three
/// campaign ids pass each type's own cap but not a total of 5, on Invite,
/// on an invitation's further accounts and on UpdateMember; 5 in total pass.
async fn scope_ids_are_capped_in_total(app: TestApp) {
    app.account("acme", "owner").await;
    let lists = ids("list-", 3, 10);
    let campaigns = ids("camp-", 3, 10);
    let six = vec![scope(List, &refs(&lists)), scope(Campaign, &refs(&campaigns))];
    let five = vec![
        scope(List, &refs(&lists)),
        scope(Campaign, &refs(&campaigns[..2])),
    ];
    let before = app.count("SELECT COUNT(*) AS n FROM invitations").await;
    let status = expect_code(
        app.invite("owner", "acme", "six", "manager", six.clone()).await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["scopes"]);
    assert!(status.message().contains("at most 5"), "{}", status.message());
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM invitations").await,
        before,
        "nothing written"
    );
    app.member("owner", "acme", "five", "manager", five).await;
    let status = expect_code(
        app.client
            .clone()
            .update_member(pb::UpdateMemberRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                user_id: "five".into(),
                scopes: Some(pb::ScopeList { scopes: six }),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(bad_fields(&status), ["scopes.scopes"]);
}

/// ACCESS_MAX_PENDING_INVITATIONS holds on an account without any plan
/// limit: the invitation past it is refused with its reason and writes
/// nothing; a repeat of a pending one is still answered; revoking one makes
/// room again.
async fn pending_invitations_are_capped_without_a_plan(app: TestApp) {
    app.account("acme", "owner").await;
    let mut first = None;
    for user in ["a", "b", "c"] {
        let invited = app
            .invite("owner", "acme", user, "viewer", vec![])
            .await
            .expect("under the cap");
        first.get_or_insert(invited);
    }
    let before = app.count("SELECT COUNT(*) AS n FROM invitations").await;
    let status = assert_refused(
        app.invite("owner", "acme", "d", "viewer", vec![]).await,
        Code::ResourceExhausted,
        "PENDING_INVITATION_LIMIT_REACHED",
    );
    let info = status.get_details_error_info().expect("error info");
    assert_eq!(info.metadata.get("limit").map(String::as_str), Some("3"));
    assert_eq!(info.metadata.get("current").map(String::as_str), Some("3"));
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM invitations").await,
        before,
        "nothing written"
    );
    app.invite("owner", "acme", "a", "viewer", vec![])
        .await
        .expect("a repeat of a pending invitation is no new one");
    let id = first.and_then(|i| i.invitation).expect("an invitation").id;
    app.revoke("owner", &id).await.expect("revoked");
    app.invite("owner", "acme", "d", "viewer", vec![])
        .await
        .expect("room again once one is revoked");
}

/// The budget of these tests' pages, in bytes.
const PAGE_BYTES: usize = 20_000;

/// A ListUsers page stops at ACCESS_MAX_PAGE_BYTES: invitations of 100
/// scope ids of 100 bytes each (about 11 kB a row) come one a page,
/// though 50 rows were asked for; each page's rows encode to at most the
/// budget, or are one row; walking the pages yields every row once, in order.
async fn list_users_pages_are_bounded_in_bytes(app: TestApp) {
    app.account("acme", "owner").await;
    const HEAVY: usize = 5;
    for n in 0..HEAVY {
        let lists = ids(&format!("l{n}-"), 100, 100);
        app.invite(
            "owner",
            "acme",
            &format!("heavy{n}"),
            "manager",
            vec![scope(List, &refs(&lists))],
        )
        .await
        .expect("invited");
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut token = String::new();
    loop {
        let page = app
            .client
            .clone()
            .list_users(pb::ListUsersRequest {
                page_size: 50,
                page_token: token.clone(),
                ..list_users("owner", "acme")
            })
            .await
            .expect("a page")
            .into_inner();
        pages += 1;
        let bytes: usize = page.users.iter().map(Message::encoded_len).sum();
        assert!(
            bytes <= PAGE_BYTES || page.users.len() == 1,
            "page {pages}: {} rows of {bytes} bytes over a budget of {PAGE_BYTES}",
            page.users.len()
        );
        seen.extend(page.users.into_iter().map(|user| user.email));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(pages <= HEAVY + 1, "the pages end");
    }
    let mut expected = vec![email("owner")];
    expected.extend((0..HEAVY).map(|n| email(&format!("heavy{n}"))));
    assert_eq!(seen, expected, "every row once, in list order");
    assert!(pages >= HEAVY, "about one heavy row a page, got {pages} pages");
}

crate::on_both_databases!(
    mod bounded,
    |config| {
        config.max_scope_ids = 5;
        config.max_pending_invitations = 3;
    };
    scope_ids_are_capped_in_total,
    pending_invitations_are_capped_without_a_plan
);

crate::on_both_databases!(
    mod small_pages,
    |config| config.max_page_bytes = crate::properties::bounds::PAGE_BYTES;
    list_users_pages_are_bounded_in_bytes
);

/// One BatchAuthorize that needs a database round trip per check.
fn heavy_batch() -> pb::BatchAuthorizeRequest {
    pb::BatchAuthorizeRequest {
        checks: (0..100)
            .map(|i| check(&format!("user-{i}"), "acme", "campaigns.view", None))
            .collect(),
        ..Default::default()
    }
}

const FLOOD_KEY: &str = "flood-secret-long-enough-for-tests";
const CALM_KEY: &str = "calm-secret-long-enough-for-tests";

/// A BatchAuthorize of `key` whose headers the server has and whose body
/// never ends: the call is in flight, holding one of its caller's places,
/// until the stream is dropped (what a slow client, or a slow handler, does).
async fn held_call(
    addr: std::net::SocketAddr,
    key: &str,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    h2::client::ResponseFuture,
    h2::SendStream<bytes::Bytes>,
) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connects");
    let (send, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let mut send = send.ready().await.expect("ready");
    let request = http::Request::post(format!("http://{addr}/access.v1.AccessService/BatchAuthorize"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {key}"))
        .body(())
        .expect("a request");
    let (answer, mut body) = send.send_request(request, false).expect("sent");
    // The gRPC frame's prefix announces more than is ever sent.
    body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 10]), false)
        .expect("the prefix is sent");
    // Its answer is polled for a moment: without that, h2 left the stream
    // unseen by the server in these tests. No answer comes while the body
    // is open.
    let mut answer = answer;
    let early = tokio::time::timeout(std::time::Duration::from_millis(100), &mut answer).await;
    assert!(
        early.is_err(),
        "the held call is answered only once its body ends: {early:?}"
    );
    (send, answer, body)
}

/// ACCESS_MAX_CONCURRENT_REQUESTS_PER_CALLER: with one key's two places
/// held by calls in flight, its next call is refused with
/// RESOURCE_EXHAUSTED CALLER_CONCURRENCY_LIMIT, though the process-wide
/// limit has room; another key is served meanwhile, and the first key is
/// served again once its calls have ended.
async fn one_caller_cannot_take_the_whole_limit(kind: Db) {
    let app = TestApp::spawn_with(kind, |config| {
        config.api_keys = Some(api_keys(&[
            ("flood", "check", FLOOD_KEY),
            ("calm", "check", CALM_KEY),
        ]));
        config.max_concurrent_requests = 64;
        config.max_concurrent_requests_per_caller = 2;
    })
    .await;
    let call = |key: &'static str| {
        let addr = app.addr;
        async move {
            let mut request = tonic::Request::new(heavy_batch());
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {key}").parse().expect("ASCII"));
            AccessServiceClient::new(connect(addr).await)
                .batch_authorize(request)
                .await
        }
    };
    let held = [
        held_call(app.addr, FLOOD_KEY).await,
        held_call(app.addr, FLOOD_KEY).await,
    ];
    // The held calls reach the server on their own connections: wait until
    // the third is refused (a few tries at most, while they arrive).
    let refused = async {
        loop {
            match call(FLOOD_KEY).await {
                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                Err(status) => return status,
            }
        }
    };
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), refused)
        .await
        .expect("the flooding key's third call is refused while two are held");
    assert_refused(
        Err::<(), _>(status),
        Code::ResourceExhausted,
        "CALLER_CONCURRENCY_LIMIT",
    );
    call(CALM_KEY)
        .await
        .expect("the other caller is served: its own limit is free");
    drop(held);
    let served_again = async {
        while call(FLOOD_KEY).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), served_again)
        .await
        .expect("the flooding key is served again once its calls have ended");
}

/// A request message over ACCESS_MAX_REQUEST_BYTES is refused before any
/// handler reads it (OUT_OF_RANGE, from its length prefix), and the
/// default stays far under tonic's 4 MiB.
async fn request_messages_are_bounded(kind: Db) {
    let app = TestApp::spawn_with(kind, |config| config.max_request_bytes = 64 * 1024).await;
    const { assert!(access_service::config::DEFAULT_MAX_REQUEST_BYTES <= 256 * 1024) };
    let mut big = check("u", "acme", "campaigns.view", None);
    big.user_id = "x".repeat(64 * 1024);
    let status = app
        .client
        .clone()
        .authorize(big)
        .await
        .expect_err("over the limit");
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    let small = check("u", "acme", "campaigns.view", None);
    app.client
        .clone()
        .authorize(small)
        .await
        .expect("under the limit");
}

crate::on_both_databases!(db; one_caller_cannot_take_the_whole_limit, request_messages_are_bounded);
