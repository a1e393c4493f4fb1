//! One DPoP proof (RFC 9449 §4.2–4.3): a compact JWS of type `dpop+jwt`, signed with an
//! asymmetric algorithm by the private half of the public JWK in its own header, over the
//! request it comes with (`htm`, `htu`), a moment (`iat`), a unique id (`jti`) and the hash of
//! the access token (`ath`). Everything here reads only the proof and the request; the
//! server nonce, the token's binding and replay are decided by the caller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use aws_lc_rs::{constant_time, digest};
use serde_json::{Map, Value};

use super::htu;
use super::thumbprint::{canonical_members, thumbprint_of};
use crate::core::jose::{Alg, b64url_decode, b64url_encode};

/// Proofs larger than this are refused unread: an 8192-bit RSA proof is well under it.
pub const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Private members of any key type: a proof must carry only the public key.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Proof keys met recently, decoded, validated and with their thumbprints. A client signs
/// all its proofs with one key, so each request would otherwise decode and check the same
/// point (or modulus) again. Keyed by the algorithm and the key's thumbprint input, which is
/// the key itself; bounded, and emptied when full, so a caller sending a new key every time
/// only loses the saving.
#[derive(Default)]
pub struct ProofKeys {
    keys: Mutex<KeptKeys>,
}

/// Kept keys by algorithm name and canonical members.
type KeptKeys = HashMap<(&'static str, Vec<u8>), Arc<ProofKey>>;

/// A proof key, ready to verify.
pub struct ProofKey {
    verifier: ParsedPublicKey,
    thumbprint: String,
}

impl ProofKeys {
    const CAPACITY: usize = 1024;

    /// The key of `jwk` for `alg`: from the cache, or decoded now. `Err` when the JWK does not
    /// fit the algorithm or is not a valid key (those are not kept).
    fn get(&self, alg: Alg, jwk: &Map<String, Value>) -> Result<Arc<ProofKey>, Refused> {
        fits(alg, jwk)?;
        let canonical = canonical_members(jwk).ok_or(UNFIT)?;
        let lookup = (alg.name(), canonical);
        if let Some(key) = self.lock().get(&lookup) {
            return Ok(key.clone());
        }
        let key = Arc::new(ProofKey {
            verifier: parse_key(alg, jwk)?,
            thumbprint: thumbprint_of(&lookup.1),
        });
        let mut keys = self.lock();
        if keys.len() >= Self::CAPACITY {
            keys.clear();
        }
        keys.insert(lookup, key.clone());
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeptKeys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the proof must match.
pub struct Expected<'a> {
    pub algorithms: &'a [Alg],
    /// Where proof keys are kept between requests.
    pub keys: &'a ProofKeys,
    /// The request's method.
    pub method: &'a str,
    /// The request's URI, normalised (see `htu::normalise`).
    pub htu: &'a str,
    /// The SHA-256 of the access token the proof must name (`ath`): a verified token's cache
    /// entry keeps it, so a token seen before is not hashed again.
    pub token_sha256: &'a [u8; 32],
    /// Seconds since the epoch, on the caller's clock.
    pub now_seconds: f64,
    pub iat_offset: f64,
    pub iat_leeway: f64,
}

/// A proof that passed every check of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of its key.
    pub thumbprint: String,
    pub jti: String,
    pub iat: f64,
    pub nonce: Option<String>,
}

/// Why a proof is refused; the message never repeats what the proof holds.
pub type Refused = &'static str;

pub fn verify(proof: &str, expected: &Expected) -> Result<Proof, Refused> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err("DPoP proof is too large");
    }
    let mut parts = proof.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("DPoP proof must be a compact JWS");
    };
    let header = decode_object(header).ok_or("DPoP proof header is not a JSON object")?;
    let claims = decode_object(payload).ok_or("DPoP proof payload is not a JSON object")?;
    let signature = b64url_decode(signature).ok_or("DPoP proof signature is not base64url")?;

    let typ = header.get("typ").and_then(Value::as_str);
    if !typ.is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt")) {
        return Err("DPoP proof type must be dpop+jwt");
    }
    if header.contains_key("crit") {
        return Err("DPoP proof has unsupported critical header parameters");
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Alg::parse)
        .filter(|alg| expected.algorithms.contains(alg))
        .ok_or("DPoP proof algorithm is not accepted")?;
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err("DPoP proof has no jwk header parameter");
    };
    if PRIVATE_MEMBERS.iter().any(|name| jwk.contains_key(*name)) {
        return Err("DPoP proof jwk must be a public key");
    }
    let signing_input = &proof[..proof.rfind('.').expect("three parts were found")];
    let key = expected.keys.get(alg, jwk)?;
    key.verifier
        .verify_sig(signing_input.as_bytes(), &signature)
        .map_err(|_| "DPoP proof signature is invalid")?;

    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|jti| (1..=512).contains(&jti.chars().count()))
        .ok_or("DPoP proof jti must be a string of 1 to 512 characters")?;
    if claims.get("htm").and_then(Value::as_str) != Some(expected.method) {
        return Err("DPoP proof htm does not match the request method");
    }
    let htu = claims
        .get("htu")
        .and_then(Value::as_str)
        .and_then(htu::normalise);
    if htu.as_deref() != Some(expected.htu) {
        return Err("DPoP proof htu does not match the request URI");
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_f64)
        .filter(|iat| iat.is_finite())
        .ok_or("DPoP proof iat must be a number")?;
    let now = expected.now_seconds;
    if iat < now - expected.iat_offset || iat > now + expected.iat_leeway {
        return Err("DPoP proof iat is outside the accepted window");
    }
    let ath = claims
        .get("ath")
        .and_then(Value::as_str)
        .ok_or("DPoP proof has no ath claim")?;
    let expected_ath = b64url_encode(expected.token_sha256);
    constant_time::verify_slices_are_equal(ath.as_bytes(), expected_ath.as_bytes())
        .map_err(|_| "DPoP proof ath does not match the access token")?;
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) => Some(nonce.clone()),
        Some(_) => return Err("DPoP proof nonce must be a string"),
    };
    Ok(Proof {
        thumbprint: key.thumbprint.clone(),
        jti: jti.to_owned(),
        iat,
        nonce,
    })
}

