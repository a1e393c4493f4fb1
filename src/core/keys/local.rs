//! A local key set: a JWKS document's keys, decoded when the set arrives so that a token costs
//! one signature check and no key parsing, and the rules that pick the one key for a token.

use std::sync::OnceLock;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use serde_json::{Map, Value};

use crate::core::clock::Now;
use crate::core::error::{Error, Result};
use crate::core::jose::{ALG_COUNT, Alg, b64url_decode};

const NO_UNIQUE_KEY: &str = "error when selecting a JWT verification key, multiple applicable keys \
                             found, a \"kid\" JWT Header Parameter is required";

/// A key set: the document (for `getJwks()`) and its keys, ready to verify.
pub struct KeySet {
    pub document: Map<String, Value>,
    pub keys: Vec<Key>,
    /// When the set arrived (caller's clock, ms); with the cache duration, how long what it
    /// verified may be trusted.
    pub fetched_at_ms: f64,
    /// Which fetch of the client this set came from; claims verified by an older set are not
    /// trusted once a newer one has arrived.
    pub generation: u64,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.keys.len())
            .finish()
    }
}

pub struct Key {
    kid: Option<Value>,
    kty: Option<Value>,
    alg: Option<Value>,
    use_: Option<Value>,
    key_ops: Option<Value>,
    crv: Option<Value>,
    material: Material,
    /// One parsed verifier per algorithm, made on first use (an RSA key without `alg` may
    /// serve several).
    verifiers: [OnceLock<Option<ParsedPublicKey>>; ALG_COUNT],
}

enum Material {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// EC: the uncompressed point `04 || x || y`; OKP: the raw public key.
    Raw(Vec<u8>),
    /// The set published a private key: never use it.
    Private,
    Unusable,
}

/// Why no key could verify a token.
#[derive(Debug, PartialEq)]
pub enum Selection {
    /// No key fits (perhaps the set rotated since it was fetched).
    NoneFits,
    /// Several keys fit and the token does not say which.
    Ambiguous,
}

impl Selection {
    pub fn into_error(self) -> Error {
        Error::token(NO_UNIQUE_KEY)
    }
}

impl KeySet {
    /// Parses a JWKS document. A document without a `keys` array is refused here rather than
    /// failing every token later.
    pub fn from_document(document: Map<String, Value>) -> Result<KeySet, String> {
        let Some(Value::Array(entries)) = document.get("keys") else {
            return Err("The JWKS does not contain a \"keys\" array".into());
        };
        let keys = entries
            .iter()
            .filter_map(|entry| entry.as_object().map(Key::from_jwk))
            .collect();
        Ok(KeySet {
            document,
            keys,
            fetched_at_ms: Now::system().millis(),
            generation: 0,
        })
    }

    /// The one key a token with this `alg` and `kid` header may be verified with.
    pub fn select(&self, alg: Alg, kid: Option<&Value>) -> Result<&Key, Selection> {
        let mut candidates = self.keys.iter().filter(|key| key.fits(alg, kid));
        match (candidates.next(), candidates.next()) {
            (Some(key), None) => Ok(key),
            (None, _) => Err(Selection::NoneFits),
            (Some(_), Some(_)) => Err(Selection::Ambiguous),
        }
    }
}

fn text(value: &Option<Value>) -> Option<&str> {
    value.as_ref().and_then(Value::as_str)
}

impl Key {
    fn from_jwk(jwk: &Map<String, Value>) -> Key {
        let member = |name: &str| jwk.get(name).cloned();
        let b64 = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(b64url_decode)
        };
        let is_private = ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|name| jwk.contains_key(*name));
        let material = if is_private {
            Material::Private
        } else {
            match jwk.get("kty").and_then(Value::as_str) {
                Some("RSA") => match (b64("n"), b64("e")) {
                    (Some(n), Some(e)) => Material::Rsa { n, e },
                    _ => Material::Unusable,
                },
                Some("EC") => match (b64("x"), b64("y")) {
                    (Some(x), Some(y)) => {
                        let mut point = Vec::with_capacity(1 + x.len() + y.len());
                        point.push(0x04);
                        point.extend_from_slice(&x);
                        point.extend_from_slice(&y);
                        Material::Raw(point)
                    }
                    _ => Material::Unusable,
                },
                Some("OKP") => b64("x").map_or(Material::Unusable, Material::Raw),
                _ => Material::Unusable,
            }
        };
        Key {
            kid: member("kid"),
            kty: member("kty"),
            alg: member("alg"),
            use_: member("use"),
            key_ops: member("key_ops"),
            crv: member("crv"),
            material,
            verifiers: Default::default(),
        }
    }

    /// Upstream's candidate rules: key type, `kid` when the token names one, and the key's own
    /// `alg`, `use`, `key_ops` and curve when it declares them.
    fn fits(&self, alg: Alg, kid: Option<&Value>) -> bool {
        text(&self.kty) == Some(alg.key_type())
            && kid.is_none_or(|kid| self.kid.as_ref() == Some(kid))
            && self
                .alg
                .as_ref()
                .is_none_or(|a| a.as_str() == Some(alg.name()))
            && self.use_.as_ref().is_none_or(|u| u.as_str() == Some("sig"))
            && self.key_ops.as_ref().is_none_or(|ops| {
                ops.as_array()
                    .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")))
            })
            && alg.curve().is_none_or(|crv| text(&self.crv) == Some(crv))
    }

    /// Checks `signature` over `message` with this key as `alg`.
    pub fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> Result<()> {
        let verifier = self.verifiers[alg.index()].get_or_init(|| self.parse(alg));
        match (verifier, &self.material) {
            (_, Material::Private) => Err(Error::token("jwks_uri must only contain public keys")),
            (_, Material::Rsa { n, .. }) if modulus_bits(n) < 2048 => {
                Err(Error::token(if alg.is_pss() {
                    "Unsupported RSA-PSS modulusLength"
                } else {
                    "Unsupported RSASSA-PKCS1-v1_5 modulusLength"
                }))
            }
            (None, _) => Err(Error::token(
                "The JWT verification key could not be imported",
            )),
            (Some(key), _) => key
                .verify_sig(message, signature)
                .map_err(|_| Error::token("JWT signature verification failed")),
        }
    }

    fn parse(&self, alg: Alg) -> Option<ParsedPublicKey> {
        match &self.material {
            Material::Rsa { n, e } => {
                let components = RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                };
                components.to_parsed_public_key(alg.rsa_parameters()?).ok()
            }
            Material::Raw(bytes) => ParsedPublicKey::new(alg.raw_key_algorithm()?, bytes).ok(),
            Material::Private | Material::Unusable => None,
        }
    }
}

