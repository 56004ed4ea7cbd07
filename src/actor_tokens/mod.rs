//! Actor tokens: the end user's token from the platform's identity
//! provider (an OIDC JWT), verified here so that the acting person is the
//! token's subject and not whatever a calling system names (docs/domain.md
//! rule 15, docs/operations.md "Actor tokens").
//!
//! Verification accepts RS256, ES256 (P-256) and EdDSA (Ed25519) only, each
//! key tied to the one algorithm its type implies; `none`, HMAC and any
//! algorithm that does not match its key's type are refused. The issuer,
//! audience, `exp` and `nbf` (with a small leeway) are checked; the keys
//! come from the issuer's JWKS URL ([`jwks`]) or a file read again when it
//! changes. Tokens are verified on calls that act for a person, never on
//! checks: Authorize does not read them.

mod claims;
pub mod dev;
mod jwks;
mod keys;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Validation};

pub use claims::MfaClaims;
use claims::{ClaimRefusal, Claims};
pub use jwks::{JwksUrl, UrlSettings};
pub use keys::KeySet;

use crate::domain::model::ProvenActor;
use crate::reload::Reloading;

/// Longest token read, in bytes: identity providers' ID and access tokens
/// are 1–3 KB; anything far larger is not one.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The algorithms accepted, as named in refusals.
const ACCEPTED: &str = "RS256, ES256 or EdDSA";

/// Where the signing keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// The issuer's JWKS URL, fetched and cached.
    Url(UrlSettings),
    /// A JWKS document in a file, read again when it changes.
    File {
        /// The file.
        path: PathBuf,
        /// How often to look for a change.
        reload_interval: Duration,
    },
}

/// How actor tokens are verified.
#[derive(Clone, Debug)]
pub struct ActorTokenSettings {
    /// Accepted `iss` values (one issuer may be known by several, e.g. a
    /// custom domain and its canonical one).
    pub issuers: Vec<String>,
    /// Accepted `aud` values: a token must name at least one.
    pub audiences: Vec<String>,
    /// The signing keys.
    pub keys: KeySource,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Which claims mean the person passed two-factor.
    pub mfa: MfaClaims,
}

/// A verified token: who acts, and whether their session passed two-factor.
#[derive(Clone, Debug)]
pub struct VerifiedActor {
    /// The person, as the domain sees them.
    pub proven: ProvenActor,
    /// The token shows a second factor (`amr`/`acr`, as configured).
    pub mfa_verified: bool,
}

/// Why a token proves nothing.
#[derive(Debug, thiserror::Error)]
pub enum TokenRefusal {
    /// Not a token this service accepts: shape, algorithm, key, signature,
    /// issuer, audience or claims.
    #[error("the actor token is not valid: {0}")]
    Invalid(String),
    /// Its lifetime is over or has not begun.
    #[error("the actor token {0}: get a new one from the identity provider")]
    Expired(&'static str),
    /// The signing keys cannot be fetched now.
    #[error("the identity provider's signing keys cannot be fetched now ({0}); retry shortly")]
    KeysUnavailable(String),
}

/// The verifier of actor tokens.
pub struct ActorTokens {
    issuers: Vec<String>,
    audiences: Vec<String>,
    leeway: Duration,
    mfa: MfaClaims,
    keys: Keys,
}

enum Keys {
    Url(Box<JwksUrl>),
    File(Reloading<KeySet>),
}

impl std::fmt::Debug for ActorTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorTokens")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("mfa", &self.mfa)
            .finish_non_exhaustive()
    }
}

