//! The one mapping from middleware refusals to gRPC statuses, the edge's
//! counterpart of `status.rs` (which maps `DomainError`).

use tonic::Status;
use tower::BoxError;
use tower::load_shed::error::Overloaded;
use tower::timeout::error::Elapsed;

use super::drain::ShuttingDown;

/// Why a layer of the stack refused a request before or instead of a handler.
/// A new layer that refuses adds its variant here, and the match below makes
/// the compiler ask for its status.
enum Refusal {
    /// The timeout layer stopped the request.
    TimedOut,
    /// Load shedding refused the request: the concurrency limit was full.
    Overloaded,
    /// The shutdown deadline passed before the request finished.
    ShuttingDown,
}

impl Refusal {
    /// Recognises the refusals this stack produces; anything else passes through.
    fn of(err: &BoxError) -> Option<Self> {
        if err.is::<Elapsed>() {
            Some(Self::TimedOut)
        } else if err.is::<Overloaded>() {
            Some(Self::Overloaded)
        } else if err.is::<ShuttingDown>() {
            Some(Self::ShuttingDown)
        } else {
            None
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
            // UNAVAILABLE again: another replica can answer the retry.
            Refusal::ShuttingDown => Status::unavailable(
                "the server is shutting down and its deadline for in-flight requests passed; retry",
            ),
        }
    }
}

/// Turns a middleware refusal into a gRPC status, because tonic answers only
/// errors that already are a `Status` (any other error resets the stream).
/// Errors that are not ours to map are passed on unchanged.
pub fn to_status(err: BoxError) -> BoxError {
    match Refusal::of(&err) {
        Some(refusal) => Box::new(Status::from(refusal)),
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    fn code(err: BoxError) -> Option<Code> {
        to_status(err)
            .downcast::<Status>()
            .ok()
            .map(|status| status.code())
    }

    #[test]
    fn refusals_become_their_codes_and_other_errors_pass_through() {
        assert_eq!(code(Box::new(Elapsed::new())), Some(Code::DeadlineExceeded));
        assert_eq!(code(Box::new(Overloaded::new())), Some(Code::Unavailable));
        assert_eq!(code(Box::new(ShuttingDown)), Some(Code::Unavailable));
        let other: BoxError = "broken pipe".into();
        assert_eq!(to_status(other).to_string(), "broken pipe");
    }
}
