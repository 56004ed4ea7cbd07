//! The claims of an actor token this service reads, and what they prove.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::ids::{Email, UserId};
use crate::domain::model::ProvenActor;

/// The claims read from a verified token (the signature, `iss`, `aud`,
/// `exp` and `nbf` were checked by the JWT library).
#[derive(Debug, Deserialize)]
pub struct Claims {
    /// The person.
    pub sub: String,
    /// How they authenticated (RFC 8176 values: `mfa`, `otp`, `hwk`, …).
    #[serde(default)]
    pub amr: Vec<String>,
    /// The authentication context class they reached, if the issuer says.
    #[serde(default)]
    pub acr: Option<String>,
    /// When they authenticated, in seconds since the epoch.
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// Their address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the issuer verified it: a boolean, or the strings `"true"`
    /// and `"false"` that some issuers send.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub email_verified: bool,
}

fn bool_or_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(match Option::<Flag>::deserialize(deserializer)? {
        Some(Flag::Bool(flag)) => flag,
        Some(Flag::Text(text)) => text == "true",
        None => false,
    })
}

/// Which claims say the person passed two-factor.
#[derive(Clone, Debug, Default)]
pub struct MfaClaims {
    /// `amr` values any one of which means a second factor was used.
    pub amr: Vec<String>,
    /// `acr` values that mean it.
    pub acr: Vec<String>,
}

impl MfaClaims {
    /// Whether `claims` show a second factor.
    pub fn passed(&self, claims: &Claims) -> bool {
        claims.amr.iter().any(|value| self.amr.contains(value))
            || claims.acr.as_ref().is_some_and(|value| self.acr.contains(value))
    }
}

/// Why claims that verified still prove no one.
#[derive(Debug, thiserror::Error)]
pub enum ClaimRefusal {
    /// `sub` is not a user id this service accepts.
    #[error("its subject (sub) is not a user id this service accepts: {0}")]
    Subject(String),
}

impl Claims {
    /// The person these claims prove, as the domain sees them. An address
    /// that does not parse is kept as no address (it proves nothing), not a
    /// refusal: the token still proves who the person is.
    pub fn proven(&self) -> Result<ProvenActor, ClaimRefusal> {
        let subject = UserId::parse("sub", &self.sub).map_err(|v| ClaimRefusal::Subject(v.description))?;
        let email = self
            .email
            .as_deref()
            .and_then(|raw| Email::parse("email", raw).ok());
        Ok(ProvenActor {
            subject,
            signed_in_at: self
                .auth_time
                .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0)),
            email_verified: self.email_verified && email.is_some(),
            email,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Claims {
        serde_json::from_str(json).expect("claims")
    }

    #[test]
    fn two_factor_comes_from_the_configured_amr_or_acr() {
        let mfa = MfaClaims {
            amr: vec!["mfa".into(), "hwk".into()],
            acr: vec!["urn:example:mfa".into()],
        };
        assert!(mfa.passed(&claims(r#"{"sub":"u","amr":["pwd","hwk"]}"#)));
        assert!(mfa.passed(&claims(r#"{"sub":"u","acr":"urn:example:mfa"}"#)));
        assert!(!mfa.passed(&claims(r#"{"sub":"u","amr":["pwd"]}"#)));
        assert!(!mfa.passed(&claims(r#"{"sub":"u","acr":"1"}"#)));
        assert!(!mfa.passed(&claims(r#"{"sub":"u"}"#)));
    }

    #[test]
    fn email_verified_is_read_as_a_boolean_or_its_string() {
        assert!(claims(r#"{"sub":"u","email_verified":true}"#).email_verified);
        assert!(claims(r#"{"sub":"u","email_verified":"true"}"#).email_verified);
        assert!(!claims(r#"{"sub":"u","email_verified":"yes"}"#).email_verified);
        assert!(!claims(r#"{"sub":"u"}"#).email_verified);
    }

    #[test]
    fn the_proven_person() {
        let proven =
            claims(r#"{"sub":"u-1","auth_time":1700000000,"email":"Ann@Example.com","email_verified":true}"#)
                .proven()
                .expect("proven");
        assert_eq!(proven.subject.as_str(), "u-1");
        assert_eq!(proven.signed_in_at.map(|t| t.timestamp()), Some(1_700_000_000));
        assert!(proven.email_verified);
        assert!(proven.email.is_some());
        // A malformed address proves nothing, verified or not.
        let odd = claims(r#"{"sub":"u-1","email":"<v@x.com>","email_verified":true}"#).proven();
        let odd = odd.expect("proven");
        assert!(odd.email.is_none() && !odd.email_verified);
        assert!(claims(r#"{"sub":" spaced "}"#).proven().is_err());
    }
}
