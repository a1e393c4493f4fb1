//! `validateAccessToken` through the object: when a subclass, an instance override or a test spy
//! replaces `validateJwtAccessToken` or `introspectAccessToken`, the JavaScript face calls them
//! as the original does. The rules around them stay in the core (`Client::route`,
//! `Client::introspected`); this reads what the object's `introspectAccessToken` answered.

use serde_json::{Map, Value};

use crate::core::callbacks::JsCall;
use crate::core::error::{Error, Result, TokenErrorCode};

/// Calls the object's `introspectAccessToken` (adapted to answer `{"ok": claims}` or
/// `{"err": id}`, plus `"inactive": true` for an `inactive_token` error, which the cache
/// remembers) and reads its answer. `thrown_inactive` keeps the id of such an error, so that
/// what the object threw comes back unchanged once the cache has seen it.
pub async fn own_introspection(
    call: &JsCall,
    thrown_inactive: &mut Option<String>,
) -> Result<Map<String, Value>> {
    let reply = call(String::new())
        .await
        .map_err(|e| Error::validation(format!("A callback could not be called: {e}")))?;
    let reply: Value = serde_json::from_str(&reply)
        .map_err(|_| Error::validation("A callback returned an unreadable reply"))?;
    if let Some(id) = reply.get("err").and_then(Value::as_str) {
        if reply.get("inactive") == Some(&Value::Bool(true)) {
            *thrown_inactive = Some(id.to_owned());
            return Err(Error::token_with(
                "Token is not active",
                TokenErrorCode::InactiveToken,
            ));
        }
        return Err(Error::Callback(id.to_owned()));
    }
    match reply.get("ok") {
        Some(Value::Object(claims)) => Ok(claims.clone()),
        _ => Err(Error::validation(
            "introspectAccessToken must resolve to an object of claims",
        )),
    }
}

/// An `inactive_token` the object threw is rethrown as it was thrown.
pub fn rethrown(
    result: Result<Map<String, Value>>,
    thrown_inactive: Option<String>,
) -> Result<Map<String, Value>> {
    match (result, thrown_inactive) {
        (
            Err(Error::Token {
                code: TokenErrorCode::InactiveToken,
                ..
            }),
            Some(id),
        ) => Err(Error::Callback(id)),
        (result, _) => result,
    }
}
