//! The preshared API keys callers authenticate with: parsed from the
//! configuration, where each key is only its SHA-256 hash, and matched
//! without a timing oracle.
//!
//! Configuration format (ACCESS_API_KEYS, or the file ACCESS_API_KEYS_FILE
//! names): entries separated by commas or new lines, each
//! `name:scope+scope:sha256hex`; `#` starts a comment to the end of the line.
//!
//! ```text
//! # who            scopes        SHA-256 of the key, in hex
//! campaigns-2026:  check:        9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! ```

use std::fmt;
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::key_scopes::{KeyScope, KeyScopes};

/// Longest key name: it is logged, and written as the actor of the activity
/// entries the key's caller makes (`platform: <name>`, in the activity log's 255-character actor column).
pub const MAX_KEY_NAME_LEN: usize = 64;

/// How a caller proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// Nothing: authentication is off (loopback only).
    None,
    /// An API key (`authorization: Bearer <key>`).
    ApiKey,
    /// A client certificate verified by the TLS handshake, whose identity is
    /// mapped to a name and scopes (ACCESS_TLS_CLIENT_IDENTITIES).
    ClientCertificate,
}

/// Who made a request, as the authentication layer established it: the
/// name of the API key it presented (or of its client certificate's
/// identity), its scopes, and which of the two it was. Handlers read it
/// from the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    name: Arc<str>,
    scopes: KeyScopes,
    credential: Credential,
}

impl Caller {
    /// The caller when no key is configured (authentication off, loopback
    /// only): it holds every scope.
    pub fn local() -> Self {
        Self {
            name: Arc::from("local"),
            scopes: KeyScopes::all(),
            credential: Credential::None,
        }
    }

    /// The key's (or certificate identity's) configured name (never the key).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How the caller authenticated.
    pub fn credential(&self) -> Credential {
        self.credential
    }

    /// The key's scopes.
    pub fn scopes(&self) -> KeyScopes {
        self.scopes
    }

    /// Whether the key holds `scope`.
    pub fn holds(&self, scope: KeyScope) -> bool {
        self.scopes.contains(scope)
    }
}

/// One configured key: its name, its scopes and the SHA-256 of the secret.
#[derive(Clone)]
struct ApiKey {
    caller: Caller,
    hash: [u8; 32],
}

/// The configured keys; empty when authentication is off.
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Vec<ApiKey>,
}

impl fmt::Debug for ApiKeys {
    /// Names and scopes only: hashes stay out of logs too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|key| format!("{}:{}", key.caller.name, key.caller.scopes)),
            )
            .finish()
    }
}

impl ApiKeys {
    /// Parses the configuration format described at the top of this module.
    /// Errors name the entry by position and name, never echo a hash (or a key
    /// pasted where its hash belongs).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut keys: Vec<ApiKey> = Vec::new();
        for (index, entry) in entries(text).enumerate() {
            let key = parse_entry(entry).with_context(|| format!("API key entry {}", index + 1))?;
            let name = key.caller.name();
            ensure!(
                keys.iter().all(|other| other.caller.name() != name),
                "API key '{name}' is configured twice: each key needs a name of its own"
            );
            ensure!(
                keys.iter().all(|other| other.hash != key.hash),
                "API key '{name}' has the same hash as another key: the same secret cannot carry two names"
            );
            keys.push(key);
        }
        Ok(Self { keys })
    }

    /// Whether no key is configured (authentication off).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys are configured.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The caller a presented secret authenticates, if any. The presented
    /// secret is hashed and compared with every configured hash in constant
    /// time, so the time taken says nothing about how close a guess was.
    pub fn identify(&self, presented: &[u8]) -> Option<Caller> {
        let hash: [u8; 32] = Sha256::digest(presented).into();
        let mut found = None;
        // No early exit: every hash is compared, whichever one matches.
        for key in &self.keys {
            if bool::from(key.hash.ct_eq(&hash)) {
                found = Some(key.caller.clone());
            }
        }
        found
    }

    /// The hash to configure for `secret` (lower-case hex SHA-256), what
    /// `printf %s "$key" | sha256sum` prints.
    pub fn hash_of(secret: &str) -> String {
        hex::encode(Sha256::digest(secret.as_bytes()))
    }
}

/// The entries of a configuration text: separated by commas or new lines,
/// `#` starting a comment to the end of the line, blanks skipped. Shared by
/// the API keys and the client certificate identities.
pub(super) fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