fn modulus_bits(n: &[u8]) -> usize {
    let n = &n[n.iter().take_while(|b| **b == 0).count()..];
    n.first()
        .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(keys: Value) -> KeySet {
        let Value::Object(doc) = json!({ "keys": keys }) else {
            unreachable!()
        };
        KeySet::from_document(doc).unwrap()
    }

    const RSA_N: &str = "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw";

    #[test]
    fn selects_by_type_kid_alg_use_and_curve() {
        let keys = set(json!([
            { "kty": "RSA", "kid": "r1", "n": RSA_N, "e": "AQAB" },
            { "kty": "RSA", "kid": "r2", "n": RSA_N, "e": "AQAB", "use": "enc" },
            { "kty": "EC", "kid": "e1", "crv": "P-256", "x": "AA", "y": "AA" },
            { "kty": "EC", "kid": "e2", "crv": "P-384", "x": "AA", "y": "AA", "alg": "ES384" },
            { "kty": "OKP", "kid": "o1", "crv": "Ed25519", "x": "AA", "key_ops": ["verify"] },
        ]));
        let kid = |k: &str| Some(json!(k));
        assert!(keys.select(Alg::RS256, kid("r1").as_ref()).is_ok());
        assert!(
            keys.select(Alg::RS256, None).is_ok(),
            "r2 is an encryption key"
        );
        assert_eq!(
            keys.select(Alg::RS256, kid("r2").as_ref()).err(),
            Some(Selection::NoneFits)
        );
        assert!(keys.select(Alg::ES256, None).is_ok());
        assert!(keys.select(Alg::ES384, None).is_ok());
        assert_eq!(
            keys.select(Alg::ES512, None).err(),
            Some(Selection::NoneFits)
        );
        assert!(keys.select(Alg::EdDSA, kid("o1").as_ref()).is_ok());
        assert_eq!(
            keys.select(Alg::PS256, kid("x").as_ref()).err(),
            Some(Selection::NoneFits)
        );
        assert_eq!(
            keys.select(Alg::RS256, Some(&json!(1))).err(),
            Some(Selection::NoneFits)
        );
    }

    #[test]
    fn several_fitting_keys_need_a_kid() {
        let keys = set(json!([
            { "kty": "RSA", "kid": "a", "n": RSA_N, "e": "AQAB" },
            { "kty": "RSA", "kid": "b", "n": RSA_N, "e": "AQAB" },
        ]));
        assert_eq!(
            keys.select(Alg::RS256, None).err(),
            Some(Selection::Ambiguous)
        );
        assert!(keys.select(Alg::RS256, Some(&json!("b"))).is_ok());
    }

    #[test]
    fn a_key_declaring_another_alg_or_no_verify_op_does_not_fit() {
        let keys = set(json!([
            { "kty": "RSA", "n": RSA_N, "e": "AQAB", "alg": "PS256" },
            { "kty": "RSA", "n": RSA_N, "e": "AQAB", "key_ops": ["sign"] },
        ]));
        assert!(keys.select(Alg::RS256, None).is_err());
        assert!(keys.select(Alg::PS256, None).is_ok());
    }

    #[test]
    fn private_and_small_keys_are_refused_at_verification() {
        let keys = set(json!([
            { "kty": "RSA", "kid": "p", "n": RSA_N, "e": "AQAB", "d": "AQAB" },
            { "kty": "RSA", "kid": "s", "n": "AQAB", "e": "AQAB" },
        ]));
        let err = |kid: &str, alg| {
            keys.select(alg, Some(&json!(kid)))
                .unwrap()
                .verify(alg, b"m", b"s")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("p", Alg::RS256),
            "jwks_uri must only contain public keys"
        );
        assert_eq!(
            err("s", Alg::RS256),
            "Unsupported RSASSA-PKCS1-v1_5 modulusLength"
        );
        assert_eq!(err("s", Alg::PS256), "Unsupported RSA-PSS modulusLength");
    }

    #[test]
    fn a_document_without_keys_is_refused() {
        let Value::Object(doc) = json!({ "keys": {} }) else {
            unreachable!()
        };
        assert!(KeySet::from_document(doc).is_err());
    }

    #[test]
    fn counts_modulus_bits() {
        assert_eq!(modulus_bits(&[0, 0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x01, 0]), 9);
        assert_eq!(modulus_bits(&[]), 0);
    }
}
