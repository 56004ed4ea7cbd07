//! The one mapping from domain errors to gRPC statuses.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::error::{MAX_ECHO_CHARS, MAX_MESSAGE_CHARS, MAX_REPORTED_VIOLATIONS, bounded, echo};
use crate::domain::{DomainError, ErrorMetadata, ErrorReason};

/// `google.rpc.ErrorInfo.domain` of every error this service reports.
pub const ERROR_DOMAIN: &str = "access.v1";

fn with_reason(code: Code, reason: ErrorReason, metadata: ErrorMetadata, message: String) -> Status {
    let metadata: HashMap<String, String> = metadata
        .pairs()
        .iter()
        .map(|(key, value)| ((*key).to_owned(), value.clone()))
        .collect();
    with_error_info(code, reason, metadata, message)
}

/// A status with a google.rpc.ErrorInfo of this service's domain: `reason`
/// says which rule refused, `metadata` what a client needs to act on it.
/// Every message leaves bounded: some list what the store holds (the members
/// on a role, say), however many that is.
pub(crate) fn with_error_info(
    code: Code,
    reason: ErrorReason,
    metadata: HashMap<String, String>,
    message: String,
) -> Status {
    let details = ErrorDetails::with_error_info(reason.as_str(), ERROR_DOMAIN, metadata);
    Status::with_error_details(code, bounded(&message, MAX_MESSAGE_CHARS), details)
}

/// `status` with a google.rpc.RetryInfo saying the request passes after
/// `delay`, beside the details it has.
fn with_retry_info(status: Status, delay: std::time::Duration) -> Status {
    let mut details = status.get_error_details();
    details.set_retry_info(Some(delay));
    Status::with_error_details(status.code(), status.message(), details)
}

impl From<DomainError> for Status {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::InvalidArgument(violations) => {
                let message = bounded(
                    &DomainError::InvalidArgument(violations.clone()).to_string(),
                    MAX_MESSAGE_CHARS,
                );
                // As many as the message names; each one bounded like it.
                let field_violations: Vec<tonic_types::FieldViolation> = violations
                    .into_iter()
                    .take(MAX_REPORTED_VIOLATIONS)
                    .map(|violation| tonic_types::FieldViolation {
                        field: bounded(&violation.field, MAX_ECHO_CHARS),
                        description: bounded(&violation.description, MAX_MESSAGE_CHARS),
                        reason: violation
                            .reason
                            .map(ErrorReason::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        localized_message: None,
                    })
                    .collect();
                let details = ErrorDetails::with_bad_request(field_violations);
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            DomainError::NotFound { kind, id } => {
                let message = format!("{kind} '{}' not found", echo(&id));
                let details = ErrorDetails::with_resource_info(kind, id, "", message.clone());
                Status::with_error_details(Code::NotFound, message, details)
            }
            DomainError::SecretNotFound { reason, message } => {
                with_error_info(Code::NotFound, reason, HashMap::new(), message)
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
                retry_after,
            } => {
                let status = with_reason(Code::ResourceExhausted, reason, metadata, message);
                match retry_after {
                    Some(delay) => with_retry_info(status, delay),
                    None => status,
                }
            }
            // ABORTED, not UNAVAILABLE: the same request again would start
            // over; the client resumes from the position in the metadata.
            DomainError::Aborted {
                reason,
                message,
                metadata,
            } => with_reason(Code::Aborted, reason, metadata, message),
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
