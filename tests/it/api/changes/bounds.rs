//! What WatchChanges streams may take, bounded by counts: watches open on a
//! replica and per caller, one reader of the log per replica whatever the
//! number of watches, how far a watch may fall behind, how long it lives,
//! and how long a vanished client's watches are kept.

use std::time::Duration;

use access_service::grpc::pb;
use access_service::grpc::pb::access_service_client::AccessServiceClient;
use tonic::Code;
use tonic::transport::Endpoint;
use tonic_types::StatusExt;

use super::{HANG_GUARD, logged_changes, next_events, revision, watch_account};
use crate::support::cluster::TcpProxy;
use crate::support::{Db, OLD_WEB_KEY, TestApp, WEB_KEY, assert_refused, connect, keys};

/// The metrics endpoint on a free port.
fn with_metrics(config: &mut access_service::Config) {
    config.metrics_addr = Some("127.0.0.1:0".parse().expect("an address"));
}

/// Waits until `app`'s metric `name` reads `value` (failing past the guard).
async fn until_metric(app: &TestApp, name: &str, labels: &[(&str, &str)], value: f64) {
    let wait = async {
        while app.metric(name, labels).await != value {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    if tokio::time::timeout(HANG_GUARD, wait).await.is_err() {
        panic!(
            "{name}{labels:?} is {}, not {value}",
            app.metric(name, labels).await
        );
    }
}

/// Waits until the change feed of `app` has read the log `more` more times
/// than now: everything committed before has been handed to the watches.
async fn feed_reads_again(app: &TestApp, more: f64) {
    let now = app.metric("access_change_feed_reads_total", &[]).await;
    let wait = async {
        while app.metric("access_change_feed_reads_total", &[]).await < now + more {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(HANG_GUARD, wait)
        .await
        .expect("the change feed reads the log");
}

/// The end of a stream: the status it ended with, after the events before it.
async fn end_of(
    stream: &mut tonic::Streaming<pb::WatchChangesResponse>,
) -> (Vec<pb::ChangeEvent>, tonic::Status) {
    let mut events = Vec::new();
    let wait = async {
        loop {
            match stream.message().await {
                Ok(Some(message)) => events.push(message.event.expect("an event")),
                Ok(None) => panic!("the watch ended without a status after {} events", events.len()),
                Err(status) => return status,
            }
        }
    };
    let status = tokio::time::timeout(HANG_GUARD, wait)
        .await
        .expect("the watch ends");
    (events, status)
}

/// The value of ErrorInfo metadata `key` of `status`.
fn info(status: &tonic::Status, key: &str) -> Option<String> {
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get(key).cloned())
}

/// ACCESS_WATCH_MAX_OPEN_PER_CALLER (2) and ACCESS_WATCH_MAX_OPEN (4): a
/// caller's third watch is refused RESOURCE_EXHAUSTED CALLER_WATCH_LIMIT
/// while another caller opens two of its own; then the replica's fifth is
/// refused WATCH_LIMIT_REACHED, whoever asks. A watch closed gives its
/// places back; the gauge counts what is open.
async fn the_caps_on_open_watches_hold(kind: Db) {
    let app = TestApp::spawn_with(kind, |_config| {}).await;
    app.account("acme", "olivia").await;
    let keyed = app
        .replica_with(|config| {
            keys(config);
            with_metrics(config);
            config.watch.watch_max_open = 4;
            config.watch.watch_max_open_per_caller = 2;
        })
        .await;
    let open = |key: &'static str| {
        let mut client = keyed.client_with_key(key);
        async move {
            client
                .watch_changes(watch_account("olivia", "acme", 0))
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let mut first = open(WEB_KEY).await.expect("the web app's first watch");
    let _second = open(WEB_KEY).await.expect("its second");
    let refused = assert_refused(open(WEB_KEY).await, Code::ResourceExhausted, "CALLER_WATCH_LIMIT");
    assert_eq!(info(&refused, "limit").as_deref(), Some("2"), "{refused:?}");
    let _third = open(OLD_WEB_KEY).await.expect("another caller has its own cap");
    let _fourth = open(OLD_WEB_KEY).await.expect("and its own second");
    let no_platform = "no-platform-secret-long-enough-for-tests";
    let refused = assert_refused(
        open(no_platform).await,
        Code::ResourceExhausted,
        "WATCH_LIMIT_REACHED",
    );
    assert_eq!(info(&refused, "limit").as_deref(), Some("4"), "{refused:?}");
    assert_eq!(keyed.metric("access_watches_open", &[]).await, 4.0);
    // The open ones work: the first still gets its account's history.
    assert_eq!(next_events(&mut first, 1).await[0].kind, "account.create");
    drop(first);
    until_metric(&keyed, "access_watches_open", &[], 3.0).await;
    let _again = open(WEB_KEY).await.expect("a closed watch gave its places back");
    assert_eq!(keyed.metric("access_watches_open", &[]).await, 4.0);
}

/// One reader of the log per replica, whatever the number of watches: 25
/// watches caught up and idle cost the requests' pool not one statement
/// while the feed reads the log 10 times (a watch that polled the database
/// itself would have sent 250), and one change then reaches every one.
async fn one_feed_reads_the_log_for_every_watch(app: TestApp) {
    const WATCHES: usize = 25;
    app.account("acme", "olivia").await;
    let mut streams = Vec::new();
    for _ in 0..WATCHES {
        let mut stream = app
            .client
            .clone()
            .watch_changes(watch_account("olivia", "acme", 0))
            .await
            .expect("watch starts")
            .into_inner();
        // Its history (one change): caught up, it follows the feed now.
        next_events(&mut stream, 1).await;
        streams.push(stream);
    }
    // The first scrape counts the invitations on the requests' pool; the
    // next ones within 30 s reuse that count.
    assert_eq!(app.metric("access_watches_open", &[]).await, WATCHES as f64);
    let before = app.statements.get();
    feed_reads_again(&app, 10.0).await;
    assert_eq!(
        app.statements.get() - before,
        0,
        "idle watches read nothing: the feed reads for all of them"
    );
    app.member("olivia", "acme", "lee", "viewer", vec![]).await;
    for stream in &mut streams {
        let kinds: Vec<String> = next_events(stream, 2).await.into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["invitation.create", "invitation.accept"]);
    }
}

/// A role's update: the permissions of its entry make each event about a
/// kilobyte, so a few dozen fill what a connection takes before it is read.
fn role_update(round: usize) -> pb::UpdateRoleRequest {
    let mut permissions: Vec<String> = [
        "lists.view",
        "lists.edit",
        "lists.import",
        "lists.export",
        "contacts.view",
        "contacts.add",
        "contacts.edit",
        "contacts.delete",
        "segments.view",
        "segments.edit",
        "templates.view",
        "templates.edit",
        "templates.delete",
        "templates.publish",
        "templates.lock",
        "templates.labels",
        "campaigns.view",
        "campaigns.edit",
        "campaigns.send",
        "campaigns.pause",
        "campaigns.delete",
        "automations.view",
        "automations.edit",
        "transactional.view",
        "transactional.edit",
        "transactional.publish",
        "reports.view",
        "reports.subscriber",
        "reports.export",
        "conversations.view",
        "suppressions.view",
    ]
    .map(str::to_owned)
    .to_vec();
    // Every other round one fewer: each update changes the role.
    if round % 2 == 1 {
        permissions.pop();
    }
    pb::UpdateRoleRequest {
        actor_user_id: "olivia".into(),
        account_id: "acme".into(),
        name: "helper".into(),
        permissions: Some(pb::PermissionList { permissions }),
        ..Default::default()
    }
}

/// ACCESS_WATCH_BUFFER (8 here): a reader that stops reading while 120
/// changes commit is held to what HTTP/2 lets the server send (its window
/// of 1 KiB, and one encoded chunk), never buffered for; when it reads
/// again it gets what was sent, then ABORTED WATCH_READER_TOO_SLOW with the
/// id of the last event it got. Resumed after that id, it gets every later
/// change once, in order: with the first part, exactly the account's log.
async fn a_slow_reader_is_ended_with_a_position_that_misses_nothing(app: TestApp) {
    const UPDATES: usize = 120;
    app.account("acme", "olivia").await;
    app.create_role("olivia", "acme", "helper", &["campaigns.view"])
        .await
        .expect("role created");
    let slow_channel = Endpoint::from_shared(format!("http://{}", app.addr))
        .expect("valid uri")
        .initial_stream_window_size(1024)
        .connect()
        .await
        .expect("connects");
    let mut slow = AccessServiceClient::new(slow_channel)
        .watch_changes(watch_account("olivia", "acme", 0))
        .await
        .expect("watch starts")
        .into_inner();
    for round in 0..UPDATES {
        app.client
            .clone()
            .update_role(role_update(round))
            .await
            .expect("role updated");
    }
    feed_reads_again(&app, 3.0).await;
    let logged: Vec<String> = logged_changes(&app).await.into_iter().map(|c| c.0).collect();
    assert_eq!(logged.len(), UPDATES + 2, "the account, the role, its updates");

    let (got, end) = end_of(&mut slow).await;
    assert_refused(Err::<(), _>(end.clone()), Code::Aborted, "WATCH_READER_TOO_SLOW");
    assert_eq!(info(&end, "buffer").as_deref(), Some("8"), "{end:?}");
    let last = got.last().expect("it got some before it fell behind");
    assert_eq!(info(&end, "resume_after_id").as_deref(), Some(last.id.as_str()));
    assert!(
        got.len() < logged.len(),
        "it fell behind: {} of {}",
        got.len(),
        logged.len()
    );
    let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        logged[..got.len()],
        "what it got is the log's start, in order"
    );

    let mut resumed = app
        .client
        .clone()
        .watch_changes(pb::WatchChangesRequest {
            actor_user_id: "olivia".into(),
            account_id: "acme".into(),
            after_id: last.id.clone(),
            ..Default::default()
        })
        .await
        .expect("watch resumes")
        .into_inner();
    let rest = next_events(&mut resumed, logged.len() - got.len()).await;
    let ids: Vec<&str> = rest.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, logged[got.len()..], "the rest, once each, in order");
    assert_eq!(
        app.metric("access_watches_ended_total", &[("reason", "too_slow")])
            .await,
        1.0
    );
}

/// ACCESS_WATCH_MAX_AGE_SECS (1 s here): a watch that got the account's
/// history ends with ABORTED WATCH_MAX_AGE, the id of its last event and
/// the age; resumed after that id it gets the change committed meanwhile.
/// A watch that got nothing gives back the revision it started after.
async fn the_age_limit_ends_a_watch_with_a_resumable_position(app: TestApp) {
    app.account("acme", "olivia").await;
    app.member("olivia", "acme", "lee", "viewer", vec![]).await;
    let mut client = app.client.clone();
    let mut stream = client
        .watch_changes(watch_account("olivia", "acme", 0))
        .await
        .expect("watch starts")
        .into_inner();
    let (got, end) = end_of(&mut stream).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert_refused(Err::<(), _>(end.clone()), Code::Aborted, "WATCH_MAX_AGE");
    assert_eq!(info(&end, "max_age_seconds").as_deref(), Some("1"));
    assert_eq!(info(&end, "resume_after_id").as_deref(), Some(got[2].id.as_str()));

    app.deactivate("olivia", "acme", "lee")
        .await
        .expect("deactivated");
    let mut resumed = client
        .watch_changes(pb::WatchChangesRequest {
            actor_user_id: "olivia".into(),
            account_id: "acme".into(),
            after_id: got[2].id.clone(),
            ..Default::default()
        })
        .await
        .expect("watch resumes")
        .into_inner();
    let (later, _) = end_of(&mut resumed).await;
    let kinds: Vec<&str> = later.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["member.deactivate"], "the change in between, once");

    let now = revision(&app, "acme").await;
    let mut quiet = client
        .watch_changes(watch_account("olivia", "acme", now))
        .await
        .expect("watch starts")
        .into_inner();
    let (none, end) = end_of(&mut quiet).await;
    assert!(none.is_empty(), "{none:?}");
    assert_refused(Err::<(), _>(end.clone()), Code::Aborted, "WATCH_MAX_AGE");
    assert_eq!(info(&end, "resume_after_revision"), Some(now.to_string()));
    assert_eq!(info(&end, "resume_after_id"), None);
    assert_eq!(
        app.metric("access_watches_ended_total", &[("reason", "max_age")])
            .await,
        3.0
    );
}

