//! Rule 15: who is acting. A verified actor token proves the person; a
//! sensitive act also needs a recent sign-in, so a stolen or long-lived
//! session cannot hand the account away.

use chrono::{DateTime, Duration, Utc};

use crate::domain::model::{ActorProof, ProvenActor};

/// Why a sensitive act is refused for the age of the actor's sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaleSignIn {
    /// The token does not say when the person signed in (`auth_time`).
    Unknown,
    /// The person signed in at this time, longer ago than allowed.
    At(DateTime<Utc>),
}

/// Whether a sensitive act must wait for the person to sign in again: only
/// a verified token is judged (on the caller's word, the caller vouches for
/// the session as it does for two-factor). A sign-in time in the future
/// (clock skew) counts as now.
pub fn stale_sign_in(proof: &ActorProof, now: DateTime<Utc>, max_age: Duration) -> Option<StaleSignIn> {
    let ActorProof::Token(ProvenActor { signed_in_at, .. }) = proof else {
        return None;
    };
    match signed_in_at {
        None => Some(StaleSignIn::Unknown),
        Some(at) if now - *at > max_age => Some(StaleSignIn::At(*at)),
        Some(_) => None,
    }
}

/// Whether a token proves `email` as the person's own: the identity
/// provider verified it, and it is the same address (compared as the
/// service stores addresses: already normalised by parsing).
pub fn proves_email(proven: &ProvenActor, email: &crate::domain::ids::Email) -> bool {
    proven.email_verified && proven.email.as_ref() == Some(email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{Email, UserId};

    fn token(signed_in_at: Option<DateTime<Utc>>) -> ActorProof {
        ActorProof::Token(ProvenActor {
            subject: UserId::from_trusted("u-1".to_owned()),
            signed_in_at,
            email: Some(Email::from_trusted("a@example.com".to_owned())),
            email_verified: true,
        })
    }

    #[test]
    fn callers_word_is_never_stale() {
        let now = Utc::now();
        assert_eq!(
            stale_sign_in(&ActorProof::CallersWord, now, Duration::zero()),
            None
        );
    }

    #[test]
    fn a_token_without_auth_time_is_stale() {
        let now = Utc::now();
        assert_eq!(
            stale_sign_in(&token(None), now, Duration::minutes(10)),
            Some(StaleSignIn::Unknown)
        );
    }

    #[test]
    fn the_age_is_held_to_the_limit() {
        let now = Utc::now();
        let max = Duration::minutes(10);
        assert_eq!(
            stale_sign_in(&token(Some(now - Duration::minutes(9))), now, max),
            None
        );
        assert_eq!(
            stale_sign_in(&token(Some(now + Duration::minutes(1))), now, max),
            None
        );
        let old = now - Duration::minutes(11);
        assert_eq!(
            stale_sign_in(&token(Some(old)), now, max),
            Some(StaleSignIn::At(old))
        );
    }

    #[test]
    fn an_email_is_proven_only_verified_and_equal() {
        let ActorProof::Token(mut proven) = token(None) else {
            unreachable!()
        };
        let email = Email::from_trusted("a@example.com".to_owned());
        assert!(proves_email(&proven, &email));
        assert!(!proves_email(
            &proven,
            &Email::from_trusted("b@example.com".to_owned())
        ));
        proven.email_verified = false;
        assert!(!proves_email(&proven, &email));
    }
}
