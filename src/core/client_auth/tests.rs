use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use serde_json::json;

use super::*;

const ISSUER: &str = "https://tenant.example.com";

fn client<'a>(method: ClientAuthMethod, secret: Option<&'a ClientSecret>) -> Authentication<'a> {
    Authentication {
        id: "my client",
        secret,
        method,
        issuer: ISSUER,
    }
}

fn field<'a>(c: &'a Credentials, name: &str) -> &'a str {
    c.form
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn decode_assertion(assertion: &str) -> (Value, Value) {
    let mut parts = assertion.split('.');
    let mut next = || -> Value {
        serde_json::from_slice(&b64url_decode(parts.next().unwrap()).unwrap()).unwrap()
    };
    (next(), next())
}

#[test]
fn form_encoding_follows_url_search_params() {
    assert_eq!(
        form_urlencode("a b+c/d:é*-._~"),
        "a+b%2Bc%2Fd%3A%C3%A9*-._%7E"
    );
    assert_eq!(
        form_body(&[
            ("token", "x y".into()),
            ("token_type_hint", "access_token".into())
        ]),
        "token=x+y&token_type_hint=access_token"
    );
}

#[test]
fn basic_form_encodes_id_and_secret() {
    let secret = ClientSecret::Text("pä ss:word".into());
    let c = client(ClientAuthMethod::ClientSecretBasic, Some(&secret))
        .credentials(0.0)
        .unwrap();
    assert!(c.form.is_empty());
    let expected = STANDARD.encode("my+client:p%C3%A4+ss%3Aword");
    assert_eq!(c.authorization.unwrap(), format!("Basic {expected}"));
    let none = client(ClientAuthMethod::ClientSecretBasic, None)
        .credentials(0.0)
        .unwrap();
    assert_eq!(
        none.authorization.unwrap(),
        format!("Basic {}", STANDARD.encode("my+client:"))
    );
}

#[test]
fn post_sends_id_and_any_string_secret() {
    let secret = ClientSecret::Text("s".into());
    let c = client(ClientAuthMethod::ClientSecretPost, Some(&secret))
        .credentials(0.0)
        .unwrap();
    assert_eq!(
        c.form,
        vec![
            ("client_id", "my client".into()),
            ("client_secret", "s".into())
        ]
    );
    let c = client(ClientAuthMethod::ClientSecretPost, None)
        .credentials(0.0)
        .unwrap();
    assert_eq!(c.form, vec![("client_id", "my client".into())]);
}

#[test]
fn mtls_methods_send_only_the_client_id() {
    for method in [
        ClientAuthMethod::TlsClientAuth,
        ClientAuthMethod::SelfSignedTlsClientAuth,
        ClientAuthMethod::SpiffeX509,
    ] {
        let c = client(method, None).credentials(0.0).unwrap();
        assert_eq!(c.form, vec![("client_id", "my client".into())]);
        assert_eq!(c.authorization, None);
    }
}

#[test]
fn spiffe_jwt_sends_the_svid_verbatim() {
    let svid = ClientSecret::Text("svid.jwt.value".into());
    let c = client(ClientAuthMethod::SpiffeJwt, Some(&svid))
        .credentials(0.0)
        .unwrap();
    assert_eq!(field(&c, "client_assertion"), "svid.jwt.value");
    assert_eq!(
        field(&c, "client_assertion_type"),
        "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"
    );
}

#[test]
fn client_secret_jwt_is_an_hs256_assertion() {
    let secret = ClientSecret::Text("shared secret".into());
    let now = 1_700_000_000.0;
    let c = client(ClientAuthMethod::ClientSecretJwt, Some(&secret))
        .credentials(now)
        .unwrap();
    assert_eq!(
        field(&c, "client_assertion_type"),
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    let assertion = field(&c, "client_assertion");
    let (header, payload) = decode_assertion(assertion);
    assert_eq!(header, json!({ "alg": "HS256" }));
    assert_eq!(payload["iss"], "my client");
    assert_eq!(payload["sub"], "my client");
    assert_eq!(payload["aud"], ISSUER);
    assert_eq!(payload["iat"], now);
    assert_eq!(payload["nbf"], now);
    assert_eq!(payload["exp"], now + 60.0);
    assert_eq!(payload["jti"].as_str().unwrap().len(), 43);
    let (input, signature) = assertion.rsplit_once('.').unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"shared secret");
    hmac::verify(&key, input.as_bytes(), &b64url_decode(signature).unwrap()).unwrap();
    let again = client(ClientAuthMethod::ClientSecretJwt, Some(&secret))
        .credentials(now)
        .unwrap();
    assert_ne!(
        field(&again, "client_assertion"),
        assertion,
        "a fresh jti every time"
    );
}

fn oct(members: Value) -> Result<SymmetricKey> {
    SymmetricKey::from_jwk(members.as_object().unwrap())
}

