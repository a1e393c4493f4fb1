//! Claim checks shared by JWTs, introspection results and cache hits.

use serde_json::{Map, Value};

use super::error::{Error, Result, TokenErrorCode};
use super::text::split_js_whitespace;

/// What the standard claims are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// Seconds since the epoch.
    pub now: f64,
    pub clock_skew: f64,
    pub clock_tolerance: f64,
    /// JWT access tokens must expire (RFC 9068 §2.2); introspection results need not.
    pub require_exp: bool,
}

pub fn check_standard(claims: &Map<String, Value>, expect: &Expectations) -> Result<()> {
    if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(Error::token("Invalid Issuer"));
    }
    if claims
        .get("sub")
        .is_some_and(|sub| is_truthy(sub) && !sub.is_string())
    {
        return Err(Error::token("Invalid subject"));
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expect.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(expect.audience)),
        _ => false,
    };
    if !audience_ok {
        return Err(Error::token("Invalid audience claim"));
    }
    let current = expect.now + expect.clock_skew;
    match claims.get("exp") {
        None if expect.require_exp => {
            return Err(Error::token(
                "Missing required \"exp\" (expiration time) claim",
            ));
        }
        None => {}
        Some(Value::Number(exp))
            if exp.as_f64().unwrap_or(f64::NAN) <= current - expect.clock_tolerance =>
        {
            return Err(Error::token(
                "Unexpected \"exp\" (expiration time) claim value, timestamp is <= now()",
            ));
        }
        Some(Value::Number(_)) => {}
        Some(_) => {
            return Err(Error::token(
                "Unexpected \"exp\" (expiration time) claim type",
            ));
        }
    }
    match claims.get("nbf") {
        None => {}
        Some(Value::Number(nbf))
            if nbf.as_f64().unwrap_or(f64::NAN) > current + expect.clock_tolerance =>
        {
            return Err(Error::token(
                "Unexpected \"nbf\" (not before) claim value, timestamp is > now()",
            ));
        }
        Some(Value::Number(_)) => {}
        Some(_) => return Err(Error::token("Unexpected \"nbf\" (not before) claim type")),
    }
    if expect.require_exp && claims.get("iat").is_some_and(|iat| !iat.is_number()) {
        return Err(Error::token("Unexpected \"iat\" (issued at) claim type"));
    }
    Ok(())
}

/// Every requested scope must be in the token's space-separated `scope`.
pub fn check_scopes(claims: &Map<String, Value>, required: &[String]) -> Result<()> {
    if required.is_empty() {
        return Ok(());
    }
    let granted = match claims.get("scope") {
        None | Some(Value::Null) => "",
        Some(Value::String(scope)) => scope,
        Some(_) => return Err(Error::token("Unexpected \"scope\" claim type")),
    };
    let all_granted = required
        .iter()
        .all(|want| split_js_whitespace(granted).any(|have| have == want));
    if all_granted {
        Ok(())
    } else {
        Err(Error::token_with(
            "Token is missing required scopes",
            TokenErrorCode::InsufficientScope,
        ))
    }
}

pub fn check_groups(
    claims: &Map<String, Value>,
    required: &[String],
    claim: &str,
    match_all: bool,
) -> Result<()> {
    if is_user_in_group(claims, required, claim, match_all) {
        Ok(())
    } else {
        Err(Error::token_with(
            "Token is missing required groups",
            TokenErrorCode::InsufficientGroups,
        ))
    }
}

/// Upstream's `isUserInGroup`: the claim must be an array whose entries are group names or
/// objects carrying the group's `id` or `name`; any requested group suffices unless
/// `match_all`. An empty request always passes.
pub fn is_user_in_group(
    claims: &Map<String, Value>,
    required: &[String],
    claim: &str,
    match_all: bool,
) -> bool {
    if required.is_empty() {
        return true;
    }
    let Some(Value::Array(member_of)) = claims.get(claim) else {
        return false;
    };
    let has = |group: &String| {
        member_of.iter().any(|entry| match entry {
            Value::String(name) => name == group,
            Value::Object(o) => {
                o.get("id").and_then(Value::as_str) == Some(group)
                    || o.get("name").and_then(Value::as_str) == Some(group)
            }
            _ => false,
        })
    };
    if match_all {
        required.iter().all(has)
    } else {
        required.iter().any(has)
    }
}

/// JavaScript truthiness of a JSON value.
fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests;
