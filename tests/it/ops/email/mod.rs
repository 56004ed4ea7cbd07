//! The emails changes send (docs/domain.md, "Invitation"), through the transactional outbox and
//! the dispatcher, to a real SMTP server (aiosmtpd) the test starts.

use std::time::Duration;

use access_service::Config;
use access_service::app;
use access_service::email::PREVIEW_TOKEN;
use access_service::grpc::pb;
use sea_orm::{ConnectionTrait, Statement};
use tonic::Code;

use crate::support::mail_server::{MailServer, free_port, smtp_url};
use crate::support::{Db, TestApp, assert_refused, email};

mod no_relay;
mod retention;

crate::on_both_databases!(
    db;
    the_invitation_email_is_delivered_and_its_token_erased,
    a_message_whose_facts_cannot_render_fails_alone,
    a_retry_reaches_a_relay_that_was_down,
    after_the_last_attempt_the_email_is_failed_with_its_error,
    a_dispatcher_that_dies_mid_send_is_taken_over_without_a_duplicate,
    a_preview_is_the_email_and_writes_nothing,
    each_notifying_change_writes_one_message_and_a_refused_one_none,
    one_invitation_to_several_accounts_is_one_email,
);

/// A server whose dispatcher sends to `smtp` quickly: short polls, short backoff.
async fn app_sending_to(db: Db, smtp: String, max_attempts: u32) -> TestApp {
    TestApp::spawn_with(db, |config| fast_dispatch(config, Some(smtp), max_attempts)).await
}

pub(super) fn fast_dispatch(config: &mut Config, smtp: Option<String>, max_attempts: u32) {
    config.smtp_url = smtp;
    config.outbox_poll_ms = 50;
    config.outbox_backoff_ms = 200;
    config.outbox_backoff_max_ms = 400;
    config.outbox_max_attempts = max_attempts;
    config.smtp_timeout_ms = 3_000;
    config.outbox_lease_ms = 4_000;
}

/// The invite every test sends: "owner" invites lee to "acme" as manager.
fn invite_request() -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: "owner".into(),
        account_id: "acme".into(),
        email: email("lee"),
        role: "manager".into(),
        message: "Welcome aboard, Lee: the spring campaign is yours.".into(),
        invitee_name: "Lee Larsen".into(),
        ..Default::default()
    }
}

pub(super) async fn invite(app: &TestApp) -> pb::InviteResponse {
    app.client
        .clone()
        .invite(invite_request())
        .await
        .expect("invite")
        .into_inner()
}

