//! What a write came through: the calling service's API key or client
//! certificate identity, recorded on every activity entry beside the actor
//! (rule 12 of docs/domain.md). The actor says on whose behalf; this says
//! which caller vouched for it, so a leaked key or a confused caller shows in
//! the log.

/// How the caller of a write authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViaKind {
    /// Not recorded: entries logged before callers were recorded (and a kind
    /// this version does not know, written by a newer one).
    Unknown,
    /// An API key, named by its configured name.
    ApiKey,
    /// A client certificate, named by the configured name of its identity.
    ClientCertificate,
    /// Authentication off (a loopback listener with no key configured).
    Local,
    /// The service itself, not a caller: a background task's write.
    Service,
}

impl ViaKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::Unknown,
        Self::ApiKey,
        Self::ClientCertificate,
        Self::Local,
        Self::Service,
    ];

    /// Stable storage name (the Redis stream's `via_kind` too).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::ApiKey => "api_key",
            Self::ClientCertificate => "client_certificate",
            Self::Local => "local",
            Self::Service => "service",
        }
    }

    /// Reads a storage name back: absent or unknown names are
    /// [`ViaKind::Unknown`], never an error, so an older or newer log still reads.
    pub fn from_storage(name: Option<&str>) -> Self {
        name.and_then(|name| Self::ALL.into_iter().find(|kind| kind.as_str() == name))
            .unwrap_or(Self::Unknown)
    }
}

/// The caller a write came through: its kind and configured name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Via {
    kind: ViaKind,
    name: String,
}

impl Via {
    /// Longest name stored (the column's width): the configuration bounds
    /// key and identity names to this (`MAX_KEY_NAME_LEN`, asserted at
    /// compile time where callers become a `Via`).
    pub const MAX_NAME_LEN: usize = 64;

    /// The name every background write of the service records.
    pub const SERVICE_NAME: &'static str = "access-service";

    /// A caller of `kind` named `name`, cut to [`Via::MAX_NAME_LEN`]
    /// characters (configured names are never longer; a log entry must
    /// never fail on it).
    pub fn new(kind: ViaKind, name: &str) -> Self {
        Self {
            kind,
            name: name.chars().take(Self::MAX_NAME_LEN).collect(),
        }
    }

    /// The service itself: what writes that come from no call record
    /// (`access-service`, kind `service`).
    pub fn service() -> Self {
        Self::new(ViaKind::Service, Self::SERVICE_NAME)
    }

    /// Not recorded (an entry older than the record of callers).
    pub fn unknown() -> Self {
        Self::new(ViaKind::Unknown, "")
    }

    /// How the caller authenticated.
    pub fn kind(&self) -> ViaKind {
        self.kind
    }

    /// Its configured name; empty when unknown.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.kind.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_and_anything_else_is_unknown() {
        for kind in ViaKind::ALL {
            assert_eq!(ViaKind::from_storage(Some(kind.as_str())), kind);
        }
        assert_eq!(ViaKind::from_storage(None), ViaKind::Unknown);
        assert_eq!(ViaKind::from_storage(Some("")), ViaKind::Unknown);
        assert_eq!(ViaKind::from_storage(Some("oidc_client")), ViaKind::Unknown);
    }

    #[test]
    fn names_fit_their_column() {
        let long = "é".repeat(Via::MAX_NAME_LEN + 5);
        assert_eq!(
            Via::new(ViaKind::ApiKey, &long).name().chars().count(),
            Via::MAX_NAME_LEN
        );
        assert_eq!(Via::service().kind(), ViaKind::Service);
        assert_eq!(Via::unknown().name(), "");
    }
}
