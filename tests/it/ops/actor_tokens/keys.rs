//! Where the issuer's keys come from: its JWKS URL, fetched again when a
//! token names a key it has not seen (a rotation), never more often than
//! the refresh floor; or a file, read again when it changes. An issuer that
//! cannot be reached leaves the service with the keys it has, or, with
//! none, answering UNAVAILABLE.

use std::time::Duration;

use serde_json::json;
use tonic::Code;

use super::{list_users_as, token_server};
use crate::on_both_databases;
use crate::support::issuer::{AUDIENCE, ISSUER, TestIssuer, TestKey};
use crate::support::{Db, TestApp, assert_refused, create_account, person};

/// The issuer rotates to a new key: the first token signed with it makes
/// the server fetch the keys again and is accepted; a key the issuer does
/// not publish is refused after one more fetch.
async fn a_new_key_id_fetches_the_keys_again(kind: Db) {
    let issuer = TestIssuer::rsa().await;
    let app = token_server(kind, &issuer).await;
    assert_eq!(issuer.fetches(), 1, "the keys are fetched at start");
    list_users_as(&app, &issuer.token("owner", json!({})))
        .await
        .expect("rsa-1");
    assert_eq!(issuer.fetches(), 1, "a known key needs no fetch");

    let next = TestKey::eddsa("ed-2");
    issuer.serve(std::slice::from_ref(&next));
    list_users_as(&app, &issuer.token_with(&next, "owner", json!({})))
        .await
        .expect("the rotated-in key");
    assert_eq!(issuer.fetches(), 2, "the unknown kid fetched the keys once");

    let unpublished = TestKey::es256("never-published");
    assert_refused(
        list_users_as(&app, &issuer.token_with(&unpublished, "owner", json!({}))).await,
        Code::Unauthenticated,
        "ACTOR_TOKEN_INVALID",
    );
    assert_eq!(issuer.fetches(), 3);
}

/// With a refresh floor, a flood of tokens naming unknown keys costs the
/// issuer no fetch until the floor has passed.
async fn the_refresh_floor_bounds_fetches(kind: Db) {
    let issuer = TestIssuer::rsa().await;
    let app = TestApp::spawn_with(kind, |config| {
        issuer.configure(config);
        config.actors.actor_token_jwks_refresh_floor_secs = 3600;
    })
    .await;
    app.client
        .clone()
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("account");
    for i in 0..20 {
        let stranger = TestKey::es256(&format!("unknown-{i}"));
        assert_refused(
            list_users_as(&app, &issuer.token_with(&stranger, "owner", json!({}))).await,
            Code::Unauthenticated,
            "ACTOR_TOKEN_INVALID",
        );
    }
    assert_eq!(issuer.fetches(), 1, "only the fetch at start");
    list_users_as(&app, &issuer.token("owner", json!({})))
        .await
        .expect("known key");
}

/// An issuer that cannot be reached: with no key in hand the service
/// answers UNAVAILABLE (retry), and serves again once the issuer is back;
/// keys in hand keep verifying what they signed while it is down.
async fn an_unreachable_issuer(kind: Db) {
    let issuer = TestIssuer::rsa().await;
    issuer.fail(true);
    let app = token_server(kind, &issuer).await;
    let token = issuer.token("owner", json!({}));
    let status = assert_refused(
        list_users_as(&app, &token).await,
        Code::Unavailable,
        "ACTOR_KEYS_UNAVAILABLE",
    );
    assert!(status.message().contains("retry"), "{}", status.message());
    issuer.fail(false);
    list_users_as(&app, &token).await.expect("the issuer is back");
    issuer.fail(true);
    let rotated = TestKey::es256("ec-9");
    // The unknown key cannot be fetched: refused, but the known key still works.
    assert!(
        list_users_as(&app, &issuer.token_with(&rotated, "owner", json!({})))
            .await
            .is_err()
    );
    list_users_as(&app, &token)
        .await
        .expect("keys in hand still verify");
}

/// Keys from a file, read again when it changes (a mounted Secret).
async fn keys_from_a_file(kind: Db) {
    let dir = std::env::temp_dir().join(format!("jwks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("jwks.json");
    let (first, second) = (TestKey::rsa("rsa-1"), TestKey::eddsa("ed-2"));
    TestIssuer::write_jwks(&path, std::slice::from_ref(&first));
    // Only for minting: nothing fetches its URL.
    let issuer = TestIssuer::start(std::slice::from_ref(&first)).await;
    let app = TestApp::spawn_with(kind, |config| {
        config.actors.actor_proof = Some(access_service::config::ActorProofMode::Token);
        config.actors.actor_token_issuers = vec![ISSUER.into()];
        config.actors.actor_token_audiences = vec![AUDIENCE.into()];
        config.actors.actor_token_jwks_file = Some(path.clone());
        config.reload_interval_ms = 50;
    })
    .await;
    app.client
        .clone()
        .create_account(create_account("acme", person("owner")))
        .await
        .expect("account");
    list_users_as(&app, &issuer.token_with(&first, "owner", json!({})))
        .await
        .expect("the file's key");
    TestIssuer::write_jwks(&path, std::slice::from_ref(&second));
    let rotated = issuer.token_with(&second, "owner", json!({}));
    let mut accepted = false;
    for _ in 0..100 {
        if list_users_as(&app, &rotated).await.is_ok() {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(accepted, "the rewritten file's key is used");
    assert_refused(
        list_users_as(&app, &issuer.token_with(&first, "owner", json!({}))).await,
        Code::Unauthenticated,
        "ACTOR_TOKEN_INVALID",
    );
    assert_eq!(issuer.fetches(), 0, "nothing fetched a URL");
    let _ = std::fs::remove_dir_all(dir);
}

on_both_databases!(db;
    a_new_key_id_fetches_the_keys_again,
    the_refresh_floor_bounds_fetches,
    an_unreachable_issuer,
    keys_from_a_file,
);
