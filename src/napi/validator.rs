//! The per-request entry point: `validate(token, scopes, groups, clientCertificate, fromHeader)`,
//! one plain Node-API function per client. With `fromHeader` the first argument is an
//! `Authorization` header value and the bearer token is read from it here (`undefined` comes back
//! when it holds none): scanning a long header is far cheaper in Rust than with JavaScript's
//! regular expressions.
//!
//! It is written against Node-API directly rather than as a `#[napi]` method because it is the
//! whole cost of a cache hit: napi-rs's method glue (class unwrap, borrow tracking, argument
//! conversion) cost more than the hash and lookup it wraps. A token verified before is answered
//! in this call (claims JSON text or a failure record); anything else returns a promise settled
//! through the client's `Completions`.

use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue};
use napi::sys;

use super::completions::{Completions, Settled, check, panic_message};
use super::outcome::Failure;
use crate::core::client::{Client, Requirements};
use crate::core::jwt::MAX_TOKEN_BYTES;
use crate::core::text::bearer_token;

struct Validator {
    core: Arc<Client>,
    completions: Arc<Completions>,
}

/// Creates the function for `core`; it owns its completion channel and keeps `core` alive.
pub fn create(env: sys::napi_env, core: Arc<Client>) -> napi::Result<sys::napi_value> {
    let validator = Box::new(Validator {
        core,
        completions: Arc::new(Completions::new(env)?),
    });
    let data = Box::into_raw(validator) as *mut c_void;
    let name = "validate";
    let mut function = ptr::null_mut();
    // SAFETY: JavaScript thread; `data` stays valid until the finalizer takes it back.
    unsafe {
        let status = sys::napi_create_function(
            env,
            name.as_ptr().cast(),
            name.len() as isize,
            Some(validate),
            data,
            &mut function,
        );
        if status != sys::Status::napi_ok {
            drop(Box::from_raw(data as *mut Validator));
            return Err(napi::Error::from_reason("napi_create_function failed"));
        }
        let status = sys::napi_add_finalizer(
            env,
            function,
            data,
            Some(release),
            ptr::null_mut(),
            ptr::null_mut(),
        );
        if status != sys::Status::napi_ok {
            drop(Box::from_raw(data as *mut Validator));
            return Err(napi::Error::from_reason("napi_add_finalizer failed"));
        }
    }
    Ok(function)
}

unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the box `create` leaked; the function is being collected.
    drop(unsafe { Box::from_raw(data as *mut Validator) });
}

unsafe extern "C" fn validate(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by Node with this callback's env and info.
    let result = catch_unwind(AssertUnwindSafe(|| unsafe { answer(env, info) }));
    let error = match result {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error,
        Err(panic) => napi::Error::from_reason(panic_message(&*panic)),
    };
    // SAFETY: JavaScript thread, no exception pending (every failure above returned an error).
    unsafe { napi::JsError::from(error).throw_into(env) };
    ptr::null_mut()
}

unsafe fn answer(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> napi::Result<sys::napi_value> {
    let mut argc = 5;
    let mut argv = [ptr::null_mut(); 5];
    let mut data = ptr::null_mut();
    // SAFETY (whole body): Node-API calls on the JavaScript thread with values of this call.
    unsafe {
        check(
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                ptr::null_mut(),
                &mut data,
            ),
            "napi_get_cb_info",
        )?;
        let validator = &*(data as *const Validator);
        let arg = |i: usize| if i < argc { argv[i] } else { ptr::null_mut() };
        let requirements = Requirements {
            scopes: optional(env, arg(1))?,
            groups: optional(env, arg(2))?,
            client_certificate: optional(env, arg(3))?,
        };
        let from_header = flag(env, arg(4))?;
        let mut buffer = [MaybeUninit::<u8>::uninit(); TOKEN_BUFFER];
        let token = match read_token(env, arg(0), &mut buffer)? {
            Token::Absent => None,
            Token::Borrowed(text) if from_header => match bearer_token(text) {
                Some(token) => Some(token),
                None => return undefined(env),
            },
            Token::Borrowed(token) => Some(token),
            // Longer than any token we accept: read whole, the owned path rejects it as usual.
            Token::TooLong => {
                let text = owned_token(env, arg(0))?;
                let token = if from_header {
                    match bearer_token(&text) {
                        Some(token) => token.to_owned(),
                        None => return undefined(env),
                    }
                } else {
                    text
                };
                return spawn_validation(env, validator, Some(token), requirements);
            }
        };
        match validator.core.validate_cached(token, &requirements) {
            Some(Ok(json)) => claims_text(env, &json),
            Some(Err(error)) => Failure::to_napi_value(env, Failure::from(error)),
            None => spawn_validation(env, validator, token.map(str::to_owned), requirements),
        }
    }
}

