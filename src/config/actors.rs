//! Settings of who is acting (docs/domain.md rule 15): whether the acting
//! person is taken from a verified actor token or from the calling system's
//! word, and how tokens are verified.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// Default clock skew allowed on a token's `exp` and `nbf`.
pub const DEFAULT_ACTOR_TOKEN_LEEWAY_SECS: u64 = 60;
/// Largest ACCESS_ACTOR_TOKEN_LEEWAY_SECS: more would keep expired tokens alive.
pub const MAX_ACTOR_TOKEN_LEEWAY_SECS: u64 = 300;
/// Default shortest time between two fetches of the JWKS URL.
pub const DEFAULT_ACTOR_TOKEN_JWKS_REFRESH_FLOOR_SECS: u64 = 30;
/// Default age after which the JWKS URL is fetched again before use.
pub const DEFAULT_ACTOR_TOKEN_JWKS_MAX_AGE_SECS: u64 = 3600;
/// Default longest fetch of the JWKS URL.
pub const DEFAULT_ACTOR_TOKEN_JWKS_TIMEOUT_MS: u64 = 5000;
/// Default `amr` values that mean two-factor (RFC 8176: a multi-factor
/// login, a one-time password, a hardware key).
pub const DEFAULT_ACTOR_TOKEN_MFA_AMR: &str = "mfa,otp,hwk";
/// Default longest time since sign-in (`auth_time`) for a sensitive act: ten minutes.
pub const DEFAULT_REAUTHENTICATION_MAX_AGE_SECS: u64 = 600;

/// Where the acting person comes from (ACCESS_ACTOR_PROOF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ActorProofMode {
    /// Every call that acts for a person carries that person's token; the
    /// person is its subject, two-factor and sign-in time come from it.
    Token,
    /// The calling system names the person and vouches for two-factor
    /// (`x-actor-mfa-verified`); a token sent anyway is verified and used.
    CallersWord,
}

/// The actor settings.
#[derive(Clone, Debug, Args)]
pub struct ActorConfig {
    /// `token` or `callers-word`. Unset: `token` when an issuer is
    /// configured, else `callers-word` on a loopback listener only.
    #[arg(long, env = "ACCESS_ACTOR_PROOF", value_enum)]
    pub actor_proof: Option<ActorProofMode>,
    /// Accepted `iss` values of actor tokens, separated by commas.
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_ISSUERS", value_delimiter = ',')]
    pub actor_token_issuers: Vec<String>,
    /// Accepted `aud` values, separated by commas: a token must name one.
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_AUDIENCES", value_delimiter = ',')]
    pub actor_token_audiences: Vec<String>,
    /// The issuer's JWKS address (https://, or http:// to a loopback host).
    #[arg(
        long,
        env = "ACCESS_ACTOR_TOKEN_JWKS_URL",
        conflicts_with = "actor_token_jwks_file"
    )]
    pub actor_token_jwks_url: Option<String>,
    /// A JWKS document in a file, read again when it changes.
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_JWKS_FILE")]
    pub actor_token_jwks_file: Option<PathBuf>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds (at most 300).
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_LEEWAY_SECS", default_value_t = DEFAULT_ACTOR_TOKEN_LEEWAY_SECS)]
    pub actor_token_leeway_secs: u64,
    /// Shortest time between two fetches of the JWKS URL, in seconds.
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_JWKS_REFRESH_FLOOR_SECS", default_value_t = DEFAULT_ACTOR_TOKEN_JWKS_REFRESH_FLOOR_SECS)]
    pub actor_token_jwks_refresh_floor_secs: u64,
    /// Age of the fetched keys after which they are fetched again, in seconds.
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_JWKS_MAX_AGE_SECS", default_value_t = DEFAULT_ACTOR_TOKEN_JWKS_MAX_AGE_SECS)]
    pub actor_token_jwks_max_age_secs: u64,
    /// Longest fetch of the JWKS URL, in milliseconds.
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_JWKS_TIMEOUT_MS", default_value_t = DEFAULT_ACTOR_TOKEN_JWKS_TIMEOUT_MS)]
    pub actor_token_jwks_timeout_ms: u64,
    /// `amr` values meaning the person passed two-factor, separated by commas.
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_MFA_AMR", value_delimiter = ',', default_value = DEFAULT_ACTOR_TOKEN_MFA_AMR)]
    pub actor_token_mfa_amr: Vec<String>,
    /// `acr` values meaning the same, separated by commas; unset: none.
    #[arg(long, env = "ACCESS_ACTOR_TOKEN_MFA_ACR", value_delimiter = ',')]
    pub actor_token_mfa_acr: Vec<String>,
    /// Longest time since the person signed in (`auth_time`) for a
    /// sensitive act (transferring ownership, turning two-factor off,
    /// closing the account, deleting a role, removing an admin), in seconds.
    #[arg(long, env = "ACCESS_REAUTHENTICATION_MAX_AGE_SECS", default_value_t = DEFAULT_REAUTHENTICATION_MAX_AGE_SECS)]
    pub reauthentication_max_age_secs: u64,
}

