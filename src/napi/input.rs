//! JavaScript option objects as the core's `Input`, so that resolution and validation (which
//! must know `undefined` from `null`, and a function from an object) happen in Rust.

use napi::bindgen_prelude::*;

use crate::core::config::Input;

/// Nested option objects are shallow; anything deeper than this is not an option.
const MAX_DEPTH: usize = 16;

/// Members of the cache adapter are read through the prototype chain, so class instances
/// whose methods live on the prototype are seen as they are called.
const CACHE_METHODS: [&str; 3] = ["get", "set", "delete"];

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
                let items = (0..array.len())
                    .map(|i| match array.get::<Unknown>(i)? {
                        Some(item) => to_input(&item, depth + 1),
                        None => Ok(Input::Missing),
                    })
                    .collect::<Result<_>>()?;
                Input::Array(items)
            } else {
                let mut members = Vec::new();
                for key in Object::keys(&object)? {
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

/// The options object, with the cache adapter's methods looked up through its prototype.
pub fn options_input(options: &Unknown) -> Result<Input> {
    let mut input = to_input(options, 0)?;
    if let Input::Object(members) = &mut input {
        let object = unsafe { options.cast::<Object>() }?;
        let cache: Unknown = object.get_named_property("cache")?;
        if cache.get_type()? == ValueType::Object {
            let cache_object = unsafe { cache.cast::<Object>() }?;
            if !cache_object.is_array()? {
                let mut adapter = Vec::new();
                for name in CACHE_METHODS {
                    let method: Unknown = cache_object.get_named_property(name)?;
                    adapter.push((name.to_owned(), to_input(&method, 1)?));
                }
                members.retain(|(key, _)| key != "cache");
                members.push(("cache".into(), Input::Object(adapter)));
            }
        }
    }
    Ok(input)
}
