//! Rule 12: every entry, and every change event, names the caller it came
//! through (the API key or client certificate identity) beside the actor on
//! whose behalf it was made.

use std::time::Duration;

use access_service::Config;
use access_service::grpc::pb;
use access_service::storage::migration::Migrator;
use access_service::tls::ClientAuth;
use sea_orm_migration::MigratorTrait;
use tokio_stream::StreamExt;

use crate::support::pki::{Ca, Files, tls_channel};
use crate::support::{Db, TestApp, api_keys, create_account, email, keys, person};

/// The web app's key and the billing system's, as `support::keys` configures them.
const WEB: &str = crate::support::WEB_KEY;
const BILLING: &str = "platform-secret-long-enough-for-tests";
/// A key whose name is as long as a name may be.
const LONGEST_SECRET: &str = "longest-name-secret-long-enough-for-tests";

fn longest_name() -> String {
    format!("web-{}", "x".repeat(60))
}

/// The keys of `support::keys`, and one with the longest name a key may
/// have (a system that delivers its invitations: it receives their tokens).
fn keyed(config: &mut Config) {
    keys(config);
    let longest = api_keys(&[(&longest_name(), "read+write+invitation_tokens", LONGEST_SECRET)]);
    config.api_keys = config.api_keys.take().map(|keys| format!("{keys},{longest}"));
}

/// What an entry or an event says about who: (action, actor, via name, via kind).
type Who = (String, String, String, pb::ViaKind);

fn who(action: &str, actor: &str, via: &str, kind: pb::ViaKind) -> Who {
    (action.into(), actor.into(), via.into(), kind)
}

fn entry_who(entry: &pb::ActivityEntry) -> Who {
    let via = entry.via.clone().expect("every entry names its caller");
    let kind = via.kind();
    (entry.action.clone(), entry.actor_user_id.clone(), via.name, kind)
}

fn event_who(event: &pb::ChangeEvent) -> Who {
    let via = event.via.clone().expect("every event names its caller");
    let kind = via.kind();
    (event.kind.clone(), event.actor_user_id.clone(), via.name, kind)
}

fn list(actor: &str, account: &str) -> pb::ListActivityRequest {
    pb::ListActivityRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

fn watch(actor: &str, account: &str) -> pb::WatchChangesRequest {
    pb::WatchChangesRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        ..Default::default()
    }
}

fn invite(actor: &str, account: &str, user: &str) -> pb::InviteRequest {
    pb::InviteRequest {
        actor_user_id: actor.into(),
        account_id: account.into(),
        email: email(user),
        role: "viewer".into(),
        ..Default::default()
    }
}

/// The first `n` events of a watch (a test that waits longer has failed).
async fn first_events(
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
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("{} of {n} events came", events.len()));
    events
}

/// Calls through API keys: each entry names the key beside the actor, the
/// platform's calls included (their actor is `platform: <key>`, their via
/// the same key), and the longest key name is stored whole. ListActivity and
/// WatchChanges show the same.
async fn an_api_key_is_named_beside_the_actor(app: TestApp) {
    let web = app.client_with_key(WEB);
    let billing = app.client_with_key(BILLING);
    let longest = app.client_with_key(LONGEST_SECRET);
    billing
        .clone()
        .create_account(create_account("acme", person("olivia")))
        .await
        .expect("the platform creates the account");
    billing
        .clone()
        .set_account_limits(pb::SetAccountLimitsRequest {
            account_id: "acme".into(),
            max_members: Some(5),
            max_restricted_members: None,
        })
        .await
        .expect("and sets its quotas");
    let max = web
        .clone()
        .invite(invite("olivia", "acme", "max"))
        .await
        .expect("olivia invites through the web app")
        .into_inner();
    assert_eq!(max.token, "", "the web app's key does not receive tokens");
    let lee = longest
        .clone()
        .invite(invite("olivia", "acme", "lee"))
        .await
        .expect("and through the other key")
        .into_inner();
    web.clone()
        .accept_invitation(pb::AcceptInvitationRequest {
            token: lee.token,
            user: Some(person("lee")),
        })
        .await
        .expect("lee accepts");

    let api_key = pb::ViaKind::ApiKey;
    let expected = vec![
        who("account.create", "olivia", "billing", api_key),
        who("account.limits", "platform: billing", "billing", api_key),
        who("invitation.create", "olivia", "web-2026-11", api_key),
        who("invitation.create", "olivia", &longest_name(), api_key),
        who("invitation.accept", "lee", "web-2026-11", api_key),
    ];
    let listed = web
        .clone()
        .list_activity(list("olivia", "acme"))
        .await
        .expect("listed")
        .into_inner()
        .entries;
    let mut listed: Vec<Who> = listed.iter().map(entry_who).collect();
    listed.reverse();
    assert_eq!(listed, expected, "ListActivity, oldest first");

    let mut stream = web
        .clone()
        .watch_changes(watch("olivia", "acme"))
        .await
        .expect("watch starts")
        .into_inner();
    let events = first_events(&mut stream, expected.len()).await;
    let watched: Vec<Who> = events.iter().map(event_who).collect();
    assert_eq!(watched, expected, "WatchChanges");

    // The platform closing an account with no person acting: named too
    // (read from the table: a closed account's log is no member's to list).
    billing
        .clone()
        .close_account_as_platform(pb::CloseAccountAsPlatformRequest {
            account_id: "acme".into(),
            reason: "unpaid".into(),
        })
        .await
        .expect("the platform closes it");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) AS n FROM activity_log WHERE action = 'account.close' \
             AND actor = 'platform: billing' AND via_kind = 'api_key' AND via_name = 'billing'"
        )
        .await,
        1
    );
}