impl Default for ActorConfig {
    fn default() -> Self {
        Self {
            actor_proof: None,
            actor_token_issuers: Vec::new(),
            actor_token_audiences: Vec::new(),
            actor_token_jwks_url: None,
            actor_token_jwks_file: None,
            actor_token_leeway_secs: DEFAULT_ACTOR_TOKEN_LEEWAY_SECS,
            actor_token_jwks_refresh_floor_secs: DEFAULT_ACTOR_TOKEN_JWKS_REFRESH_FLOOR_SECS,
            actor_token_jwks_max_age_secs: DEFAULT_ACTOR_TOKEN_JWKS_MAX_AGE_SECS,
            actor_token_jwks_timeout_ms: DEFAULT_ACTOR_TOKEN_JWKS_TIMEOUT_MS,
            actor_token_mfa_amr: DEFAULT_ACTOR_TOKEN_MFA_AMR
                .split(',')
                .map(str::to_owned)
                .collect(),
            actor_token_mfa_acr: Vec::new(),
            reauthentication_max_age_secs: DEFAULT_REAUTHENTICATION_MAX_AGE_SECS,
        }
    }
}

impl ActorConfig {
    /// The mode in force: the one set, or the default for what is configured.
    pub fn mode(&self) -> ActorProofMode {
        self.actor_proof
            .unwrap_or(if self.actor_token_issuers.is_empty() {
                ActorProofMode::CallersWord
            } else {
                ActorProofMode::Token
            })
    }

    /// ACCESS_REAUTHENTICATION_MAX_AGE_SECS.
    pub fn reauthentication_max_age(&self) -> Duration {
        Duration::from_secs(self.reauthentication_max_age_secs)
    }

    /// Whether actor tokens can be verified: an issuer is configured.
    pub fn verifies_tokens(&self) -> bool {
        !self.actor_token_issuers.is_empty()
    }

    /// Refuses settings that could not verify a token, or that would take
    /// the caller's word on a listener others can reach without saying so.
    pub fn validate(&self, listener_is_loopback: bool) -> anyhow::Result<()> {
        let issuers = !self.actor_token_issuers.is_empty();
        let keys = self.actor_token_jwks_url.is_some() || self.actor_token_jwks_file.is_some();
        let audiences = !self.actor_token_audiences.is_empty();
        if issuers || keys || audiences {
            anyhow::ensure!(
                issuers && keys && audiences,
                "actor tokens need ACCESS_ACTOR_TOKEN_ISSUERS, ACCESS_ACTOR_TOKEN_AUDIENCES and one of \
                 ACCESS_ACTOR_TOKEN_JWKS_URL or ACCESS_ACTOR_TOKEN_JWKS_FILE, all set"
            );
        }
        for (name, values) in [
            ("ACCESS_ACTOR_TOKEN_ISSUERS", &self.actor_token_issuers),
            ("ACCESS_ACTOR_TOKEN_AUDIENCES", &self.actor_token_audiences),
        ] {
            anyhow::ensure!(
                values.iter().all(|v| !v.trim().is_empty() && v.trim() == v),
                "{name} holds an empty value or one with spaces around it"
            );
        }
        anyhow::ensure!(
            self.actor_token_leeway_secs <= MAX_ACTOR_TOKEN_LEEWAY_SECS,
            "ACCESS_ACTOR_TOKEN_LEEWAY_SECS must be at most {MAX_ACTOR_TOKEN_LEEWAY_SECS}"
        );
        for (name, value) in [
            (
                "ACCESS_ACTOR_TOKEN_JWKS_MAX_AGE_SECS",
                self.actor_token_jwks_max_age_secs,
            ),
            (
                "ACCESS_ACTOR_TOKEN_JWKS_TIMEOUT_MS",
                self.actor_token_jwks_timeout_ms,
            ),
            (
                "ACCESS_REAUTHENTICATION_MAX_AGE_SECS",
                self.reauthentication_max_age_secs,
            ),
        ] {
            anyhow::ensure!(value > 0, "{name} must be greater than 0");
        }
        anyhow::ensure!(
            self.actor_token_mfa_amr
                .iter()
                .chain(&self.actor_token_mfa_acr)
                .all(|v| !v.trim().is_empty()),
            "ACCESS_ACTOR_TOKEN_MFA_AMR and ACCESS_ACTOR_TOKEN_MFA_ACR must not hold empty values"
        );
        match (self.actor_proof, self.mode()) {
            (_, ActorProofMode::Token) => anyhow::ensure!(
                issuers,
                "ACCESS_ACTOR_PROOF=token needs the actor token settings (ACCESS_ACTOR_TOKEN_ISSUERS, \
                 ACCESS_ACTOR_TOKEN_AUDIENCES, ACCESS_ACTOR_TOKEN_JWKS_URL or _FILE)"
            ),
            (None, ActorProofMode::CallersWord) => anyhow::ensure!(
                listener_is_loopback,
                "no actor token issuer is configured, so the service would take every caller's word for \
                 who is acting: refusing to listen on a non-loopback address without saying so. Configure \
                 actor tokens (ACCESS_ACTOR_TOKEN_ISSUERS and the rest, see docs/operations.md), or set \
                 ACCESS_ACTOR_PROOF=callers-word behind a gateway that authenticates people itself"
            ),
            (Some(_), ActorProofMode::CallersWord) => {}
        }
        Ok(())
    }
}
