//! The JavaScript value model: an option as the resolver sees it, telling `undefined` from
//! `null` and a function from an object, as Joi does.

use serde_json::Value;

/// A JavaScript value as the option resolver needs to see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// `undefined`, or a key that is not there.
    Missing,
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Function,
    Array(Vec<Input>),
    Object(Vec<(String, Input)>),
}

const MISSING: Input = Input::Missing;

impl Input {
    /// The member `key` of an object; `Missing` for anything else.
    pub fn get(&self, key: &str) -> &Input {
        match self {
            Input::Object(members) => members
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map_or(&MISSING, |(_, v)| v),
            _ => &MISSING,
        }
    }

    pub fn is_nullish(&self) -> bool {
        matches!(self, Input::Missing | Input::Null)
    }

    /// `a ?? b`
    pub fn or(&self, fallback: Input) -> Input {
        if self.is_nullish() {
            fallback
        } else {
            self.clone()
        }
    }

    /// The JSON this value would serialise to (functions and `undefined` dropped).
    pub fn to_json(&self) -> Value {
        match self {
            Input::Missing | Input::Null | Input::Function => Value::Null,
            Input::Bool(b) => Value::Bool(*b),
            Input::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Input::Str(s) => Value::String(s.clone()),
            Input::Array(items) => Value::Array(items.iter().map(Input::to_json).collect()),
            Input::Object(members) => Value::Object(
                members
                    .iter()
                    .filter(|(_, v)| !matches!(v, Input::Missing | Input::Function))
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}
