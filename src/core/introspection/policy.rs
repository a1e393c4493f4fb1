//! When an introspection answer comes from the store: what is kept (active answers until their
//! `exp` or the cache duration, inactive ones for the cache duration) and when a kept answer
//! still serves.

use std::future::Future;

use serde_json::{Map, Value, json};

use super::store::Store;
use crate::core::clock::{ClockSettings, now_seconds};
use crate::core::error::{Error, Result, TokenErrorCode};
use crate::core::events::{Event, Events};

pub const INACTIVE_CACHED: &str =
    "Token is not active. A cached introspection result reported active=false";

/// The cached answer for `token`, or the one `introspect` gives, then cached for at most
/// `duration` seconds. Scopes, groups and binding are checked by the caller, after caching, so
/// that a request refused for its scopes still leaves an entry a later request can use.
pub async fn introspect_through(
    store: &Store,
    events: &Events,
    clock: &ClockSettings,
    duration: f64,
    token: &str,
    introspect: impl Future<Output = Result<Map<String, Value>>>,
) -> Result<Map<String, Value>> {
    let now = now_seconds();
    let cached = store.get(token).await?;
    let cache = if cached.is_some() {
        Event::CacheHit {
            cache: "introspection",
        }
    } else {
        Event::CacheMiss {
            cache: "introspection",
        }
    };
    events.emit(cache);
    if let Some(Value::Object(cached)) = cached {
        let exp = cached.get("exp");
        if cached.get("active") == Some(&Value::Bool(false)) {
            if exp.and_then(Value::as_f64).is_some_and(|exp| exp > now) {
                return Err(Error::token_with(
                    INACTIVE_CACHED,
                    TokenErrorCode::InactiveToken,
                ));
            }
        } else {
            let fresh = match exp {
                None => true,
                Some(exp) => exp
                    .as_f64()
                    .is_some_and(|exp| exp > now + clock.skew() - clock.tolerance()),
            };
            if fresh {
                return Ok(cached);
            }
        }
    }
    match introspect.await {
        Ok(claims) => {
            let expires_at = match claims.get("exp").and_then(Value::as_f64) {
                Some(exp) => exp.min(now + duration),
                None => now + duration,
            };
            store
                .set(token, Value::Object(claims.clone()), expires_at)
                .await?;
            Ok(claims)
        }
        Err(Error::Token {
            code: TokenErrorCode::InactiveToken,
            message,
        }) => {
            let expires_at = now + duration;
            store
                .set(
                    token,
                    json!({ "active": false, "exp": expires_at }),
                    expires_at,
                )
                .await?;
            Err(Error::token_with(message, TokenErrorCode::InactiveToken))
        }
        Err(other) => Err(other),
    }
}
