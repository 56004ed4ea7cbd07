//! The actor's session facts on admin calls (rule 3), read from gRPC
//! metadata so every admin RPC carries them one way, without a field on
//! each request message.

use tonic::metadata::MetadataMap;

use crate::domain::DomainError;
use crate::domain::model::{ActorProof, ActorSession};

/// The metadata key saying the actor's session passed two-factor.
pub const ACTOR_MFA_HEADER: &str = "x-actor-mfa-verified";

/// The actor's session as the caller vouches for it. Absent means not
/// verified (fail closed); only `true` or `false` are understood, so a typo
/// is refused rather than quietly read as either.
pub fn actor_session(metadata: &MetadataMap) -> Result<ActorSession, DomainError> {
    let Some(value) = metadata.get(ACTOR_MFA_HEADER) else {
        return Ok(ActorSession::default());
    };
    let mfa_verified = match value.to_str().map(str::trim) {
        Ok("true") => true,
        Ok("false") => false,
        _ => {
            return Err(DomainError::invalid(
                ACTOR_MFA_HEADER,
                "metadata must be `true` (the actor's session passed two-factor) or `false`",
            ));
        }
    };
    Ok(ActorSession {
        mfa_verified,
        proof: ActorProof::CallersWord,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: Option<&'static str>) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        if let Some(value) = value {
            metadata.insert(ACTOR_MFA_HEADER, value.parse().expect("ascii"));
        }
        metadata
    }

    #[test]
    fn absent_is_not_verified() {
        assert!(!actor_session(&with(None)).expect("ok").mfa_verified);
    }

    #[test]
    fn true_and_false_are_read() {
        assert!(actor_session(&with(Some("true"))).expect("ok").mfa_verified);
        assert!(!actor_session(&with(Some("false"))).expect("ok").mfa_verified);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["yes", "1", "TRUE ish", ""] {
            assert!(
                matches!(
                    actor_session(&with(Some(bad))),
                    Err(DomainError::InvalidArgument(_))
                ),
                "{bad}"
            );
        }
    }
}