fn spawn_validation(
    env: sys::napi_env,
    validator: &Validator,
    token: Option<String>,
    requirements: Requirements,
) -> napi::Result<sys::napi_value> {
    let core = validator.core.clone();
    validator.completions.spawn(env, async move {
        match core
            .validate_access_token(token.as_deref(), &requirements)
            .await
        {
            Ok(claims) => Settled::Claims(claims.json),
            Err(error) => Settled::Failure(Failure::from(error)),
        }
    })
}

/// Room for the longest token we accept plus the widest UTF-8 character: a write that fills
/// more than `MAX_TOKEN_BYTES` may have been cut short, so it is read again whole.
const TOKEN_BUFFER: usize = MAX_TOKEN_BYTES + 8;

enum Token<'a> {
    Absent,
    Borrowed(&'a str),
    TooLong,
}

/// Reads a string argument into `buffer` in one call (no length query, no allocation).
/// `null`/`undefined` is no token; the JavaScript face passes nothing else but strings.
unsafe fn read_token<'a>(
    env: sys::napi_env,
    value: sys::napi_value,
    buffer: &'a mut [MaybeUninit<u8>; TOKEN_BUFFER],
) -> napi::Result<Token<'a>> {
    // SAFETY: a value of this call.
    if value.is_null() || !unsafe { is_string(env, value) }? {
        return Ok(Token::Absent);
    }
    let mut written = 0;
    // SAFETY: the buffer is writable for its whole length; Node writes `written` bytes of valid
    // UTF-8 (whole characters only) and a terminating NUL.
    unsafe {
        check(
            sys::napi_get_value_string_utf8(
                env,
                value,
                buffer.as_mut_ptr().cast(),
                TOKEN_BUFFER,
                &mut written,
            ),
            "napi_get_value_string_utf8",
        )?;
        if written > MAX_TOKEN_BYTES {
            return Ok(Token::TooLong);
        }
        let bytes = std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), written);
        Ok(Token::Borrowed(std::str::from_utf8_unchecked(bytes)))
    }
}

unsafe fn flag(env: sys::napi_env, value: sys::napi_value) -> napi::Result<bool> {
    let mut kind = 0;
    // SAFETY: a value of this call (or null when it was not passed).
    if value.is_null()
        || unsafe { sys::napi_typeof(env, value, &mut kind) } != sys::Status::napi_ok
        || kind != sys::ValueType::napi_boolean
    {
        return Ok(false);
    }
    let mut result = false;
    // SAFETY: a boolean value of this call.
    check(
        unsafe { sys::napi_get_value_bool(env, value, &mut result) },
        "napi_get_value_bool",
    )?;
    Ok(result)
}

unsafe fn undefined(env: sys::napi_env) -> napi::Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: JavaScript thread.
    check(
        unsafe { sys::napi_get_undefined(env, &mut value) },
        "napi_get_undefined",
    )?;
    Ok(value)
}

unsafe fn owned_token(env: sys::napi_env, value: sys::napi_value) -> napi::Result<String> {
    // SAFETY: a string value of this call.
    unsafe { String::from_napi_value(env, value) }
}

unsafe fn is_string(env: sys::napi_env, value: sys::napi_value) -> napi::Result<bool> {
    let mut kind = 0;
    // SAFETY: a value of this call.
    check(
        unsafe { sys::napi_typeof(env, value, &mut kind) },
        "napi_typeof",
    )?;
    Ok(kind == sys::ValueType::napi_string)
}

/// An optional argument: missing, `undefined` and `null` are `None`.
unsafe fn optional<T: FromNapiValue>(
    env: sys::napi_env,
    value: sys::napi_value,
) -> napi::Result<Option<T>> {
    if value.is_null() {
        return Ok(None);
    }
    // SAFETY: a value of this call.
    unsafe { Option::<T>::from_napi_value(env, value) }
}

/// Claims text as a JavaScript string; ASCII (the usual case) skips UTF-8 decoding.
unsafe fn claims_text(env: sys::napi_env, json: &str) -> napi::Result<sys::napi_value> {
    if !json.is_ascii() {
        // SAFETY: JavaScript thread.
        return unsafe { <&str>::to_napi_value(env, json) };
    }
    let mut value = ptr::null_mut();
    // SAFETY: ASCII is Latin-1; the pointer and length describe `json`.
    check(
        unsafe {
            sys::napi_create_string_latin1(
                env,
                json.as_ptr().cast(),
                json.len() as isize,
                &mut value,
            )
        },
        "napi_create_string_latin1",
    )?;
    Ok(value)
}
