//! The preshared API keys callers authenticate with: parsed from the
//! configuration, where each key is only its SHA-256 hash, and matched
//! without a timing oracle.
//!
//! Configuration format (ACCESS_API_KEYS, or the file ACCESS_API_KEYS_FILE
//! names): entries separated by commas or new lines, each
//! `name:scope+scope:sha256hex`; `#` starts a comment to the end of the line.
//! The scopes are `check`, `read`, `write` and `platform` (`admin`, deprecated,
//! stands for `read+write`). A key may be bound to tenants: account ids in
//! brackets after its scopes, separated by spaces, `name:scopes[acme globex]:sha256hex`;
//! it then serves those accounts and the children of those that are team
//! roots, nothing else. Without brackets it serves every tenant.
//!
//! ```text
//! # who            scopes                    SHA-256 of the key, in hex
//! campaigns-2026:  check:                    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! acme-portal:     read+write[acme acme-eu]: 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
//! ```

use std::fmt;
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::caller_limit::InFlight;
use super::key_scopes::{DEPRECATED_ADMIN, KeyScope, KeyScopes};
use crate::domain::ids::AccountId;
use crate::domain::model::Tenants;

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
/// identity), its scopes, the tenants it serves, and which of the two it
/// was. Handlers read it from the request's extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    name: Arc<str>,
    scopes: KeyScopes,
    tenants: Tenants,
    credential: Credential,
    /// Its requests in flight and open watches, shared by every request
    /// of this key.
    in_flight: InFlight,
}

