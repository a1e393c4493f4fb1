use serde_json::{Value, json};

use super::*;

// `AQIDBAUGBwg=` is the bytes 1..=8; its SHA-256, base64url.
const CERT_B64: &str = "AQIDBAUGBwg=";

fn thumbprint() -> String {
    b64url_encode(digest::digest(&digest::SHA256, &[1, 2, 3, 4, 5, 6, 7, 8]).as_ref())
}

fn pem() -> String {
    "-----BEGIN CERTIFICATE-----\nAQID\nBAUG\nBwg=\n-----END CERTIFICATE-----\n".to_owned()
}

fn claims(cnf: Value) -> Map<String, Value> {
    let mut c = json!({ "sub": "x" });
    if !cnf.is_null() {
        c["cnf"] = cnf;
    }
    c.as_object().unwrap().clone()
}

fn err(cnf: Value, mode: BindingMode, cert: Option<&str>) -> String {
    check(&claims(cnf), Some(mode), cert)
        .unwrap_err()
        .to_string()
}

#[test]
fn binding_matrix() {
    use BindingMode::*;
    let bound = json!({ "x5t#S256": thumbprint() });
    assert!(check(&claims(bound.clone()), Some(Required), Some(CERT_B64)).is_ok());
    assert!(check(&claims(bound.clone()), Some(Required), Some(&pem())).is_ok());
    assert!(
        check(
            &claims(json!(bound.to_string())),
            Some(Required),
            Some(CERT_B64)
        )
        .is_ok()
    );
    assert!(
        check(
            &claims(bound.clone()),
            Some(WhenPresent),
            Some("AQIDBAUGBwg")
        )
        .is_ok(),
        "padding optional"
    );

    assert_eq!(
        err(bound.clone(), Required, None),
        "Client certificate is not present"
    );
    assert_eq!(
        err(bound.clone(), Required, Some("  ")),
        "Client certificate is not present"
    );
    assert_eq!(
        err(bound.clone(), Required, Some("@@@invalid-base64@@@")),
        "Client certificate is malformed"
    );
    assert_eq!(
        err(Value::Null, Required, Some(CERT_B64)),
        "Access token does not contain a 'cnf' (confirmation) claim for certificate binding"
    );
    assert_eq!(
        err(json!("{not json"), Required, Some(CERT_B64)),
        "Malformed 'cnf' claim for certificate binding"
    );
    assert_eq!(
        err(json!([]), Required, Some(CERT_B64)),
        "The 'cnf' claim could not be parsed"
    );
    assert_eq!(
        err(json!({}), Required, Some(CERT_B64)),
        "The 'cnf' claim does not contain an 'x5t#S256' member specifying the certificate hash for binding"
    );
    assert_eq!(
        err(json!({ "x5t#S256": "" }), Required, Some(CERT_B64)),
        "The 'cnf' claim does not contain an 'x5t#S256' member specifying the certificate hash for binding"
    );
    assert_eq!(
        err(json!({ "x5t#S256": "AAAA" }), Required, Some(CERT_B64)),
        "The certificate hash in the access token does not match the presented client certificate (certificate binding validation failed)"
    );

    // when_present: no cnf, or a DPoP-style cnf, is not certificate binding.
    assert!(check(&claims(Value::Null), Some(WhenPresent), None).is_ok());
    assert!(check(&claims(json!({ "jkt": "x" })), Some(WhenPresent), None).is_ok());
    assert!(check(&claims(json!(r#"{"jkt":"x"}"#)), Some(WhenPresent), None).is_ok());
    // ...but an unreadable one is, and then fails.
    assert_eq!(
        err(json!(["x5t#S256"]), WhenPresent, Some(CERT_B64)),
        "The 'cnf' claim could not be parsed"
    );
    assert_eq!(
        err(json!("garbage"), WhenPresent, Some(CERT_B64)),
        "Malformed 'cnf' claim for certificate binding"
    );
    assert_eq!(
        err(bound.clone(), WhenPresent, None),
        "Client certificate is not present"
    );

    assert!(
        check(
            &claims(json!({ "x5t#S256": "AAAA" })),
            Some(DangerouslyIgnore),
            Some(CERT_B64)
        )
        .is_ok()
    );
    assert!(check(&claims(json!({ "x5t#S256": "AAAA" })), None, None).is_ok());
}
