//! Test-only entry points that panic on purpose, so the test suite can show that a panic in Rust
//! becomes a JavaScript error rather than an abort. Compiled only with the `test-hooks` feature
//! (`npm run build:test-addon`), never into the release binary; even there they are inert (an
//! error, no panic) unless `MONOCLOUD_BACKEND_TEST_HOOKS=1` is set when they are called.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::completions::{Completions, Settled};

fn armed() -> Result<()> {
    if std::env::var("MONOCLOUD_BACKEND_TEST_HOOKS").as_deref() == Ok("1") {
        Ok(())
    } else {
        Err(napi::Error::new(
            Status::GenericFailure,
            "test hooks are disabled",
        ))
    }
}

#[napi(js_name = "__testPanicSync", catch_unwind)]
pub fn test_panic_sync(message: String) -> Result<()> {
    armed()?;
    panic!("{}", message);
}

#[napi(js_name = "__testPanicAsync")]
pub async fn test_panic_async(message: String) -> Result<()> {
    armed()?;
    std::panic::panic_any(message);
}

/// Panics inside work spawned the way `validateAccessToken` spawns a validation.
#[napi(js_name = "__testPanicSpawn", ts_return_type = "Promise<unknown>")]
pub fn test_panic_spawn(env: &Env, message: String) -> Result<Unknown<'_>> {
    armed()?;
    let completions = std::sync::Arc::new(Completions::new(env.raw())?);
    let promise = completions.spawn(env.raw(), async move {
        std::panic::panic_any(message);
        #[allow(unreachable_code)]
        Settled::Answer(napi::Either::A(String::new()))
    })?;
    // SAFETY: a promise value just created in this env.
    unsafe { Unknown::from_napi_value(env.raw(), promise) }
}