/// Splits `name:scope+scope:rest` (the rest may hold ':' itself) and builds
/// the caller it names, authenticated by `credential`. `shape` describes the
/// entry in the error when a part is missing.
pub(super) fn parse_caller<'a>(
    entry: &'a str,
    credential: Credential,
    shape: &str,
) -> anyhow::Result<(Caller, &'a str)> {
    let mut parts = entry.splitn(3, ':').map(str::trim);
    let (Some(name), Some(scopes), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("must read {shape} (three parts separated by ':')");
    };
    ensure!(
        !name.is_empty()
            && name.len() <= MAX_KEY_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
        "the name must be 1 to {MAX_KEY_NAME_LEN} letters, digits, '-', '_' or '.'"
    );
    let mut set = KeyScopes::default();
    for scope in scopes.split('+').map(str::trim) {
        let Some(scope) = KeyScope::parse(scope) else {
            let known: Vec<&str> = KeyScope::ALL.into_iter().map(KeyScope::as_str).collect();
            bail!(
                "'{name}': unknown scope '{}': the scopes are {}, joined with '+'",
                scope.chars().take(32).collect::<String>(),
                known.join(", ")
            );
        };
        set = set.with(scope);
    }
    ensure!(!set.is_empty(), "'{name}' has no scope");
    let caller = Caller {
        name: Arc::from(name),
        scopes: set,
        credential,
    };
    Ok((caller, rest))
}

fn parse_entry(entry: &str) -> anyhow::Result<ApiKey> {
    let (caller, hash) = parse_caller(entry, Credential::ApiKey, "name:scope+scope:sha256hex")?;
    let name = caller.name();
    let mut digest = [0u8; 32];
    // Never echo the value: an operator may have pasted the key itself here.
    if hash.len() != 64 || hex::decode_to_slice(hash, &mut digest).is_err() {
        bail!(
            "key '{name}': the third part must be the key's SHA-256 in hex (64 characters), never the key itself"
        );
    }
    Ok(ApiKey { caller, hash: digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `printf %s test | sha256sum`
    const TEST_HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn hashes_match_sha256sum() {
        assert_eq!(ApiKeys::hash_of("test"), TEST_HASH);
    }

    #[test]
    fn keys_parse_from_lines_or_commas_with_comments() {
        let text = format!(
            "# campaigns\ncampaigns:check:{TEST_HASH}\n\n  web : admin+check : {} # the web app\n,billing:platform:{}",
            ApiKeys::hash_of("web-secret"),
            ApiKeys::hash_of("billing-secret").to_uppercase()
        );
        let keys = ApiKeys::parse(&text).expect("parses");
        assert_eq!(keys.len(), 3);
        assert_eq!(
            format!("{keys:?}"),
            r#"["campaigns:check", "web:check+admin", "billing:platform"]"#
        );
        let web = keys.identify(b"web-secret").expect("web key");
        assert_eq!(web.name(), "web");
        assert!(web.holds(KeyScope::Admin) && web.holds(KeyScope::Check) && !web.holds(KeyScope::Platform));
        assert_eq!(
            keys.identify(b"billing-secret").map(|c| c.name().to_owned()),
            Some("billing".into())
        );
        assert_eq!(
            keys.identify(b"test").map(|c| c.name().to_owned()),
            Some("campaigns".into())
        );
        assert_eq!(keys.identify(b"guess"), None);
        assert_eq!(keys.identify(b""), None);
        assert!(ApiKeys::parse("").expect("empty").is_empty());
        assert!(ApiKeys::parse(" \n# nothing\n,").expect("blank").is_empty());
    }

    #[test]
    fn bad_entries_are_refused_without_echoing_secrets() {
        let pasted_key = "sk_live_0123456789abcdef";
        let hash = ApiKeys::hash_of("a");
        for (text, words) in [
            (format!("web:admin:{pasted_key}"), "SHA-256 in hex"),
            (format!("web:admin:{}", &hash[..63]), "SHA-256 in hex"),
            ("web:admin".to_owned(), "three parts"),
            (format!("web:root:{hash}"), "unknown scope 'root'"),
            (format!("web::{hash}"), "unknown scope ''"),
            (format!("w b:admin:{hash}"), "the name must be"),
            (format!(":admin:{hash}"), "the name must be"),
            (format!("{}:admin:{hash}", "n".repeat(65)), "the name must be"),
            (
                format!("web:admin:{hash},web:check:{}", ApiKeys::hash_of("b")),
                "configured twice",
            ),
            (format!("web:admin:{hash},app:check:{hash}"), "same hash"),
        ] {
            let err = format!("{:#}", ApiKeys::parse(&text).expect_err(&text));
            assert!(err.contains(words), "{text}: {err}");
            assert!(!err.contains(pasted_key) && !err.contains(&hash[..16]), "{err}");
        }
    }

    #[test]
    fn the_local_caller_holds_every_scope() {
        let local = Caller::local();
        assert!(KeyScope::ALL.into_iter().all(|scope| local.holds(scope)));
        assert_eq!(local.name(), "local");
    }
}
