//! The failures a validation can end in. They cross into JavaScript as data (see
//! `napi::outcome`) and become the matching `MonoCloud*Error` class there.

use std::borrow::Cow;

/// `MonoCloudTokenError.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenErrorCode {
    InvalidToken,
    InactiveToken,
    InsufficientScope,
    InsufficientGroups,
    /// RFC 9449 §7.1: the DPoP proof is missing something, fails a check or was seen before.
    InvalidDpopProof,
    /// RFC 9449 §9: the proof must carry a fresh server nonce.
    UseDpopNonce,
    /// RFC 6750 §3.1: the request itself is malformed (two proofs, a proof with `Bearer`...).
    InvalidRequest,
    /// RFC 9470 §3: the user's authentication is not the one the route asks for (its `acr`, or
    /// how long ago it happened).
    InsufficientUserAuthentication,
}

impl TokenErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidToken => "invalid_token",
            Self::InactiveToken => "inactive_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InsufficientGroups => "insufficient_groups",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InvalidRequest => "invalid_request",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
        }
    }
}

/// What the authorization server answered, kept on errors about its answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub status_text: String,
    /// Lower-case names; repeated headers joined with ", "; `set-cookie` left out.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Configuration or usage problems (`MonoCloudValidationError`).
    #[error("{0}")]
    Validation(Cow<'static, str>),
    /// The token is not acceptable (`MonoCloudTokenError`).
    #[error("{message}")]
    Token {
        message: Cow<'static, str>,
        code: TokenErrorCode,
    },
    /// The authorization server refused a request (`MonoCloudOPError`).
    #[error("{error}")]
    Op {
        error: String,
        description: String,
        raw: Option<Box<RawResponse>>,
    },
    /// Transport failures and unexpected answers (`MonoCloudHttpError`).
    #[error("{message}")]
    Http {
        message: String,
        raw: Option<Box<RawResponse>>,
        /// A body that is not JSON, as text: the JavaScript face parses it again to word the
        /// message as the original does, with the engine's own `JSON.parse` error.
        json_text: Option<Box<str>>,
    },
    /// A token that is not a JWT, on a client that cannot introspect (no `clientId`).
    /// `validateAccessToken` rejects it as the original does, with a
    /// `MonoCloudValidationError`; `protectApi` answers it 401 `invalid_token`, since any caller
    /// can send one (DECISIONS 29).
    #[error("{INTROSPECTION_NOT_CONFIGURED}")]
    IntrospectionNotConfigured,
    /// A request refused by its DPoP checks (`MonoCloudTokenError` that carries its answer).
    #[error("{}", .0.message)]
    Dpop(Box<super::dpop::Refusal>),
    /// A user callback threw; the binding rethrows what it threw, kept under this id.
    #[error("A callback failed")]
    Callback(String),
}

impl Error {
    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Validation(message.into())
    }

    /// A `MonoCloudTokenError` with code `invalid_token`.
    pub fn token(message: impl Into<Cow<'static, str>>) -> Self {
        Self::token_with(message, TokenErrorCode::InvalidToken)
    }

    pub fn token_with(message: impl Into<Cow<'static, str>>, code: TokenErrorCode) -> Self {
        Self::Token {
            message: message.into(),
            code,
        }
    }

    pub fn http(message: impl Into<String>, raw: Option<RawResponse>) -> Self {
        Self::Http {
            message: message.into(),
            raw: raw.map(Box::new),
            json_text: None,
        }
    }
}

pub const INTROSPECTION_NOT_CONFIGURED: &str = "Token introspection is not configured";

/// The code of the `configuration_hint` event and of the failure's hint for
/// [`Error::IntrospectionNotConfigured`].
pub const INTROSPECTION_NOT_CONFIGURED_HINT: &str = "introspection_not_configured";

pub type Result<T, E = Error> = std::result::Result<T, E>;