/// A client that vanishes with watches open (its connection silent both
/// ways: no FIN, no RST, no PING answered) holds them no longer than the
/// HTTP/2 keepalive allows (200 ms + 200 ms here): the server closes the
/// connection and the gauge of open watches goes back to 0. A client that
/// closes its connection gives them back too.
async fn a_vanished_clients_watches_are_dropped(app: TestApp) {
    app.account("acme", "olivia").await;
    let proxy = TcpProxy::start(app.addr).await;
    let open_three = |channel: tonic::transport::Channel| async move {
        let mut streams = Vec::new();
        for _ in 0..3 {
            let mut stream = AccessServiceClient::new(channel.clone())
                .watch_changes(watch_account("olivia", "acme", 0))
                .await
                .expect("watch starts")
                .into_inner();
            next_events(&mut stream, 1).await;
            streams.push(stream);
        }
        streams
    };
    let through_proxy = Endpoint::from_shared(proxy.route(&format!("http://{}", app.addr)))
        .expect("valid uri")
        .connect()
        .await
        .expect("connects through the proxy");
    let _vanishing = open_three(through_proxy).await;
    assert_eq!(app.metric("access_watches_open", &[]).await, 3.0);
    proxy.freeze();
    until_metric(&app, "access_watches_open", &[], 0.0).await;

    let closing = open_three(connect(app.addr).await).await;
    assert_eq!(app.metric("access_watches_open", &[]).await, 3.0);
    drop(closing);
    until_metric(&app, "access_watches_open", &[], 0.0).await;
}

crate::on_both_databases!(db; the_caps_on_open_watches_hold);
crate::on_both_databases!(mod polled_often, |config| {
    crate::api::changes::bounds::with_metrics(config);
    config.change_poll_ms = 20;
}; one_feed_reads_the_log_for_every_watch);
crate::on_both_databases!(mod small_buffer, |config| {
    crate::api::changes::bounds::with_metrics(config);
    config.change_poll_ms = 20;
    config.watch.watch_buffer = 8;
    config.watch.watch_page_size = 4;
}; a_slow_reader_is_ended_with_a_position_that_misses_nothing);
crate::on_both_databases!(mod short_lived, |config| {
    crate::api::changes::bounds::with_metrics(config);
    config.watch.watch_max_age_secs = 1;
}; the_age_limit_ends_a_watch_with_a_resumable_position);
crate::on_both_databases!(mod quick_keepalive, |config| {
    crate::api::changes::bounds::with_metrics(config);
    config.http2_keepalive_interval_ms = 200;
    config.http2_keepalive_timeout_ms = 200;
}; a_vanished_clients_watches_are_dropped);