/// The account's invitations as ListInvitations shows them.
async fn invitations(app: &TestApp) -> Vec<pb::Invitation> {
    app.client
        .clone()
        .list_invitations(pb::ListInvitationsRequest {
            actor_user_id: "owner".into(),
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect("list invitations")
        .into_inner()
        .invitations
}

/// The delivery of the one invitation, once `done` holds for it (30 s at most).
pub(super) async fn delivery_when(
    app: &TestApp,
    done: impl Fn(&pb::InvitationDelivery) -> bool,
) -> pb::InvitationDelivery {
    let mut last = None;
    for _ in 0..600 {
        let listed = invitations(app).await;
        assert_eq!(listed.len(), 1, "one invitation");
        last = listed[0].delivery.clone();
        if let Some(delivery) = &last
            && done(delivery)
        {
            return delivery.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery never got there; last seen: {last:?}");
}

pub(super) fn state(delivery: &pb::InvitationDelivery) -> pb::DeliveryState {
    pb::DeliveryState::try_from(delivery.state).expect("known delivery state")
}

/// Every (table, column) whose text contains `needle`, over every table of the database.
pub(super) async fn tables_holding(app: &TestApp, needle: &str) -> Vec<String> {
    let backend = app.db.get_database_backend();
    let mysql = app.database_url().starts_with("mysql:");
    let names = |sql: String| {
        let db = app.db.clone();
        async move {
            db.query_all_raw(Statement::from_string(backend, sql))
                .await
                .expect("catalogue query")
                .into_iter()
                .map(|row| row.try_get::<String>("", "name").expect("a name"))
                .collect::<Vec<_>>()
        }
    };
    let tables = names(if mysql {
        "SELECT CAST(table_name AS CHAR) AS name FROM information_schema.tables WHERE table_schema = DATABASE()".into()
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'".into()
    })
    .await;
    assert!(
        tables.iter().any(|t| t == "outbox"),
        "the scan sees the outbox: {tables:?}"
    );
    let mut found = Vec::new();
    for table in tables {
        let columns = names(if mysql {
            format!(
                "SELECT CAST(column_name AS CHAR) AS name FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = '{table}'"
            )
        } else {
            format!("SELECT name FROM pragma_table_info('{table}')")
        })
        .await;
        for column in columns {
            let cast = if mysql { "CHAR" } else { "TEXT" };
            let n = app
                .count(&format!(
                    "SELECT COUNT(*) AS n FROM `{table}` WHERE CAST(`{column}` AS {cast}) LIKE '%{needle}%'"
                ))
                .await;
            if n > 0 {
                found.push(format!("{table}.{column}"));
            }
        }
    }
    found
}

/// The email is what the templates make of the invitation (inviter, account,
/// role, note, the accept link with the token), equal to its preview but for
/// the token; once sent, no table holds the raw token any more.
async fn the_invitation_email_is_delivered_and_its_token_erased(db: Db) {
    let smtp = MailServer::start().await;
    let app = app_sending_to(db, smtp.url(), 5).await;
    app.account("acme", "owner").await;
    let preview = app
        .client
        .clone()
        .preview_invitation_email(pb::PreviewInvitationEmailRequest {
            invite: Some(invite_request()),
        })
        .await
        .expect("preview")
        .into_inner();
    let token = invite(&app).await.token;
    assert_eq!(token.len(), 64);
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1, "one email");
    let mail = &mails[0];
    assert_eq!(mail.to, email("lee"));
    assert_eq!(mail.subject, "Name of owner invited you to join Account acme");
    let link = format!("http://localhost:8080/invitations/accept?token={token}");
    for needle in [
        link.as_str(),
        "Hello Lee Larsen",
        "Name of owner (owner@example.com)",
        "Account acme as manager",
        "Welcome aboard, Lee",
    ] {
        assert!(
            mail.text.contains(needle),
            "text lacks {needle:?}:\n{}",
            mail.text
        );
    }
    assert!(mail.html.contains(&format!("href=\"{link}\"")), "{}", mail.html);
    assert!(mail.html.contains("<strong>manager</strong>"), "{}", mail.html);
    // The preview is the same email: same sender, recipient, subject and
    // bodies once its placeholder is the token (the expiry line aside: the
    // two were computed moments apart).
    let without_expiry = |text: &str| -> String {
        text.lines()
            .filter(|line| !line.contains("works until"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        (preview.to.as_str(), preview.subject.as_str()),
        (mail.to.as_str(), mail.subject.as_str())
    );
    assert!(preview.from.contains("<no-reply@localhost>"), "{}", preview.from);
    assert!(mail.from.contains("<no-reply@localhost>"), "{}", mail.from);
    assert_eq!(
        without_expiry(&preview.text_body.replace(PREVIEW_TOKEN, &token)).trim_end(),
        without_expiry(&mail.text).trim_end()
    );
    let delivery = delivery_when(&app, |d| d.state == pb::DeliveryState::Sent as i32).await;
    assert_eq!((delivery.attempts, delivery.last_error.as_str()), (1, ""));
    let outbox_id = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id AS name FROM outbox",
        ))
        .await
        .expect("outbox read")
        .expect("one row")
        .try_get::<String>("", "name")
        .expect("id");
    assert_eq!(mail.message_id, format!("<{outbox_id}@localhost>"));
    assert_eq!(
        tables_holding(&app, &token).await,
        Vec::<String>::new(),
        "no raw token is left"
    );
    // The scan itself finds what is there: the token's hash is kept.
    assert_eq!(
        tables_holding(&app, &hash_of(&token)).await,
        ["invitations.token_hash"]
    );
}

fn hash_of(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A message queued by an earlier version, its facts lacking a variable its
/// template names, fails alone as a render error does (failed at its first
/// attempt, the error recorded, nothing sent): the message after it is
/// delivered.
async fn a_message_whose_facts_cannot_render_fails_alone(db: Db) {
    let smtp = MailServer::start().await;
    let app = app_sending_to(db, smtp.url(), 5).await;
    app.account("acme", "owner").await;
    // Due before anything else; no `removed_by`, and a key no template names.
    let facts = r#"{"account_id":"acme","account_name":"Acme","member_name":"Zed","removed_by_id":"owner"}"#;
    let backend = app.db.get_database_backend();
    app.db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO outbox (id, account_id, kind, recipient, facts, state, next_attempt_at, created_at) \
             VALUES ('older', 'acme', 'member_removed', ?, ?, 'queued', 0, ?)",
            [
                email("zed").into(),
                facts.into(),
                chrono::Utc::now().timestamp_millis().into(),
            ],
        ))
        .await
        .expect("an older message queued");
    invite(&app).await;

    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, email("lee"));
    let sent = delivery_when(&app, |d| d.state == pb::DeliveryState::Sent as i32).await;
    assert_eq!(sent.attempts, 1);
    let older = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT state, attempts, last_error FROM outbox WHERE id = 'older'",
        ))
        .await
        .expect("outbox read")
        .expect("the older message is kept");
    let state: String = older.try_get("", "state").expect("state");
    let attempts: i32 = older.try_get("", "attempts").expect("attempts");
    let error: Option<String> = older.try_get("", "last_error").expect("last_error");
    assert_eq!((state.as_str(), attempts), ("failed", 1), "{error:?}");
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("cannot render the message")),
        "{error:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.count(), 1, "the older message is not sent");
}

