//! `validateAccessToken` through the object: when a subclass, an instance override or a test spy
//! replaces `validateJwtAccessToken` or `introspectAccessToken`, the JavaScript face calls them
//! as the original does, and these helpers keep the protocol's rules here: which way a token
//! goes, the user's introspection cache around the call, and the checks after it.

use serde_json::{Map, Value};

use crate::core::callbacks::{Callbacks, JsCall};
use crate::core::claims::Requirements;
use crate::core::client::Client;
use crate::core::clock::ClockSettings;
use crate::core::config::Config;
use crate::core::error::{Error, Result, TokenErrorCode};
use crate::core::events::Events;
use crate::core::introspection::Store;
use crate::core::introspection::policy::introspect_through;
use crate::core::jwt;
use crate::core::text::js_trim;

/// Which method `validateAccessToken` calls for a token, in the dispatcher's order
/// (`Client::verify`): a blank token, an oversized one and a missing client id are refused first.
pub fn route(config: &Config, token: Option<&str>) -> Result<bool> {
    let token = token
        .filter(|t| !js_trim(t).is_empty())
        .ok_or_else(|| Error::validation("Access token must be a valid non-empty string"))?;
    if token.len() > jwt::MAX_TOKEN_BYTES {
        return Err(Error::token(jwt::TOO_LARGE));
    }
    if jwt::looks_like_jwt(token) && !config.introspect_jwt_tokens {
        return Ok(true);
    }
    if !config.introspection_configured() {
        return Err(Error::validation("Token introspection is not configured"));
    }
    Ok(false)
}

/// The user's `cache` adapter, as the original uses it around `introspectAccessToken`. The core
/// client keeps its own store private; the adapter holds no state of ours, so a second handle
/// on it is the same cache. Our built-in memory store serves the direct path only.
pub struct Through {
    store: Store,
    events: Events,
    /// `clockSkew` and `clockTolerance` for the freshness of a cached answer, kept in step with
    /// the core client's by `setClockSkew` and `setClockTolerance`.
    pub clock: ClockSettings,
    duration: f64,
}

impl Through {
    /// `None` unless the original would cache: a `cache` given and a positive duration.
    pub fn new(config: &Config, callbacks: &Callbacks) -> Option<Through> {
        let duration = config.introspection_cache_duration;
        match (&callbacks.cache_get, &callbacks.cache_set) {
            (Some(get), Some(set)) if duration > 0.0 => Some(Through {
                store: Store::Adapter {
                    get: get.clone(),
                    set: set.clone(),
                },
                events: Events::new(callbacks.events.clone()),
                clock: ClockSettings::new(config.clock_skew, config.clock_tolerance),
                duration,
            }),
            _ => None,
        }
    }
}

/// The introspection path with `own_introspect` (the object's `introspectAccessToken`) in place of
/// our request: the cache, the call, then the standard claims, scopes, groups and the client's
/// certificate binding. `own_introspect` answers `{"ok": claims}` or `{"err": id}` (plus
/// `"inactive": true` for an `inactive_token` error, which the cache remembers); what it threw
/// comes back unchanged.
pub async fn introspect(
    core: &Client,
    through: Option<&Through>,
    token: &str,
    requirements: &Requirements,
    own_introspect: JsCall,
) -> Result<Map<String, Value>> {
    let mut thrown_inactive = None;
    let result = {
        let call = async {
            let reply = own_introspect(String::new())
                .await
                .map_err(|e| Error::validation(format!("A callback could not be called: {e}")))?;
            read_reply(&reply, &mut thrown_inactive)
        };
        match through {
            Some(through) => {
                introspect_through(
                    &through.store,
                    &through.events,
                    &through.clock,
                    through.duration,
                    token,
                    call,
                )
                .await
            }
            None => call.await,
        }
    };
    let claims = match (result, thrown_inactive) {
        (
            Err(Error::Token {
                code: TokenErrorCode::InactiveToken,
                ..
            }),
            Some(id),
        ) => return Err(Error::Callback(id)),
        (result, _) => result?,
    };
    core.check_claims(
        &claims,
        requirements,
        core.config().certificate_binding,
        false,
    )?;
    Ok(claims)
}

fn read_reply(reply: &str, thrown_inactive: &mut Option<String>) -> Result<Map<String, Value>> {
    let reply: Value = serde_json::from_str(reply)
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
