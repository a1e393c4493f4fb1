//! DPoP on the client side (RFC 9449): the key the token client proves possession of, the
//! proofs it makes (one per request, for the token endpoint and for each API call), and the
//! server nonces it was given, one per origin. The verifier's pieces are reused: the key's
//! thumbprint (`cnf.jkt`), the `htu` normalisation and the `ath` hash.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};

use crate::core::clock::Now;
use crate::core::config::Redacted;
use crate::core::dpop::htu;
use crate::core::dpop::proof::access_token_hash;
use crate::core::dpop::thumbprint::jwk_thumbprint;
use crate::core::error::{Error, Result};
use crate::core::jose::b64url_encode;
use crate::core::signing::PrivateKey;

/// Where the key comes from (`dpop: true`, or `dpop: { key }`).
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// A new ES256 key per client, in memory only.
    Generate,
    /// The user's private JWK (its `alg` says how it signs), already checked.
    Jwk(Redacted<Map<String, Value>>),
}

/// Past this many origins, remembered nonces are forgotten: a nonce is only an optimisation
/// that saves one round trip, and the server sends a new one whenever it wants one.
const MAX_ORIGINS: usize = 256;

pub struct DpopKey {
    key: PrivateKey,
    /// The proofs' protected header, base64url: it is the same for every proof.
    header: String,
    thumbprint: String,
    nonces: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.key.alg().name())
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

/// The origin a nonce belongs to (RFC 9449 §8: a nonce is per server), from a normalised URL.
fn origin_of(normalised: &str) -> &str {
    let after_scheme = normalised.find("://").map_or(0, |at| at + 3);
    match normalised[after_scheme..].find('/') {
        Some(slash) => &normalised[..after_scheme + slash],
        None => normalised,
    }
}

/// `url` normalised as the verifier compares `htu` (no query, no fragment).
pub fn proof_htu(url: &str) -> Result<String> {
    htu::normalise(url).ok_or_else(|| {
        Error::validation(
            "A DPoP proof needs an absolute http or https URL without user information",
        )
    })
}

impl DpopKey {
    pub fn new(source: &KeySource) -> Result<DpopKey> {
        let key = match source {
            KeySource::Generate => PrivateKey::generate_es256()
                .map_err(|_| Error::validation("No DPoP key could be generated"))?,
            KeySource::Jwk(jwk) => key_from_jwk(&jwk.0)?,
        };
        let thumbprint = jwk_thumbprint(key.public_jwk())
            .ok_or_else(|| Error::validation("\"dpop.key\" has no usable public key"))?;
        let header = json!({
            "typ": "dpop+jwt",
            "alg": key.alg().name(),
            "jwk": key.public_jwk(),
        });
        Ok(DpopKey {
            header: b64url_encode(header.to_string().as_bytes()),
            key,
            thumbprint,
            nonces: Mutex::new(HashMap::new()),
        })
    }

    /// The RFC 7638 thumbprint of the public key: what a bound token's `cnf.jkt` names.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    pub fn public_jwk(&self) -> &Map<String, Value> {
        self.key.public_jwk()
    }

    /// A proof for one request: `htm`, `htu` (normalised, without query and fragment), a new
    /// `jti`, `iat` from the caller's clock, `ath` when an access token goes with it, and the
    /// nonce this origin gave last, if any.
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        now: Now,
    ) -> Result<String> {
        let htu = proof_htu(url)?;
        let mut jti = [0u8; 16];
        SystemRandom::new()
            .fill(&mut jti)
            .map_err(|_| Error::validation("No randomness available for a DPoP proof"))?;
        let mut claims = json!({
            "htm": method.to_ascii_uppercase(),
            "htu": htu,
            "jti": b64url_encode(&jti),
            "iat": now.seconds().floor(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(access_token_hash(token));
        }
        if let Some(nonce) = self.nonce_for(&htu) {
            claims["nonce"] = json!(nonce);
        }
        let input = format!(
            "{}.{}",
            self.header,
            b64url_encode(claims.to_string().as_bytes())
        );
        let signature = self
            .key
            .sign(input.as_bytes())
            .map_err(|_| Error::validation("The DPoP key could not sign a proof"))?;
        Ok(format!("{input}.{}", b64url_encode(&signature)))
    }

    fn nonce_for(&self, htu: &str) -> Option<String> {
        let nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        nonces.get(origin_of(htu)).cloned()
    }

    /// Keeps the nonce a server at `url` sent (`DPoP-Nonce`), for its next proofs. Whatever the
    /// answer was: RFC 9449 §8.2 lets a server hand out a new nonce with any response.
    pub fn remember_nonce(&self, url: &str, nonce: &str) {
        // A nonce is an opaque token of visible ASCII (§8.1); anything else is not kept.
        let valid = !nonce.is_empty()
            && nonce.len() <= 1024
            && nonce.bytes().all(|b| (0x21..=0x7e).contains(&b));
        let Some(htu) = htu::normalise(url).filter(|_| valid) else {
            return;
        };
        let mut nonces = self.nonces.lock().unwrap_or_else(|p| p.into_inner());
        if nonces.len() >= MAX_ORIGINS && !nonces.contains_key(origin_of(&htu)) {
            nonces.clear();
        }
        nonces.insert(origin_of(&htu).to_owned(), nonce.to_owned());
    }
}

/// The `DPoP-Nonce` header of an answer, if it has one.
pub fn nonce_header(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("dpop-nonce"))
        .map(|(_, value)| value.trim())
}

