//! JavaScript option objects as the core's `Input`, so that resolution and validation (which
//! must know `undefined` from `null`, and a function from an object) happen in Rust.

use napi::bindgen_prelude::*;

use crate::core::config::{Input, OPTION_NAMES};

/// Nested option objects are shallow; anything deeper than this is not an option.
const MAX_DEPTH: usize = 16;

/// Members of the cache adapter are read through the prototype chain, so class instances
/// whose methods live on the prototype are seen as they are called.
const CACHE_METHODS: [&str; 3] = ["get", "set", "delete"];

/// Options are small; anything wider or deeper than this is not an option, and must not make
/// construction slow (a hostile `new Array(2 ** 32 - 1)` in a JWK member, say).
const MAX_WIDTH: u32 = 1024;

pub fn to_input(value: &Unknown, depth: usize) -> Result<Input> {
    Ok(match value.get_type()? {
        ValueType::Undefined => Input::Missing,
        ValueType::Null => Input::Null,
        ValueType::Boolean => Input::Bool(unsafe { value.cast::<bool>() }?),
        ValueType::Number => Input::Number(unsafe { value.cast::<f64>() }?),
        ValueType::String => Input::Str(unsafe { value.cast::<String>() }?),
        ValueType::Function => Input::Function,
        ValueType::Object if depth < MAX_DEPTH => {
            let object = unsafe { value.cast::<Object>() }?;
            if object.is_array()? {
                let array = unsafe { value.cast::<Array>() }?;
                let items = (0..array.len().min(MAX_WIDTH))
                    .map(|i| match array.get::<Unknown>(i)? {
                        Some(item) => to_input(&item, depth + 1),
                        None => Ok(Input::Missing),
                    })
                    .collect::<Result<_>>()?;
                Input::Array(items)
            } else {
                let mut members = Vec::new();
                for key in Object::keys(&object)?.into_iter().take(MAX_WIDTH as usize) {
                    let member: Unknown = object.get_named_property(&key)?;
                    members.push((key, to_input(&member, depth + 1)?));
                }
                Input::Object(members)
            }
        }
        // Symbols, bigints, externals and runaway nesting are no valid option value.
        _ => Input::Array(Vec::new()),
    })
}

/// The options object, as far as the resolver reads it: only the known option names, and the
/// cache adapter's methods looked up through its prototype (class instances keep their methods
/// there).
pub fn options_input(options: &Unknown) -> Result<Input> {
    let Some(object) = plain_object(options)? else {
        return to_input(options, 0);
    };
    let mut members = Vec::new();
    for name in OPTION_NAMES {
        let value: Unknown = object.get_named_property(name)?;
        let input = match name {
            "cache" => cache_input(&value)?,
            "dpop" => dpop_input(&value)?,
            // A client object: its shape is the JavaScript face's to recognise, and walking it
            // (sockets, cycles, getters) is neither needed nor cheap.
            "store" if value.get_type()? == ValueType::Object => Input::Object(Vec::new()),
            _ => to_input(&value, 1)?,
        };
        if input != Input::Missing {
            members.push((name.to_owned(), input));
        }
    }
    Ok(Input::Object(members))
}

/// The value as an object to read members from, unless it is not an object or is an array.
fn plain_object<'env>(value: &Unknown<'env>) -> Result<Option<Object<'env>>> {
    if value.get_type()? != ValueType::Object {
        return Ok(None);
    }
    // SAFETY: the value was just checked to be an object.
    let object = unsafe { value.cast::<Object>() }?;
    Ok(if object.is_array()? {
        None
    } else {
        Some(object)
    })
}

/// The `dpop` object, its replay store's `reserve` read through the prototype chain (a store
/// is often a class instance).
fn dpop_input(dpop: &Unknown) -> Result<Input> {
    let Some(object) = plain_object(dpop)? else {
        return to_input(dpop, 1);
    };
    let Input::Object(mut members) = to_input(dpop, 1)? else {
        return to_input(dpop, 1);
    };
    let store: Unknown = object.get_named_property("replayStore")?;
    if let Some(store_object) = plain_object(&store)? {
        let reserve: Unknown = store_object.get_named_property("reserve")?;
        members.retain(|(name, _)| name != "replayStore");
        members.push((
            "replayStore".to_owned(),
            Input::Object(vec![("reserve".to_owned(), to_input(&reserve, 3)?)]),
        ));
    }
    Ok(Input::Object(members))
}

fn cache_input(cache: &Unknown) -> Result<Input> {
    let Some(object) = plain_object(cache)? else {
        return to_input(cache, 1);
    };
    let mut adapter = Vec::new();
    for name in CACHE_METHODS {
        let method: Unknown = object.get_named_property(name)?;
        adapter.push((name.to_owned(), to_input(&method, 2)?));
    }
    Ok(Input::Object(adapter))
}