/// A relay that refuses connections at first: the attempts fail, are
/// retried after a backoff, and the email goes once the relay is up.
async fn a_retry_reaches_a_relay_that_was_down(db: Db) {
    let port = free_port();
    let app = app_sending_to(db, smtp_url(port), 100).await;
    app.account("acme", "owner").await;
    invite(&app).await;
    let failing = delivery_when(&app, |d| d.attempts >= 2).await;
    assert_eq!(state(&failing), pb::DeliveryState::Queued);
    assert!(!failing.last_error.is_empty(), "the error is shown: {failing:?}");
    let smtp = MailServer::start_on(port).await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, email("lee"));
    let sent = delivery_when(&app, |d| d.state == pb::DeliveryState::Sent as i32).await;
    assert!(sent.attempts > failing.attempts, "{sent:?} after {failing:?}");
    assert_eq!(sent.last_error, "");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.count(), 1, "sent once");
}

/// After ACCESS_OUTBOX_MAX_ATTEMPTS failures the email is failed, the last
/// error visible in ListInvitations, and its token erased.
async fn after_the_last_attempt_the_email_is_failed_with_its_error(db: Db) {
    let app = app_sending_to(db, smtp_url(free_port()), 2).await;
    app.account("acme", "owner").await;
    let token = invite(&app).await.token;
    let failed = delivery_when(&app, |d| d.state == pb::DeliveryState::Failed as i32).await;
    assert_eq!(failed.attempts, 2);
    assert!(!failed.last_error.is_empty(), "{failed:?}");
    assert_eq!(tables_holding(&app, &token).await, Vec::<String>::new());
    // Nothing more is tried.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let still = delivery_when(&app, |_| true).await;
    assert_eq!(still.attempts, 2);
    // A resend is a new email, with a new token, queued again.
    let listed = invitations(&app).await;
    app.client
        .clone()
        .resend_invitation(pb::ResendInvitationRequest {
            actor_user_id: "owner".into(),
            invitation_id: listed[0].id.clone(),
        })
        .await
        .expect("resend");
    let again = delivery_when(&app, |_| true).await;
    assert_eq!(state(&again), pb::DeliveryState::Queued, "{again:?}");
}

