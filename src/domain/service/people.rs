//! Rule 9 of docs/domain.md for identities: which (user id, email) pairing
//! the store keeps when a call names a person. The identity provider owns
//! both, but the service hears of them only through calls that may not come
//! from it, so a pairing is only as good as what proved it.

use chrono::{DateTime, Utc};

use super::UseCases;
use crate::domain::error::{DomainError, DomainResult, ErrorReason};
use crate::domain::ids::Email;
use crate::domain::model::{Identity, Person};
use crate::domain::ports::Transaction;

/// What stands behind a call's claim that a user id has an email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Claim {
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

/// The address a displaced holder keeps: not an address at all (`.invalid`
/// is reserved, RFC 2606, and refused by `Email::parse`), unique because
/// ids are, so the row stays valid until its owner's next claim.
fn displaced_email(holder: &Identity) -> Email {
    Email::from_trusted(format!("{}@displaced.invalid", holder.person.user_id))
}

impl UseCases {
    /// Makes the store's pairing agree with `person` as far as `claim` allows:
    /// - a new id takes a free address;
    /// - a known id takes a new address (and name) on a proven claim only;
    ///   an unproven claim never moves anyone (`USER_EMAIL_MISMATCH`), or it
    ///   could free a victim's address for a squatter;
    /// - an address held by another id is taken from them only by a proven
    ///   claim, and only if theirs was never proven or they are an active
    ///   member nowhere (a stale pairing): else `EMAIL_IN_USE`. The holder
    ///   keeps a placeholder address until their next claim.
    pub(super) async fn ensure_person(
        tx: &dyn Transaction,
        person: &Person,
        claim: Claim,
        now: DateTime<Utc>,
    ) -> DomainResult<()> {
        let proven = claim == Claim::Proven;
        let known = tx.identity(&person.user_id).await?;
        if let Some(known) = &known {
            if known.person.email == person.email {
                if proven && (!known.email_proven || known.person.name != person.name) {
                    tx.update_identity(&Identity {
                        person: person.clone(),
                        email_proven: true,
                    })
                    .await?;
                }
                return Ok(());
            }
            if !proven {
                return Err(DomainError::precondition(
                    ErrorReason::UserEmailMismatch,
                    format!(
                        "user '{}' is registered with another email address; sign in with that address, or accept an invitation sent to the new one",
                        person.user_id
                    ),
                ));
            }
        }
        if let Some(holder) = tx.identity_by_email(&person.email).await? {
            if holder.person.user_id == person.user_id {
                // The same user, committed by a concurrent request since the read above.
                return Ok(());
            }
            let stale = !holder.email_proven || !tx.active_anywhere(&holder.person.user_id).await?;
            if !proven || !stale {
                return Err(DomainError::precondition(
                    ErrorReason::EmailInUse,
                    format!("'{}' belongs to another user id", person.email),
                ));
            }
            tx.update_identity(&Identity {
                person: Person {
                    email: displaced_email(&holder),
                    ..holder.person.clone()
                },
                email_proven: false,
            })
            .await?;
        }
        let identity = Identity {
            person: person.clone(),
            email_proven: proven,
        };
        match known {
            Some(_) => tx.update_identity(&identity).await,
            None => tx.insert_person(&identity, now).await,
        }
    }
}
