//! The email limits on invitations (docs/email.md, "Limits"): per actor,
//! per account and per recipient, counted in the database so they hold
//! across replicas; the resend cooldown; and what an invitation's message
//! may hold. A refusal writes nothing, so it sends nothing.

use std::time::Duration;

use access_service::Config;
use access_service::grpc::pb;
use tonic::{Code, Status};

use crate::support::mail_server::MailServer;
use crate::support::{
    Db, TestApp, assert_refused, error_metadata, expect_code, resend, retry_delay, violation_reasons,
};

crate::on_both_databases!(
    mod limited, |config| crate::api::invitations::email_limits::low_limits(config);
    the_account_and_the_recipient_have_limits_of_their_own,
);

crate::on_both_databases!(
    mod cooled, |config| config.email.invitation_resend_cooldown_secs = 300;
    an_invitation_is_not_emailed_again_within_the_cooldown,
);

crate::on_both_databases!(
    db;
    a_flood_stops_at_the_actor_limit_and_nothing_more_is_written,
    a_flood_on_every_replica_still_sends_only_the_limit,
);

crate::on_both_databases!(
    mod messages, |_config| {};
    a_message_with_format_characters_is_refused_and_lines_are_kept,
);

/// The actor's limit: 3 an hour; the account's 5 a minute; the recipient's 2 a day.
pub(crate) fn low_limits(config: &mut Config) {
    config.email.email_limit_per_actor = 3;
    config.email.email_limit_per_account = 5;
    config.email.email_limit_per_account_window_secs = 60;
    config.email.email_limit_per_recipient = 2;
}

fn invite(actor: &str, account: &str, user: &str) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        email: crate::support::email(user),
        role: "viewer".into(),
        ..Default::default()
    }
}

/// Asserts an EMAIL_RATE_LIMITED refusal of the limit `per` (`limit` emails
/// in `window` s) whose RetryInfo asks for a wait within the window.
#[track_caller]
fn rate_limited(status: &Status, per: &str, limit: u32, window: u64) {
    assert_eq!(
        (status.code(), crate::support::error_reason(status).as_str()),
        (Code::ResourceExhausted, "EMAIL_RATE_LIMITED"),
        "{status:?}"
    );
    assert_eq!(
        error_metadata(status),
        [
            format!("limit={limit}"),
            format!("per={per}"),
            format!("window_seconds={window}")
        ]
    );
    let delay = retry_delay(status).expect("RetryInfo");
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(window),
        "retry in {delay:?}, window {window} s"
    );
}

/// Counts rows of `table` matching `filter`.
async fn rows(app: &TestApp, table: &str, filter: &str) -> i64 {
    app.count(&format!("SELECT COUNT(*) AS n FROM {table} WHERE {filter}"))
        .await
}

