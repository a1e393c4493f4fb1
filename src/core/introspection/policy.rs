//! When an introspection answer comes from the store: what is kept (active answers until their
//! `exp` or the cache duration, inactive ones for the cache duration) and when a kept answer
//! still serves.

use std::future::Future;

use serde_json::{Map, Value, json};

use super::store::Store;
use crate::core::clock::{ClockSettings, Now};
use crate::core::error::{Error, Result, TokenErrorCode};
use crate::core::events::{Event, Events};

pub const INACTIVE_CACHED: &str =
    "Token is not active. A cached introspection result reported active=false";

/// The cached answer for `token`, or the one `introspect` gives, then cached for at most
/// `duration` seconds. Scopes, groups and binding are checked by the caller, after caching, so
/// that a request refused for its scopes still leaves an entry a later request can use. Every
/// time here (freshness, `expiresAt`) is on the caller's clock, `now`.
pub async fn introspect_through(
    store: &Store,
    events: &Events,
    clock: &ClockSettings,
    duration: f64,
    token: &str,
    now: Now,
    introspect: impl Future<Output = Result<Map<String, Value>>>,
) -> Result<Map<String, Value>> {
    let seconds = now.seconds();
    let cached = store.get(token, now, events).await?;
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
            if exp.and_then(Value::as_f64).is_some_and(|exp| exp > seconds) {
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
                    .is_some_and(|exp| exp > seconds + clock.skew() - clock.tolerance()),
            };
            if fresh {
                return Ok(cached);
            }
        }
    }
    match introspect.await {
        Ok(claims) => {
            let expires_at = match claims.get("exp").and_then(Value::as_f64) {
                Some(exp) => exp.min(seconds + duration),
                None => seconds + duration,
            };
            store
                .set(
                    token,
                    Value::Object(claims.clone()),
                    expires_at,
                    now,
                    events,
                )
                .await?;
            Ok(claims)
        }
        Err(Error::Token {
            code: TokenErrorCode::InactiveToken,
            message,
        }) => {
            let expires_at = seconds + duration;
            store
                .set(
                    token,
                    json!({ "active": false, "exp": expires_at }),
                    expires_at,
                    now,
                    events,
                )
                .await?;
            Err(Error::token_with(message, TokenErrorCode::InactiveToken))
        }
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::introspection::MemoryStore;

    const T0: f64 = 2_000_000_000_000.0;

    fn at(ms: f64) -> Now {
        Now::from_caller(Some(ms))
    }

    async fn through(store: &Store, now: Now, answer: Result<Value>) -> Result<Map<String, Value>> {
        let clock = ClockSettings::new(0.0, 60.0);
        let introspect = async move {
            answer.map(|value| match value {
                Value::Object(map) => map,
                _ => unreachable!(),
            })
        };
        introspect_through(
            store,
            &Events::new(None),
            &clock,
            30.0,
            "tok",
            now,
            introspect,
        )
        .await
    }

    fn asked() -> Result<Value> {
        Err(Error::validation("the endpoint was asked"))
    }

    /// Kept answers are fresh, and expire, by the caller's clock.
    #[tokio::test]
    async fn kept_answers_follow_the_callers_clock() {
        let store = Store::Memory(MemoryStore::new(10));
        let claims = through(&store, at(T0), Ok(json!({ "sub": "u" })))
            .await
            .unwrap();
        assert_eq!(claims["sub"], "u");
        assert!(through(&store, at(T0 + 29_000.0), asked()).await.is_ok());
        assert!(through(&store, at(T0 + 30_000.0), asked()).await.is_err());
        assert!(
            through(&store, at(T0 + 1_000.0), asked()).await.is_ok(),
            "the clock moved back"
        );
        // An `exp` earlier than the duration bounds it, on the same clock.
        let soon = Store::Memory(MemoryStore::new(10));
        let exp = T0 / 1000.0 + 10.0;
        through(&soon, at(T0), Ok(json!({ "exp": exp })))
            .await
            .unwrap();
        assert!(through(&soon, at(T0 + 9_000.0), asked()).await.is_ok());
        assert!(through(&soon, at(T0 + 10_000.0), asked()).await.is_err());
    }

    /// An inactive answer is replayed until the caller's clock passes its duration.
    #[tokio::test]
    async fn inactive_answers_lapse_by_the_callers_clock() {
        let store = Store::Memory(MemoryStore::new(10));
        let inactive = || {
            Err(Error::token_with(
                INACTIVE_CACHED,
                TokenErrorCode::InactiveToken,
            ))
        };
        assert!(through(&store, at(T0), inactive()).await.is_err());
        let replayed = through(&store, at(T0 + 29_000.0), asked()).await;
        assert!(matches!(replayed, Err(Error::Token { .. })), "{replayed:?}");
        let asked_again = through(&store, at(T0 + 30_000.0), asked()).await;
        assert!(
            matches!(asked_again, Err(Error::Validation(_))),
            "{asked_again:?}"
        );
    }
}
