//! The per-request entry: two plain Node-API functions per client, one for each place a token
//! comes from, sharing one completion channel:
//!
//! `fromAuthorization(authorization, now, scopes, groups, clientCertificate, method, url, dpop,
//! acrValues, maxAge)`
//! `fromToken(token, now, scopes, groups, clientCertificate, method, url, dpop, acrValues, maxAge)`
//!
//! the request-shaped input of `core::request`, positional because reading named properties costs
//! more than a cache hit. Each argument passed costs a Node-API call even when it is `undefined`,
//! so callers pass the list only up to its last given part (the parts only DPoP proofs read, then
//! the step-up requirements only a few routes have, come last). `fromAuthorization` reads the bearer token of an `Authorization` value here and answers
//! `undefined` when there is none. Both answer at once for a token verified before
//! (`<entry>:<claims JSON>`, whose entry number lets JavaScript memoise the parsed claims, or a
//! `Failure`), and otherwise with a promise of the claims JSON or a `Failure`, settled through
//! `Completions`.
//!
//! They are written against Node-API directly rather than as `#[napi]` methods because they are
//! the whole cost of a cache hit: napi-rs's method glue (class unwrap, borrow tracking, argument
//! conversion) cost more than the hash and lookup it wraps.

use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;

use napi::Either;
use napi::bindgen_prelude::ToNapiValue;
use napi::sys;

use super::completions::{Completions, Settled};
use super::failure::Failure;
use super::raw;
use crate::core::claims::Requirements;
use crate::core::client::Client;
use crate::core::dpop::Mode;
use crate::core::jwt::MAX_TOKEN_BYTES;
use crate::core::request::{Credential, Request};

/// Where a verifier's first argument comes from.
#[derive(Clone, Copy)]
enum Source {
    Authorization,
    Token,
}

struct Verifier {
    core: Arc<Client>,
    completions: Arc<Completions>,
    source: Source,
}

/// Creates `{ fromAuthorization, fromToken }` for `core`. They share one completion channel and
/// each keeps `core` alive.
pub fn create(env: sys::napi_env, core: Arc<Client>) -> napi::Result<sys::napi_value> {
    let completions = Arc::new(Completions::new(env)?);
    let mut verifiers = ptr::null_mut();
    // SAFETY: JavaScript thread, valid out-pointer.
    raw::check(
        unsafe { sys::napi_create_object(env, &mut verifiers) },
        "napi_create_object",
    )?;
    for (name, source) in [
        (c"fromAuthorization", Source::Authorization),
        (c"fromToken", Source::Token),
    ] {
        let verifier = Verifier {
            core: core.clone(),
            completions: completions.clone(),
            source,
        };
        let function = function(env, name, verifier)?;
        // SAFETY: JavaScript thread; both values were just created in this env.
        raw::check(
            unsafe { sys::napi_set_named_property(env, verifiers, name.as_ptr(), function) },
            "napi_set_named_property",
        )?;
    }
    Ok(verifiers)
}

fn function(
    env: sys::napi_env,
    name: &std::ffi::CStr,
    verifier: Verifier,
) -> napi::Result<sys::napi_value> {
    let data = Box::into_raw(Box::new(verifier)) as *mut c_void;
    let mut function = ptr::null_mut();
    // SAFETY: JavaScript thread; `data` stays valid until the finalizer takes it back.
    unsafe {
        let created = raw::check(
            sys::napi_create_function(
                env,
                name.as_ptr(),
                name.to_bytes().len() as isize,
                Some(verify_request),
                data,
                &mut function,
            ),
            "napi_create_function",
        )
        .and_then(|()| {
            raw::check(
                sys::napi_add_finalizer(
                    env,
                    function,
                    data,
                    Some(release),
                    ptr::null_mut(),
                    ptr::null_mut(),
                ),
                "napi_add_finalizer",
            )
        });
        if let Err(error) = created {
            drop(Box::from_raw(data as *mut Verifier));
            return Err(error);
        }
    }
    Ok(function)
}

unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the box `create` leaked; the function is being collected.
    drop(unsafe { Box::from_raw(data as *mut Verifier) });
}

