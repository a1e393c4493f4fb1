//! User callbacks (a custom `fetcher`, resolvers, a cache adapter) live in JavaScript. The core
//! sees each as an async function from request text to reply text, and speaks JSON envelopes
//! through it: `{"ok": value}`, or `{"err": "<id>"}` when the callback threw. The binding keeps
//! the thrown value under that id and rethrows it unchanged.
//!
//! A callback is user code that may never settle; every call is bounded by `responseTimeout`
//! (see [`Limit`]) so that neither its request nor the requests sharing its fetch wait forever.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::error::{Error, Result};

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// An async JavaScript function of one string. `Err` is a failure of the call itself (the
/// environment is shutting down), not of the callback.
pub type JsCall =
    Arc<dyn Fn(String) -> BoxFuture<std::result::Result<String, String>> + Send + Sync>;

/// The callbacks a client was configured with.
#[derive(Clone, Default)]
pub struct Callbacks {
    pub fetch: Option<JsCall>,
    pub metadata: Option<JsCall>,
    pub jwks: Option<JsCall>,
    pub cache_get: Option<JsCall>,
    pub cache_set: Option<JsCall>,
    /// `dpop.replayStore.reserve`.
    pub dpop_reserve: Option<JsCall>,
    /// The user's store client (`store`), when it is one the JavaScript face can drive: one
    /// command, and the subscription.
    pub store_command: Option<JsCall>,
    pub store_listen: Option<JsCall>,
    /// The `onEvent` hook: fire and forget.
    pub events: Option<super::events::EventSink>,
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("fetch", &self.fetch.is_some())
            .field("metadata", &self.metadata.is_some())
            .field("jwks", &self.jwks.is_some())
            .field("cache", &self.cache_get.is_some())
            .field("dpop_reserve", &self.dpop_reserve.is_some())
            .field("store", &self.store_command.is_some())
            .finish()
    }
}

/// How long one callback may take, and the option that names it in the error.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub name: &'static str,
    /// `None` only when the user turned the timeout off (the OIDC client's `responseTimeout`
    /// of 0 or less).
    pub within: Option<Duration>,
}

impl Limit {
    pub fn new(name: &'static str, timeout_ms: Option<f64>) -> Limit {
        Limit {
            name,
            within: timeout_ms.map(|ms| super::clock::seconds(ms / 1000.0)),
        }
    }

    /// What a callback that did not settle in time ends in: the issuer-side failure an
    /// unreachable issuer gets (a `MonoCloudHttpError` without an answer, so a 503).
    pub fn exceeded(&self) -> Error {
        let ms = self.within.unwrap_or_default().as_millis();
        Error::http(
            format!(
                "{} did not settle within {ms}ms (responseTimeout)",
                self.name
            ),
            None,
        )
    }
}

/// Calls `call` with `request` and unwraps the envelope, giving up after `limit`. Giving up
/// drops the wait, not the JavaScript promise: whatever it settles to later is ignored.
pub async fn invoke(call: &JsCall, request: Value, limit: Limit) -> Result<Value> {
    invoke_within(call, request, limit.within)
        .await
        .unwrap_or_else(|| Err(limit.exceeded()))
}

/// As [`invoke`], for a caller that carries on without the answer: `None` when `within`
/// passed first.
pub async fn invoke_within(
    call: &JsCall,
    request: Value,
    within: Option<Duration>,
) -> Option<Result<Value>> {
    let called = call(request.to_string());
    let reply = match within {
        Some(within) => tokio::time::timeout(within, called).await.ok()?,
        None => called.await,
    };
    Some(unwrap_reply(reply))
}

fn unwrap_reply(reply: std::result::Result<String, String>) -> Result<Value> {
    let reply =
        reply.map_err(|e| Error::validation(format!("A callback could not be called: {e}")))?;
    let mut reply: Value = serde_json::from_str(&reply)
        .map_err(|_| Error::validation("A callback returned an unreadable reply"))?;
    if let Some(id) = reply.get("err").and_then(Value::as_str) {
        return Err(Error::Callback(id.to_owned()));
    }
    Ok(reply.get_mut("ok").map(Value::take).unwrap_or(Value::Null))
}

/// A request envelope with no arguments.
pub fn no_arguments() -> Value {
    json!({})
}
