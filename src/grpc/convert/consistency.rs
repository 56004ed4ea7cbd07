//! Consistency tokens and requirements (docs/domain.md rule 11). A token is
//! opaque to callers: URL-safe base64 of a small protobuf naming account
//! revisions, so it can grow fields without breaking the ones in flight.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message;

use crate::domain::FieldViolation;
use crate::domain::ids::AccountId;
use crate::domain::model::{AccountRevision, Consistency, ConsistencyToken};
use crate::grpc::pb;

/// The token's wire form. Private: callers see only the encoded string.
#[derive(Clone, PartialEq, Message)]
struct TokenPb {
    #[prost(message, repeated, tag = "1")]
    revisions: Vec<RevisionPb>,
}

#[derive(Clone, PartialEq, Message)]
struct RevisionPb {
    #[prost(string, tag = "1")]
    account_id: String,
    #[prost(uint64, tag = "2")]
    revision: u64,
}

/// The token as a caller sees it; empty for an empty token.
pub fn token_to_pb(token: &ConsistencyToken) -> String {
    if token.is_empty() {
        return String::new();
    }
    let wire = TokenPb {
        revisions: token
            .0
            .iter()
            .map(|r| RevisionPb {
                account_id: r.account.to_string(),
                revision: r.revision,
            })
            .collect(),
    };
    URL_SAFE_NO_PAD.encode(wire.encode_to_vec())
}

/// Reads a token a caller passed back; `field` names it in the error.
pub fn token_from_pb(field: &str, raw: &str) -> Result<ConsistencyToken, FieldViolation> {
    let refused = || {
        FieldViolation::new(
            field,
            "is not a consistency token this service issued: pass a write response's consistency_token or an answer's computed_at unchanged",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| refused())?;
    let wire = TokenPb::decode(bytes.as_slice()).map_err(|_| refused())?;
    let revisions = wire
        .revisions
        .into_iter()
        .map(|r| {
            AccountId::parse(field, &r.account_id)
                .map(|account| AccountRevision {
                    account,
                    revision: r.revision,
                })
                .map_err(|_| refused())
        })
        .collect::<Result<Vec<_>, _>>()?;
    if revisions.is_empty() {
        return Err(refused());
    }
    Ok(ConsistencyToken(revisions))
}

/// The requirement of a check; `field` names it in errors. Unset is the default.
pub fn consistency(field: &str, raw: Option<&pb::Consistency>) -> Result<Consistency, FieldViolation> {
    use pb::consistency::Requirement;
    match raw.and_then(|c| c.requirement.as_ref()) {
        None | Some(Requirement::MinimizeLatency(_)) => Ok(Consistency::MinimizeLatency),
        Some(Requirement::FullyConsistent(_)) => Ok(Consistency::Full),
        // The empty token of a write that changed nothing requires nothing:
        // a caller relaying write tokens needs no special case for it.
        Some(Requirement::AtLeastAsFresh(token)) if token.trim().is_empty() => {
            Ok(Consistency::MinimizeLatency)
        }
        Some(Requirement::AtLeastAsFresh(token)) => Ok(Consistency::AtLeastAsFresh(token_from_pb(
            &format!("{field}.at_least_as_fresh"),
            token,
        )?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_survive_the_round_trip_and_garbage_is_refused() {
        let token = ConsistencyToken(vec![
            AccountRevision {
                account: AccountId::from_trusted("acme".into()),
                revision: 7,
            },
            AccountRevision {
                account: AccountId::from_trusted("acme-eu".into()),
                revision: 3,
            },
        ]);
        let encoded = token_to_pb(&token);
        assert!(!encoded.contains("acme"), "the token is opaque: {encoded}");
        assert_eq!(token_from_pb("t", &encoded).unwrap(), token);
        assert!(token_from_pb("t", "not a token!").is_err());
        assert!(token_from_pb("t", "").is_err());
        let relayed_empty = pb::Consistency {
            requirement: Some(pb::consistency::Requirement::AtLeastAsFresh(String::new())),
        };
        assert_eq!(
            consistency("c", Some(&relayed_empty)).unwrap(),
            Consistency::MinimizeLatency
        );
        assert_eq!(token_to_pb(&ConsistencyToken::default()), "");
    }
}