unsafe extern "C" fn verify_request(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by Node with this callback's env and info.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe { answer(env, info) }));
    let error = match result {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error,
        Err(panic) => napi::Error::from_reason(raw::panic_message(&*panic)),
    };
    // SAFETY: JavaScript thread. A conversion that ran JavaScript (a getter, a Proxy) may have
    // left an exception pending; `throw_into` then leaves that one in place.
    unsafe { napi::JsError::from(error).throw_into(env) };
    ptr::null_mut()
}

/// Room for the longest token we accept, with an `Authorization` scheme and white space around
/// it, so that any token that can be accepted is read without an allocation.
const TOKEN_BUFFER: usize = MAX_TOKEN_BYTES + 256;

enum Arg {
    Credential = 0,
    Now,
    Scopes,
    Groups,
    ClientCertificate,
    Method,
    Url,
    Dpop,
    AcrValues,
    MaxAge,
}
const ARGS: usize = Arg::MaxAge as usize + 1;

unsafe fn answer(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> napi::Result<sys::napi_value> {
    // SAFETY (whole body): Node-API calls on the JavaScript thread with values of this call.
    unsafe {
        let (argv, data) = raw::arguments::<ARGS>(env, info)?;
        let verifier = &*(data as *const Verifier);
        let arg = |which: Arg| argv[which as usize];
        let request = Request {
            requirements: Requirements {
                scopes: raw::optional(env, arg(Arg::Scopes))?,
                groups: raw::optional(env, arg(Arg::Groups))?,
                client_certificate: raw::optional(env, arg(Arg::ClientCertificate))?,
                acr_values: raw::optional(env, arg(Arg::AcrValues))?,
                max_age: raw::optional(env, arg(Arg::MaxAge))?,
            },
            method: raw::optional(env, arg(Arg::Method))?,
            url: raw::optional(env, arg(Arg::Url))?,
            dpop: match raw::optional::<Either<String, Vec<String>>>(env, arg(Arg::Dpop))? {
                None => Vec::new(),
                Some(Either::A(one)) => vec![one],
                Some(Either::B(all)) => all,
            },
            now_ms: raw::optional(env, arg(Arg::Now))?,
            scheme: None,
        };
        let mut request = request;
        let dpop_on = verifier.core.config().dpop.mode != Mode::Disabled;
        let mut buffer = [MaybeUninit::<u8>::uninit(); TOKEN_BUFFER];
        let value = arg(Arg::Credential);
        let credential = |text| match verifier.source {
            Source::Authorization => Credential::Authorization(text),
            Source::Token => Credential::Token(text),
        };
        let token = match raw::borrowed_string(env, value, &mut buffer)? {
            // Not a string: no Authorization value is no token; no token is a usage error.
            None => match verifier.source {
                Source::Authorization => return raw::undefined(env),
                Source::Token => None,
            },
            Some(Ok(text)) => match credential(text).scheme_and_token(dpop_on) {
                Ok((scheme, token)) => {
                    request.scheme = scheme;
                    Some(token)
                }
                Err(_) => return raw::undefined(env),
            },
            // Longer than any token we accept: read whole; validation rejects it as usual.
            Some(Err(())) => {
                let text = raw::owned_string(env, value)?;
                let token = match credential(&text).scheme_and_token(dpop_on) {
                    Ok((scheme, token)) => {
                        request.scheme = scheme;
                        Some(token.to_owned())
                    }
                    Err(_) => return raw::undefined(env),
                };
                return spawn_validation(env, verifier, token, request);
            }
        };
        match verifier.core.verify_cached(token, &request) {
            Some(Ok(json)) => raw::string(env, &json),
            Some(Err(error)) => Failure::to_napi_value(env, Failure::from(error)),
            None => spawn_validation(env, verifier, token.map(str::to_owned), request),
        }
    }
}

fn spawn_validation(
    env: sys::napi_env,
    verifier: &Verifier,
    token: Option<String>,
    request: Request,
) -> napi::Result<sys::napi_value> {
    let core = verifier.core.clone();
    verifier.completions.spawn(env, async move {
        match core.verify(token.as_deref(), &request).await {
            Ok(answer) => Settled::Answer(Either::A(answer)),
            Err(error) => Settled::Answer(Either::B(Failure::from(error))),
        }
    })
}