/// Dispatcher A takes the email and hangs in the SMTP dialogue (a relay that
/// never greets), then dies. While A's lease runs, dispatcher B leaves the
/// email alone; when it expires B sends it, once, with the row's Message-ID.
async fn a_dispatcher_that_dies_mid_send_is_taken_over_without_a_duplicate(db: Db) {
    // A silent relay: accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            connections.push(socket);
        }
    });
    // Started first: the lease below must still run once B is up.
    let smtp = MailServer::start().await;
    let app = TestApp::spawn_with(db, |config| config.outbox_dispatch = false).await;
    app.account("acme", "owner").await;
    invite(&app).await;
    let dispatcher = |smtp: String| {
        let mut config = app.config.clone();
        fast_dispatch(&mut config, Some(smtp), 5);
        // Long enough that B is surely up while A's lease still runs.
        config.smtp_timeout_ms = 7_000;
        config.outbox_lease_ms = 8_000;
        async move { app::email_dispatcher(&config, None).await.expect("dispatcher") }
    };
    let a = dispatcher(smtp_url(silent_port)).await.spawn();
    // A has taken the email once the row counts its attempt and names a holder.
    let claimed = "SELECT COUNT(*) AS n FROM outbox WHERE attempts = 1 AND lease_owner IS NOT NULL";
    for _ in 0..200 {
        if app.count(claimed).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(app.count(claimed).await, 1, "dispatcher A took the email");
    a.abort();
    let b = dispatcher(smtp.url()).await.spawn();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = smtp.count();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let leased = app
        .count(&format!(
            "SELECT COUNT(*) AS n FROM outbox WHERE lease_until > {now_ms}"
        ))
        .await;
    assert_eq!((received, leased), (0, 1), "B leaves a leased email alone");
    let mails = smtp.wait_for(1).await;
    let sent = "SELECT COUNT(*) AS n FROM outbox WHERE state = 'sent' AND attempts = 2 AND token IS NULL AND lease_owner IS NULL";
    for _ in 0..200 {
        if app.count(sent).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.count(sent).await, 1, "B sent it on the second attempt");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.count(), 1, "no duplicate");
    assert!(
        mails[0].message_id.ends_with("@localhost>"),
        "{:?}",
        mails[0].message_id
    );
    b.stop(Duration::from_secs(5)).await;
    held.abort();
}

