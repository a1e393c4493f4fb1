use serde_json::json;

use super::*;
use crate::core::testkit::{TestKey, good_claims, key_set};

fn message(result: Result<Claims>) -> String {
    match result {
        Err(Error::Token { message, .. }) => message.into_owned(),
        other => panic!("expected a token error, got {other:?}"),
    }
}

fn verify(token: &str, keys: &KeySet) -> Result<Claims> {
    parse(token)?.verify(keys)
}

#[test]
fn every_algorithm_verifies_and_a_flipped_bit_does_not() {
    let keys: Vec<_> = Alg::ALL
        .iter()
        .map(|a| TestKey::new(*a, a.name()))
        .collect();
    let set = key_set(&keys.iter().collect::<Vec<_>>());
    for key in &keys {
        let token = key.sign(good_claims());
        let claims = verify(&token, &set).unwrap_or_else(|e| panic!("{}: {e}", key.alg.name()));
        assert_eq!(claims.map["sub"], "user-1");
        let mut bytes = token.into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert_eq!(
            message(verify(&tampered, &set)),
            "JWT signature verification failed",
            "{}",
            key.alg.name()
        );
    }
}

#[test]
fn claims_text_is_the_signed_payload_and_utf8() {
    let key = TestKey::new(Alg::ES256, "k");
    let payload = r#"{"sub":"Zoë","name":"日本語 ✓","b":1}"#;
    let token = key.sign_text(json!({}), payload);
    let claims = verify(&token, &key_set(&[&key])).unwrap();
    assert_eq!(claims.json, payload);
    assert_eq!(claims.map["name"], "日本語 ✓");
}

