//! Rule 9 of docs/domain.md for identities: which (user id, email) pairing
//! the store keeps when a call names a person. The identity provider owns
//! both, but the service hears of them only through calls that may not come
//! from it, so a pairing is only as good as what proved it. The use case that
//! reads and writes the pairing is `service::people`.

use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::Email;
use crate::domain::model::{Identity, Person};

/// What stands behind a call's claim that a user id has an email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Accepting an invitation with its token: the token was sent to the
    /// address, so whoever holds it reads that inbox now.
    Proven,
    /// Anything else: today the owner named in CreateAccount. That call needs
    /// a `platform` API key, but without keys (loopback) any local process
    /// sends it, and a platform key creating accounts is not the identity
    /// provider vouching for an address: it claims, never moves anyone.
    /// NOTE for a trusted path: an RPC through which the platform states the
    /// identity provider's view of a user (id, email, name), `platform`
    /// scope only and only with keys configured, would pass `Proven` here.
    Unproven,
}

/// A known id takes a new address only on a proven claim: an unproven claim
/// never moves anyone (`USER_EMAIL_MISMATCH`), or it could free a victim's
/// address for a squatter.
pub fn address_move_refused(person: &Person, claim: Claim) -> DomainResult<()> {
    if claim == Claim::Proven {
        return Ok(());
    }
    Err(DomainError::precondition(
        ErrorReason::UserEmailMismatch,
        format!(
            "user '{}' is registered with another email address; sign in with that address, or accept an invitation sent to the new one",
            person.user_id
        ),
    ))
}

/// An address held by another id is taken from them only by a proven claim,
/// and only if the holder's pairing is `stale` (never proven, or they are an
/// active member nowhere): else `EMAIL_IN_USE`.
pub fn address_takeover_refused(person: &Person, claim: Claim, stale: bool) -> DomainResult<()> {
    if claim == Claim::Proven && stale {
        return Ok(());
    }
    Err(DomainError::precondition(
        ErrorReason::EmailInUse,
        format!("'{}' belongs to another user id", person.email),
    ))
}

/// The address a displaced holder keeps: not an address at all (`.invalid`
/// is reserved, RFC 2606, and refused by `Email::parse`), unique because
/// ids are, so the row stays valid until its owner's next claim.
pub fn displaced_email(holder: &Identity) -> Email {
    Email::from_trusted(format!("{}@displaced.invalid", holder.person.user_id))
}
