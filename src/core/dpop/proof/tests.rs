use serde_json::json;

use super::*;
use crate::core::dpop::thumbprint::jwk_thumbprint;
use crate::core::testkit::TestKey;

const NOW: f64 = 1_700_000_000.0;
const URL: &str = "https://api.example.com/orders";
const TOKEN: &str = "the.access.token";
static KEYS: std::sync::LazyLock<super::ProofKeys> = std::sync::LazyLock::new(Default::default);
static TOKEN_SHA256: std::sync::LazyLock<[u8; 32]> =
    std::sync::LazyLock::new(|| crate::core::cache::token_key(TOKEN));

fn expected<'a>(htu: &'a str) -> Expected<'a> {
    Expected {
        algorithms: &Alg::ALL,
        keys: &KEYS,
        method: "GET",
        htu,
        token_sha256: &TOKEN_SHA256,
        now_seconds: NOW,
        iat_offset: 300.0,
        iat_leeway: 30.0,
    }
}

/// A proof by `key`, its claims merged over good ones, its header over a good one (a null
/// member removes it).
pub fn proof(key: &TestKey, header: Value, claims: Value) -> String {
    let mut jwk = key.jwk();
    for member in ["kid", "alg", "use"] {
        jwk.as_object_mut().unwrap().remove(member);
    }
    let mut h = json!({ "typ": "dpop+jwt", "jwk": jwk, "kid": null });
    merge(&mut h, header);
    let mut c = json!({
        "jti": "jti-1", "htm": "GET", "htu": URL, "iat": NOW, "ath": access_token_hash(TOKEN)
    });
    merge(&mut c, claims);
    key.sign_text(h, &c.to_string())
}

fn merge(target: &mut Value, extra: Value) {
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            if v.is_null() {
                target.as_object_mut().unwrap().remove(&k);
            } else {
                target[k] = v;
            }
        }
    }
}

fn check(proof: &str) -> Result<Proof, Refused> {
    let htu = htu::normalise(URL).unwrap();
    verify(proof, &expected(&htu))
}

#[test]
fn a_good_proof_passes_with_every_algorithm() {
    for alg in Alg::ALL {
        let key = TestKey::new(alg, "k");
        let passed =
            check(&proof(&key, json!({}), json!({}))).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(passed.jti, "jti-1");
        assert_eq!(
            Some(passed.thumbprint),
            jwk_thumbprint(key.jwk().as_object().unwrap())
        );
    }
}

#[test]
fn the_header_is_checked() {
    let key = TestKey::new(Alg::ES256, "k");
    let other = TestKey::new(Alg::ES256, "o");
    let cases = [
        (json!({ "typ": "JWT" }), "type"),
        (json!({ "typ": null }), "type"),
        (json!({ "crit": ["x"] }), "critical"),
        (json!({ "jwk": null }), "jwk header"),
        (json!({ "jwk": "text" }), "jwk header"),
        (json!({ "jwk": other.jwk() }), "signature"),
        (
            json!({ "jwk": { "kty": "RSA", "n": "AQAB", "e": "AQAB" } }),
            "fit",
        ),
        (
            json!({ "jwk": { "kty": "EC", "crv": "P-384", "x": "AA", "y": "AA" } }),
            "fit",
        ),
    ];
    for (header, needle) in cases {
        let error = check(&proof(&key, header.clone(), json!({}))).unwrap_err();
        assert!(error.contains(needle), "{header}: {error}");
    }
    let mut private = key.jwk();
    private["d"] = json!("AAAA");
    let error = check(&proof(&key, json!({ "jwk": private }), json!({}))).unwrap_err();
    assert!(error.contains("public"), "{error}");
}

#[test]
fn only_the_configured_algorithms_pass() {
    let key = TestKey::new(Alg::RS256, "k");
    let htu = htu::normalise(URL).unwrap();
    let only_ec = Expected {
        algorithms: &[Alg::ES256],
        ..expected(&htu)
    };
    let error = verify(&proof(&key, json!({}), json!({})), &only_ec).unwrap_err();
    assert!(error.contains("algorithm"), "{error}");
    // `none` and HMAC never parse as a proof algorithm.
    let es = TestKey::new(Alg::ES256, "k");
    for alg in ["none", "HS256"] {
        let error = check(&proof(&es, json!({ "alg": alg }), json!({}))).unwrap_err();
        assert!(error.contains("algorithm"), "{alg}: {error}");
    }
}

