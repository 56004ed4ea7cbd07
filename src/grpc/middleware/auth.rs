//! Caller authentication: a tower layer that reads the API key a request
//! presents (`authorization: Bearer <key>`) or, without one, the identity of
//! the connection's verified client certificate (mTLS), refuses what the
//! caller does not hold, and puts the [`Caller`] in the request's extensions
//! for handlers. Health checks and reflection stay open, for probes and grpcurl.

use std::sync::Arc;

use tower::BoxError;
use tower::filter::{FilterLayer, Predicate};

use super::api_keys::{ApiKeys, Caller};
use super::client_identities::{ClientIdentities, MAX_IDENTITY_LEN, Unmatched};
use super::key_scopes::{KeyScope, scope_of};
use crate::reload::Reloading;
use crate::tls::TlsConnectionInfo;

/// Services anyone may call: Kubernetes probes carry no key, and reflection
/// only describes the API (every call still needs a key).
const OPEN_SERVICES: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Why the authentication layer refused a request; `errors.rs` turns each into
/// its status.
#[derive(Debug, thiserror::Error)]
pub enum AuthRefusal {
    /// No `authorization` metadata (and no client certificate).
    #[error(
        "no API key: send it as `authorization: Bearer <key>` metadata (or connect with a client certificate)"
    )]
    Missing,
    /// `authorization` is not `Bearer <key>`.
    #[error("the authorization metadata must read `Bearer <key>`")]
    Malformed,
    /// The key matches no configured key (or one that was rotated out).
    #[error("unknown API key: it matches no key this server is configured with")]
    Unknown,
    /// The client certificate was verified, but none of its names is mapped
    /// to a caller (ACCESS_TLS_CLIENT_IDENTITIES), with its type. It holds
    /// the certificate's names, typed (`uri:…, dns:…, cn:…`).
    #[error(
        "no name of the client certificate ({0}) is mapped to a caller on this server: \
         present an API key, or ask for one of them to be configured"
    )]
    UnknownIdentity(String),
    /// The client certificate's names match the identities of more than one
    /// caller: it stands for none of them.
    #[error(
        "the client certificate's names ({0}) match the identities of more than one caller on \
         this server, so it stands for none: present an API key, or ask for the configuration to be fixed"
    )]
    AmbiguousIdentity(String),
    /// The key is valid but lacks the scope the method needs.
    #[error("caller '{caller}' lacks the '{needed}' scope, which {method} needs")]
    MissingScope {
        /// The key's name.
        caller: String,
        /// The scope the method needs.
        needed: KeyScope,
        /// The method, e.g. `SetAccountLimits`.
        method: String,
    },
    /// The path names no method this server serves.
    #[error("{0} is not a method of this server")]
    UnknownMethod(String),
    /// A handler found no caller in its request: the layer did not run.
    #[error("no authenticated caller on this request")]
    NoCaller,
}

/// What callers authenticate with: API keys (re-read from their file when
/// it changes) and client certificate identities. Both empty: authentication
/// is off, every caller holds every scope (`Config::api_keys` allows that on
/// loopback only).
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The API keys in force.
    pub keys: Arc<Reloading<ApiKeys>>,
    /// The client certificate identities that stand for keys.
    pub identities: Arc<ClientIdentities>,
    /// Shortest key accepted, in bytes (ACCESS_API_KEY_MIN_LENGTH): a
    /// shorter one is unknown, whatever its hash.
    pub min_key_len: usize,
}

impl Credentials {
    /// Authentication off: no key, no identity (so no key length to hold
    /// a presented key to: every caller is local).
    pub fn none() -> Self {
        Self {
            keys: Arc::new(Reloading::fixed(ApiKeys::default())),
            identities: Arc::new(ClientIdentities::default()),
            min_key_len: 0,
        }
    }

    /// Whether nothing is configured, so every caller is [`Caller::local`].
    /// Decided once: a key file that is re-read must hold a key (see
    /// `Config::api_keys`), so this never changes while serving.
    pub fn is_open(&self) -> bool {
        self.keys.current().is_empty() && self.identities.is_empty()
    }
}

/// The authentication layer for `credentials`.
pub fn layer(credentials: Credentials) -> FilterLayer<Authenticate> {
    FilterLayer::new(Authenticate::new(credentials))
}

/// The tower predicate [`layer`] runs on every request.
#[derive(Clone)]
pub struct Authenticate {
    credentials: Credentials,
    /// Authentication is off: every caller is [`Caller::local`].
    open: bool,
    /// Built once: the caller of every request when authentication is off.
    local: Caller,
}

