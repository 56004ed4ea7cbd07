//! The one error type that crosses the domain boundary.

/// A field of a request that was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// The request field, in the proto's snake_case path (e.g. `owner.email`).
    pub field: String,
    /// What is wrong with it, for a person to act on.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
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
    /// The thing to create exists already.
    #[error("{message}")]
    AlreadyExists {
        /// Stable machine-readable reason (google.rpc.ErrorInfo.reason).
        reason: &'static str,
        /// What exists, for a person.
        message: String,
    },
    /// A rule forbids the change in the current state.
    #[error("{message}")]
    FailedPrecondition {
        /// Stable machine-readable reason.
        reason: &'static str,
        /// What to do about it.
        message: String,
        /// Facts a program can act on (google.rpc.ErrorInfo.metadata), such
        /// as the role of the invitation that blocks the change.
        metadata: Vec<(&'static str, String)>,
    },
    /// The actor lacks the right to make this change.
    #[error("{message}")]
    PermissionDenied {
        /// Stable machine-readable reason.
        reason: &'static str,
        /// Which permission is missing, or which rule refused.
        message: String,
    },
    /// A quota would be exceeded.
    #[error("{message}")]
    ResourceExhausted {
        /// Stable machine-readable reason.
        reason: &'static str,
        /// Which limit, and its value.
        message: String,
    },
    /// A dependency (the database) cannot be reached; retrying may help.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or unexpected state: logged in full, reported to clients generically.
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    /// One bad field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// A rule refused the change.
    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Self {
        Self::precondition_with(reason, message, Vec::new())
    }

    /// A rule refused the change; `metadata` names what blocks it.
    pub fn precondition_with(
        reason: &'static str,
        message: impl Into<String>,
        metadata: Vec<(&'static str, String)>,
    ) -> Self {
        Self::FailedPrecondition {
            reason,
            message: message.into(),
            metadata,
        }
    }

    /// The actor may not do this.
    pub fn denied(reason: &'static str, message: impl Into<String>) -> Self {
        Self::PermissionDenied {
            reason,
            message: message.into(),
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