/// PreviewInvitationEmail writes nothing (no row in any table, no activity),
/// and refuses what Invite refuses before writing.
async fn a_preview_is_the_email_and_writes_nothing(db: Db) {
    let app = TestApp::spawn_with(db, |_| {}).await;
    app.account("acme", "owner").await;
    app.member("owner", "acme", "vic", "viewer", vec![]).await;
    let before = app.table_counts().await;
    let preview = |request: pb::InviteRequest| {
        let mut client = app.client.clone();
        async move {
            client
                .preview_invitation_email(pb::PreviewInvitationEmailRequest {
                    invite: Some(request),
                })
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let shown = preview(invite_request()).await.expect("preview");
    assert!(
        shown.text_body.contains(&format!("accept?token={PREVIEW_TOKEN}")),
        "{}",
        shown.text_body
    );
    assert!(
        shown.html_body.contains("Welcome aboard, Lee"),
        "{}",
        shown.html_body
    );
    assert_eq!(shown.to, email("lee"));
    assert_eq!(app.table_counts().await, before, "a preview writes nothing");
    // A viewer may not invite: the preview is refused alike.
    let by_viewer = pb::InviteRequest {
        actor_user_id: "vic".into(),
        ..invite_request()
    };
    let invite_refusal = app.client.clone().invite(by_viewer.clone()).await;
    let preview_refusal = preview(by_viewer).await;
    assert_refused(preview_refusal, Code::PermissionDenied, "PERMISSION_NOT_GRANTED");
    assert_refused(invite_refusal, Code::PermissionDenied, "PERMISSION_NOT_GRANTED");
    let unknown_role = pb::InviteRequest {
        role: "wizard".into(),
        ..invite_request()
    };
    assert_eq!(
        preview(unknown_role).await.expect_err("unknown role").code(),
        Code::InvalidArgument
    );
    assert_eq!(app.table_counts().await, before);
}

/// Which emails a change writes, to whom: one per invitation (and resend),
/// access request, decision, ownership transfer and removal; none for a
/// refused change.
async fn each_notifying_change_writes_one_message_and_a_refused_one_none(db: Db) {
    let app = TestApp::spawn_with(db, |_| {}).await;
    app.account("acme", "owner").await;
    let messages = |kind: &'static str| {
        let app = &app;
        async move {
            app.count(&format!("SELECT COUNT(*) AS n FROM outbox WHERE kind = '{kind}'"))
                .await
        }
    };
    let to = |kind: &'static str| {
        let app = &app;
        async move {
            app.db
                .query_all_raw(Statement::from_string(
                    app.db.get_database_backend(),
                    format!("SELECT recipient AS name FROM outbox WHERE kind = '{kind}' ORDER BY created_at"),
                ))
                .await
                .expect("recipients")
                .into_iter()
                .map(|row| row.try_get::<String>("", "name").expect("recipient"))
                .collect::<Vec<_>>()
        }
    };
    app.member("owner", "acme", "lee", "manager", vec![]).await;
    app.member("owner", "acme", "ada", "admin", vec![]).await;
    let (pending, _) = app.invited("acme", "zoe", "viewer").await;
    app.client
        .clone()
        .resend_invitation(pb::ResendInvitationRequest {
            actor_user_id: "owner".into(),
            invitation_id: pending.id.clone(),
        })
        .await
        .expect("resend");
    assert_eq!(messages("invitation").await, 4, "three invitations and a resend");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) AS n FROM outbox_invitations WHERE invitation_id = '{}'",
            pending.id
        ))
        .await,
        2,
        "the first send and the resend both offer zoe's invitation"
    );
    let request = app
        .request_access("lee", "acme", "billing.view", "for the invoices")
        .await
        .expect("request");
    assert_eq!(to("access_requested").await, [email("owner")]);
    app.decide("owner", &request.id, true).await.expect("approve");
    assert_eq!(to("access_decided").await, [email("lee")]);
    app.transfer("owner", "acme", "ada").await.expect("transfer");
    assert_eq!(to("ownership_transferred").await, [email("ada")]);
    app.remove("ada", "acme", "lee").await.expect("remove");
    assert_eq!(to("member_removed").await, [email("lee")]);
    // Refused changes roll back whole: no email.
    let before = app.table_counts().await;
    assert_refused(
        app.invite("ada", "acme", "owner", "viewer", vec![]).await,
        Code::AlreadyExists,
        "ALREADY_A_MEMBER",
    );
    assert!(app.remove("ada", "acme", "ada").await.is_err());
    assert_eq!(app.table_counts().await, before, "nothing written, no email");
}

/// One Invite to two accounts of a team (one token) is one email naming
/// both, and ListInvitations shows its delivery on each invitation.
async fn one_invitation_to_several_accounts_is_one_email(db: Db) {
    let app = TestApp::spawn_with(db, |_| {}).await;
    app.team(&["eu"]).await;
    let response = app
        .client
        .clone()
        .invite(pb::InviteRequest {
            actor_user_id: "boss".into(),
            account_id: "team".into(),
            email: email("lee"),
            role: "viewer".into(),
            additional_accounts: vec![pb::InviteTarget {
                account_id: "child-eu".into(),
                role: "manager".into(),
                scopes: vec![],
            }],
            ..Default::default()
        })
        .await
        .expect("invite")
        .into_inner();
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox").await,
        1,
        "one email"
    );
    assert_eq!(app.count("SELECT COUNT(*) AS n FROM outbox_invitations").await, 2);
    let facts = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT facts AS name FROM outbox",
        ))
        .await
        .expect("outbox read")
        .expect("one row")
        .try_get::<String>("", "name")
        .expect("facts");
    assert!(
        facts.contains("Account child-eu") && facts.contains("manager"),
        "{facts}"
    );
    for (account, invitation) in [
        ("team", response.invitation),
        ("child-eu", response.additional_invitations.first().cloned()),
    ] {
        let listed = app
            .client
            .clone()
            .list_invitations(pb::ListInvitationsRequest {
                actor_user_id: "boss".into(),
                account_id: account.into(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner()
            .invitations;
        assert_eq!(listed.len(), 1, "{account}");
        assert_eq!(Some(listed[0].id.clone()), invitation.map(|i| i.id), "{account}");
        let delivery = listed[0].delivery.clone().expect("a delivery");
        assert_eq!(state(&delivery), pb::DeliveryState::Queued, "{account}");
    }
}
