//! Where an invitation's secret token goes (docs/email.md, "The token"):
//! into the invitee's email, and to a caller only when its key holds
//! `invitation_tokens`; never into a log line, and into the outbox only
//! while the email can still be sent. Off loopback the server starts only
//! when its emails leave by a relay, with https links, or when the install
//! says it is a development one.

use std::time::Duration;

use access_service::config::ActorProofMode;
use access_service::grpc::pb;
use access_service::{App, Config, app};

use super::email::tables_holding;
use crate::support::logs::CapturedLogs;
use crate::support::mail_server::MailServer;
use crate::support::{Db, TestApp, api_keys, email, keys, resend};

crate::on_both_databases!(
    db;
    no_log_line_holds_a_token_without_a_relay,
    no_log_line_holds_a_token_when_the_email_is_sent,
    an_invitation_queued_without_its_token_fails_once_a_relay_sends,
);

/// Scenarios on a server of the harness's (then a keyed replica of it).
mod keyed {
    use super::the_raw_token_goes_only_to_callers_holding_invitation_tokens;

    crate::on_both_databases!(the_raw_token_goes_only_to_callers_holding_invitation_tokens);
}

/// A key of a system that delivers invitations itself.
const DELIVERER_KEY: &str = "deliverer-secret-long-enough-for-tests";

/// The keys of `support::keys`, and the deliverer's (`write+invitation_tokens`).
fn keys_and_a_deliverer(config: &mut Config) {
    keys(config);
    let deliverer = api_keys(&[("deliverer", "write+invitation_tokens", DELIVERER_KEY)]);
    config.api_keys = config.api_keys.take().map(|keys| format!("{keys},{deliverer}"));
}

fn invite_lee() -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: "owner".into(),
        account_id: "acme".into(),
        email: email("lee"),
        role: "viewer".into(),
        ..Default::default()
    }
}

/// Without a relay each email is logged as it would be sent, but its accept
/// link carries a placeholder and the line names the invitation: neither
/// the token of the invitation nor that of its resend is in any line.
async fn no_log_line_holds_a_token_without_a_relay(db: Db) {
    let (logs, dispatch) = CapturedLogs::new();
    let app = TestApp::spawn_traced(db, |config| config.outbox_poll_ms = 50, Some(dispatch)).await;
    app.account("acme", "owner").await;
    let invited = app
        .client
        .clone()
        .invite(invite_lee())
        .await
        .expect("invite")
        .into_inner();
    let id = invited.invitation.expect("invitation").id;
    let resent = app
        .client
        .clone()
        .resend_invitation(resend("owner", &id))
        .await
        .expect("resend")
        .into_inner();
    let text = logs.wait_for("Reminder: ").await;
    let shown: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("outbox message"))
        .collect();
    assert_eq!(shown.len(), 2, "both emails are logged:\n{text}");
    for line in &shown {
        assert!(line.contains(&id), "the line names the invitation: {line}");
    }
    assert_eq!(
        text.matches("accept?token=TOKEN-NOT-LOGGED").count(),
        2,
        "each logged link has the placeholder:\n{text}"
    );
    for token in [&invited.token, &resent.token] {
        assert_eq!(token.len(), 64, "the local caller holds every scope");
        assert!(!text.contains(token.as_str()), "a token was logged:\n{text}");
    }
}

/// With a relay the email carries the token to the invitee; the log lines
/// of its sending name the message, never the token.
async fn no_log_line_holds_a_token_when_the_email_is_sent(db: Db) {
    let smtp = MailServer::start().await;
    let (logs, dispatch) = CapturedLogs::new();
    let app = TestApp::spawn_traced(
        db,
        |config| {
            config.smtp_url = Some(smtp.url());
            config.outbox_poll_ms = 50;
        },
        Some(dispatch),
    )
    .await;
    app.account("acme", "owner").await;
    let token = app
        .client
        .clone()
        .invite(invite_lee())
        .await
        .expect("invite")
        .into_inner()
        .token;
    let mails = smtp.wait_for(1).await;
    assert!(mails[0].text.contains(&token), "the email carries the link");
    let text = logs.wait_for("outbox: sent").await;
    assert!(!text.contains(&token), "the token was logged:\n{text}");
}

