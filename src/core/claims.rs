//! Claim checks shared by JWTs, introspection results and cache hits, and what a call may
//! require of a token beyond them.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::error::{Error, Result, TokenErrorCode};
use super::resource::ProtectedResource;
use super::text::split_js_whitespace;

/// What the caller asks of a token besides being valid.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    pub scopes: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
    /// The certificate the request came with, for certificate binding.
    pub client_certificate: Option<String>,
    /// Step-up (RFC 9470): the token's `acr` must be one of these.
    pub acr_values: Option<Vec<String>>,
    /// Step-up (RFC 9470): seconds since the user authenticated (`auth_time`), at most.
    pub max_age: Option<f64>,
}

impl Requirements {
    /// Whether the call asks anything of the user's authentication.
    pub fn steps_up(&self) -> bool {
        self.acr_values.as_ref().is_some_and(|v| !v.is_empty()) || self.max_age.is_some()
    }
}

pub const ACR_NOT_ACCEPTED: &str =
    "The token's authentication context (acr) is not one the route accepts";
pub const AUTHENTICATION_TOO_OLD: &str =
    "The user authenticated longer ago than the route's max_age";
pub const NO_AUTH_TIME: &str = "The token does not say when the user authenticated (auth_time)";

/// RFC 9470: the user's authentication, as the token (or its introspection answer) describes
/// it, against what the route asks. `current` is now plus the clock skew; the tolerance is the
/// one `exp` gets, as `auth_time` comes from the same authorization server's clock.
pub fn check_authentication(
    claims: &Map<String, Value>,
    requirements: &Requirements,
    current: f64,
    tolerance: f64,
) -> Result<()> {
    let refuse = |message: &'static str| {
        Err(Error::token_with(
            message,
            TokenErrorCode::InsufficientUserAuthentication,
        ))
    };
    if let Some(accepted) = requirements.acr_values.as_ref().filter(|v| !v.is_empty()) {
        let acr = claims.get("acr").and_then(Value::as_str);
        if !acr.is_some_and(|acr| accepted.iter().any(|a| a == acr)) {
            return refuse(ACR_NOT_ACCEPTED);
        }
    }
    if let Some(max_age) = requirements.max_age {
        let Some(auth_time) = claims.get("auth_time").and_then(Value::as_f64) else {
            return refuse(NO_AUTH_TIME);
        };
        // Written so that a NaN anywhere refuses.
        if !matches!(
            (current - tolerance - auth_time).partial_cmp(&max_age),
            Some(Ordering::Less | Ordering::Equal)
        ) {
            return refuse(AUTHENTICATION_TOO_OLD);
        }
    }
    Ok(())
}

/// What the standard claims are checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// Accepted besides `audience`.
    pub other_audiences: &'a [String],
    /// Seconds since the epoch.
    pub now: f64,
    pub clock_skew: f64,
    pub clock_tolerance: f64,
    /// JWT access tokens must expire (RFC 9068 §2.2); introspection results need not.
    pub require_exp: bool,
    /// Seconds a JWT is accepted after its `iat` (`maxTokenAge`); it must then carry one.
    pub max_token_age: Option<f64>,
    /// A protected resource's `aud` must name it too (RFC 8707, RFC 9728).
    pub resource: Option<&'a ProtectedResource>,
}

pub const NOT_FOR_THIS_RESOURCE: &str = "The token was not issued for this resource";

/// A token's `exp` and `nbf`, read and type-checked once; judged against the clock on each use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lifetime {
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    /// `iat` + `maxTokenAge`, when a maximum age is configured.
    pub too_old_after: Option<f64>,
}

pub const TOO_OLD: &str = "Token is older than the maximum token age";

impl Lifetime {
    // Written as "is it provably inside the window", so that a NaN anywhere (a clock setting,
    // a claim) refuses the token rather than passing it.
    fn check_exp(&self, current: f64, tolerance: f64) -> Result<()> {
        match self.exp {
            Some(exp) if exp.partial_cmp(&(current - tolerance)) != Some(Ordering::Greater) => {
                Err(Error::token(
                    "Unexpected \"exp\" (expiration time) claim value, timestamp is <= now()",
                ))
            }
            _ => Ok(()),
        }
    }

    fn check_nbf(&self, current: f64, tolerance: f64) -> Result<()> {
        match self.nbf {
            Some(nbf)
                if !matches!(
                    nbf.partial_cmp(&(current + tolerance)),
                    Some(Ordering::Less | Ordering::Equal)
                ) =>
            {
                Err(Error::token(
                    "Unexpected \"nbf\" (not before) claim value, timestamp is > now()",
                ))
            }
            _ => Ok(()),
        }
    }

