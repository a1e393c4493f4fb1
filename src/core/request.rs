//! One protected request as the checks see it: what the route asks of the token, and the parts
//! of the HTTP request beyond the token. It crosses from JavaScript whole, in the one native
//! call a request makes, so that checks which read the request are added here in Rust without a
//! second crossing or a second parse. No check reads the method, the URL or the `DPoP` values
//! yet: they are carried for DPoP proofs (RFC 9449), which read all three, and for resource
//! checks, which read the URL; callers pass them only when a `DPoP` header is present. The
//! access token itself is passed beside it: it is read into a stack buffer on the hot path and
//! borrowed from there.

use super::claims::Requirements;
use super::text::bearer_token;

/// Where the access token of a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// A token found by the caller (`validateAccessToken`'s argument, a `tokenResolver`).
    Token(&'a str),
    /// An `Authorization` header value, read here for a bearer token.
    Authorization(&'a str),
}

impl<'a> Credential<'a> {
    /// The access token, or `Err(NoBearerToken)` when an `Authorization` value holds no bearer
    /// token (the request is anonymous, not malformed).
    pub fn token(self) -> Result<&'a str, NoBearerToken> {
        match self {
            Credential::Token(token) => Ok(token),
            Credential::Authorization(value) => bearer_token(value).ok_or(NoBearerToken),
        }
    }
}

/// An `Authorization` value without a bearer token: answered as "no token", never as an
/// invalid one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoBearerToken;

/// The request around the token.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Scopes, groups and the client certificate the route asks for.
    pub requirements: Requirements,
    /// The HTTP method, upper case as sent.
    pub method: Option<String>,
    /// The absolute URL the client addressed.
    pub url: Option<String>,
    /// Every `DPoP` header value, in order.
    pub dpop: Vec<String>,
    /// The caller's clock (`Date.now()`), so that test clocks and the server agree.
    pub now_ms: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_gives_its_token() {
        assert_eq!(Credential::Token(" t ").token(), Ok(" t "));
        assert_eq!(Credential::Authorization("Bearer abc").token(), Ok("abc"));
        assert_eq!(
            Credential::Authorization("Basic abc").token(),
            Err(NoBearerToken)
        );
        assert_eq!(Credential::Authorization("").token(), Err(NoBearerToken));
    }
}