impl ActorTokens {
    /// A verifier for `settings`. A key file must hold a usable key now; a
    /// JWKS URL is fetched now, and a failure is only logged (the identity
    /// provider may be starting too): the keys are fetched again on the
    /// first token.
    pub async fn start(settings: ActorTokenSettings) -> anyhow::Result<Arc<Self>> {
        anyhow::ensure!(
            !settings.issuers.is_empty(),
            "no actor token issuer is configured"
        );
        anyhow::ensure!(
            !settings.audiences.is_empty(),
            "no actor token audience is configured"
        );
        let keys = match settings.keys {
            KeySource::Url(url) => {
                let source = JwksUrl::new(url)?;
                if let Err(err) = source.refresh().await {
                    tracing::warn!(%err, "the actor token keys could not be fetched at start; fetching again on the first token");
                }
                Keys::Url(Box::new(source))
            }
            KeySource::File {
                path,
                reload_interval,
            } => Keys::File(Reloading::watch(
                "ACCESS_ACTOR_TOKEN_JWKS_FILE",
                vec![path],
                reload_interval,
                |paths| {
                    let text = std::fs::read_to_string(&paths[0])?;
                    KeySet::parse(&text)
                },
            )?),
        };
        Ok(Arc::new(Self {
            issuers: settings.issuers,
            audiences: settings.audiences,
            leeway: settings.leeway,
            mfa: settings.mfa,
            keys,
        }))
    }

    /// Verifies `token` and says who it proves.
    pub async fn verify(&self, token: &str) -> Result<VerifiedActor, TokenRefusal> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenRefusal::Invalid(format!(
                "it is longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            TokenRefusal::Invalid(format!(
                "it is not a JWS compact token signed with {ACCEPTED} (its header does not read as one)"
            ))
        })?;
        let algorithm = header.alg;
        if !matches!(algorithm, Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA) {
            return Err(TokenRefusal::Invalid(format!(
                "it is signed with {algorithm:?}; this service accepts {ACCEPTED} only"
            )));
        }
        let kid = header.kid.as_deref();
        let key = match &self.keys {
            Keys::Url(source) => source.key_for(kid, algorithm).await?,
            Keys::File(file) => file.current().find(kid, algorithm).cloned(),
        };
        let Some(key) = key else {
            return Err(TokenRefusal::Invalid(match kid {
                Some(kid) => format!(
                    "no {algorithm:?} signing key of the issuer has the id '{}'",
                    crate::domain::error::echo(kid)
                ),
                None => format!("it names no key id (kid), and the issuer has no single {algorithm:?} key"),
            }));
        };
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&self.issuers);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map_err(|err| refusal(err.kind()))?
            .claims;
        let proven = claims.proven().map_err(|ClaimRefusal::Subject(why)| {
            TokenRefusal::Invalid(format!(
                "its subject (sub) is not a user id this service accepts: {why}"
            ))
        })?;
        Ok(VerifiedActor {
            mfa_verified: self.mfa.passed(&claims),
            proven,
        })
    }
}

/// The refusal for what the JWT library found wrong, worded for the caller.
// The library's error kinds are many and may grow; the ones not named here
// (key and crypto failures) all mean the signature does not verify.
#[allow(clippy::wildcard_enum_match_arm)]
fn refusal(kind: &jsonwebtoken::errors::ErrorKind) -> TokenRefusal {
    use jsonwebtoken::errors::ErrorKind as K;
    TokenRefusal::Invalid(
        match kind {
            K::ExpiredSignature => return TokenRefusal::Expired("has expired (exp)"),
            K::ImmatureSignature => return TokenRefusal::Expired("is not valid yet (nbf)"),
            K::InvalidSignature => "its signature does not verify with the issuer's key",
            K::InvalidIssuer => "its issuer (iss) is not one this service accepts",
            K::InvalidAudience => "its audience (aud) names no audience this service accepts",
            K::MissingRequiredClaim(claim) => {
                return TokenRefusal::Invalid(format!(
                    "it lacks the {claim} claim, which this service needs"
                ));
            }
            K::InvalidAlgorithm | K::MissingAlgorithm | K::InvalidAlgorithmName => {
                "its algorithm does not match its key"
            }
            K::Json(_) | K::Base64(_) | K::Utf8(_) | K::InvalidToken => {
                "its parts do not decode (base64url JSON claims expected)"
            }
            _ => "it does not verify",
        }
        .to_owned(),
    )
}