/// Seed 001: a symmetric JWK's `alg` picks the assertion's algorithm, its `kid` names the key.
#[test]
fn client_secret_jwt_with_an_oct_jwk_uses_its_alg_and_kid() {
    let cases = [
        ("HS256", hmac::HMAC_SHA256, 32),
        ("HS384", hmac::HMAC_SHA384, 48),
        ("HS512", hmac::HMAC_SHA512, 64),
    ];
    for (alg, algorithm, len) in cases {
        let key_bytes: Vec<u8> = (0..len as u8).collect();
        let jwk =
            oct(json!({ "kty": "oct", "k": b64url_encode(&key_bytes), "alg": alg, "kid": "k-1" }))
                .unwrap();
        let secret = ClientSecret::Symmetric(jwk);
        let c = client(ClientAuthMethod::ClientSecretJwt, Some(&secret))
            .credentials(1_700_000_000.0)
            .unwrap();
        let assertion = field(&c, "client_assertion");
        let (header, payload) = decode_assertion(assertion);
        assert_eq!(header, json!({ "alg": alg, "kid": "k-1" }));
        assert_eq!(payload["iss"], "my client");
        let (input, signature) = assertion.rsplit_once('.').unwrap();
        let key = hmac::Key::new(algorithm, &key_bytes);
        hmac::verify(&key, input.as_bytes(), &b64url_decode(signature).unwrap())
            .unwrap_or_else(|_| panic!("{alg} signature"));
    }
    let no_kid = ClientSecret::Symmetric(
        oct(json!({ "kty": "oct", "k": b64url_encode(&[7; 32]), "alg": "HS256" })).unwrap(),
    );
    let c = client(ClientAuthMethod::ClientSecretJwt, Some(&no_kid))
        .credentials(0.0)
        .unwrap();
    assert_eq!(
        decode_assertion(field(&c, "client_assertion")).0,
        json!({ "alg": "HS256" })
    );
}

/// A bad symmetric JWK is refused with a message that names the member, never the key.
#[test]
fn a_bad_oct_jwk_is_refused_without_its_key() {
    let k = b64url_encode(&[0xAB; 64]);
    let cases = [
        json!({ "kty": "RSA", "k": k, "alg": "HS256" }),
        json!({ "k": k, "alg": "HS256" }),
        json!({ "kty": "oct", "k": k }),
        json!({ "kty": "oct", "k": k, "alg": "RS256" }),
        json!({ "kty": "oct", "k": k, "alg": "none" }),
        json!({ "kty": "oct", "alg": "HS256" }),
        json!({ "kty": "oct", "k": "not base64url!", "alg": "HS256" }),
        json!({ "kty": "oct", "k": "q80=", "alg": "HS256" }),
        json!({ "kty": "oct", "k": b64url_encode(&[0xAB; 31]), "alg": "HS256" }),
        json!({ "kty": "oct", "k": b64url_encode(&[0xAB; 63]), "alg": "HS512" }),
        json!({ "kty": "oct", "k": k, "alg": "HS256", "kid": 5 }),
    ];
    for jwk in cases {
        let err = oct(jwk.clone()).unwrap_err();
        assert!(matches!(err, Error::Validation(_)), "{jwk}: {err:?}");
        assert!(!err.to_string().contains(&k[..8]), "{err}");
    }
    let key = oct(json!({ "kty": "oct", "k": k, "alg": "HS512" })).unwrap();
    assert!(!format!("{:?}", ClientSecret::Symmetric(key)).contains(&k[..8]));
}

#[test]
fn private_key_jwt_signs_with_the_jwk_and_names_its_kid() {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .unwrap();
    let point = pair.public_key().as_ref();
    let d = pair.private_key().as_be_bytes().unwrap();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "client-key",
        "x": b64url_encode(&point[1..33]), "y": b64url_encode(&point[33..]),
        "d": b64url_encode(d.as_ref()),
    });
    let secret = ClientSecret::Jwk(jwk.as_object().unwrap().clone());
    let c = client(ClientAuthMethod::PrivateKeyJwt, Some(&secret))
        .credentials(0.0)
        .unwrap();
    let assertion = field(&c, "client_assertion");
    let (header, _) = decode_assertion(assertion);
    assert_eq!(header, json!({ "alg": "ES256", "kid": "client-key" }));
    let (input, sig) = assertion.rsplit_once('.').unwrap();
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(input.as_bytes(), &b64url_decode(sig).unwrap())
        .unwrap();
}

#[test]
fn misconfigured_methods_are_validation_errors() {
    let jwk = ClientSecret::Jwk(json!({ "kty": "EC" }).as_object().unwrap().clone());
    let text = ClientSecret::Text("x".into());
    let cases = [
        (ClientAuthMethod::ClientSecretBasic, Some(&jwk)),
        (ClientAuthMethod::ClientSecretJwt, None),
        (ClientAuthMethod::PrivateKeyJwt, Some(&text)),
        (ClientAuthMethod::PrivateKeyJwt, None),
        (ClientAuthMethod::SpiffeJwt, None),
        (ClientAuthMethod::PrivateKeyJwt, Some(&jwk)),
    ];
    for (method, secret) in cases {
        let err = client(method, secret).credentials(0.0).unwrap_err();
        assert!(matches!(err, Error::Validation(_)), "{method:?}: {err:?}");
        assert!(!err.to_string().contains('x') || method != ClientAuthMethod::PrivateKeyJwt);
    }
}
