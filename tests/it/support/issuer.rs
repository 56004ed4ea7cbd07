//! A real token issuer for the actor token tests: its own signing keys
//! (RS256 from a test-only key in tests/fixtures, ES256 and EdDSA made per
//! test), a JWKS document served over HTTP from a port of its own (or
//! written to a file), and tokens minted with any claims, header or key,
//! forged ones included.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use access_service::Config;
use access_service::config::ActorProofMode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The issuer the tests' tokens name.
pub const ISSUER: &str = "https://id.example.test/";
/// The audience the tests' server accepts.
pub const AUDIENCE: &str = "access-service";

/// A test-only RSA key (PKCS#1 DER, made with `openssl genrsa`) and its JWK.
const RSA_DER: &[u8] = include_bytes!("../../fixtures/actor-token-rsa.der");
const RSA_JWK: &str = include_str!("../../fixtures/actor-token-rsa.jwk.json");

/// One signing key of the issuer.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    /// The test-only RSA key, under `kid`.
    pub fn rsa(kid: &str) -> Self {
        let mut jwk: Value = serde_json::from_str(RSA_JWK).expect("fixture JWK");
        jwk["kid"] = json!(kid);
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(RSA_DER),
            jwk,
        }
    }

    /// A new P-256 key, under `kid`.
    pub fn es256(kid: &str) -> Self {
        let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("P-256 key");
        let point = pair.public_key_raw();
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            }),
        }
    }

    /// A new Ed25519 key, under `kid`.
    pub fn eddsa(kid: &str) -> Self {
        let pair = KeyPair::generate_for(&PKCS_ED25519).expect("Ed25519 key");
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(&pair.serialize_der()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()),
            }),
        }
    }

    /// The public half, as a JWKS lists it.
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }
}

/// The issuer: its keys, served as a JWKS document over HTTP.
pub struct TestIssuer {
    /// Where the JWKS document is served.
    pub jwks_url: String,
    served: Arc<RwLock<Value>>,
    failing: Arc<AtomicBool>,
    fetches: Arc<AtomicUsize>,
    /// The key tokens are signed with unless a test picks another.
    pub key: TestKey,
}

impl TestIssuer {
    /// An issuer serving `keys` (the first signs by default).
    pub async fn start(keys: &[TestKey]) -> Self {
        let served = Arc::new(RwLock::new(jwks(keys)));
        let failing = Arc::new(AtomicBool::new(false));
        let fetches = Arc::new(AtomicUsize::new(0));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (document, fail, count) = (Arc::clone(&served), Arc::clone(&failing), Arc::clone(&fetches));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let body = document.read().expect("jwks").to_string();
                let failing = fail.load(Ordering::SeqCst);
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    // One request a connection: read its head, answer, close.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let (status, body) = if failing {
                        ("500 Internal Server Error", "{}".to_owned())
                    } else {
                        ("200 OK", body)
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self {
            jwks_url: format!("http://{addr}/.well-known/jwks.json"),
            served,
            failing,
            fetches,
            key: keys[0].clone(),
        }
    }

    /// An issuer with one RSA key.
    pub async fn rsa() -> Self {
        Self::start(&[TestKey::rsa("rsa-1")]).await
    }

    /// Serves `keys` from now on (a rotation).
    pub fn serve(&self, keys: &[TestKey]) {
        *self.served.write().expect("jwks") = jwks(keys);
    }

    /// Answers every fetch with HTTP 500 (or serves again).
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many times the JWKS document was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Configures `config` for this issuer's tokens, in the token mode,
    /// fetching the keys from its URL with no refresh floor.
    pub fn configure(&self, config: &mut Config) {
        config.actors.actor_proof = Some(ActorProofMode::Token);
        config.actors.actor_token_issuers = vec![ISSUER.into()];
        config.actors.actor_token_audiences = vec![AUDIENCE.into()];
        config.actors.actor_token_jwks_url = Some(self.jwks_url.clone());
        config.actors.actor_token_jwks_refresh_floor_secs = 0;
    }

    /// A token for `sub` with the usual claims (issuer, audience, an hour
    /// to live, signed in a minute ago, `<sub>@example.com` verified) and
    /// `extra` claims on top (a null removes one).
    pub fn token(&self, sub: &str, extra: Value) -> String {
        self.token_with(&self.key, sub, extra)
    }

    /// [`token`](Self::token) signed with `key`.
    pub fn token_with(&self, key: &TestKey, sub: &str, extra: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": sub,
            "iat": now, "exp": now + 3600, "auth_time": now - 60,
            "email": format!("{sub}@example.com"), "email_verified": true,
        });
        if let Value::Object(extra) = extra {
            for (name, value) in extra {
                if value.is_null() {
                    claims.as_object_mut().expect("object").remove(&name);
                } else {
                    claims[name] = value;
                }
            }
        }
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).expect("signed")
    }

    /// Writes the JWKS document of `keys` to `path` (a key file).
    pub fn write_jwks(path: &Path, keys: &[TestKey]) {
        // Written beside and renamed over, as a mounted Secret changes.
        let tmp = PathBuf::from(format!("{}.tmp", path.display()));
        std::fs::write(&tmp, jwks(keys).to_string()).expect("write jwks");
        std::fs::rename(&tmp, path).expect("rename jwks");
    }
}

fn jwks(keys: &[TestKey]) -> Value {
    json!({ "keys": keys.iter().map(TestKey::jwk).collect::<Vec<_>>() })
}

/// A token with header `header` and claims `claims`, and `signature` as
/// its third part: forged ones (`alg: none`, a made-up signature).
pub fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}
