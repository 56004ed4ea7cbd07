//! The one error type that crosses the domain boundary.

mod reason;

pub use reason::ErrorReason;

/// A field of a request that was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// The request field, in the proto's snake_case path (e.g. `owner.email`).
    pub field: String,
    /// What is wrong with it, for a person to act on.
    pub description: String,
    /// A stable reason for a program, when the field is well formed on its
    /// own and refused with the rest of the request
    /// (`google.rpc.BadRequest.FieldViolation.reason`).
    pub reason: Option<ErrorReason>,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
            reason: None,
        }
    }

    /// The same violation with a machine-readable reason.
    #[must_use]
    pub fn with_reason(mut self, reason: ErrorReason) -> Self {
        self.reason = Some(reason);
        self
    }
}

/// The facts a program needs to act on a refusal, as (key, value) pairs in
/// the order they were added; they become `google.rpc.ErrorInfo.metadata`.
/// Keys are stable snake_case names documented in docs/errors.md beside the
/// reason that carries them: clients parse them, so never rename one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorMetadata(Vec<(&'static str, String)>);

impl ErrorMetadata {
    /// The pairs, in the order they were added.
    pub fn pairs(&self) -> &[(&'static str, String)] {
        &self.0
    }

    /// Whether there is nothing to add to the message.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value under `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    fn set(&mut self, key: &'static str, value: String) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

/// Why a use case refused or failed. Each variant maps to exactly one gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The request is malformed; every bad field is named.
    #[error("invalid request: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// An id names nothing.
    #[error("{kind} '{id}' not found")]
    NotFound {
        /// What was looked for ("account", "invitation"...).
        kind: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// A secret (an invitation token) opens nothing. NOT_FOUND like an
    /// unknown id, but with a reason, and never repeating the secret back.
    #[error("{message}")]
    SecretNotFound {
        /// Stable machine-readable reason.
        reason: ErrorReason,
        /// What to do about it.
        message: String,
    },
    /// The thing to create exists already.
    #[error("{message}")]
    AlreadyExists {
        /// Stable machine-readable reason (google.rpc.ErrorInfo.reason).
        reason: ErrorReason,
        /// What exists, for a person.
        message: String,
        /// The facts behind `message`, for a program (google.rpc.ErrorInfo.metadata).
        metadata: ErrorMetadata,
    },
    /// A rule forbids the change in the current state.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable machine-readable reason.
        reason: ErrorReason,
        /// What to do about it.
        message: String,
        /// The facts behind `message`, for a program (google.rpc.ErrorInfo.metadata).
        metadata: ErrorMetadata,
    },
    /// The actor lacks the right to make this change.
    #[error("{message}")]
    PermissionDenied {
        /// Stable machine-readable reason.
        reason: ErrorReason,
        /// Which permission is missing, or which rule refused.
        message: String,
        /// The facts behind `message`, for a program (google.rpc.ErrorInfo.metadata).
        metadata: ErrorMetadata,
    },
    /// A quota would be exceeded.
    #[error("{message}")]
    ResourceExhausted {
        /// Stable machine-readable reason.
        reason: ErrorReason,
        /// Which limit, and its value.
        message: String,
        /// The facts behind `message`, for a program (google.rpc.ErrorInfo.metadata).
        metadata: ErrorMetadata,
        /// When a limit that frees itself with time (a rate) lets the same
        /// request through: after this long (google.rpc.RetryInfo).
        retry_after: Option<std::time::Duration>,
    },
    /// Something long-lived (a watch) the server ended on purpose, to be
    /// resumed from where its metadata says.
    #[error("{message}")]
    Aborted {
        /// Stable machine-readable reason.
        reason: ErrorReason,
        /// Why it ended and how to go on.
        message: String,
        /// Where to resume, for a program (google.rpc.ErrorInfo.metadata).
        metadata: ErrorMetadata,
    },
    /// A dependency (the database) cannot be reached; retrying may help.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or unexpected state: logged in full, reported to clients generically.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Most characters of a caller's value that a message repeats back.
pub const MAX_ECHO_CHARS: usize = 64;
/// Most characters of any message a refusal carries.
pub const MAX_MESSAGE_CHARS: usize = 1024;
/// Most field violations one refusal lists; the rest are counted.
pub const MAX_REPORTED_VIOLATIONS: usize = 20;

/// `text` cut to `max_chars` characters, saying how much was cut, with
/// control characters escaped: the one way a message repeats what it was
/// given, so a 4 MB value never comes back whole (nor a newline forged
/// into a log line).
pub fn bounded(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    let mut chars = text.chars();
    for c in chars.by_ref().take(max_chars) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    let cut = chars.count();
    if cut > 0 {
        out.push_str(&format!("… ({cut} more characters)"));
    }
    out
}

/// A caller's value as a message quotes it: at most [`MAX_ECHO_CHARS`].
pub fn echo(raw: &str) -> String {
    bounded(raw, MAX_ECHO_CHARS)
}

fn describe(violations: &[FieldViolation]) -> String {
    let mut listed: Vec<String> = violations
        .iter()
        .take(MAX_REPORTED_VIOLATIONS)
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect();
    if violations.len() > MAX_REPORTED_VIOLATIONS {
        listed.push(format!("and {} more", violations.len() - MAX_REPORTED_VIOLATIONS));
    }
    listed.join("; ")
}

impl DomainError {
    /// One bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// A rule refused the change.
    pub fn precondition(reason: ErrorReason, message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            reason,
            message: message.into(),
            metadata: ErrorMetadata::default(),
        }
    }

    /// A consistency token ahead of the database: only a token this
    /// database never issued (forged, or from another deployment or a
    /// restored backup) can be.
    pub fn token_ahead() -> Self {
        Self::precondition(
            ErrorReason::ConsistencyTokenAhead,
            "the consistency token names revisions this database has not reached: pass a token this deployment issued",
        )
    }

    /// The actor may not do this.
    pub fn denied(reason: ErrorReason, message: impl Into<String>) -> Self {
        Self::PermissionDenied {
            reason,
            message: message.into(),
            metadata: ErrorMetadata::default(),
        }
    }

    /// The thing to create exists already.
    pub fn exists(reason: ErrorReason, message: impl Into<String>) -> Self {
        Self::AlreadyExists {
            reason,
            message: message.into(),
            metadata: ErrorMetadata::default(),
        }
    }

    /// A quota would be exceeded.
    pub fn exhausted(reason: ErrorReason, message: impl Into<String>) -> Self {
        Self::ResourceExhausted {
            reason,
            message: message.into(),
            metadata: ErrorMetadata::default(),
            retry_after: None,
        }
    }

    /// Ended on purpose; resume where the metadata says.
    pub fn aborted(reason: ErrorReason, message: impl Into<String>) -> Self {
        Self::Aborted {
            reason,
            message: message.into(),
            metadata: ErrorMetadata::default(),
        }
    }

    /// The same refusal, saying the request passes after `delay` (a rate
    /// limit's window moving on). Only a [`ResourceExhausted`] carries it.
    ///
    /// [`ResourceExhausted`]: Self::ResourceExhausted
    #[must_use]
    pub fn retry_after(mut self, delay: std::time::Duration) -> Self {
        if let Self::ResourceExhausted { retry_after, .. } = &mut self {
            *retry_after = Some(delay);
        }
        self
    }

    /// The same error for a message nested in a request at `path`
    /// (PreviewInvitationEmail's `invite`): each bad field is named from the
    /// request the caller sent (`invite.email`), as docs/errors.md asks.
    #[must_use]
    pub fn nested_in(mut self, path: &str) -> Self {
        if let Self::InvalidArgument(violations) = &mut self {
            for violation in violations {
                violation.field = format!("{path}.{}", violation.field);
            }
        }
        self
    }

    /// Adds a fact for a program under a stable `key` (replacing an earlier
    /// value of that key). Only the reasoned variants carry metadata: on the
    /// others (field violations, not found, unavailable, internal) the fact
    /// is dropped, since their details say all there is.
    #[must_use]
    pub fn with(mut self, key: &'static str, value: impl ToString) -> Self {
        if let Some(metadata) = self.metadata_mut() {
            metadata.set(key, value.to_string());
        }
        self
    }

    /// The facts for a program, if this variant carries any.
    pub fn metadata(&self) -> Option<&ErrorMetadata> {
        match self {
            Self::AlreadyExists { metadata, .. }
            | Self::FailedPrecondition { metadata, .. }
            | Self::PermissionDenied { metadata, .. }
            | Self::ResourceExhausted { metadata, .. }
            | Self::Aborted { metadata, .. } => Some(metadata),
            Self::InvalidArgument(_)
            | Self::NotFound { .. }
            | Self::SecretNotFound { .. }
            | Self::Unavailable(_)
            | Self::Internal(_) => None,
        }
    }

    fn metadata_mut(&mut self) -> Option<&mut ErrorMetadata> {
        match self {
            Self::AlreadyExists { metadata, .. }
            | Self::FailedPrecondition { metadata, .. }
            | Self::PermissionDenied { metadata, .. }
            | Self::ResourceExhausted { metadata, .. }
            | Self::Aborted { metadata, .. } => Some(metadata),
            Self::InvalidArgument(_)
            | Self::NotFound { .. }
            | Self::SecretNotFound { .. }
            | Self::Unavailable(_)
            | Self::Internal(_) => None,
        }
    }

    /// An id names nothing.
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound { kind, id: id.into() }
    }
}

impl From<FieldViolation> for DomainError {
    fn from(violation: FieldViolation) -> Self {
        Self::InvalidArgument(vec![violation])
    }
}

/// Result of a use case.
pub type DomainResult<T> = Result<T, DomainError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_long_text_and_says_how_much() {
        assert_eq!(bounded("short", 10), "short");
        assert_eq!(bounded("ééééé", 3), "ééé… (2 more characters)");
        assert_eq!(bounded("a\nb", 10), "a\\nb");
        assert_eq!(
            echo(&"x".repeat(4_000_000)).chars().count(),
            MAX_ECHO_CHARS + "… (3999936 more characters)".chars().count()
        );
    }

    #[test]
    fn invalid_argument_lists_a_bounded_number_of_violations() {
        let violations: Vec<FieldViolation> = (0..100)
            .map(|i| FieldViolation::new(format!("f{i}"), "bad"))
            .collect();
        let message = DomainError::InvalidArgument(violations).to_string();
        assert!(message.contains("f19: bad"));
        assert!(!message.contains("f20: bad"));
        assert!(message.ends_with("and 80 more"), "{message}");
    }
}
