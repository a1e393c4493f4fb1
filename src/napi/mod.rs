//! The Node binding: converts between JavaScript values and core types, nothing more.

/// User callbacks as async functions the core can call.
mod callbacks;
/// `NativeClient`, the class behind the public clients, and `bearerToken`.
// napi registers these when the addon loads; test builds do not see that use.
#[cfg_attr(test, allow(dead_code))]
mod client;
/// Promises settled from tokio, in batches.
mod completions;
/// Every answer is JSON text or a typed `Failure`.
mod failure;
/// Option objects as the core's `Input`.
mod options;
/// Node-API called directly, where napi-rs's glue costs more than the work.
mod raw;
/// Entry points that panic on purpose, built only with the `test-hooks` feature.
#[cfg(feature = "test-hooks")]
#[cfg_attr(test, allow(dead_code))]
mod test_hooks;
/// `validateAccessToken` through a subclass's or a spy's own methods.
#[cfg_attr(test, allow(dead_code))]
mod through;
/// `NativeTokenClient`: client-credentials tokens for calling other APIs.
#[cfg_attr(test, allow(dead_code))]
mod token_client;
/// The per-request function: one crossing per request.
mod verify;