    fn check_age(&self, current: f64, tolerance: f64) -> Result<()> {
        match self.too_old_after {
            Some(end)
                if !matches!(
                    (current - tolerance).partial_cmp(&end),
                    Some(Ordering::Less | Ordering::Equal)
                ) =>
            {
                Err(Error::token(TOO_OLD))
            }
            _ => Ok(()),
        }
    }

    /// Whether the token is current at `now` (seconds), with the client's skew and tolerance.
    pub fn check(&self, now: f64, clock_skew: f64, clock_tolerance: f64) -> Result<()> {
        let current = now + clock_skew;
        self.check_exp(current, clock_tolerance)?;
        self.check_nbf(current, clock_tolerance)?;
        self.check_age(current, clock_tolerance)
    }
}

/// Issuer, subject, audience and lifetime, in upstream's order. The lifetime is returned so
/// that a cached token can be judged against the clock again without reading its claims.
pub fn check_standard(claims: &Map<String, Value>, expect: &Expectations) -> Result<Lifetime> {
    if claims.get("iss").and_then(Value::as_str) != Some(expect.issuer) {
        return Err(Error::token("Invalid Issuer"));
    }
    if claims
        .get("sub")
        .is_some_and(|sub| is_truthy(sub) && !sub.is_string())
    {
        return Err(Error::token("Invalid subject"));
    }
    let accepted =
        |aud: &str| aud == expect.audience || expect.other_audiences.iter().any(|o| o == aud);
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => accepted(aud),
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str().is_some_and(accepted)),
        _ => false,
    };
    if !audience_ok {
        return Err(Error::token("Invalid audience claim"));
    }
    if let Some(resource) = expect.resource
        && !resource.is_audience_of(claims.get("aud"))
    {
        return Err(Error::token(NOT_FOR_THIS_RESOURCE));
    }
    let current = expect.now + expect.clock_skew;
    let exp = match claims.get("exp") {
        None if expect.require_exp => {
            return Err(Error::token(
                "Missing required \"exp\" (expiration time) claim",
            ));
        }
        None => None,
        Some(Value::Number(exp)) => exp.as_f64(),
        Some(_) => {
            return Err(Error::token(
                "Unexpected \"exp\" (expiration time) claim type",
            ));
        }
    };
    let mut lifetime = Lifetime {
        exp,
        nbf: None,
        too_old_after: None,
    };
    lifetime.check_exp(current, expect.clock_tolerance)?;
    lifetime.nbf = match claims.get("nbf") {
        None => None,
        Some(Value::Number(nbf)) => nbf.as_f64(),
        Some(_) => return Err(Error::token("Unexpected \"nbf\" (not before) claim type")),
    };
    lifetime.check_nbf(current, expect.clock_tolerance)?;
    if expect.require_exp && claims.get("iat").is_some_and(|iat| !iat.is_number()) {
        return Err(Error::token("Unexpected \"iat\" (issued at) claim type"));
    }
    if let (Some(max_age), true) = (expect.max_token_age, expect.require_exp) {
        let iat = claims
            .get("iat")
            .and_then(Value::as_f64)
            .ok_or_else(|| Error::token("Missing required \"iat\" (issued at) claim"))?;
        lifetime.too_old_after = Some(iat + max_age);
        lifetime.check_age(current, expect.clock_tolerance)?;
    }
    Ok(lifetime)
}

/// The scopes a token grants, split once.
#[derive(Debug, Clone, PartialEq)]
pub enum Granted {
    Scopes(Vec<String>),
    /// `scope` is present but not a string: no scope can be checked.
    Unreadable,
}

impl Granted {
    pub fn of(claims: &Map<String, Value>) -> Granted {
        match claims.get("scope") {
            None | Some(Value::Null) => Granted::Scopes(Vec::new()),
            Some(Value::String(scope)) => {
                Granted::Scopes(split_js_whitespace(scope).map(str::to_owned).collect())
            }
            Some(_) => Granted::Unreadable,
        }
    }

    /// Every requested scope must be granted.
    pub fn require(&self, required: &[String]) -> Result<()> {
        if required.is_empty() {
            return Ok(());
        }
        let Granted::Scopes(granted) = self else {
            return Err(Error::token("Unexpected \"scope\" claim type"));
        };
        if required.iter().all(|want| granted.contains(want)) {
            Ok(())
        } else {
            Err(Error::token_with(
                "Token is missing required scopes",
                TokenErrorCode::InsufficientScope,
            ))
        }
    }
}

/// Every requested scope must be in the token's space-separated `scope`.
pub fn check_scopes(claims: &Map<String, Value>, required: &[String]) -> Result<()> {
    if required.is_empty() {
        return Ok(());
    }
    Granted::of(claims).require(required)
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
