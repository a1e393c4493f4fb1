use serde_json::{Value, json};

use super::*;
use crate::core::testkit::{AUDIENCE, ISSUER};

const NOW: f64 = 1_700_000_000.0;

fn expect() -> Expectations<'static> {
    Expectations {
        issuer: ISSUER,
        audience: AUDIENCE,
        other_audiences: &[],
        now: NOW,
        clock_skew: 0.0,
        clock_tolerance: 60.0,
        require_exp: true,
    }
}

fn with(changes: Value) -> Map<String, Value> {
    let mut claims =
        json!({ "iss": ISSUER, "sub": "u", "aud": AUDIENCE, "exp": NOW + 10.0, "iat": NOW });
    for (k, v) in changes.as_object().unwrap() {
        if v == "<remove>" {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims.as_object().unwrap().clone()
}

fn error(changes: Value, e: &Expectations) -> String {
    check_standard(&with(changes), e).unwrap_err().to_string()
}

#[test]
fn standard_claims() {
    let e = expect();
    assert!(check_standard(&with(json!({})), &e).is_ok());
    assert!(check_standard(&with(json!({ "aud": ["x", AUDIENCE] })), &e).is_ok());
    assert!(check_standard(&with(json!({ "sub": 0 })), &e).is_ok());
    assert!(check_standard(&with(json!({ "sub": "" })), &e).is_ok());
    assert!(
        check_standard(&with(json!({ "exp": NOW - 59.0 })), &e).is_ok(),
        "tolerance"
    );
    assert_eq!(
        error(json!({ "iss": "https://tenant.example.com/" }), &e),
        "Invalid Issuer"
    );
    assert_eq!(error(json!({ "iss": "<remove>" }), &e), "Invalid Issuer");
    assert_eq!(error(json!({ "sub": 123 }), &e), "Invalid subject");
    assert_eq!(
        error(json!({ "aud": "https://other" }), &e),
        "Invalid audience claim"
    );
    assert_eq!(
        error(json!({ "aud": "<remove>" }), &e),
        "Invalid audience claim"
    );
    assert_eq!(error(json!({ "aud": [1] }), &e), "Invalid audience claim");
    assert_eq!(
        error(json!({ "exp": "soon" }), &e),
        "Unexpected \"exp\" (expiration time) claim type"
    );
    assert_eq!(
        error(json!({ "exp": null }), &e),
        "Unexpected \"exp\" (expiration time) claim type"
    );
    assert_eq!(
        error(json!({ "exp": 2 }), &e),
        "Unexpected \"exp\" (expiration time) claim value, timestamp is <= now()"
    );
    assert_eq!(
        error(json!({ "exp": NOW - 60.0 }), &e),
        "Unexpected \"exp\" (expiration time) claim value, timestamp is <= now()"
    );
    assert_eq!(
        error(json!({ "nbf": "x" }), &e),
        "Unexpected \"nbf\" (not before) claim type"
    );
    assert_eq!(
        error(json!({ "nbf": NOW + 61.0 }), &e),
        "Unexpected \"nbf\" (not before) claim value, timestamp is > now()"
    );
    assert!(check_standard(&with(json!({ "nbf": NOW + 60.0 })), &e).is_ok());
    assert_eq!(
        error(json!({ "exp": "<remove>" }), &e),
        "Missing required \"exp\" (expiration time) claim"
    );
    assert_eq!(
        error(json!({ "iat": "yesterday" }), &e),
        "Unexpected \"iat\" (issued at) claim type"
    );
}

#[test]
fn introspection_results_may_omit_exp() {
    let e = Expectations {
        require_exp: false,
        ..expect()
    };
    assert!(check_standard(&with(json!({ "exp": "<remove>" })), &e).is_ok());
    assert!(check_standard(&with(json!({ "iat": "whenever" })), &e).is_ok());
}

#[test]
fn skew_moves_now_forward() {
    let e = Expectations {
        clock_skew: 1000.0,
        clock_tolerance: 1.0,
        ..expect()
    };
    assert!(check_standard(&with(json!({})), &e).is_err());
}

#[test]
fn scopes() {
    let claims = with(json!({ "scope": " read\twrite  admin " }));
    let req = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(check_scopes(&claims, &req(&["read", "admin"])).is_ok());
    assert!(check_scopes(&claims, &req(&[])).is_ok());
    let err = check_scopes(&claims, &req(&["read", "delete"])).unwrap_err();
    assert!(matches!(
        err,
        Error::Token {
            code: TokenErrorCode::InsufficientScope,
            ..
        }
    ));
    assert_eq!(err.to_string(), "Token is missing required scopes");
    assert!(check_scopes(&with(json!({})), &req(&["read"])).is_err());
    let typed = check_scopes(&with(json!({ "scope": ["read"] })), &req(&["read"])).unwrap_err();
    assert!(matches!(
        typed,
        Error::Token {
            code: TokenErrorCode::InvalidToken,
            ..
        }
    ));
}

#[test]
fn groups() {
    let claims = with(json!({
        "groups": ["admins", { "id": "g1", "name": "Editors" }, 5],
        "roles": "admins",
    }));
    let req = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(is_user_in_group(
        &claims,
        &req(&["admins"]),
        "groups",
        false
    ));
    assert!(is_user_in_group(&claims, &req(&["g1"]), "groups", false));
    assert!(is_user_in_group(
        &claims,
        &req(&["Editors", "nope"]),
        "groups",
        false
    ));
    assert!(!is_user_in_group(
        &claims,
        &req(&["Editors", "nope"]),
        "groups",
        true
    ));
    assert!(is_user_in_group(
        &claims,
        &req(&["Editors", "admins"]),
        "groups",
        true
    ));
    assert!(is_user_in_group(&claims, &req(&[]), "missing", true));
    assert!(
        !is_user_in_group(&claims, &req(&["admins"]), "roles", false),
        "a string claim never matches"
    );
    assert!(!is_user_in_group(
        &claims,
        &req(&["admins"]),
        "missing",
        false
    ));
    let err = check_groups(&claims, &req(&["x"]), "groups", false).unwrap_err();
    assert!(matches!(
        err,
        Error::Token {
            code: TokenErrorCode::InsufficientGroups,
            ..
        }
    ));
    assert_eq!(err.to_string(), "Token is missing required groups");
}

#[test]
fn any_of_the_other_audiences_matches() {
    let others = ["https://second.example".to_owned()];
    let e = Expectations {
        other_audiences: &others,
        ..expect()
    };
    assert!(check_standard(&with(json!({ "aud": "https://second.example" })), &e).is_ok());
    assert!(check_standard(&with(json!({ "aud": ["x", "https://second.example"] })), &e).is_ok());
    assert!(check_standard(&with(json!({ "aud": "https://third.example" })), &e).is_err());
    assert!(check_standard(&with(json!({ "aud": "https://second.example" })), &expect()).is_err());
}
