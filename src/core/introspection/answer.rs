//! Reading an introspection answer (RFC 7662 §2.2): the claims of an active token, or the
//! failure the status and body describe.

use serde_json::{Map, Value};

use crate::core::error::{Error, Result, TokenErrorCode};
use crate::core::http::Response;

pub const INACTIVE: &str = "Token is not active. The introspection endpoint returned active=false";

/// The claims of an introspection answer: the answer minus `active`, which must be the JSON
/// value `true` (a string "true" or a 1 is not). An answer that is JSON but not an object (an
/// array, a string, a number) has no `active` member: inactive, as the original reads it.
pub fn read_answer(response: &Response) -> Result<Map<String, Value>> {
    match response.status {
        200 => {}
        400 | 401 => return Err(op_error(response)),
        status => {
            return Err(Error::http(
                format!(
                    "Error while performing token introspection. Unexpected status code: {status}"
                ),
                Some(response.raw()),
            ));
        }
    }
    let mut answer = match response.json()? {
        Value::Object(answer) => answer,
        // The original fails reading `null.active`; an issuer answering `null` is broken, so
        // it stays a `MonoCloudHttpError` here.
        Value::Null => return Err(response.not_an_object()),
        _ => return Err(Error::token_with(INACTIVE, TokenErrorCode::InactiveToken)),
    };
    if answer.remove("active") != Some(Value::Bool(true)) {
        return Err(Error::token_with(INACTIVE, TokenErrorCode::InactiveToken));
    }
    if !names_an_access_token(answer.get("token_type")) {
        return Err(Error::token(NOT_AN_ACCESS_TOKEN));
    }
    Ok(answer)
}

pub const NOT_AN_ACCESS_TOKEN: &str = "The introspected token is not an access token";

/// RFC 7662 gives `token_type` as an access token's type (RFC 6749 §7.1: `Bearer`, `DPoP`);
/// some servers name the kind of token instead (`access_token`, or RFC 8693's URN). Anything
/// else (`refresh_token`, `id_token`, `N_A`...) is another kind of token, which a resource must
/// not accept (RFC 8725 §3.11). No `token_type` says nothing either way.
fn names_an_access_token(token_type: Option<&Value>) -> bool {
    match token_type {
        None | Some(Value::Null) => true,
        Some(Value::String(name)) => [
            "bearer",
            "dpop",
            "access_token",
            "urn:ietf:params:oauth:token-type:access_token",
        ]
        .iter()
        .any(|accepted| name.eq_ignore_ascii_case(accepted)),
        Some(_) => false,
    }
}

/// 400 and 401 carry an OAuth error; a body without one still says what kind of failure.
fn op_error(response: &Response) -> Error {
    let body = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let error = body
        .get("error")
        .filter(|v| !v.is_null())
        .map(text)
        .unwrap_or_else(|| {
            if response.status == 401 {
                "invalid_client".into()
            } else {
                "introspection_failed".into()
            }
        });
    let description = body
        .get("error_description")
        .filter(|v| !v.is_null())
        .map(text)
        .unwrap_or_else(|| "Token introspection failed".into());
    Error::Op {
        error,
        description,
        raw: Some(Box::new(response.raw())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            status_text: String::new(),
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    /// An active answer for another kind of token is refused as `invalid_token`.
    #[test]
    fn token_type_must_name_an_access_token() {
        for accepted in [
            r#"{"active":true}"#,
            r#"{"active":true,"token_type":null}"#,
            r#"{"active":true,"token_type":"Bearer"}"#,
            r#"{"active":true,"token_type":"bearer"}"#,
            r#"{"active":true,"token_type":"DPoP"}"#,
            r#"{"active":true,"token_type":"access_token"}"#,
            r#"{"active":true,"token_type":"urn:ietf:params:oauth:token-type:access_token"}"#,
        ] {
            assert!(read_answer(&response(200, accepted)).is_ok(), "{accepted}");
        }
        for refused in [
            r#"{"active":true,"token_type":"refresh_token"}"#,
            r#"{"active":true,"token_type":"urn:ietf:params:oauth:token-type:refresh_token"}"#,
            r#"{"active":true,"token_type":"id_token"}"#,
            r#"{"active":true,"token_type":"N_A"}"#,
            r#"{"active":true,"token_type":""}"#,
            r#"{"active":true,"token_type":["Bearer"]}"#,
            r#"{"active":true,"token_type":1}"#,
        ] {
            let err = read_answer(&response(200, refused)).unwrap_err();
            assert!(
                matches!(
                    &err,
                    Error::Token {
                        code: TokenErrorCode::InvalidToken,
                        message,
                    } if message == NOT_AN_ACCESS_TOKEN
                ),
                "{refused}: {err:?}"
            );
        }
    }

    #[test]
    fn answers() {
        let ok = read_answer(&response(200, r#"{"active":true,"sub":"u"}"#)).unwrap();
        assert_eq!(Value::Object(ok), json!({ "sub": "u" }));
        for inactive in [
            r#"{"active":false}"#,
            r#"{}"#,
            r#"{"active":"true"}"#,
            r#"{"active":1}"#,
            r#"{"active":"false"}"#,
            // Not an object: no `active` member, as the original reads it.
            r#"[{"active":true}]"#,
            r#""active""#,
            "1",
            "true",
        ] {
            let err = read_answer(&response(200, inactive)).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Token {
                        code: TokenErrorCode::InactiveToken,
                        ..
                    }
                ),
                "{inactive}"
            );
        }
        let op = |status, body| match read_answer(&response(status, body)).unwrap_err() {
            Error::Op {
                error, description, ..
            } => (error, description),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            op(
                400,
                r#"{"error":"invalid_request","error_description":"bad"}"#
            ),
            ("invalid_request".into(), "bad".into())
        );
        assert_eq!(
            op(400, "{}"),
            (
                "introspection_failed".into(),
                "Token introspection failed".into()
            )
        );
        assert_eq!(
            op(400, ""),
            (
                "introspection_failed".into(),
                "Token introspection failed".into()
            )
        );
        assert_eq!(
            op(401, "<html>"),
            ("invalid_client".into(), "Token introspection failed".into())
        );
        assert_eq!(op(401, r#"{"error":"invalid_token"}"#).0, "invalid_token");
        let http = read_answer(&response(500, "oops")).unwrap_err();
        assert_eq!(
            http.to_string(),
            "Error while performing token introspection. Unexpected status code: 500"
        );
        assert!(matches!(
            read_answer(&response(200, "null")).unwrap_err(),
            Error::Http { .. }
        ));
        // Not JSON: the text crosses so that JavaScript words the message as the original.
        match read_answer(&response(200, "\u{FEFF}{a")).unwrap_err() {
            Error::Http {
                message, json_text, ..
            } => {
                assert!(message.starts_with("Failed to parse response body as JSON : "));
                assert_eq!(
                    json_text.as_deref(),
                    Some("{a"),
                    "without the byte-order mark"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
