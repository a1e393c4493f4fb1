//! One protected request as the checks see it: what the route asks of the token, and the parts
//! of the HTTP request beyond the token. It crosses from JavaScript whole, in the one native
//! call a request makes, so that checks which read the request are added here in Rust without a
//! second crossing or a second parse. The method, the URL and the `DPoP` values are read by DPoP
//! proofs (RFC 9449, `core::dpop`); callers pass them only when a `DPoP` header is present. The
//! access token itself is passed beside it: it is read into a stack buffer on the hot path and
//! borrowed from there.

use super::claims::Requirements;
use super::dpop::Scheme;
use super::text::{bearer_token, scheme_and_token};

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

    /// The access token and the scheme it came with (`None` for a token the caller found).
    /// The `DPoP` scheme is read only when `dpop` is on; otherwise it is no token, as the
    /// original has it.
    pub fn scheme_and_token(self, dpop: bool) -> Result<(Option<Scheme>, &'a str), NoBearerToken> {
        match self {
            Credential::Token(token) => Ok((None, token)),
            Credential::Authorization(value) => {
                let (scheme, token) = scheme_and_token(value).ok_or(NoBearerToken)?;
                if scheme.eq_ignore_ascii_case("bearer") {
                    Ok((Some(Scheme::Bearer), token))
                } else if dpop && scheme.eq_ignore_ascii_case("dpop") {
                    Ok((Some(Scheme::Dpop), token))
                } else {
                    Err(NoBearerToken)
                }
            }
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
    /// The `Authorization` scheme the token came with; `None` for a token the caller found.
    pub scheme: Option<Scheme>,
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

    #[test]
    fn the_dpop_scheme_is_a_token_only_when_dpop_is_on() {
        let dpop = Credential::Authorization("DPoP abc");
        assert_eq!(dpop.scheme_and_token(true), Ok((Some(Scheme::Dpop), "abc")));
        assert_eq!(dpop.scheme_and_token(false), Err(NoBearerToken));
        assert_eq!(
            Credential::Authorization("dpop  abc ").scheme_and_token(true),
            Ok((Some(Scheme::Dpop), "abc"))
        );
        assert_eq!(
            Credential::Authorization("Bearer abc").scheme_and_token(true),
            Ok((Some(Scheme::Bearer), "abc"))
        );
        assert_eq!(
            Credential::Token("abc").scheme_and_token(true),
            Ok((None, "abc"))
        );
        assert_eq!(
            Credential::Authorization("DPoP a b").scheme_and_token(true),
            Err(NoBearerToken)
        );
    }
}