/// `ath`: the base64url SHA-256 of the access token's ASCII text.
pub fn access_token_hash(token: &str) -> String {
    b64url_encode(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

fn decode_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = b64url_decode(segment)?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Bytes of each coordinate of the curves ECDSA proofs may use.
fn coordinate_bytes(alg: Alg) -> Option<usize> {
    match alg {
        Alg::ES256 => Some(32),
        Alg::ES384 => Some(48),
        Alg::ES512 => Some(66),
        Alg::EdDSA => Some(32),
        _ => None,
    }
}

const UNFIT: Refused = "DPoP proof jwk does not fit its algorithm";
/// A point off its curve, a modulus out of range.
const UNUSABLE: Refused = "DPoP proof jwk is not a usable public key";

/// The header's key type (and curve) must fit `alg`.
fn fits(alg: Alg, jwk: &Map<String, Value>) -> Result<(), Refused> {
    if jwk.get("kty").and_then(Value::as_str) != Some(alg.key_type()) {
        return Err(UNFIT);
    }
    if let Some(curve) = alg.curve()
        && jwk.get("crv").and_then(Value::as_str) != Some(curve)
    {
        return Err(UNFIT);
    }
    Ok(())
}

/// The key the proof's signature must verify with, from a JWK that fits `alg`.
fn parse_key(alg: Alg, jwk: &Map<String, Value>) -> Result<ParsedPublicKey, Refused> {
    let member = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(b64url_decode)
            .ok_or(UNFIT)
    };
    match alg.key_type() {
        "RSA" => {
            let (n, e) = (member("n")?, member("e")?);
            let parameters = alg.rsa_parameters().ok_or(UNFIT)?;
            RsaPublicKeyComponents { n: &n, e: &e }
                .to_parsed_public_key(parameters)
                .map_err(|_| UNUSABLE)
        }
        "EC" => {
            let (x, y) = (member("x")?, member("y")?);
            let size = coordinate_bytes(alg).ok_or(UNFIT)?;
            if x.len() != size || y.len() != size {
                return Err(UNFIT);
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let algorithm = alg.raw_key_algorithm().ok_or(UNFIT)?;
            ParsedPublicKey::new(algorithm, &point).map_err(|_| UNUSABLE)
        }
        _ => {
            let x = member("x")?;
            if Some(x.len()) != coordinate_bytes(alg) {
                return Err(UNFIT);
            }
            let algorithm = alg.raw_key_algorithm().ok_or(UNFIT)?;
            ParsedPublicKey::new(algorithm, &x).map_err(|_| UNUSABLE)
        }
    }
}

#[cfg(test)]
mod tests;
