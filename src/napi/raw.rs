//! Node-API called directly, for the two places where napi-rs's glue costs more than the work it
//! wraps: the per-request entry (`verify.rs`) and the completion channel (`completions.rs`).
//! Every function here runs on the JavaScript thread with values of the current call.

use std::mem::MaybeUninit;
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue};
use napi::sys;

/// A Node-API status as a `Result` naming the call that failed.
pub fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!(
            "{what} failed (napi status {status})"
        )))
    }
}

/// The text of a caught panic, worded as napi-rs words a panicking async call.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Panic in async function".to_owned())
}

/// The arguments of a call (missing ones are null) and the data pointer of its function.
///
/// # Safety
/// JavaScript thread, inside the callback `info` belongs to.
pub unsafe fn arguments<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> napi::Result<([sys::napi_value; N], *mut std::ffi::c_void)> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let mut data = ptr::null_mut();
    // SAFETY: valid out-pointers; `argc` tells Node the room in `argv`.
    check(
        unsafe {
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                argv.as_mut_ptr(),
                ptr::null_mut(),
                &mut data,
            )
        },
        "napi_get_cb_info",
    )?;
    // Node fills missing arguments with `undefined`; null marks them as not passed at all.
    for arg in argv.iter_mut().skip(argc) {
        *arg = ptr::null_mut();
    }
    Ok((argv, data))
}

/// The type of a value; `undefined` for an argument that was not passed.
///
/// # Safety
/// JavaScript thread; `value` is null or a value of the current call.
pub unsafe fn type_of(env: sys::napi_env, value: sys::napi_value) -> napi::Result<i32> {
    if value.is_null() {
        return Ok(sys::ValueType::napi_undefined);
    }
    let mut kind = 0;
    // SAFETY: a value of this call.
    check(
        unsafe { sys::napi_typeof(env, value, &mut kind) },
        "napi_typeof",
    )?;
    Ok(kind)
}

/// An optional argument: missing, `undefined` and `null` are `None`.
///
/// # Safety
/// JavaScript thread; `value` is null or a value of the current call.
pub unsafe fn optional<T: FromNapiValue>(
    env: sys::napi_env,
    value: sys::napi_value,
) -> napi::Result<Option<T>> {
    if value.is_null() {
        return Ok(None);
    }
    // SAFETY: a value of this call.
    unsafe { Option::<T>::from_napi_value(env, value) }
}

/// A string argument read into `buffer` in one call (no length query, no allocation): `None`
/// when the value is not a string, `Some(Err(()))` when it did not fit (then read it whole).
///
/// # Safety
/// JavaScript thread; `value` is null or a value of the current call.
pub unsafe fn borrowed_string<const N: usize>(
    env: sys::napi_env,
    value: sys::napi_value,
    buffer: &mut [MaybeUninit<u8>; N],
) -> napi::Result<Option<Result<&str, ()>>> {
    // SAFETY: as this function's.
    if unsafe { type_of(env, value) }? != sys::ValueType::napi_string {
        return Ok(None);
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
                N,
                &mut written,
            ),
            "napi_get_value_string_utf8",
        )?;
        // Room for the widest UTF-8 character is kept: a write that comes that close to the end
        // may have been cut short.
        if written + 4 >= N {
            return Ok(Some(Err(())));
        }
        let bytes = std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), written);
        Ok(Some(Ok(std::str::from_utf8_unchecked(bytes))))
    }
}

/// A string value read whole.
///
/// # Safety
/// JavaScript thread; `value` is a string value of the current call.
pub unsafe fn owned_string(env: sys::napi_env, value: sys::napi_value) -> napi::Result<String> {
    // SAFETY: as this function's.
    unsafe { String::from_napi_value(env, value) }
}

/// `undefined`.
///
/// # Safety
/// JavaScript thread.
pub unsafe fn undefined(env: sys::napi_env) -> napi::Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: valid out-pointer.
    check(
        unsafe { sys::napi_get_undefined(env, &mut value) },
        "napi_get_undefined",
    )?;
    Ok(value)
}

/// A string; ASCII (the usual case for claims) skips UTF-8 decoding.
///
/// # Safety
/// JavaScript thread.
pub unsafe fn string(env: sys::napi_env, text: &str) -> napi::Result<sys::napi_value> {
    if !text.is_ascii() {
        // SAFETY: as this function's.
        return unsafe { <&str>::to_napi_value(env, text) };
    }
    let mut value = ptr::null_mut();
    // SAFETY: ASCII is Latin-1; the pointer and length describe `text`.
    check(
        unsafe {
            sys::napi_create_string_latin1(
                env,
                text.as_ptr().cast(),
                text.len() as isize,
                &mut value,
            )
        },
        "napi_create_string_latin1",
    )?;
    Ok(value)
}

/// An `Error` with code `GenericFailure`, as napi-rs words a failed async call.
///
/// # Safety
/// JavaScript thread.
pub unsafe fn plain_error(env: sys::napi_env, message: &str) -> napi::Result<sys::napi_value> {
    // SAFETY: as this function's.
    unsafe {
        let code = <&str>::to_napi_value(env, "GenericFailure")?;
        let message = <&str>::to_napi_value(env, message)?;
        let mut error = ptr::null_mut();
        check(
            sys::napi_create_error(env, code, message, &mut error),
            "napi_create_error",
        )?;
        Ok(error)
    }
}
