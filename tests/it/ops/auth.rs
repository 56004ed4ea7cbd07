//! Caller authentication: API keys presented as
//! `authorization: Bearer <key>`, each with scopes; health and reflection open;
//! no key configured only on loopback.

use access_service::grpc::middleware::{KeyScope, METHOD_SCOPES, SERVICE};
use access_service::grpc::pb;
use access_service::{App, Config};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::support::{
    OLD_WEB_KEY, TestApp, WEB_KEY, assert_refused, assert_refused_for, check, create_account, person,
};

/// Calls `/access.v1.AccessService/<method>` with an empty message (every
/// field of the request at its default; the answer's fields are skipped), presenting `key`: the layer decides before any
/// handler decodes the request, so one shape serves every RPC.
async fn call(channel: &Channel, key: Option<&str>, method: &str) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|err| Status::unavailable(err.to_string()))?;
    let path = http::uri::PathAndQuery::try_from(format!("/{SERVICE}/{method}")).expect("a path");
    let mut request = tonic::Request::new(());
    if let Some(key) = key {
        let value = format!("Bearer {key}").parse().expect("an ASCII key");
        request.metadata_mut().insert("authorization", value);
    }
    grpc.unary::<(), (), _>(request, path, tonic_prost::ProstCodec::default())
        .await
        .map(|_| ())
}

