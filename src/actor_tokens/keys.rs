//! The identity provider's signing keys (a JWKS document), as this service
//! uses them: only keys for the algorithms it accepts, each tied to exactly
//! one algorithm, so a token cannot pick how its own signature is checked.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// Most keys kept from one JWKS document: issuers publish a handful (the
/// current key and the next or the previous one).
pub const MAX_KEYS: usize = 32;

/// One usable key: the algorithm it verifies, and its id.
#[derive(Clone)]
pub struct SigningKey {
    /// `kid`, when the document gives one.
    pub kid: Option<String>,
    /// The one algorithm this key verifies, fixed by its type and curve.
    pub algorithm: Algorithm,
    /// The public key.
    pub key: DecodingKey,
}

/// The usable keys of a JWKS document.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|k| (k.kid.as_deref().unwrap_or("-"), k.algorithm)),
            )
            .finish()
    }
}

impl KeySet {
    /// Reads a JWKS document. A key this service cannot use (an encryption
    /// key, an HMAC secret, another curve, an algorithm it does not accept)
    /// is skipped and named in the log, so an issuer that adds a new kind of
    /// key does not break the ones that work; a document with no usable key
    /// at all is an error.
    pub fn parse(document: &str) -> anyhow::Result<Self> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document = serde_json::from_str(document)
            .map_err(|err| anyhow::anyhow!("not a JWKS document (a JSON object with `keys`): {err}"))?;
        let mut keys = Vec::new();
        for (i, raw) in document.keys.into_iter().enumerate() {
            match usable(raw) {
                Ok(key) if keys.len() < MAX_KEYS => keys.push(key),
                Ok(_) => tracing::warn!(position = i, max = MAX_KEYS, "JWKS key skipped: too many keys"),
                Err(why) => tracing::info!(position = i, %why, "JWKS key skipped"),
            }
        }
        anyhow::ensure!(
            !keys.is_empty(),
            "the JWKS document holds no key this service can use (RS256, ES256 on P-256 or EdDSA on Ed25519, for signing)"
        );
        Ok(Self { keys })
    }

    /// How many keys are usable.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key a token with this header names: by `kid` when it has one;
    /// without one, the only key of its algorithm (several would leave the
    /// choice to guessing). The key must verify exactly `algorithm`.
    pub fn find(&self, kid: Option<&str>, algorithm: Algorithm) -> Option<&SigningKey> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid) && k.algorithm == algorithm),
            None => {
                let mut of_alg = self.keys.iter().filter(|k| k.algorithm == algorithm);
                let only = of_alg.next();
                if of_alg.next().is_some() { None } else { only }
            }
        }
    }

    /// Whether a key with this `kid` is known, whatever its algorithm.
    pub fn knows(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

/// The key a JWK describes, if this service can use it to verify tokens.
fn usable(raw: serde_json::Value) -> Result<SigningKey, String> {
    let jwk: Jwk = serde_json::from_value(raw).map_err(|err| format!("unreadable: {err}"))?;
    if matches!(jwk.common.public_key_use, Some(ref used) if *used != PublicKeyUse::Signature) {
        return Err("not a signing key (`use` is not `sig`)".into());
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => return Err("a shared secret (HMAC), never accepted".into()),
        AlgorithmParameters::EllipticCurve(_) | AlgorithmParameters::OctetKeyPair(_) => {
            return Err("a curve this service does not accept".into());
        }
    };
    // A key that names its algorithm must name the one its type implies
    // (an RSA key marked PS256 or RS512 is not used for RS256).
    if let Some(named) = jwk.common.key_algorithm {
        let implied = if algorithm == Algorithm::ES256 {
            KeyAlgorithm::ES256
        } else if algorithm == Algorithm::EdDSA {
            KeyAlgorithm::EdDSA
        } else {
            KeyAlgorithm::RS256
        };
        if named != implied {
            return Err(format!(
                "marked for {named:?}, which this service does not accept"
            ));
        }
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|err| format!("not a valid public key: {err}"))?;
    Ok(SigningKey {
        kid: jwk.common.key_id.clone(),
        algorithm,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = r#"{"kty":"RSA","kid":"r1","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"}"#;
    const EC: &str = r#"{"kty":"EC","kid":"e1","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

    #[test]
    fn keeps_the_keys_it_accepts_and_ties_each_to_one_algorithm() {
        let set = KeySet::parse(&format!(r#"{{"keys":[{RSA},{EC}]}}"#)).expect("parses");
        assert_eq!(set.len(), 2);
        assert!(set.find(Some("r1"), Algorithm::RS256).is_some());
        assert!(set.find(Some("e1"), Algorithm::ES256).is_some());
        // The same key under another algorithm is not found.
        assert!(set.find(Some("r1"), Algorithm::ES256).is_none());
        assert!(set.find(Some("r1"), Algorithm::HS256).is_none());
    }

    #[test]
    fn skips_secrets_encryption_keys_and_other_algorithms() {
        let hmac = r#"{"kty":"oct","kid":"h","k":"c2VjcmV0"}"#;
        let enc = RSA.replace(r#""kid":"r1""#, r#""kid":"enc","use":"enc""#);
        let ps = RSA.replace(r#""kid":"r1""#, r#""kid":"ps","alg":"PS256""#);
        let unknown = r#"{"kty":"AKP","kid":"pq","alg":"ML-DSA-44","pub":"AAAA"}"#;
        let set =
            KeySet::parse(&format!(r#"{{"keys":[{hmac},{enc},{ps},{unknown},{EC}]}}"#)).expect("parses");
        assert_eq!(set.len(), 1);
        assert!(set.knows("e1"));
        assert!(!set.knows("h") && !set.knows("enc") && !set.knows("ps"));
    }

    #[test]
    fn a_document_without_a_usable_key_is_refused() {
        assert!(KeySet::parse(r#"{"keys":[]}"#).is_err());
        assert!(KeySet::parse(r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
        assert!(KeySet::parse("not json").is_err());
    }

    #[test]
    fn without_a_kid_only_a_single_key_of_the_algorithm_is_used() {
        let one = KeySet::parse(&format!(r#"{{"keys":[{RSA}]}}"#)).expect("parses");
        assert!(one.find(None, Algorithm::RS256).is_some());
        let rsa2 = RSA.replace(r#""kid":"r1""#, r#""kid":"r2""#);
        let two = KeySet::parse(&format!(r#"{{"keys":[{RSA},{rsa2}]}}"#)).expect("parses");
        assert!(two.find(None, Algorithm::RS256).is_none());
    }
}
