//! Keys and tokens for unit tests: a tiny signer over aws-lc-rs.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};
use serde_json::{Map, Value, json};

use super::jose::{Alg, b64url_encode};
use super::keys::KeySet;

pub enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

pub struct TestKey {
    pub alg: Alg,
    pub kid: String,
    signer: Signer,
}

impl TestKey {
    pub fn new(alg: Alg, kid: &str) -> TestKey {
        let signer = match alg {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => {
                Signer::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
            }
            Alg::ES256 | Alg::ES384 | Alg::ES512 => {
                let a = alg.ecdsa_signing().unwrap();
                let rng = SystemRandom::new();
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(a, &rng).unwrap();
                Signer::Ec(EcdsaKeyPair::from_pkcs8(a, pkcs8.as_ref()).unwrap())
            }
            Alg::EdDSA => Signer::Ed(Ed25519KeyPair::generate().unwrap()),
        };
        TestKey {
            alg,
            kid: kid.to_owned(),
            signer,
        }
    }

    pub fn jwk(&self) -> Value {
        let mut jwk = match &self.signer {
            Signer::Rsa(pair) => {
                let c = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({ "kty": "RSA", "n": b64url_encode(&c.n), "e": b64url_encode(&c.e) })
            }
            Signer::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                json!({
                    "kty": "EC",
                    "crv": self.alg.curve().unwrap(),
                    "x": b64url_encode(&point[1..=half]),
                    "y": b64url_encode(&point[1 + half..]),
                })
            }
            Signer::Ed(pair) => json!({
                "kty": "OKP", "crv": "Ed25519", "x": b64url_encode(pair.public_key().as_ref())
            }),
        };
        jwk["kid"] = json!(self.kid);
        jwk["alg"] = json!(self.alg.name());
        jwk["use"] = json!("sig");
        jwk
    }

    pub fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(pair) => {
                let padding = self.alg.rsa_signing().unwrap();
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut sig).unwrap();
                sig
            }
            Signer::Ec(pair) => pair.sign(&rng, message).unwrap().as_ref().to_vec(),
            Signer::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }

    /// Signs `header` (merged over `{alg, kid}`) and the exact payload text.
    pub fn sign_text(&self, header: Value, payload: &str) -> String {
        let mut h = json!({ "alg": self.alg.name(), "typ": "at+jwt", "kid": self.kid });
        if let Value::Object(extra) = header {
            for (k, v) in extra {
                if v.is_null() {
                    h.as_object_mut().unwrap().remove(&k);
                } else {
                    h[k] = v;
                }
            }
        }
        let input = format!(
            "{}.{}",
            b64url_encode(h.to_string().as_bytes()),
            b64url_encode(payload.as_bytes())
        );
        let sig = self.sign_bytes(input.as_bytes());
        format!("{input}.{}", b64url_encode(&sig))
    }

    pub fn sign(&self, payload: Value) -> String {
        self.sign_text(json!({}), &payload.to_string())
    }
}

pub fn key_set(keys: &[&TestKey]) -> KeySet {
    let mut doc = Map::new();
    doc.insert(
        "keys".into(),
        Value::Array(keys.iter().map(|k| k.jwk()).collect()),
    );
    KeySet::from_document(doc).unwrap()
}

pub const ISSUER: &str = "https://tenant.example.com";
pub const AUDIENCE: &str = "https://api.example.com";

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64
}

/// Claims that pass every standard check.
pub fn good_claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER, "sub": "user-1", "aud": AUDIENCE,
        "iat": now, "exp": now + 300.0, "scope": "read write",
    })
}