/// An invitation written by a server without a relay keeps no token (the
/// email was only logged); a relay configured later cannot send it, and
/// fails it at once saying to resend, rather than mail a dead link.
async fn an_invitation_queued_without_its_token_fails_once_a_relay_sends(db: Db) {
    let smtp = MailServer::start().await;
    let app = TestApp::spawn_with(db, |_| {}).await;
    app.account("acme", "owner").await;
    let token = app
        .client
        .clone()
        .invite(invite_lee())
        .await
        .expect("invite")
        .into_inner()
        .token;
    assert_eq!(tables_holding(&app, &token).await, Vec::<String>::new());
    let mut config = app.config.clone();
    config.smtp_url = Some(smtp.url());
    config.outbox_poll_ms = 50;
    let dispatcher = app::email_dispatcher(&config, None)
        .await
        .expect("dispatcher")
        .spawn();
    let failed = "SELECT COUNT(*) AS n FROM outbox WHERE state = 'failed' AND last_error LIKE '%resend the invitation%'";
    for _ in 0..200 {
        if app.count(failed).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    dispatcher.stop(Duration::from_secs(5)).await;
    assert_eq!(app.count(failed).await, 1, "failed, saying why");
    assert_eq!(smtp.count(), 0, "no email with a dead link");
}

/// Invite and ResendInvitation answer with the raw token only a caller
/// whose key holds `invitation_tokens`: the web app's key (`read+write`)
/// gets an empty token, though the invitation is made and emailed alike.
async fn the_raw_token_goes_only_to_callers_holding_invitation_tokens(open: TestApp) {
    open.account("acme", "owner").await;
    let app = open.replica_with(keys_and_a_deliverer).await;
    let web = app.client_with_key(crate::support::WEB_KEY);
    let deliverer = app.client_with_key(DELIVERER_KEY);
    let withheld = web
        .clone()
        .invite(invite_lee())
        .await
        .expect("the web app invites")
        .into_inner();
    let id = withheld.invitation.expect("invitation").id;
    assert_eq!(withheld.token, "", "no token for the web app");
    let resent = web
        .clone()
        .resend_invitation(resend("owner", &id))
        .await
        .expect("the web app resends")
        .into_inner();
    assert_eq!(resent.token, "", "nor on a resend");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'invitation'")
            .await,
        2,
        "both emailed"
    );
    let shown = deliverer
        .clone()
        .resend_invitation(resend("owner", &id))
        .await
        .expect("the deliverer resends")
        .into_inner();
    assert_eq!(shown.token.len(), 64, "the deliverer holds invitation_tokens");
    let ada = deliverer
        .clone()
        .invite(pb::InviteRequest {
            email: email("ada"),
            ..invite_lee()
        })
        .await
        .expect("the deliverer invites")
        .into_inner();
    assert_eq!(ada.token.len(), 64);
    // The token it got is the live one: lee accepts with it, through any key.
    web.clone()
        .accept_invitation(pb::AcceptInvitationRequest {
            token: shown.token,
            user: Some(crate::support::person("lee")),
        })
        .await
        .expect("lee accepts with the token the deliverer got");
}

/// A config off loopback that passes every other start-up check: keys, a
/// gateway's word for who is acting, a database that is never reached
/// before the refusal (or an in-memory one once it passes).
fn off_loopback() -> Config {
    let mut config = Config {
        listen_addr: "0.0.0.0:0".parse().expect("an address"),
        database_url: "sqlite::memory:".into(),
        api_keys: Some(api_keys(&[("web", "read+write", crate::support::WEB_KEY)])),
        ..Config::default()
    };
    config.actors.actor_proof = Some(ActorProofMode::CallersWord);
    config
}

async fn refusal(config: Config) -> String {
    match App::build(config).await {
        Ok(_) => panic!("started"),
        Err(err) => format!("{err:#}"),
    }
}

/// Off loopback the server does not start without a relay unless told it
/// is a development install, nor with a relay and an http accept link.
#[tokio::test]
async fn off_loopback_the_server_starts_only_with_a_relay_and_https_links_or_as_development() {
    let err = refusal(off_loopback()).await;
    assert!(
        err.contains("no SMTP relay is configured") && err.contains("ACCESS_DEVELOPMENT_WITHOUT_SMTP"),
        "{err}"
    );
    let mut development = off_loopback();
    development.email.development_without_smtp = true;
    let app = App::build(development)
        .await
        .unwrap_or_else(|err| panic!("a development install starts: {err:#}"));
    assert!(!app.local_addr().expect("bound").ip().is_loopback());
    drop(app);
    let mut relayed = off_loopback();
    relayed.smtp_url = Some("smtp://127.0.0.1:2525".into());
    let err = refusal(relayed.clone()).await;
    assert!(
        err.contains("ACCESS_INVITE_URL_BASE") && err.contains("https://"),
        "{err}"
    );
    relayed.invite_url_base = "https://app.example/invitations/accept".into();
    App::build(relayed)
        .await
        .unwrap_or_else(|err| panic!("a relay and https links start: {err:#}"));
}