impl Caller {
    /// The caller when no key is configured (authentication off, loopback
    /// only): it holds every scope.
    pub fn local() -> Self {
        Self {
            name: Arc::from("local"),
            scopes: KeyScopes::all(),
            tenants: Tenants::Every,
            credential: Credential::None,
            in_flight: InFlight::default(),
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

    /// Its requests in flight (ACCESS_MAX_CONCURRENT_REQUESTS_PER_CALLER)
    /// and open watches (ACCESS_WATCH_MAX_OPEN_PER_CALLER).
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// The key's scopes.
    pub fn scopes(&self) -> KeyScopes {
        self.scopes
    }

    /// The tenants the key serves: every account unless its entry lists some.
    pub fn tenants(&self) -> &Tenants {
        &self.tenants
    }

    /// The caller as configured, without its secret: `name:scopes`, and the
    /// tenants in brackets when it is bound to some.
    pub(super) fn describe(&self) -> String {
        match self.tenants.listed() {
            None => format!("{}:{}", self.name, self.scopes),
            Some(ids) => {
                let ids: Vec<&str> = ids.iter().map(AccountId::as_str).collect();
                format!("{}:{}[{}]", self.name, self.scopes, ids.join(" "))
            }
        }
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
            .entries(self.keys.iter().map(|key| key.caller.describe()))
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

/// Most tenants one entry may list: a key serving more is a platform key.
pub const MAX_TENANTS_PER_ENTRY: usize = 1000;

/// Splits `name:scope+scope[tenant tenant]:rest` (the tenants optional; the
/// rest may hold ':' itself) and builds the caller it names, authenticated
/// by `credential`. `shape` describes the entry in the error when a part is
/// missing.
pub(super) fn parse_caller<'a>(
    entry: &'a str,
    credential: Credential,
    shape: &str,
) -> anyhow::Result<(Caller, &'a str)> {
    let three_parts = || format!("must read {shape} (three parts separated by ':')");
    let (name, after_name) = entry
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!(three_parts()))?;
    let name = name.trim();
    ensure!(
        !name.is_empty()
            && name.len() <= MAX_KEY_NAME_LEN
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
        "the name must be 1 to {MAX_KEY_NAME_LEN} letters, digits, '-', '_' or '.'"
    );
    // A '[' before the next ':' opens the tenants; account ids may hold ':'
    // themselves, so the list ends at its ']', not at a ':'.
    let opens = after_name
        .find('[')
        .filter(|at| after_name.find(':').is_none_or(|colon| *at < colon));
    let (scopes, tenants, rest) = match opens {
        Some(at) => {
            let (scopes, list) = after_name.split_at(at);
            let Some((list, after)) = list[1..].split_once(']') else {
                bail!("'{name}': the tenants opened with '[' have no closing ']'");
            };
            let Some(rest) = after.trim_start().strip_prefix(':') else {
                bail!(
                    "'{name}': must read {shape} with the tenants in brackets after the scopes, such as {name}:read+write[acme globex]:..."
                );
            };
            (scopes, Some(parse_tenants(name, list)?), rest)
        }
        None => {
            let (scopes, rest) = after_name
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!(three_parts()))?;
            (scopes, None, rest)
        }
    };
    let mut set = KeyScopes::default();
    for scope in scopes.trim().split('+').map(str::trim) {
        let Some(named) = KeyScopes::parse_name(scope) else {
            let known: Vec<&str> = KeyScope::ALL.into_iter().map(KeyScope::as_str).collect();
            bail!(
                "'{name}': unknown scope '{}': the scopes are {}, joined with '+'",
                scope.chars().take(32).collect::<String>(),
                known.join(", ")
            );
        };
        if scope == DEPRECATED_ADMIN {
            tracing::warn!(
                caller = name,
                "the '{DEPRECATED_ADMIN}' scope is deprecated: it stands for read+write; write \
                 'read+write' (or only what the caller needs) instead"
            );
        }
        set = set.union(named);
    }
    ensure!(!set.is_empty(), "'{name}' has no scope");
    let caller = Caller {
        name: Arc::from(name),
        scopes: set,
        tenants: tenants.unwrap_or_default(),
        credential,
        in_flight: InFlight::default(),
    };
    Ok((caller, rest.trim()))
}

/// The tenants listed between an entry's brackets: account ids separated by spaces.
fn parse_tenants(name: &str, list: &str) -> anyhow::Result<Tenants> {
    let mut ids = Vec::new();
    for raw in list.split_whitespace() {
        let id = AccountId::parse("tenant", raw).map_err(|violation| {
            anyhow::anyhow!(
                "'{name}': tenant '{}' is not an account id: {}",
                raw.chars().take(32).collect::<String>(),
                violation.description
            )
        })?;
        ids.push(id);
    }
    ensure!(
        ids.len() <= MAX_TENANTS_PER_ENTRY,
        "'{name}' lists {} tenants: at most {MAX_TENANTS_PER_ENTRY} (a caller serving more serves every tenant: leave out the brackets)",
        ids.len()
    );
    Tenants::only(ids).ok_or_else(|| {
        anyhow::anyhow!(
            "'{name}': the tenants in brackets are empty: list the account ids it serves, \
             or leave out the brackets to serve every tenant"
        )
    })
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
            r#"["campaigns:check", "web:check+read+write", "billing:platform"]"#
        );
        let web = keys.identify(b"web-secret").expect("web key");
        assert_eq!(web.name(), "web");
        assert!(
            web.holds(KeyScope::Read)
                && web.holds(KeyScope::Write)
                && web.holds(KeyScope::Check)
                && !web.holds(KeyScope::Platform),
            "the deprecated admin stands for read+write"
        );
        assert!(web.tenants().is_every(), "no brackets: every tenant");
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
    fn a_key_may_be_bound_to_tenants_in_brackets() {
        let text = format!(
            "acme:read+write[acme acme-eu]:{}\n\
             colon : check [ org:7  acme ] : {}\n\
             web:read:{}",
            ApiKeys::hash_of("acme-secret"),
            ApiKeys::hash_of("colon-secret"),
            ApiKeys::hash_of("web-secret"),
        );
        let keys = ApiKeys::parse(&text).expect("parses");
        assert_eq!(
            format!("{keys:?}"),
            r#"["acme:read+write[acme acme-eu]", "colon:check[acme org:7]", "web:read"]"#
        );
        let id = |raw: &str| AccountId::from_trusted(raw.to_owned());
        let acme = keys.identify(b"acme-secret").expect("acme");
        assert!(acme.tenants().serves(&id("acme"), None));
        assert!(acme.tenants().serves(&id("acme-child"), Some(&id("acme"))));
        assert!(!acme.tenants().serves(&id("globex"), None));
        let colon = keys.identify(b"colon-secret").expect("colon");
        assert!(colon.tenants().serves(&id("org:7"), None), "an id may hold ':'");
        assert!(keys.identify(b"web-secret").expect("web").tenants().is_every());
    }

    #[test]
    fn bad_tenants_are_refused_with_what_to_write() {
        let hash = ApiKeys::hash_of("a");
        for (text, words) in [
            (format!("web:read[]:{hash}"), "brackets are empty"),
            (format!("web:read[  ]:{hash}"), "brackets are empty"),
            (format!("web:read[acme:{hash}"), "no closing ']'"),
            (
                format!("web:read[acme]x:{hash}"),
                "tenants in brackets after the scopes",
            ),
            (
                "web:read[acme]".to_owned(),
                "tenants in brackets after the scopes",
            ),
            (
                format!("web:read[{}]:{hash}", "a".repeat(129)),
                "is not an account id",
            ),
            (
                format!("web:read[{}]:{hash}", vec!["t"; 1001].join(" ")),
                "at most 1000",
            ),
            (format!("web:root[acme]:{hash}"), "unknown scope 'root'"),
        ] {
            let err = format!("{:#}", ApiKeys::parse(&text).expect_err(&text));
            assert!(err.contains(words), "{text}: {err}");
            assert!(err.contains("API key entry 1"), "{err}");
        }
    }

    #[test]
    fn the_local_caller_holds_every_scope() {
        let local = Caller::local();
        assert!(KeyScope::ALL.into_iter().all(|scope| local.holds(scope)));
        assert!(local.tenants().is_every());
        assert_eq!(local.name(), "local");
    }
}
