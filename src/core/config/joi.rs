//! The checks Joi makes on upstream's options, with Joi's exact messages: strings, booleans,
//! numbers (with Joi's string conversion), functions, URIs, allowed values.

use super::input::Input;
use crate::core::error::{Error, Result};
use crate::core::text::js_trim;

pub fn invalid(field: &str, problem: &str) -> Error {
    Error::validation(format!("\"{field}\" {problem}"))
}

pub fn one_of(field: &str, names: &[&str]) -> Error {
    invalid(field, &format!("must be one of [{}]", names.join(", ")))
}

pub fn required_string(field: &str, value: &Input) -> Result<String> {
    optional_string(field, value)?.ok_or_else(|| invalid(field, "is required"))
}

pub fn optional_string(field: &str, value: &Input) -> Result<Option<String>> {
    match value {
        Input::Missing | Input::Null => Ok(None),
        Input::Str(s) if s.is_empty() => Err(invalid(field, "is not allowed to be empty")),
        Input::Str(s) => Ok(Some(s.clone())),
        _ => Err(invalid(field, "must be a string")),
    }
}

pub fn optional_bool(field: &str, value: &Input) -> Result<Option<bool>> {
    match value {
        Input::Missing | Input::Null => Ok(None),
        Input::Bool(b) => Ok(Some(*b)),
        // Joi converts these two strings, in any case.
        Input::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Input::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(invalid(field, "must be a boolean")),
    }
}

pub fn optional_function(field: &str, value: &Input) -> Result<bool> {
    match value {
        Input::Missing | Input::Null => Ok(false),
        Input::Function => Ok(true),
        _ => Err(invalid(field, "must be of type function")),
    }
}

/// A number `>= min`, with Joi's string conversion.
pub fn number(field: &str, value: &Input, min: f64) -> Result<Option<f64>> {
    let n = number_any(field, value)?;
    match n {
        Some(n) if n < min => Err(invalid(
            field,
            &format!("must be greater than or equal to {min}"),
        )),
        n => Ok(n),
    }
}

pub fn number_any(field: &str, value: &Input) -> Result<Option<f64>> {
    let n = match value {
        Input::Missing | Input::Null => return Ok(None),
        Input::Number(n) => *n,
        Input::Str(s) => parse_joi_number(s).ok_or_else(|| invalid(field, "must be a number"))?,
        _ => return Err(invalid(field, "must be a number")),
    };
    if n.is_nan() {
        return Err(invalid(field, "must be a number"));
    }
    if n.is_infinite() {
        return Err(invalid(field, "cannot be infinity"));
    }
    Ok(Some(n))
}

/// Joi accepts decimal strings with optional sign, fraction and exponent, padded by spaces.
fn parse_joi_number(s: &str) -> Option<f64> {
    let s = js_trim(s);
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    s.parse().ok()
}

/// An absolute URI in the sense of RFC 3986 (what Joi's `uri()` accepts): a scheme, then only
/// URI characters, well-formed percent escapes, one fragment at most, brackets only around an
/// IPv6 host and a numeric port.
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut scheme_chars = scheme.chars();
    let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.matches('#').count() > 1 {
        return false;
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?#[]".contains(&b);
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if allowed(bytes[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            (&after[..end], &after[end..])
        }
        None => ("", rest),
    };
    if path.contains(['[', ']']) {
        return false;
    }
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let port = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, port)) if !host.contains(['[', ']']) => match port {
                "" => "",
                p => match p.strip_prefix(':') {
                    Some(p) => p,
                    None => return false,
                },
            },
            _ => return false,
        }
    } else if host_port.contains(['[', ']']) {
        return false;
    } else {
        host_port.split_once(':').map_or("", |(_, p)| p)
    };
    port.bytes().all(|b| b.is_ascii_digit())
}
