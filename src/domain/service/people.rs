//! Rule 9 of docs/domain.md for identities, against the store: reads the
//! pairing a call's person touches and writes what `rules::people` allows.

use chrono::{DateTime, Utc};

use super::UseCases;
use crate::domain::error::DomainResult;
use crate::domain::model::{Identity, Person};
use crate::domain::ports::Transaction;
use crate::domain::rules::people::{Claim, address_move_refused, address_takeover_refused, displaced_email};

impl UseCases {
    /// Makes the store's pairing agree with `person` as far as `claim` allows:
    /// - a new id takes a free address;
    /// - a known id takes a new address (and name) on a proven claim only;
    /// - an address held by another id is taken from them only by a proven
    ///   claim, and only if theirs was never proven or they are an active
    ///   member nowhere (a stale pairing). The holder keeps a placeholder
    ///   address until their next claim.
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
            address_move_refused(person, claim)?;
        }
        if let Some(holder) = tx.identity_by_email(&person.email).await? {
            if holder.person.user_id == person.user_id {
                // The same user, committed by a concurrent request since the read above.
                return Ok(());
            }
            let stale = !holder.email_proven || !tx.active_anywhere(&holder.person.user_id).await?;
            address_takeover_refused(person, claim, stale)?;
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