#[test]
fn the_claims_are_checked() {
    let key = TestKey::new(Alg::ES256, "k");
    let cases = [
        (json!({ "jti": null }), "jti"),
        (json!({ "jti": "" }), "jti"),
        (json!({ "jti": "x".repeat(513) }), "jti"),
        (json!({ "jti": 7 }), "jti"),
        (json!({ "htm": "POST" }), "htm"),
        (json!({ "htm": "get" }), "htm"),
        (json!({ "htm": null }), "htm"),
        (json!({ "htu": "https://api.example.com/other" }), "htu"),
        (json!({ "htu": "https://evil.example.com/orders" }), "htu"),
        (json!({ "htu": "http://api.example.com/orders" }), "htu"),
        (json!({ "htu": null }), "htu"),
        (json!({ "iat": null }), "iat"),
        (json!({ "iat": "1700000000" }), "iat"),
        (json!({ "iat": NOW - 301.0 }), "iat"),
        (json!({ "iat": NOW + 31.0 }), "iat"),
        (json!({ "ath": null }), "ath"),
        (json!({ "ath": access_token_hash("another.token") }), "ath"),
        (json!({ "nonce": 5 }), "nonce"),
    ];
    for (claims, needle) in cases {
        let error = check(&proof(&key, json!({}), claims.clone())).unwrap_err();
        assert!(error.contains(needle), "{claims}: {error}");
    }
    for fine in [
        json!({ "jti": "x".repeat(512) }),
        json!({ "iat": NOW - 300.0 }),
        json!({ "iat": NOW + 30.0 }),
        json!({ "htu": "HTTPS://API.EXAMPLE.COM:443/orders?page=2#top" }),
        json!({ "nonce": "n" }),
    ] {
        assert!(
            check(&proof(&key, json!({}), fine.clone())).is_ok(),
            "{fine}"
        );
    }
}

#[test]
fn malformed_proofs_are_refused_without_panicking() {
    let key = TestKey::new(Alg::ES256, "k");
    let good = proof(&key, json!({}), json!({}));
    let mut parts: Vec<&str> = good.split('.').collect();
    for bad in [
        String::new(),
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        "!.!.!".to_owned(),
        format!("{}.{}.", parts[0], parts[1]),
        format!("e30.{}.{}", parts[1], parts[2]),
        "x".repeat(MAX_PROOF_BYTES + 1),
    ] {
        assert!(check(&bad).is_err(), "{bad}");
    }
    // A signature over other bytes.
    let other = proof(&key, json!({}), json!({ "jti": "jti-2" }));
    parts[2] = other.rsplit('.').next().unwrap();
    assert_eq!(
        check(&parts.join(".")),
        Err("DPoP proof signature is invalid")
    );
}

/// Kept keys are the keys themselves: a proof naming a kept key but signed by another fails,
/// a key kept for one algorithm is decoded again for another, an invalid key is never kept, and
/// a full cache starts over without refusing anything.
#[test]
fn kept_proof_keys_are_found_only_by_their_own_key_and_algorithm() {
    let keys = ProofKeys::default();
    let htu = htu::normalise(URL).unwrap();
    let with_keys = Expected {
        keys: &keys,
        ..expected(&htu)
    };
    let (key, thief) = (TestKey::new(Alg::ES256, "k"), TestKey::new(Alg::ES256, "k"));
    let first = verify(&proof(&key, json!({}), json!({})), &with_keys).unwrap();
    let again = verify(&proof(&key, json!({}), json!({})), &with_keys).unwrap();
    assert_eq!(first.thumbprint, again.thumbprint);
    let forged = proof(&thief, json!({ "jwk": key.jwk() }), json!({}));
    assert_eq!(
        verify(&forged, &with_keys),
        Err("DPoP proof signature is invalid")
    );
    let thiefs = verify(&proof(&thief, json!({}), json!({})), &with_keys).unwrap();
    assert_ne!(thiefs.thumbprint, first.thumbprint);

    // One RSA key, two algorithms: each signature checked with its own padding.
    let rsa = TestKey::new(Alg::RS256, "r");
    let rs = proof(&rsa, json!({ "alg": "RS256" }), json!({}));
    assert!(verify(&rs, &with_keys).is_ok());
    let as_ps = format!(
        "{}.{}",
        header_with_alg(&rs, "PS256"),
        rs.split_once('.').unwrap().1
    );
    assert!(verify(&as_ps, &with_keys).is_err());
    // Two EC keys, and the RSA key once per algorithm.
    assert_eq!(keys.lock().len(), 4);

    // A point off the curve: refused, every time, and not kept.
    let mut off_curve = key.jwk();
    off_curve["y"] = off_curve["x"].clone();
    for _ in 0..2 {
        let error = verify(
            &proof(&key, json!({ "jwk": off_curve }), json!({})),
            &with_keys,
        );
        assert_eq!(error, Err("DPoP proof jwk is not a usable public key"));
    }
    assert_eq!(keys.lock().len(), 4);

    // Past its capacity the cache empties and goes on.
    for i in 0..ProofKeys::CAPACITY {
        let other = TestKey::new(Alg::EdDSA, &format!("e{i}"));
        assert!(verify(&proof(&other, json!({}), json!({})), &with_keys).is_ok());
    }
    assert!(keys.lock().len() <= ProofKeys::CAPACITY);
    assert_eq!(
        verify(&proof(&key, json!({}), json!({})), &with_keys)
            .unwrap()
            .thumbprint,
        first.thumbprint
    );
}

/// `proof`'s header, its `alg` replaced (the signature no longer matches it).
fn header_with_alg(proof: &str, alg: &str) -> String {
    let header = proof.split('.').next().unwrap();
    let mut value: Value = serde_json::from_slice(&b64url_decode(header).unwrap()).unwrap();
    value["alg"] = json!(alg);
    b64url_encode(value.to_string().as_bytes())
}
