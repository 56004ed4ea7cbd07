//! The one mapping from middleware refusals to gRPC statuses, the edge's
//! counterpart of `status.rs` (which maps `DomainError`).

use std::collections::HashMap;

use tonic::{Code, Status};
use tower::BoxError;
use tower::load_shed::error::Overloaded;
use tower::timeout::error::Elapsed;

use super::auth::AuthRefusal;
use super::caller_limit::CallerBusy;
use super::drain::ShuttingDown;
use crate::domain::ErrorReason;
use crate::grpc::status::with_error_info;

/// Why a layer of the stack refused a request before or instead of a handler.
/// A new layer that refuses adds its variant here, and the match below makes
/// the compiler ask for its status.
enum Refusal {
    /// The timeout layer stopped the request.
    TimedOut,
    /// Load shedding refused the request: the concurrency limit was full.
    Overloaded,
    /// Caller authentication refused it.
    Auth(AuthRefusal),
    /// The shutdown deadline passed before the request finished.
    ShuttingDown,
    /// The caller had its own limit of requests in flight.
    CallerBusy(CallerBusy),
}

impl Refusal {
    /// Recognises the refusals this stack produces; anything else is given back.
    fn of(err: BoxError) -> Result<Self, BoxError> {
        if err.is::<Elapsed>() {
            Ok(Self::TimedOut)
        } else if err.is::<Overloaded>() {
            Ok(Self::Overloaded)
        } else if err.is::<ShuttingDown>() {
            Ok(Self::ShuttingDown)
        } else if err.is::<CallerBusy>() {
            err.downcast::<CallerBusy>().map(|busy| Self::CallerBusy(*busy))
        } else {
            err.downcast::<AuthRefusal>().map(|refusal| Self::Auth(*refusal))
        }
    }
}

impl From<Refusal> for Status {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            // DEADLINE_EXCEEDED, not tonic's own timeout answer (CANCELLED),
            // so clients know the server gave up and may retry with more time.
            Refusal::TimedOut => {
                Status::deadline_exceeded("the request took longer than the server's time limit")
            }
            // UNAVAILABLE is the code gRPC clients treat as safe to retry.
            Refusal::Overloaded => {
                Status::unavailable("the server is at its concurrent-request limit; retry shortly")
            }
            Refusal::Auth(refusal) => refusal.into(),
            // UNAVAILABLE again: another replica can answer the retry.
            Refusal::ShuttingDown => Status::unavailable(
                "the server is shutting down and its deadline for in-flight requests passed; retry",
            ),
            // RESOURCE_EXHAUSTED, not UNAVAILABLE: the caller's own quota is
            // full, another replica would say the same; clients do not retry
            // it blindly.
            Refusal::CallerBusy(busy) => with_error_info(
                Code::ResourceExhausted,
                ErrorReason::CallerConcurrencyLimit,
                HashMap::from([("limit".to_owned(), busy.limit.to_string())]),
                busy.to_string(),
            ),
        }
    }
}

impl From<AuthRefusal> for Status {
    fn from(refusal: AuthRefusal) -> Self {
        let message = refusal.to_string();
        let (code, reason, metadata) = match refusal {
            AuthRefusal::Missing => (Code::Unauthenticated, ErrorReason::ApiKeyMissing, HashMap::new()),
            AuthRefusal::Malformed => (
                Code::Unauthenticated,
                ErrorReason::ApiKeyMalformed,
                HashMap::new(),
            ),
            AuthRefusal::Unknown => (Code::Unauthenticated, ErrorReason::ApiKeyUnknown, HashMap::new()),
            // The identity is the certificate's, already verified: naming it
            // tells the operator what to map, and reveals nothing to its holder.
            AuthRefusal::UnknownIdentity(identity) | AuthRefusal::AmbiguousIdentity(identity) => (
                Code::Unauthenticated,
                ErrorReason::ClientIdentityUnknown,
                HashMap::from([("identity".to_owned(), identity)]),
            ),
            // The metadata names the scope, so a client can say which key to use.
            AuthRefusal::MissingScope { needed, .. } => (
                Code::PermissionDenied,
                ErrorReason::ScopeMissing,
                HashMap::from([("scope".to_owned(), needed.as_str().to_owned())]),
            ),
            AuthRefusal::UnknownMethod(_) => {
                (Code::Unimplemented, ErrorReason::MethodUnknown, HashMap::new())
            }
            AuthRefusal::NoCaller => {
                tracing::error!("a handler that needs the caller ran without the authentication layer");
                (Code::Internal, ErrorReason::NoCaller, HashMap::new())
            }
        };
        with_error_info(code, reason, metadata, message)
    }
}

/// Turns a middleware refusal into a gRPC status, because tonic answers only
/// errors that already are a `Status` (any other error resets the stream).
/// Errors that are not ours to map are passed on unchanged.
pub fn to_status(err: BoxError) -> BoxError {
    match Refusal::of(err) {
        Ok(refusal) => Box::new(Status::from(refusal)),
        Err(err) => err,
    }
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;
    use crate::grpc::middleware::KeyScope;

    fn status(err: BoxError) -> Option<Status> {
        to_status(err).downcast::<Status>().ok().map(|status| *status)
    }

    #[test]
    fn refusals_become_their_codes_and_other_errors_pass_through() {
        assert_eq!(
            status(Box::new(Elapsed::new())).map(|s| s.code()),
            Some(Code::DeadlineExceeded)
        );
        assert_eq!(
            status(Box::new(Overloaded::new())).map(|s| s.code()),
            Some(Code::Unavailable)
        );
        assert_eq!(
            status(Box::new(ShuttingDown)).map(|s| s.code()),
            Some(Code::Unavailable)
        );
        let busy = status(Box::new(CallerBusy {
            caller: "campaigns".into(),
            limit: 3,
        }))
        .expect("a status");
        assert_eq!(busy.code(), Code::ResourceExhausted);
        let info = busy.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "CALLER_CONCURRENCY_LIMIT");
        assert_eq!(info.metadata.get("limit").map(String::as_str), Some("3"));
        let other: BoxError = "broken pipe".into();
        assert_eq!(to_status(other).to_string(), "broken pipe");
    }

    #[test]
    fn auth_refusals_carry_error_info() {
        for (refusal, code, reason) in [
            (AuthRefusal::Missing, Code::Unauthenticated, "API_KEY_MISSING"),
            (AuthRefusal::Malformed, Code::Unauthenticated, "API_KEY_MALFORMED"),
            (AuthRefusal::Unknown, Code::Unauthenticated, "API_KEY_UNKNOWN"),
        ] {
            let status = status(Box::new(refusal)).expect("a status");
            assert_eq!(status.code(), code);
            assert_eq!(
                status.get_details_error_info().map(|i| i.reason),
                Some(reason.into())
            );
        }
        let status = status(Box::new(AuthRefusal::MissingScope {
            caller: "campaigns".into(),
            needed: KeyScope::Write,
            method: "Invite".into(),
        }))
        .expect("a status");
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(status.message().contains("'write' scope"), "{}", status.message());
        let info = status.get_details_error_info().expect("error info");
        assert_eq!(info.reason, "SCOPE_MISSING");
        assert_eq!(info.metadata.get("scope").map(String::as_str), Some("write"));
    }
}
