//! What a token must be to prove anyone: signed by the issuer's key with
//! RS256, ES256 or EdDSA (never `none`, never HMAC, never an algorithm its
//! key's type does not imply), from an accepted issuer, for an accepted
//! audience, within its lifetime (give or take the leeway), naming a user
//! id. A refused token changes nothing.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tonic::Code;

use super::{list_users_as, token_server};
use crate::on_both_databases;
use crate::support::issuer::{AUDIENCE, ISSUER, TestIssuer, TestKey, raw_token};
use crate::support::{Db, assert_refused_for};

/// Each algorithm the service accepts proves the subject, its key found by `kid`.
async fn rs256_es256_and_eddsa_tokens_prove_their_subject(kind: Db) {
    let (rsa, ec, ed) = (
        TestKey::rsa("rsa-1"),
        TestKey::es256("ec-1"),
        TestKey::eddsa("ed-1"),
    );
    let issuer = TestIssuer::start(&[rsa.clone(), ec.clone(), ed.clone()]).await;
    let app = token_server(kind, &issuer).await;
    for key in [&rsa, &ec, &ed] {
        let users = list_users_as(&app, &issuer.token_with(key, "owner", json!({})))
            .await
            .unwrap_or_else(|status| panic!("{:?}: {status:?}", key.alg))
            .users;
        assert_eq!(users.len(), 1, "{:?}", key.alg);
        assert_eq!(users[0].user_id, "owner");
    }
}

/// Forged, mis-signed, foreign, expired and not-yet-valid tokens are each
/// refused UNAUTHENTICATED with the reason a client acts on, and nothing is written.
async fn forged_foreign_and_stale_tokens_are_refused(kind: Db) {
    let (rsa, ec) = (TestKey::rsa("rsa-1"), TestKey::es256("ec-1"));
    let issuer = TestIssuer::start(&[rsa.clone(), ec.clone()]).await;
    let app = token_server(kind, &issuer).await;
    let now = chrono::Utc::now().timestamp();
    let good = issuer.token("owner", json!({}));
    let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "owner", "exp": now + 3600});

    // A signature of other claims pasted onto these.
    let other = issuer.token("owner", json!({"sub": "someone-else"}));
    let (head_and_body, _) = good.rsplit_once('.').expect("three parts");
    let pasted = format!(
        "{head_and_body}.{}",
        other.rsplit_once('.').expect("three parts").1
    );
    // A key of the forger's own under the issuer's key id.
    let forger = TestKey::es256("ec-1");
    let forged = issuer.token_with(&forger, "owner", json!({}));
    // `alg: none`, unsigned.
    let unsigned = raw_token(&json!({"alg": "none", "kid": "rsa-1"}), &claims, b"");
    // HS256 keyed with the issuer's public key (the classic confusion).
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some("rsa-1".into());
    let public = rsa.jwk().to_string();
    let hmac = jsonwebtoken::encode(&hs_header, &claims, &EncodingKey::from_secret(public.as_bytes()))
        .expect("signed");
    // An RS256 header naming the EC key's id: the key's type fixes its algorithm.
    let mut mixed = Header::new(Algorithm::RS256);
    mixed.kid = Some("ec-1".into());
    let rsa_key = EncodingKey::from_rsa_der(include_bytes!("../../../fixtures/actor-token-rsa.der"));
    let rsa_signed = jsonwebtoken::encode(&mixed, &claims, &rsa_key).expect("signed");
    let invalid = [
        ("a pasted signature", pasted),
        ("a forger's key under the issuer's kid", forged),
        ("alg none", unsigned),
        ("HS256 keyed with the public key", hmac),
        ("RS256 naming an EC key", rsa_signed),
        (
            "another issuer",
            issuer.token("owner", json!({"iss": "https://evil.example/"})),
        ),
        (
            "another audience",
            issuer.token("owner", json!({"aud": "billing"})),
        ),
        ("no audience", issuer.token("owner", json!({"aud": null}))),
        ("no subject", issuer.token("owner", json!({"sub": null}))),
        ("no expiry", issuer.token("owner", json!({"exp": null}))),
        ("a subject that is no user id", issuer.token(" owner ", json!({}))),
        ("not a JWT", "not-a-token".to_owned()),
        ("too long", "a".repeat(9000)),
    ];
    let before = app.table_counts().await;
    for (case, token) in &invalid {
        let status = assert_refused_for(
            list_users_as(&app, token).await,
            Code::Unauthenticated,
            "ACTOR_TOKEN_INVALID",
            case,
        );
        assert!(
            status.message().contains("actor token"),
            "{case}: {}",
            status.message()
        );
    }
    let expired = [
        (
            "expired past the leeway",
            issuer.token("owner", json!({"exp": now - 120})),
        ),
        (
            "not valid for a while yet",
            issuer.token("owner", json!({"nbf": now + 3600})),
        ),
    ];
    for (case, token) in &expired {
        assert_refused_for(
            list_users_as(&app, token).await,
            Code::Unauthenticated,
            "ACTOR_TOKEN_EXPIRED",
            case,
        );
    }
    assert_eq!(app.table_counts().await, before, "a refused token writes nothing");
    // Inside the leeway (60 s by default) a token still proves its subject.
    list_users_as(&app, &issuer.token("owner", json!({"exp": now - 20})))
        .await
        .expect("an expiry within the leeway");
    list_users_as(&app, &good).await.expect("the genuine token");
}

on_both_databases!(db;
    rs256_es256_and_eddsa_tokens_prove_their_subject,
    forged_foreign_and_stale_tokens_are_refused,
);
