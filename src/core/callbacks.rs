//! User callbacks (a custom `fetcher`, resolvers, a cache adapter) live in JavaScript. The core
//! sees each as an async function from request text to reply text, and speaks JSON envelopes
//! through it: `{"ok": value}`, or `{"err": "<id>"}` when the callback threw. The binding keeps
//! the thrown value under that id and rethrows it unchanged.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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
            .finish()
    }
}

/// Calls `call` with `request` and unwraps the envelope.
pub async fn invoke(call: &JsCall, request: Value) -> Result<Value> {
    let reply = call(request.to_string())
        .await
        .map_err(|e| Error::validation(format!("A callback could not be called: {e}")))?;
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
