//! Compact JWS access tokens: split, decode, check the header, verify, decode the payload. The
//! order of the steps decides which error a bad token gets, and follows upstream.

use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::jose::{Alg, b64url_decode};
use super::keys::KeySet;

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
pub const TOO_LARGE: &str = "Access token is larger than 16 KiB";

/// A token whose header has been read and whose signature has been decoded. `A` is the
/// algorithm family of the verifier that parsed it: public keys (`Alg`), or the pinned HMAC
/// secret's.
#[derive(Debug)]
pub struct Jws<'t, A = Alg> {
    pub alg: A,
    pub typ: TokenType,
    pub kid: Option<Value>,
    /// `header.payload`, the bytes the signature covers.
    pub signing_input: &'t str,
    pub payload: &'t str,
    pub signature: Vec<u8>,
}

/// What a JWT's `typ` header says it is. Anything else is another kind of token (a logout
/// token, a security event, a DPoP proof, an ID token...) and is refused (RFC 8725 §3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// No `typ`, or the generic `JWT`: says nothing either way.
    Generic,
    /// `at+jwt`: an RFC 9068 access token.
    AccessToken,
}

pub const UNEXPECTED_TYP: &str = "Unexpected JWT \"typ\" header parameter value";

impl TokenType {
    /// Media type names compare without case, and `application/` may be left out (RFC 7515
    /// §4.1.9).
    fn of(typ: Option<&Value>) -> Result<TokenType> {
        let name = match typ {
            None => return Ok(TokenType::Generic),
            Some(Value::String(name)) => name.to_ascii_lowercase(),
            Some(_) => return Err(Error::token(UNEXPECTED_TYP)),
        };
        match name.strip_prefix("application/").unwrap_or(&name) {
            "jwt" => Ok(TokenType::Generic),
            "at+jwt" => Ok(TokenType::AccessToken),
            _ => Err(Error::token(UNEXPECTED_TYP)),
        }
    }
}

/// Verified claims: the payload text as signed (what JavaScript receives) and its parse.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub json: String,
    pub map: Map<String, Value>,
}

/// Whether a string is shaped like a JWT (three dot-separated parts), which decides between
/// local validation and introspection.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

/// A compact JWS split into its parts, with the header decoded.
pub struct Parts<'t> {
    pub header: Map<String, Value>,
    pub signing_input: &'t str,
    pub payload: &'t str,
    pub signature: &'t str,
}

/// Size, the three parts and the header object: the steps every verifier starts with.
pub fn split(token: &str) -> Result<Parts<'_>> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::token(TOO_LARGE));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::token(
            "JWT access token must have a header, payload and signature",
        ));
    };
    Ok(Parts {
        header: decode_object(header, "Header")?,
        signing_input: &token[..token.len() - signature.len() - 1],
        payload,
        signature,
    })
}

/// Steps that need no key: shape, header, `crit`, `alg`, `typ`, signature encoding.
pub fn parse(token: &str) -> Result<Jws<'_>> {
    parse_with(token, Alg::parse)
}

/// The same steps with the verifier's own reading of `alg` (`None`: not one it takes), so that
/// every verifier applies the header rules (`crit`, `typ`) identically and in the same order.
pub fn parse_with<A>(token: &str, alg_of: impl FnOnce(&str) -> Option<A>) -> Result<Jws<'_, A>> {
    let Parts {
        header,
        signing_input,
        payload,
        signature,
    } = split(token)?;
    if header.contains_key("crit") {
        return Err(Error::token("Unexpected JWT \"crit\" header parameter"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(alg_of)
        .ok_or_else(|| Error::token("unsupported JWS \"alg\" identifier"))?;
    let typ = TokenType::of(header.get("typ"))?;
    let signature = b64url_decode(signature)
        .ok_or_else(|| Error::token("JWT signature is not valid base64url"))?;
    Ok(Jws {
        alg,
        typ,
        kid: header.get("kid").cloned(),
        signing_input,
        payload,
        signature,
    })
}

impl Jws<'_> {
    /// Verifies against the one key of `keys` that fits, then decodes the payload.
    pub fn verify(&self, keys: &KeySet) -> Result<Claims> {
        self.verify_signature(keys)?;
        self.claims()
    }

    /// Only the signature, against the one key of `keys` that fits.
    pub fn verify_signature(&self, keys: &KeySet) -> Result<()> {
        let key = keys
            .select(self.alg, self.kid.as_ref())
            .map_err(|s| s.into_error())?;
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
    }
}

impl<A> Jws<'_, A> {
    /// The payload, unverified.
    pub fn claims(&self) -> Result<Claims> {
        decode_payload(self.payload)
    }
}

/// A payload segment as claims.
pub fn decode_payload(payload: &str) -> Result<Claims> {
    let bytes =
        b64url_decode(payload).ok_or_else(|| Error::token("Failed to parse JWT Payload"))?;
    let json = String::from_utf8(bytes).map_err(|_| Error::token("Failed to parse JWT Payload"))?;
    let map = parse_object(&json, "Payload")?;
    Ok(Claims { json, map })
}

fn decode_object(segment: &str, part: &str) -> Result<Map<String, Value>> {
    let bytes = b64url_decode(segment)
        .ok_or_else(|| Error::token(format!("Failed to parse JWT {part}")))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::token(format!("Failed to parse JWT {part}")))?;
    parse_object(text, part)
}

fn parse_object(text: &str, part: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::token(format!(
            "JWT {part} must be a top level object"
        ))),
        Err(_) => Err(Error::token(format!("Failed to parse JWT {part}"))),
    }
}

/// `MonoCloudOidcBackendClient.decodeJwt`: the payload without any verification.
pub fn decode_unverified(token: &str) -> Result<Claims> {
    let payload = token
        .split('.')
        .nth(1)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Error::token("JWT does not contain payload"))?;
    let json = b64url_decode(payload)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| Error::token("Could not parse payload. Malformed payload"))?;
    match serde_json::from_str::<Value>(&json) {
        Ok(Value::Object(map)) => Ok(Claims { json, map }),
        Ok(_) => Err(Error::token("Payload is not an object")),
        Err(_) => Err(Error::token("Could not parse payload. Malformed payload")),
    }
}

#[cfg(test)]
mod tests;