impl Authenticate {
    /// Authenticates callers by `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            open: credentials.is_open(),
            credentials,
            local: Caller::local(),
        }
    }

    fn caller(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Caller, AuthRefusal> {
        if self.open {
            return Ok(self.local.clone());
        }
        // A key presented wins over the connection's certificate: it is the
        // more specific claim (a shared sidecar certificate, a per-caller key).
        let Some(value) = headers.get(http::header::AUTHORIZATION) else {
            let names = extensions
                .get::<TlsConnectionInfo>()
                .and_then(|tls| tls.client_names.as_deref())
                .ok_or(AuthRefusal::Missing)?;
            return self.credentials.identities.identify(names).map_err(|unmatched| {
                let names = names.to_string().chars().take(MAX_IDENTITY_LEN).collect();
                match unmatched {
                    Unmatched::Unknown => AuthRefusal::UnknownIdentity(names),
                    Unmatched::Ambiguous => AuthRefusal::AmbiguousIdentity(names),
                }
            });
        };
        let (scheme, key) = value
            .as_bytes()
            .split_at_checked(7)
            .ok_or(AuthRefusal::Malformed)?;
        // The scheme is case-insensitive (RFC 9110 11.1).
        let key = key.trim_ascii();
        if !scheme.eq_ignore_ascii_case(b"bearer ") || key.is_empty() {
            return Err(AuthRefusal::Malformed);
        }
        // Only hashes are configured, so a short key cannot be refused when
        // it is configured: it is refused when presented, before it is
        // hashed, as unknown (a guess hears nothing about the minimum).
        if key.len() < self.credentials.min_key_len {
            return Err(AuthRefusal::Unknown);
        }
        self.credentials
            .keys
            .current()
            .identify(key)
            .ok_or(AuthRefusal::Unknown)
    }
}

impl<B> Predicate<http::Request<B>> for Authenticate {
    type Request = http::Request<B>;

    fn check(&mut self, mut request: http::Request<B>) -> Result<Self::Request, BoxError> {
        let path = request.uri().path();
        if OPEN_SERVICES.iter().any(|open| path.starts_with(open)) {
            return Ok(request);
        }
        // Who first, then what: an unauthenticated caller learns nothing
        // about which methods exist or what they need.
        let caller = self.caller(request.headers(), request.extensions())?;
        let needed = scope_of(path).ok_or_else(|| AuthRefusal::UnknownMethod(bounded(path)))?;
        if !caller.holds(needed) {
            let method = path.rsplit('/').next().unwrap_or_default().to_owned();
            return Err(AuthRefusal::MissingScope {
                caller: caller.name().to_owned(),
                needed,
                method,
            }
            .into());
        }
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// A path as echoed in a refusal: at most 128 characters.
fn bounded(path: &str) -> String {
    path.chars().take(128).collect()
}

/// The caller the layer authenticated, for a handler that acts on who it is.
pub fn caller_of<T>(request: &tonic::Request<T>) -> Result<Caller, tonic::Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| AuthRefusal::NoCaller.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, authorization: Option<&str>) -> http::Request<()> {
        let mut builder = http::Request::builder().uri(format!("http://localhost{path}"));
        if let Some(value) = authorization {
            builder = builder.header("authorization", value);
        }
        builder.body(()).expect("request")
    }

    /// The configuration's default minimum (ACCESS_API_KEY_MIN_LENGTH).
    const MIN_KEY_LEN: usize = 32;

    /// The key of `app`: as long as the minimum, as an operator's would be.
    const KEY: &str = "app-key-0123456789abcdef01234567";

    /// Authentication by keys alone, each `(name, scopes, key)`, with keys
    /// at least `min_key_len` bytes long.
    fn keyed_by(keys: &[(&str, &str, &str)], min_key_len: usize) -> Authenticate {
        let text: Vec<String> = keys
            .iter()
            .map(|(name, scopes, key)| format!("{name}:{scopes}:{}", ApiKeys::hash_of(key)))
            .collect();
        Authenticate::new(Credentials {
            keys: Arc::new(Reloading::fixed(ApiKeys::parse(&text.join(",")).expect("keys"))),
            identities: Arc::new(ClientIdentities::default()),
            min_key_len,
        })
    }

    fn keyed() -> Authenticate {
        keyed_by(&[("app", "check", KEY)], MIN_KEY_LEN)
    }

    fn refusal(result: Result<http::Request<()>, BoxError>) -> String {
        let err = result.expect_err("refused");
        let refusal = err.downcast::<AuthRefusal>().expect("an AuthRefusal");
        format!("{refusal:?}")
    }

    #[test]
    fn the_bearer_key_decides_and_the_caller_reaches_the_handler() {
        let mut auth = keyed();
        let authorize = "/access.v1.AccessService/Authorize";
        for header in [
            format!("Bearer {KEY}"),
            format!("bearer {KEY}"),
            format!("BEARER  {KEY} "),
        ] {
            let passed = auth.check(request(authorize, Some(&header))).expect(&header);
            let caller = passed.extensions().get::<Caller>().expect("caller inserted");
            assert_eq!(caller.name(), "app");
        }
        assert_eq!(refusal(auth.check(request(authorize, None))), "Missing");
        for header in [KEY, &format!("Basic {KEY}"), "Bearer ", "Bearer"] {
            assert_eq!(
                refusal(auth.check(request(authorize, Some(header)))),
                "Malformed",
                "{header}"
            );
        }
        assert_eq!(
            refusal(auth.check(request(authorize, Some("Bearer other")))),
            "Unknown"
        );
        assert!(
            refusal(auth.check(request(
                "/access.v1.AccessService/Invite",
                Some(&format!("Bearer {KEY}"))
            )))
            .starts_with("MissingScope")
        );
        assert!(
            refusal(auth.check(request(
                "/access.v1.AccessService/Nope",
                Some(&format!("Bearer {KEY}"))
            )))
            .starts_with("UnknownMethod")
        );
        assert_eq!(
            refusal(auth.check(request("/access.v1.AccessService/Nope", None))),
            "Missing",
            "who before what"
        );
    }