/// Ten invitations sent at once by one actor, with an SMTP relay: exactly
/// the limit (3) are written and emailed, the seven others are refused
/// with RetryInfo and write nothing: no invitation, no activity, no email.
async fn a_flood_stops_at_the_actor_limit_and_nothing_more_is_written(db: Db) {
    let smtp = MailServer::start().await;
    let app = TestApp::spawn_with(db, |config| {
        low_limits(config);
        config.smtp_url = Some(smtp.url());
        config.outbox_poll_ms = 50;
    })
    .await;
    app.account("acme", "owner").await;
    let calls: Vec<_> = (0..10)
        .map(|n| {
            let mut client = app.client.clone();
            tokio::spawn(async move { client.invite(invite("owner", "acme", &format!("guest{n}"))).await })
        })
        .collect();
    let mut refused = Vec::new();
    let mut passed = 0;
    for call in calls {
        match call.await.expect("the call ran") {
            Ok(_) => passed += 1,
            Err(status) => refused.push(status),
        }
    }
    assert_eq!((passed, refused.len()), (3, 7));
    for status in &refused {
        rate_limited(status, "actor", 3, 3600);
    }
    assert_eq!(rows(&app, "invitations", "account_id = 'acme'").await, 3);
    assert_eq!(app.activity_count("acme", "invitation.create").await, 3);
    assert_eq!(rows(&app, "outbox", "kind = 'invitation'").await, 3);
    // Every email written is sent; nothing more exists to send.
    let sent = "state = 'sent'";
    for _ in 0..400 {
        if rows(&app, "outbox", sent).await == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(rows(&app, "outbox", sent).await, 3);
    assert_eq!(smtp.count(), 3, "three emails, not ten");
}

/// The account's limit counts every actor's emails, the recipient's every
/// account's; a refused invitation is not written.
async fn the_account_and_the_recipient_have_limits_of_their_own(app: TestApp) {
    app.account("acme", "owner").await;
    // Two admins, each invited by the owner: two of the account's five.
    for admin in ["a1", "a2"] {
        app.member("owner", "acme", admin, "admin", vec![]).await;
    }
    for (n, actor) in ["owner", "a1", "a1"].iter().enumerate() {
        app.client
            .clone()
            .invite(invite(actor, "acme", &format!("p{n}")))
            .await
            .unwrap_or_else(|status| panic!("invitation {n}: {status:?}"));
    }
    let status = expect_code(
        app.client.clone().invite(invite("a2", "acme", "p3")).await,
        Code::ResourceExhausted,
    );
    rate_limited(&status, "account", 5, 60);
    // One address, invited to two accounts: the third account is refused.
    for account in ["globex", "initech", "umbrella"] {
        app.account(account, &format!("{account}-owner")).await;
    }
    for account in ["globex", "initech"] {
        app.client
            .clone()
            .invite(invite(&format!("{account}-owner"), account, "wanted"))
            .await
            .expect("within the recipient's limit");
    }
    let status = expect_code(
        app.client
            .clone()
            .invite(invite("umbrella-owner", "umbrella", "wanted"))
            .await,
        Code::ResourceExhausted,
    );
    rate_limited(&status, "recipient", 2, 86_400);
    assert_eq!(rows(&app, "invitations", "account_id = 'umbrella'").await, 0);
    assert_eq!(
        rows(
            &app,
            "outbox",
            &format!("recipient = '{}'", crate::support::email("wanted"))
        )
        .await,
        2
    );
}

/// Two replicas (MySQL: SQLite is one process's file) take invitations
/// from one actor at once: the limit is counted in the database, under the
/// counters' row locks, so together they write exactly the limit.
async fn a_flood_on_every_replica_still_sends_only_the_limit(db: Db) {
    let first = TestApp::spawn_with(db, low_limits).await;
    first.account("acme", "owner").await;
    let replicas = match db {
        Db::Mysql => vec![first.replica().await, first.replica().await],
        Db::Sqlite => Vec::new(),
    };
    let servers: Vec<&TestApp> = std::iter::once(&first).chain(&replicas).collect();
    let calls: Vec<_> = (0..12)
        .map(|n| {
            let mut client = servers[n % servers.len()].client.clone();
            tokio::spawn(async move { client.invite(invite("owner", "acme", &format!("g{n}"))).await })
        })
        .collect();
    let mut passed = 0;
    for call in calls {
        match call.await.expect("the call ran") {
            Ok(_) => passed += 1,
            Err(status) => rate_limited(&status, "actor", 3, 3600),
        }
    }
    assert_eq!(passed, 3, "across {} servers", servers.len());
    assert_eq!(rows(&first, "outbox", "kind = 'invitation'").await, 3);
}

/// Within the cooldown after an invitation's email, neither ResendInvitation
/// nor Invite asking for a resend sends it again (RetryInfo says when);
/// once its last email is older than the cooldown, a resend goes.
async fn an_invitation_is_not_emailed_again_within_the_cooldown(app: TestApp) {
    app.account("acme", "owner").await;
    let invited = app
        .client
        .clone()
        .invite(invite("owner", "acme", "lee"))
        .await
        .expect("invited")
        .into_inner();
    let id = invited.invitation.expect("invitation").id;
    let refusals = [
        app.client
            .clone()
            .resend_invitation(resend("owner", &id))
            .await
            .map(|_| ()),
        app.client
            .clone()
            .invite(pb::InviteRequest {
                resend_if_pending: true,
                ..invite("owner", "acme", "lee")
            })
            .await
            .map(|_| ()),
    ];
    for refused in refusals {
        let status = assert_refused(refused, Code::ResourceExhausted, "RESEND_COOLDOWN");
        assert_eq!(
            error_metadata(&status),
            ["cooldown_seconds=300".to_owned(), format!("invitation_id={id}")]
        );
        let delay = retry_delay(&status).expect("RetryInfo");
        assert!(
            delay > Duration::from_secs(250) && delay <= Duration::from_secs(300),
            "{delay:?}"
        );
    }
    assert_eq!(rows(&app, "outbox", "kind = 'invitation'").await, 1);
    assert_eq!(app.activity_count("acme", "invitation.resend").await, 0);
    // The email was written 301 s ago, as far as the outbox knows.
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        "UPDATE outbox SET created_at = created_at - 301000",
    )
    .await
    .expect("the email ages");
    let resent = app
        .client
        .clone()
        .resend_invitation(resend("owner", &id))
        .await
        .expect("past the cooldown")
        .into_inner();
    assert_eq!(resent.token.len(), 64);
    assert_eq!(rows(&app, "outbox", "kind = 'invitation'").await, 2);
}

/// A message is plain text: line breaks and tabs are kept, a bidi override
/// or a zero-width space is refused (INVISIBLE_CHARACTER on the field),
/// in Invite as in its preview, and nothing is written.
async fn a_message_with_format_characters_is_refused_and_lines_are_kept(app: TestApp) {
    app.account("acme", "owner").await;
    for bad in [
        "Open moc.elpmaxe-live\u{202e}//:sptth now",
        "a\u{2066}hidden\u{2069}",
        "click\u{200b}here",
        "\u{1b}[31mred",
    ] {
        let status = expect_code(
            app.client
                .clone()
                .invite(pb::InviteRequest {
                    message: bad.into(),
                    ..invite("owner", "acme", "lee")
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            violation_reasons(&status),
            [("message".to_owned(), "INVISIBLE_CHARACTER".to_owned())],
            "{bad:?}"
        );
        let status = expect_code(
            app.client
                .clone()
                .preview_invitation_email(pb::PreviewInvitationEmailRequest {
                    invite: Some(pb::InviteRequest {
                        message: bad.into(),
                        ..invite("owner", "acme", "lee")
                    }),
                })
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            violation_reasons(&status),
            [("invite.message".to_owned(), "INVISIBLE_CHARACTER".to_owned())]
        );
    }
    assert_eq!(rows(&app, "invitations", "1 = 1").await, 0);
    let lines = "Welcome, Lee!\n\n\tThe spring campaign is yours.";
    let preview = app
        .client
        .clone()
        .preview_invitation_email(pb::PreviewInvitationEmailRequest {
            invite: Some(pb::InviteRequest {
                message: lines.into(),
                ..invite("owner", "acme", "lee")
            }),
        })
        .await
        .expect("lines and tabs are text")
        .into_inner();
    assert!(preview.text_body.contains(lines), "{}", preview.text_body);
}