/// No key, a malformed header or a key the server does not know: UNAUTHENTICATED
/// with the reason, on a check RPC and an admin RPC alike, and nothing is written.
async fn calls_without_a_valid_key_are_unauthenticated(app: TestApp) {
    app.client_with_key("platform-secret-long-enough-for-tests")
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the platform creates an account");
    let before = app.table_counts().await;
    for method in ["Authorize", "Invite", "CreateAccount"] {
        let status = assert_refused_for(
            call(&app.channel, None, method).await,
            Code::Unauthenticated,
            "API_KEY_MISSING",
            method,
        );
        assert!(status.message().contains("Bearer"), "{}", status.message());
        assert_refused_for(
            call(&app.channel, Some("not-a-key-we-know"), method).await,
            Code::Unauthenticated,
            "API_KEY_UNKNOWN",
            method,
        );
    }
    // The raw client (no key) and a key in the wrong scheme.
    assert_refused(
        app.client
            .clone()
            .authorize(check("owner", "acme", "campaigns.view", None))
            .await,
        Code::Unauthenticated,
        "API_KEY_MISSING",
    );
    let mut basic = tonic::Request::new(check("owner", "acme", "campaigns.view", None));
    basic.metadata_mut().insert(
        "authorization",
        "Basic check-secret-long-enough-for-tests".parse().expect("ascii"),
    );
    assert_refused(
        app.client.clone().authorize(basic).await,
        Code::Unauthenticated,
        "API_KEY_MALFORMED",
    );
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// Every RPC of the table refuses a key lacking its scope with PERMISSION_DENIED
/// naming that scope (ErrorInfo metadata `scope`), and lets a key holding it
/// through to its handler (which then judges the empty request).
async fn each_rpc_needs_its_scope(app: TestApp) {
    let before = app.table_counts().await;
    for (method, scope) in METHOD_SCOPES {
        let (lacking, holding) = match scope {
            KeyScope::Check => (
                "no-check-secret-long-enough-for-tests",
                "check-secret-long-enough-for-tests",
            ),
            KeyScope::Read => ("no-read-secret-long-enough-for-tests", WEB_KEY),
            KeyScope::Write => ("no-write-secret-long-enough-for-tests", WEB_KEY),
            KeyScope::Platform => (
                "no-platform-secret-long-enough-for-tests",
                "platform-secret-long-enough-for-tests",
            ),
            KeyScope::InvitationTokens => panic!("{method}: no RPC needs invitation_tokens"),
        };
        let status = assert_refused_for(
            call(&app.channel, Some(lacking), method).await,
            Code::PermissionDenied,
            "SCOPE_MISSING",
            method,
        );
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(
            info.metadata.get("scope").map(String::as_str),
            Some(scope.as_str()),
            "{method}"
        );
        assert!(
            status.message().contains(method) && status.message().contains(scope.as_str()),
            "{method}: {}",
            status.message()
        );
        match call(&app.channel, Some(holding), method).await {
            Err(status) if matches!(status.code(), Code::Unauthenticated | Code::Unimplemented) => {
                panic!("{method} with a {scope} key: {status:?}")
            }
            Err(status)
                if status
                    .get_details_error_info()
                    .is_some_and(|i| i.reason == "SCOPE_MISSING") =>
            {
                panic!("{method} with a {scope} key: {status:?}")
            }
            _ => {}
        }
    }
    assert_eq!(app.table_counts().await, before, "empty requests write nothing");
}

/// The campaign service's key decides, and administers nothing.
async fn a_check_key_cannot_administer(app: TestApp) {
    let admin = app.client_with_key(WEB_KEY);
    app.client_with_key("platform-secret-long-enough-for-tests")
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the platform creates an account");
    let campaigns = app.client_with_key("check-secret-long-enough-for-tests");
    let answer = campaigns
        .clone()
        .authorize(check("owner", "acme", "campaigns.view", None))
        .await
        .expect("a check key asks for decisions")
        .into_inner();
    assert!(answer.allowed);
    let status = assert_refused(
        campaigns
            .clone()
            .invite(pb::InviteRequest {
                actor_user_id: "owner".into(),
                account_id: "acme".into(),
                email: "mallory@example.com".into(),
                role: "admin".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "SCOPE_MISSING",
    );
    assert!(status.message().contains("'write' scope"), "{}", status.message());
    assert_eq!(app.activity_count("acme", "invitation.create").await, 0);
    assert_refused(
        admin
            .clone()
            .authorize(check("owner", "acme", "campaigns.view", None))
            .await,
        Code::PermissionDenied,
        "SCOPE_MISSING",
    );
}

/// Rotation: the old and the new key of the web app both work while both are
/// configured; a key rotated out (no longer configured) is unknown.
async fn rotated_keys_both_work(app: TestApp) {
    app.client_with_key("platform-secret-long-enough-for-tests")
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the platform creates an account");
    for key in [OLD_WEB_KEY, WEB_KEY] {
        app.client_with_key(key)
            .get_account(pb::GetAccountRequest {
                account_id: "acme".into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|status| panic!("{key}: {status:?}"));
    }
    assert_refused(
        app.client_with_key("older-web-secret-long-enough-for-tests")
            .get_account(pb::GetAccountRequest {
                account_id: "acme".into(),
                ..Default::default()
            })
            .await,
        Code::Unauthenticated,
        "API_KEY_UNKNOWN",
    );
}

/// Probes carry no key: health answers without one, and so does reflection
/// (grpcurl describes the API before it calls it). A method the server does
/// not serve is UNIMPLEMENTED, but only once the caller is known.
async fn health_and_reflection_need_no_key(app: TestApp) {
    let mut health = HealthClient::new(app.channel.clone());
    for service in ["", SERVICE] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|status| panic!("health of '{service}': {status:?}"))
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "'{service}'");
    }
    assert_refused(
        call(&app.channel, None, "NoSuchMethod").await,
        Code::Unauthenticated,
        "API_KEY_MISSING",
    );
    assert_refused(
        call(
            &app.channel,
            Some("check-secret-long-enough-for-tests"),
            "NoSuchMethod",
        )
        .await,
        Code::Unimplemented,
        "METHOD_UNKNOWN",
    );
}

crate::on_both_databases!(
    mod keyed, |config| crate::support::keys(config);
    calls_without_a_valid_key_are_unauthenticated,
    each_rpc_needs_its_scope,
    a_check_key_cannot_administer,
    rotated_keys_both_work,
    health_and_reflection_need_no_key,
);

/// The key of `short` (a read+write key): configured by its hash like any
/// other, but shorter than ACCESS_API_KEY_MIN_LENGTH (32 bytes by default).
const SHORT_KEY: &str = "short-secret";

/// The keys of a keyed server, and `short`'s.
fn keys_and_a_short_one(config: &mut Config) {
    crate::support::keys(config);
    let short = crate::support::api_keys(&[("short", "read+write", SHORT_KEY)]);
    config.api_keys = Some(format!("{},{short}", config.api_keys.take().unwrap_or_default()));
}

/// Reads `acme` with `key`.
async fn get_acme(app: &TestApp, key: &str) -> Result<(), Status> {
    app.client_with_key(key)
        .get_account(pb::GetAccountRequest {
            account_id: "acme".into(),
            ..Default::default()
        })
        .await
        .map(|_| ())
}

/// A key shorter than the minimum is refused as unknown, though its hash
/// is configured, on every RPC: a key short enough to guess is no key.
async fn a_key_shorter_than_the_minimum_is_unknown(app: TestApp) {
    app.client_with_key("platform-secret-long-enough-for-tests")
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the platform creates an account");
    let before = app.table_counts().await;
    for method in ["Authorize", "Invite", "CreateAccount"] {
        assert_refused_for(
            call(&app.channel, Some(SHORT_KEY), method).await,
            Code::Unauthenticated,
            "API_KEY_UNKNOWN",
            method,
        );
    }
    assert_refused(
        get_acme(&app, SHORT_KEY).await,
        Code::Unauthenticated,
        "API_KEY_UNKNOWN",
    );
    get_acme(&app, WEB_KEY)
        .await
        .expect("a key as long as the minimum");
    assert_eq!(app.table_counts().await, before, "refusals write nothing");
}

/// The same key passes a minimum it meets: the refusal above was its length.
async fn a_lower_minimum_lets_the_short_key_in(app: TestApp) {
    app.client_with_key("platform-secret-long-enough-for-tests")
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("the platform creates an account");
    get_acme(&app, SHORT_KEY).await.expect("as long as the minimum");
}

crate::on_both_databases!(
    mod short_key, |config| crate::ops::auth::keys_and_a_short_one(config);
    a_key_shorter_than_the_minimum_is_unknown,
);

crate::on_both_databases!(
    mod lower_minimum, |config| {
        crate::ops::auth::keys_and_a_short_one(config);
        config.api_key_min_length = crate::ops::auth::SHORT_KEY.len();
    };
    a_lower_minimum_lets_the_short_key_in,
);

/// With no key configured, the server refuses to listen anywhere but on
/// loopback: App::build fails, before it connects to anything, and says why.
#[tokio::test]
async fn without_keys_only_loopback_is_served() {
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let config = Config {
            listen_addr: addr.parse().expect("an address"),
            // Never reached: the refusal comes first.
            database_url: "mysql://nobody:nothing@127.0.0.1:1/none".into(),
            ..Config::default()
        };
        // Who is acting is settled (a gateway's word), and the emails (a
        // development install), so the keys are what is refused.
        let mut config = config;
        config.actors.actor_proof = Some(access_service::config::ActorProofMode::CallersWord);
        config.email.development_without_smtp = true;
        let err = match App::build(config).await {
            Ok(_) => panic!("{addr}: built without keys on a non-loopback address"),
            Err(err) => format!("{err:#}"),
        };
        assert!(
            err.contains("no API key is configured") && err.contains("not a loopback address"),
            "{addr}: {err}"
        );
    }
}
