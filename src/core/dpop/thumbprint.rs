//! JWK SHA-256 thumbprints (RFC 7638): the hash of the key's required members only, in
//! lexicographic order, with no white space, so that the same key always gives the same
//! thumbprint whatever else its JWK carries. A DPoP-bound token names its key this way
//! (`cnf.jkt`, RFC 9449 §6.1).

use aws_lc_rs::digest;
use serde_json::{Map, Value};

use crate::core::jose::b64url_encode;

/// The required members of each key type, already in lexicographic order.
fn required_members(kty: &str) -> Option<&'static [&'static str]> {
    match kty {
        "EC" => Some(&["crv", "kty", "x", "y"]),
        "RSA" => Some(&["e", "kty", "n"]),
        "OKP" => Some(&["crv", "kty", "x"]),
        _ => None,
    }
}

/// The base64url SHA-256 thumbprint of a public JWK, or `None` when a required member is
/// missing or not a string.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    canonical_members(jwk).map(|canonical| thumbprint_of(&canonical))
}

/// The thumbprint of a key's canonical members.
pub fn thumbprint_of(canonical: &[u8]) -> String {
    b64url_encode(digest::digest(&digest::SHA256, canonical).as_ref())
}

/// The JSON text a thumbprint hashes: the key's required members and nothing else. Two JWKs
/// with the same text are the same key.
pub fn canonical_members(jwk: &Map<String, Value>) -> Option<Vec<u8>> {
    let kty = jwk.get("kty")?.as_str()?;
    let members = required_members(kty)?;
    let mut canonical = Vec::with_capacity(256);
    canonical.push(b'{');
    for (index, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if index > 0 {
            canonical.push(b',');
        }
        // serde_json escapes exactly as RFC 7638 §3.3 asks of JSON strings; writing to a
        // vector cannot fail.
        serde_json::to_writer(&mut canonical, name).ok()?;
        canonical.push(b':');
        serde_json::to_writer(&mut canonical, value).ok()?;
    }
    canonical.push(b'}');
    Some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn the_rfc_example_gives_its_thumbprint() {
        let jwk = object(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }));
        assert_eq!(
            jwk_thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn only_required_members_count_and_missing_ones_fail() {
        let ec = json!({ "kty": "EC", "crv": "P-256", "x": "AA", "y": "AQ" });
        let mut extra = ec.clone();
        extra["kid"] = json!("k");
        extra["use"] = json!("sig");
        assert_eq!(
            jwk_thumbprint(&object(ec.clone())),
            jwk_thumbprint(&object(extra))
        );
        let mut other = ec.clone();
        other["x"] = json!("AB");
        assert_ne!(jwk_thumbprint(&object(ec)), jwk_thumbprint(&object(other)));
        for bad in [
            json!({ "kty": "EC", "crv": "P-256", "x": "AA" }),
            json!({ "kty": "oct", "k": "AA" }),
            json!({ "kty": "OKP", "crv": "Ed25519", "x": 1 }),
            json!({ "crv": "Ed25519", "x": "AA" }),
        ] {
            assert_eq!(jwk_thumbprint(&object(bad.clone())), None, "{bad}");
        }
    }
}