/// Calls through a client certificate: entries and events name the
/// identity's configured name and say it was a certificate.
async fn a_client_certificate_is_named_beside_the_actor(kind: Db) {
    let (server_ca, client_ca) = (Ca::new("server CA"), Ca::new("client CA"));
    let files = Files::new();
    let server = server_ca.server();
    let client_ca_file = files.put("client-ca.pem", &client_ca.pem());
    let app = TestApp::spawn_with(kind, |config| {
        files.serve_with(&server, config);
        config.tls_client_ca_file = Some(client_ca_file);
        config.tls_client_auth = ClientAuth::Required;
        config.tls_client_identities =
            Some("console:read+write+platform:uri:spiffe://corp.example/ns/ops/sa/console".to_owned());
    })
    .await;
    let console = client_ca.client_uri("spiffe://corp.example/ns/ops/sa/console");
    let channel = tls_channel(app.addr, &server_ca.pem(), Some(&console))
        .await
        .expect("the console connects");
    let mut client = pb::access_service_client::AccessServiceClient::new(channel);
    client
        .create_account(create_account("acme", person("olivia")))
        .await
        .expect("the console creates an account");
    client
        .invite(invite("olivia", "acme", "lee"))
        .await
        .expect("and invites for olivia");

    let certificate = pb::ViaKind::ClientCertificate;
    let expected = vec![
        who("account.create", "olivia", "console", certificate),
        who("invitation.create", "olivia", "console", certificate),
    ];
    let listed = client
        .list_activity(list("olivia", "acme"))
        .await
        .expect("listed")
        .into_inner()
        .entries;
    let mut listed: Vec<Who> = listed.iter().map(entry_who).collect();
    listed.reverse();
    assert_eq!(listed, expected, "ListActivity");
    let mut stream = client
        .watch_changes(watch("olivia", "acme"))
        .await
        .expect("watch starts")
        .into_inner();
    let watched: Vec<Who> = first_events(&mut stream, 2).await.iter().map(event_who).collect();
    assert_eq!(watched, expected, "WatchChanges");
}

/// Entries logged before callers were recorded (the migration leaves their
/// columns NULL) read back as unknown, in ListActivity and WatchChanges;
/// entries after it name their caller. Here with authentication off: the
/// caller is `local`.
async fn entries_from_before_read_back_as_unknown(app: TestApp) {
    app.account("acme", "olivia").await;
    let db = sea_orm::Database::connect(app.database_url())
        .await
        .expect("connect");
    // Back to the schema before callers were recorded, then up again: the
    // entries written meanwhile keep no caller.
    let down_to_via = Migrator::migrations()
        .iter()
        .rev()
        .position(|migration| migration.name().ends_with("_activity_via"))
        .expect("the migration is there")
        + 1;
    Migrator::down(&db, Some(u32::try_from(down_to_via).expect("a few")))
        .await
        .expect("goes down");
    Migrator::up(&db, None)
        .await
        .expect("goes up on a log with entries");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM activity_log WHERE via_kind IS NULL AND via_name IS NULL")
            .await,
        1,
        "the migration leaves the older entry without a caller"
    );
    app.invite("olivia", "acme", "lee", "viewer", vec![])
        .await
        .expect("invited");

    let expected = vec![
        who("account.create", "olivia", "", pb::ViaKind::Unknown),
        who("invitation.create", "olivia", "local", pb::ViaKind::Local),
    ];
    let listed = app
        .client
        .clone()
        .list_activity(list("olivia", "acme"))
        .await
        .expect("listed")
        .into_inner()
        .entries;
    let mut listed: Vec<Who> = listed.iter().map(entry_who).collect();
    listed.reverse();
    assert_eq!(listed, expected, "ListActivity");
    let mut stream = app
        .client
        .clone()
        .watch_changes(watch("olivia", "acme"))
        .await
        .expect("watch starts")
        .into_inner();
    let watched: Vec<Who> = first_events(&mut stream, 2).await.iter().map(event_who).collect();
    assert_eq!(watched, expected, "WatchChanges");
}

crate::on_both_databases!(
    mod with_keys, |config| crate::api::activity::callers::keyed(config);
    an_api_key_is_named_beside_the_actor
);
crate::on_both_databases!(entries_from_before_read_back_as_unknown);
/// Scenarios that start their own TLS servers.
mod own_servers {
    use super::a_client_certificate_is_named_beside_the_actor;

    crate::on_both_databases!(db; a_client_certificate_is_named_beside_the_actor);
}