fn key_from_jwk(jwk: &Map<String, Value>) -> Result<PrivateKey> {
    let alg = jwk
        .get("alg")
        .and_then(Value::as_str)
        .and_then(crate::core::jose::Alg::parse)
        .ok_or_else(|| {
            Error::validation(
                "\"dpop.key\" needs an \"alg\" of ES256, ES384, ES512, PS256-512, RS256-512 or \
                 EdDSA",
            )
        })?;
    PrivateKey::from_jwk(jwk, alg).map_err(|problem| {
        Error::validation(match problem {
            crate::core::signing::KeyProblem::RsaTooSmall => {
                "\"dpop.key\" must be RSA 2048 bits or more"
            }
            crate::core::signing::KeyProblem::Unusable => {
                "\"dpop.key\" is not a usable private JWK for its \"alg\""
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dpop::proof::{Expected, verify};
    use crate::core::jose::Alg;
    use crate::core::signing::tests::es256_private_jwk;

    fn expected<'a>(method: &'a str, htu: &'a str, token: &'a str, now: f64) -> Expected<'a> {
        Expected {
            algorithms: &[Alg::ES256, Alg::RS256, Alg::EdDSA],
            keys: Box::leak(Box::default()),
            method,
            htu,
            token_sha256: Box::leak(Box::new(crate::core::cache::token_key(token))),
            now_seconds: now,
            iat_offset: 60.0,
            iat_leeway: 5.0,
        }
    }

    #[test]
    fn the_verifier_accepts_our_proofs_and_names_our_thumbprint() {
        let key = DpopKey::new(&KeySource::Generate).unwrap();
        let now = Now::from_caller(Some(1_700_000_000_000.0));
        let proof = key
            .proof(
                "get",
                "HTTPS://API.example.com:443/a/../orders?page=2#top",
                Some("token"),
                now,
            )
            .unwrap();
        let checked = verify(
            &proof,
            &expected(
                "GET",
                "https://api.example.com/orders",
                "token",
                1_700_000_000.0,
            ),
        )
        .unwrap();
        assert_eq!(checked.thumbprint, key.thumbprint());
        assert_eq!(checked.nonce, None);
        // Another token, another URL: refused.
        assert!(
            verify(
                &proof,
                &expected(
                    "GET",
                    "https://api.example.com/orders",
                    "other",
                    1_700_000_000.0
                )
            )
            .is_err()
        );
        let again = key
            .proof("GET", "https://api.example.com/orders", Some("token"), now)
            .unwrap();
        let second = verify(
            &again,
            &expected(
                "GET",
                "https://api.example.com/orders",
                "token",
                1_700_000_000.0,
            ),
        )
        .unwrap();
        assert_ne!(second.jti, checked.jti, "a new jti per proof");
    }

    #[test]
    fn nonces_are_kept_per_origin() {
        let key = DpopKey::new(&KeySource::Generate).unwrap();
        let now = Now::from_caller(Some(1_700_000_000_000.0));
        key.remember_nonce("https://as.example.com/token", "n-1");
        key.remember_nonce("https://api.example.com/x", "bad nonce with spaces");
        let nonce_of = |url: &str| {
            let proof = key.proof("POST", url, None, now).unwrap();
            let payload = proof.split('.').nth(1).unwrap();
            let claims: Value =
                serde_json::from_slice(&crate::core::jose::b64url_decode(payload).unwrap())
                    .unwrap();
            assert!(claims.get("ath").is_none());
            claims
                .get("nonce")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        assert_eq!(
            nonce_of("https://as.example.com/other?x").as_deref(),
            Some("n-1")
        );
        assert_eq!(nonce_of("https://as.example.com:8443/token"), None);
        assert_eq!(nonce_of("https://api.example.com/x"), None);
        key.remember_nonce("https://as.example.com/token", "n-2");
        assert_eq!(
            nonce_of("https://as.example.com/token").as_deref(),
            Some("n-2")
        );
    }

    #[test]
    fn a_given_key_is_used_and_never_shown() {
        let jwk = es256_private_jwk();
        let d = jwk["d"].as_str().unwrap().to_owned();
        let key = DpopKey::new(&KeySource::Jwk(Redacted(jwk.clone()))).unwrap();
        assert_eq!(key.public_jwk()["x"], jwk["x"]);
        assert!(!format!("{key:?}").contains(&d));
        assert!(!format!("{:?}", KeySource::Jwk(Redacted(jwk.clone()))).contains(&d));
        let mut wrong = jwk.clone();
        wrong.insert("alg".into(), json!("HS256"));
        let error = DpopKey::new(&KeySource::Jwk(Redacted(wrong))).unwrap_err();
        assert!(error.to_string().contains("dpop.key") && !error.to_string().contains(&d));
        let mut broken = jwk;
        broken.insert("d".into(), json!("AAAA"));
        let error = DpopKey::new(&KeySource::Jwk(Redacted(broken))).unwrap_err();
        assert!(!error.to_string().contains("AAAA"));
        assert!(proof_htu("/relative").is_err());
    }
}
