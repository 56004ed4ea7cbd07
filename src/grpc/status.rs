//! The one mapping from domain errors to gRPC statuses.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{DomainError, ErrorMetadata};

/// `google.rpc.ErrorInfo.domain` of every error this service reports.
pub const ERROR_DOMAIN: &str = "access.v1";

fn with_reason(code: Code, reason: &str, metadata: ErrorMetadata, message: String) -> Status {
    let metadata: HashMap<String, String> = metadata
        .pairs()
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect();
    with_error_info(code, reason, metadata, message)
}

/// A status with a google.rpc.ErrorInfo of this service's domain: `reason`
/// says which rule refused, `metadata` what a client needs to act on it.
pub(crate) fn with_error_info(
    code: Code,
    reason: &str,
    metadata: HashMap<String, String>,
    message: String,
) -> Status {
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

impl From<DomainError> for Status {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::InvalidArgument(violations) => {
                let message = DomainError::InvalidArgument(violations.clone()).to_string();
                let mut details = ErrorDetails::new();
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            DomainError::NotFound { kind, id } => {
                let message = format!("{kind} '{id}' not found");
                let details = ErrorDetails::with_resource_info(kind, id, "", message.clone());
                Status::with_error_details(Code::NotFound, message, details)
            }
            DomainError::AlreadyExists {
                reason,
                message,
                metadata,
            } => with_reason(Code::AlreadyExists, reason, metadata, message),
            DomainError::FailedPrecondition {
                reason,
                message,
                metadata,
            } => with_reason(Code::FailedPrecondition, reason, metadata, message),
            DomainError::PermissionDenied {
                reason,
                message,
                metadata,
            } => with_reason(Code::PermissionDenied, reason, metadata, message),
            DomainError::ResourceExhausted {
                reason,
                message,
                metadata,
            } => with_reason(Code::ResourceExhausted, reason, metadata, message),
            DomainError::Unavailable(message) => Status::unavailable(message),
            DomainError::Internal(cause) => {
                // The cause may hold SQL or internals: log it, tell the client only that it happened.
                tracing::error!(%cause, "internal error");
                Status::internal(
                    "internal error: it has been logged; retrying will not help until it is fixed",
                )
            }
        }
    }
}