#[test]
fn shape_and_header_errors_in_upstream_order() {
    let key = TestKey::new(Alg::ES256, "k");
    let set = key_set(&[&key]);
    let b64 = |s: &str| crate::core::jose::b64url_encode(s.as_bytes());
    let cases = [
        (
            "a.b".to_owned(),
            "JWT access token must have a header, payload and signature",
        ),
        (
            "a.b.c.d".to_owned(),
            "JWT access token must have a header, payload and signature",
        ),
        (
            ".payload.signature".to_owned(),
            "Failed to parse JWT Header",
        ),
        (
            format!("{}.e30.AA", b64("[1]")),
            "JWT Header must be a top level object",
        ),
        (
            format!("{}.e30.AA", b64("null")),
            "JWT Header must be a top level object",
        ),
        (
            format!("{}.e30.AA", b64(r#"{"alg":"ES256","crit":[]}"#)),
            "Unexpected JWT \"crit\" header parameter",
        ),
        (
            format!("{}.e30.AA", b64(r#"{"alg":"none"}"#)),
            "unsupported JWS \"alg\" identifier",
        ),
        (
            format!("{}.e30.AA", b64(r#"{"alg":"HS256"}"#)),
            "unsupported JWS \"alg\" identifier",
        ),
        (
            format!("{}.e30.AA", b64(r#"{"alg":"NONE"}"#)),
            "unsupported JWS \"alg\" identifier",
        ),
        (
            format!("{}.e30.AA", b64(r#"{"typ":"JWT"}"#)),
            "unsupported JWS \"alg\" identifier",
        ),
        (
            format!("{}.e30.A=", b64(r#"{"alg":"ES256"}"#)),
            "JWT signature is not valid base64url",
        ),
        (
            format!("{}.e30.@@", b64(r#"{"alg":"ES256"}"#)),
            "JWT signature is not valid base64url",
        ),
        (
            format!("{}==.e30.AA", b64(r#"{"alg":"ES256"}"#)),
            "Failed to parse JWT Header",
        ),
        (
            format!("{}.e30.AA", b64(r#"{"alg":"ES256","kid":"other"}"#)),
            "error when selecting a JWT verification key, multiple applicable keys found, a \"kid\" JWT Header Parameter is required",
        ),
        (
            format!("{}.e30.AA", b64(r#"{"alg":"RS256"}"#)),
            "error when selecting a JWT verification key, multiple applicable keys found, a \"kid\" JWT Header Parameter is required",
        ),
    ];
    for (token, expected) in cases {
        assert_eq!(message(verify(&token, &set)), expected, "{token}");
    }
}

#[test]
fn payload_errors_come_after_a_good_signature() {
    let key = TestKey::new(Alg::EdDSA, "k");
    let set = key_set(&[&key]);
    assert_eq!(
        message(verify(&key.sign_text(json!({}), "[]"), &set)),
        "JWT Payload must be a top level object"
    );
    assert_eq!(
        message(verify(&key.sign_text(json!({}), "{"), &set)),
        "Failed to parse JWT Payload"
    );
    // A payload that is not UTF-8.
    let input = format!(
        "{}.{}",
        crate::core::jose::b64url_encode(br#"{"alg":"EdDSA","kid":"k"}"#),
        crate::core::jose::b64url_encode(&[0xff, 0xfe])
    );
    let token = format!(
        "{input}.{}",
        crate::core::jose::b64url_encode(&key.sign_bytes(input.as_bytes()))
    );
    assert_eq!(message(verify(&token, &set)), "Failed to parse JWT Payload");
}

#[test]
fn keys_in_the_token_header_are_ignored() {
    let trusted = TestKey::new(Alg::ES256, "k");
    let attacker = TestKey::new(Alg::ES256, "k");
    let token = attacker.sign_text(
        json!({ "jwk": attacker.jwk(), "jku": "https://evil/jwks", "x5c": ["AA"] }),
        &good_claims().to_string(),
    );
    assert_eq!(
        message(verify(&token, &key_set(&[&trusted]))),
        "JWT signature verification failed"
    );
}

#[test]
fn oversized_tokens_are_refused_unparsed() {
    let token = format!("{}.e30.AA", "A".repeat(MAX_TOKEN_BYTES));
    assert_eq!(
        message(verify(&token, &key_set(&[]))),
        "Access token is larger than 16 KiB"
    );
}

#[test]
fn decode_without_verification() {
    let key = TestKey::new(Alg::ES256, "k");
    let token = key.sign(json!({ "sub": "x" }));
    assert_eq!(decode_unverified(&token).unwrap().map["sub"], "x");
    assert_eq!(
        decode_unverified("abc").unwrap_err().to_string(),
        "JWT does not contain payload"
    );
    assert_eq!(
        decode_unverified("a.W10.c").unwrap_err().to_string(),
        "Payload is not an object"
    );
    assert_eq!(
        decode_unverified("a.ew.c").unwrap_err().to_string(),
        "Could not parse payload. Malformed payload"
    );
}

/// RFC 8725 §3.11: a JWT that says it is another kind of token is refused before its
/// signature is looked at; the access-token and generic types pass, in any case, with or
/// without `application/`.
#[test]
fn typ_names_an_access_token_or_nothing() {
    let key = TestKey::new(Alg::ES256, "k");
    let set = key_set(&[&key]);
    // A null member leaves `typ` out of the header.
    let with_typ = |typ: Value| key.sign_text(json!({ "typ": typ }), &good_claims().to_string());
    for (typ, kind) in [
        (json!(null), TokenType::Generic),
        (json!("JWT"), TokenType::Generic),
        (json!("jwt"), TokenType::Generic),
        (json!("application/jwt"), TokenType::Generic),
        (json!("at+jwt"), TokenType::AccessToken),
        (json!("AT+JWT"), TokenType::AccessToken),
        (json!("application/at+jwt"), TokenType::AccessToken),
        (json!("Application/At+JWT"), TokenType::AccessToken),
    ] {
        let token = with_typ(typ.clone());
        assert_eq!(parse(&token).unwrap().typ, kind, "{typ}");
        assert!(verify(&token, &set).is_ok(), "{typ}");
    }
    for typ in [
        json!("logout+jwt"),
        json!("secevent+jwt"),
        json!("dpop+jwt"),
        json!("application/logout+jwt"),
        json!("id_token+jwt"),
        json!("token-introspection+jwt"),
        json!("at+jwt "),
        json!(""),
        json!(["at+jwt"]),
        json!(1),
    ] {
        assert_eq!(
            message(verify(&with_typ(typ.clone()), &set)),
            UNEXPECTED_TYP,
            "{typ}"
        );
    }
}
