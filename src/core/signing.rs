//! Private keys this package signs with: a client's `private_key_jwt` key and a DPoP key
//! (given as a JWK, or generated). A key is read once into aws-lc-rs's key pair and can then
//! sign any number of times. Nothing here ever shows key material: problems are named, and
//! `Debug` prints only the algorithm.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use serde_json::{Map, Value};

use super::jose::{Alg, b64url_decode, b64url_encode};

/// Why a private JWK cannot sign. Callers word the message for the option it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// A missing or malformed member, a key type or curve that is not the algorithm's.
    Unusable,
    /// RSA under 2048 bits.
    RsaTooSmall,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

pub struct PrivateKey {
    alg: Alg,
    pair: Pair,
    /// The public half as a JWK with the RFC 7638 required members only.
    public_jwk: Map<String, Value>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("alg", &self.alg.name())
            .finish_non_exhaustive()
    }
}

fn text(value: &str) -> Value {
    Value::String(value.to_owned())
}

impl PrivateKey {
    /// The key a private JWK holds, for `alg` (which the JWK's `kty`, and `crv` for ECDSA,
    /// must fit).
    pub fn from_jwk(jwk: &Map<String, Value>, alg: Alg) -> Result<PrivateKey, KeyProblem> {
        let member = |name: &str| {
            jwk.get(name)
                .and_then(Value::as_str)
                .and_then(b64url_decode)
                .ok_or(KeyProblem::Unusable)
        };
        let public_member = |name: &str| -> Result<Value, KeyProblem> {
            member(name)?;
            Ok(jwk[name].clone())
        };
        if jwk.get("kty").and_then(Value::as_str) != Some(alg.key_type()) {
            return Err(KeyProblem::Unusable);
        }
        let mut public_jwk = Map::new();
        public_jwk.insert("kty".into(), text(alg.key_type()));
        let pair = match alg {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                let parts = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
                    .map(&member)
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()?;
                let pair = RsaKeyPair::from_der(&rsa_private_key_der(&parts))
                    .map_err(|_| KeyProblem::Unusable)?;
                if pair.public_modulus_len() < 256 {
                    return Err(KeyProblem::RsaTooSmall);
                }
                public_jwk.insert("n".into(), public_member("n")?);
                public_jwk.insert("e".into(), public_member("e")?);
                Pair::Rsa(pair)
            }
            Alg::ES256 | Alg::ES384 | Alg::ES512 => {
                let signing = alg.ecdsa_signing().ok_or(KeyProblem::Unusable)?;
                let curve = alg.curve().ok_or(KeyProblem::Unusable)?;
                if jwk.get("crv").and_then(Value::as_str) != Some(curve) {
                    return Err(KeyProblem::Unusable);
                }
                let mut point = vec![0x04];
                point.extend(member("x")?);
                point.extend(member("y")?);
                let pair =
                    EcdsaKeyPair::from_private_key_and_public_key(signing, &member("d")?, &point)
                        .map_err(|_| KeyProblem::Unusable)?;
                public_jwk.insert("crv".into(), text(curve));
                public_jwk.insert("x".into(), public_member("x")?);
                public_jwk.insert("y".into(), public_member("y")?);
                Pair::Ecdsa(pair)
            }
            Alg::EdDSA => {
                let pair = Ed25519KeyPair::from_seed_and_public_key(&member("d")?, &member("x")?)
                    .map_err(|_| KeyProblem::Unusable)?;
                public_jwk.insert("crv".into(), text("Ed25519"));
                public_jwk.insert("x".into(), public_member("x")?);
                Pair::Ed25519(pair)
            }
        };
        Ok(PrivateKey {
            alg,
            pair,
            public_jwk,
        })
    }

    /// A new P-256 key for ES256, from the system's generator.
    pub fn generate_es256() -> Result<PrivateKey, KeyProblem> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| KeyProblem::Unusable)?;
        // An uncompressed point: 0x04, then x and y of 32 bytes each.
        let point = pair.public_key().as_ref();
        if point.len() != 65 || point[0] != 0x04 {
            return Err(KeyProblem::Unusable);
        }
        let mut public_jwk = Map::new();
        public_jwk.insert("kty".into(), text("EC"));
        public_jwk.insert("crv".into(), text("P-256"));
        public_jwk.insert("x".into(), Value::String(b64url_encode(&point[1..33])));
        public_jwk.insert("y".into(), Value::String(b64url_encode(&point[33..])));
        Ok(PrivateKey {
            alg: Alg::ES256,
            pair: Pair::Ecdsa(pair),
            public_jwk,
        })
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The public half, with only the members RFC 7638 requires: what a DPoP proof's `jwk`
    /// header carries and its thumbprint is computed from.
    pub fn public_jwk(&self) -> &Map<String, Value> {
        &self.public_jwk
    }

    /// A JWS signature over `message` (ECDSA in the fixed-length form JWS uses).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyProblem> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let padding = self.alg.rsa_signing().ok_or(KeyProblem::Unusable)?;
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut out)
                    .map_err(|_| KeyProblem::Unusable)?;
                Ok(out)
            }
            Pair::Ecdsa(pair) => Ok(pair
                .sign(&rng, message)
                .map_err(|_| KeyProblem::Unusable)?
                .as_ref()
                .to_vec()),
            Pair::Ed25519(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// PKCS#1 `RSAPrivateKey` DER from the JWK members n, e, d, p, q, dp, dq, qi.
fn rsa_private_key_der(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = der_integer(&[0]);
    for part in parts {
        body.extend(der_integer(part));
    }
    der_tlv(0x30, &body)
}

fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed = &bytes[bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len().saturating_sub(1))..];
    let mut value = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        value.push(0);
    }
    value.extend_from_slice(trimmed);
    der_tlv(0x02, &value)
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value);
    out
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::core::dpop::thumbprint::jwk_thumbprint;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    /// A fresh P-256 private JWK with `alg` ES256.
    pub fn es256_private_jwk() -> Map<String, Value> {
        use aws_lc_rs::encoding::AsBigEndian;
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref();
        let d = pair.private_key().as_be_bytes().unwrap();
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256",
            "x": b64url_encode(&point[1..33]), "y": b64url_encode(&point[33..]),
            "d": b64url_encode(d.as_ref()),
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn der_integers_are_minimal_and_positive() {
        assert_eq!(der_integer(&[0]), vec![0x02, 0x01, 0x00]);
        assert_eq!(der_integer(&[0, 0, 5]), vec![0x02, 0x01, 0x05]);
        assert_eq!(der_integer(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der_tlv(0x30, &[0; 200])[..3], [0x30, 0x81, 200]);
    }

    #[test]
    fn a_generated_key_signs_what_its_public_jwk_verifies() {
        let key = PrivateKey::generate_es256().unwrap();
        let jwk = key.public_jwk();
        assert_eq!(jwk.len(), 4, "only the thumbprint's members");
        let mut point = vec![0x04];
        for name in ["x", "y"] {
            point.extend(b64url_decode(jwk[name].as_str().unwrap()).unwrap());
        }
        let signature = key.sign(b"message").unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
            .verify(b"message", &signature)
            .unwrap();
        let other = PrivateKey::generate_es256().unwrap();
        assert_ne!(jwk_thumbprint(jwk), jwk_thumbprint(other.public_jwk()));
        assert!(!format!("{key:?}").contains(jwk["x"].as_str().unwrap()));
    }

    #[test]
    fn a_jwk_that_does_not_fit_its_alg_is_unusable() {
        let key = es256_private_jwk();
        assert!(PrivateKey::from_jwk(&key, Alg::ES256).is_ok());
        assert_eq!(
            PrivateKey::from_jwk(&key, Alg::ES384).unwrap_err(),
            KeyProblem::Unusable
        );
        assert_eq!(
            PrivateKey::from_jwk(&key, Alg::RS256).unwrap_err(),
            KeyProblem::Unusable
        );
        let mut no_d = key.clone();
        no_d.remove("d");
        assert!(PrivateKey::from_jwk(&no_d, Alg::ES256).is_err());
        let public = PrivateKey::from_jwk(&key, Alg::ES256).unwrap();
        assert!(!public.public_jwk().contains_key("d"));
    }
}
