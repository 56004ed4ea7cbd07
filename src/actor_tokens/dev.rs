//! Development tokens: `access-service dev-token` mints an actor token with
//! a local key, so a newcomer can try the token mode without an identity
//! provider. The issuer is [`DEV_ISSUER`], which the server accepts on a
//! loopback listener only: a dev key can never vouch for anyone in a
//! deployment.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::{Ed25519KeyPair, KeyPair};

/// The issuer (and audience) of development tokens; never a real issuer.
pub const DEV_ISSUER: &str = "access-service-dev";
/// The key id of the development key.
const DEV_KID: &str = "dev-1";

/// What a development token says.
#[derive(Clone, Debug)]
pub struct DevToken {
    /// The person (`sub`).
    pub subject: String,
    /// Their address, stated as verified; `<subject>@example.com` when unset.
    pub email: Option<String>,
    /// The session passed two-factor (`amr` holds `mfa`).
    pub mfa: bool,
    /// Seconds the token lives.
    pub ttl_secs: i64,
}

/// The files of the development key in `dir`: the private key and the JWKS
/// the server reads (`ACCESS_ACTOR_TOKEN_JWKS_FILE`).
pub fn dev_files(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("actor-token-key.pk8"), dir.join("jwks.json"))
}

/// Mints a token for `request`, making the key (and its JWKS) in `dir` the
/// first time.
pub fn mint(dir: &Path, request: &DevToken) -> anyhow::Result<String> {
    let (key_file, jwks_file) = dev_files(dir);
    if !key_file.exists() {
        std::fs::create_dir_all(dir)?;
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("cannot make a key"))?;
        write_private(&key_file, pkcs8.as_ref())?;
    }
    let pkcs8 = std::fs::read(&key_file)?;
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map_err(|_| anyhow::anyhow!("{} is not an Ed25519 key", key_file.display()))?;
    let jwks = serde_json::json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": DEV_KID,
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
    }]});
    std::fs::write(&jwks_file, jwks.to_string())?;
    let now = chrono::Utc::now().timestamp();
    let email = request
        .email
        .clone()
        .unwrap_or_else(|| format!("{}@example.com", request.subject));
    let mut claims = serde_json::json!({
        "iss": DEV_ISSUER, "aud": DEV_ISSUER, "sub": request.subject,
        "iat": now, "exp": now + request.ttl_secs, "auth_time": now,
        "email": email, "email_verified": true, "amr": ["pwd"],
    });
    if request.mfa {
        claims["amr"] = serde_json::json!(["pwd", "mfa"]);
    }
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(DEV_KID.into());
    Ok(jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(&pkcs8),
    )?)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
