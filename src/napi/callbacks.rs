//! User callbacks as the core sees them: async functions of one string, called on the Node
//! thread through weak thread-safe functions (so they never keep the process alive).

use std::sync::Arc;

use napi::bindgen_prelude::*;

use napi::threadsafe_function::ThreadsafeFunctionCallMode;

use crate::core::callbacks::{Callbacks, JsCall};
use crate::core::events::EventSink;

type JsFunction<'a> = Function<'a, String, Promise<String>>;

/// Reads the adapter functions the JavaScript face prepared (`fetch`, `metadata`, `jwks`,
/// `cacheGet`, `cacheSet`, `dpopReserve`, `storeCommand`, `storeListen`); each takes and returns JSON text.
pub fn callbacks_from(object: Option<Object>) -> Result<Callbacks> {
    let Some(object) = object else {
        return Ok(Callbacks::default());
    };
    let call = |name: &str| -> Result<Option<JsCall>> {
        object.get::<JsFunction>(name)?.map(js_call).transpose()
    };
    Ok(Callbacks {
        fetch: call("fetch")?,
        metadata: call("metadata")?,
        jwks: call("jwks")?,
        cache_get: call("cacheGet")?,
        cache_set: call("cacheSet")?,
        dpop_reserve: call("dpopReserve")?,
        store_command: call("storeCommand")?,
        store_listen: call("storeListen")?,
        events: object
            .get::<Function<String, ()>>("event")?
            .map(event_sink)
            .transpose()?,
    })
}

/// The `onEvent` hook, called without waiting for it; events are dropped, not queued
/// without bound, should the Node thread fall far behind.
fn event_sink(function: Function<String, ()>) -> Result<EventSink> {
    let tsfn = function
        .build_threadsafe_function::<String>()
        .weak::<true>()
        .callee_handled::<false>()
        .max_queue_size::<10_000>()
        .build()?;
    Ok(Arc::new(move |event: String| {
        tsfn.call(event, ThreadsafeFunctionCallMode::NonBlocking);
    }))
}

pub fn js_call(function: JsFunction) -> Result<JsCall> {
    let tsfn = Arc::new(
        function
            .build_threadsafe_function::<String>()
            .weak::<true>()
            .callee_handled::<false>()
            .build()?,
    );
    Ok(Arc::new(move |request: String| {
        let tsfn = tsfn.clone();
        Box::pin(async move {
            // The adapters never throw (they wrap failures in the reply), so an error here is
            // the environment going away.
            let reply = tsfn
                .call_async_catch(request)
                .await
                .map_err(|e| e.to_string())?;
            reply.await.map_err(|e| e.to_string())
        })
    }))
}