    #[test]
    fn a_mapped_client_certificate_stands_for_a_key_and_a_key_wins() {
        use crate::grpc::middleware::Credential;
        let keys = ApiKeys::parse(&format!("app:check:{}", ApiKeys::hash_of(KEY))).expect("keys");
        let mut auth = Authenticate::new(Credentials {
            keys: Arc::new(Reloading::fixed(keys)),
            identities: Arc::new(
                ClientIdentities::parse("billing:platform:uri:spiffe://corp/billing\nweb:check:dns:web.corp")
                    .expect("ids"),
            ),
            min_key_len: MIN_KEY_LEN,
        });
        use crate::tls::CertificateNames;
        let uri = |uri: &str| CertificateNames {
            uris: vec![uri.into()],
            ..CertificateNames::default()
        };
        let over_tls = |names: Option<CertificateNames>, authorization: Option<&str>| {
            let mut request = request("/access.v1.AccessService/CreateAccount", authorization);
            request.extensions_mut().insert(TlsConnectionInfo {
                tcp: tonic::transport::server::TcpConnectInfo {
                    local_addr: None,
                    remote_addr: None,
                },
                client_names: names.map(Arc::new),
            });
            request
        };
        let passed = auth
            .check(over_tls(Some(uri("spiffe://corp/billing")), None))
            .expect("the mapped identity holds `platform`");
        let caller = passed.extensions().get::<Caller>().expect("caller inserted");
        assert_eq!(
            (caller.name(), caller.credential()),
            ("billing", Credential::ClientCertificate)
        );
        assert!(
            refusal(auth.check(over_tls(Some(uri("spiffe://corp/other")), None)))
                .starts_with("UnknownIdentity")
        );
        // A DNS name that reads like the configured URI is not that URI.
        let impostor = CertificateNames {
            dns_names: vec!["spiffe://corp/billing".into()],
            common_names: vec!["spiffe://corp/billing".into()],
            ..CertificateNames::default()
        };
        assert_eq!(
            refusal(auth.check(over_tls(Some(impostor), None))),
            "UnknownIdentity(\"dns:spiffe://corp/billing, cn:spiffe://corp/billing\")"
        );
        let both = CertificateNames {
            dns_names: vec!["web.corp".into()],
            ..uri("spiffe://corp/billing")
        };
        assert!(refusal(auth.check(over_tls(Some(both), None))).starts_with("AmbiguousIdentity"));
        assert_eq!(refusal(auth.check(over_tls(None, None))), "Missing");
        // The key decides alone: `app` holds `check` only, whatever the certificate holds.
        assert!(
            refusal(auth.check(over_tls(
                Some(uri("spiffe://corp/billing")),
                Some(&format!("Bearer {KEY}"))
            )))
            .starts_with("MissingScope")
        );
    }

    #[test]
    fn a_key_shorter_than_the_minimum_is_unknown_though_its_hash_is_configured() {
        let authorize = "/access.v1.AccessService/Authorize";
        let short = &KEY[..31];
        let mut auth = keyed_by(&[("app", "check", KEY), ("short", "check", short)], 32);
        assert!(
            auth.check(request(authorize, Some(&format!("Bearer {KEY}"))))
                .is_ok()
        );
        assert_eq!(
            refusal(auth.check(request(authorize, Some(&format!("Bearer {short}"))))),
            "Unknown"
        );
        // Its hash matches: a lower minimum lets it in.
        let mut lenient = keyed_by(&[("short", "check", short)], 31);
        let passed = lenient
            .check(request(authorize, Some(&format!("Bearer {short}"))))
            .expect("as long as the minimum");
        assert_eq!(
            passed.extensions().get::<Caller>().map(Caller::name),
            Some("short")
        );
    }

    #[test]
    fn health_and_reflection_stay_open() {
        let mut auth = keyed();
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.health.v1.Health/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        ] {
            assert!(auth.check(request(path, None)).is_ok(), "{path}");
        }
    }

    #[test]
    fn without_keys_every_caller_is_local_with_every_scope() {
        let mut auth = Authenticate::new(Credentials::none());
        let passed = auth
            .check(request("/access.v1.AccessService/SetAccountLimits", None))
            .expect("passes");
        assert_eq!(passed.extensions().get::<Caller>(), Some(&Caller::local()));
    }
}
