//! The Node binding: converts between JavaScript values and core types, nothing more.

mod bridge;
mod client;
mod completions;
mod input;
mod outcome;
mod validator;
// napi registers these when the addon loads; test builds do not see that use.
#[cfg_attr(test, allow(dead_code))]
mod test_hooks;
