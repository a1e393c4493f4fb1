//! Failures cross into JavaScript as data: a promise settled from Rust cannot reject with our
//! own error classes, so every native call answers either its JSON text or a `Failure`, and the
//! JavaScript face (`ts/native/failure.ts`) throws the matching `MonoCloud*Error`. This is the
//! one place the Rust side maps its error taxonomy.

use napi::Either;
use napi_derive::napi;

use crate::core::error::{self, Error};

/// What every native call answers: JSON text (claims, metadata, a key set) or a failure.
pub type Answer = Either<String, Failure>;

pub fn answer(result: Result<String, Error>) -> Answer {
    match result {
        Ok(json) => Either::A(json),
        Err(error) => Either::B(Failure::from(error)),
    }
}

/// A failed call, discriminated by `kind`; each kind is one `MonoCloud*Error` class.
#[napi(discriminant = "kind", discriminant_case = "lowercase")]
pub enum Failure {
    /// `MonoCloudValidationError`: configuration or usage. `hint` names a configuration that
    /// `protectApi` answers otherwise (`introspection_not_configured`: 401, not 500).
    Validation {
        message: String,
        hint: Option<String>,
    },
    /// `MonoCloudTokenError`: the token is not acceptable.
    Token {
        message: String,
        code: TokenErrorCode,
        /// A DPoP refusal's own answer: its status, challenge and fresh nonce.
        answer: Option<TokenAnswer>,
    },
    /// `MonoCloudOPError`: the authorization server answered with an OAuth error.
    Op {
        error: String,
        error_description: String,
        raw: Option<RawResponse>,
    },
    /// `MonoCloudHttpError`: transport failures and unexpected answers.
    Http {
        message: String,
        raw: Option<RawResponse>,
        /// A body that is not JSON: `JSON.parse` of it gives the message the original shows.
        json_text: Option<String>,
    },
    /// A user callback threw: the JavaScript face rethrows what it threw, kept under `id`.
    Callback { id: String },
}

/// `MonoCloudTokenError.code`.
#[napi(string_enum = "snake_case")]
pub enum TokenErrorCode {
    InvalidToken,
    InactiveToken,
    InsufficientScope,
    InsufficientGroups,
    InvalidDpopProof,
    UseDpopNonce,
    InvalidRequest,
    InsufficientUserAuthentication,
}

/// How a refused DPoP request is answered (RFC 9449 §7.1, §9).
#[napi(object)]
pub struct TokenAnswer {
    pub status: u32,
    /// The `WWW-Authenticate` value.
    pub challenge: String,
    /// The `DPoP-Nonce` to retry with.
    pub nonce: Option<String>,
}

/// `validateCertificateBinding` of one call.
#[napi(string_enum = "snake_case")]
pub enum CertificateBinding {
    WhenPresent,
    Required,
    DangerouslyIgnore,
}

/// `MonoCloudRawResponse`: what the authorization server answered.
#[napi(object)]
pub struct RawResponse {
    pub status: u32,
    pub status_text: String,
    /// Name and value pairs, lower-case names.
    pub headers: Vec<Vec<String>>,
    pub body: String,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        match error {
            Error::Validation(message) => Failure::Validation {
                message: message.into_owned(),
                hint: None,
            },
            Error::IntrospectionNotConfigured => Failure::Validation {
                message: error::INTROSPECTION_NOT_CONFIGURED.to_owned(),
                hint: Some(error::INTROSPECTION_NOT_CONFIGURED_HINT.to_owned()),
            },
            Error::Token { message, code } => Failure::Token {
                message: message.into_owned(),
                code: code.into(),
                answer: None,
            },
            Error::Dpop(refusal) => Failure::Token {
                message: refusal.message.into_owned(),
                code: refusal.code.into(),
                answer: Some(TokenAnswer {
                    status: refusal.status.into(),
                    challenge: refusal.challenge,
                    nonce: refusal.nonce,
                }),
            },
            Error::Op {
                error,
                description,
                raw,
            } => Failure::Op {
                error,
                error_description: description,
                raw: raw.map(|raw| RawResponse::from(*raw)),
            },
            Error::Http {
                message,
                raw,
                json_text,
            } => Failure::Http {
                message,
                raw: raw.map(|raw| RawResponse::from(*raw)),
                json_text: json_text.map(String::from),
            },
            Error::Callback(id) => Failure::Callback { id },
        }
    }
}

impl From<error::TokenErrorCode> for TokenErrorCode {
    fn from(code: error::TokenErrorCode) -> TokenErrorCode {
        match code {
            error::TokenErrorCode::InvalidToken => TokenErrorCode::InvalidToken,
            error::TokenErrorCode::InactiveToken => TokenErrorCode::InactiveToken,
            error::TokenErrorCode::InsufficientScope => TokenErrorCode::InsufficientScope,
            error::TokenErrorCode::InsufficientGroups => TokenErrorCode::InsufficientGroups,
            error::TokenErrorCode::InvalidDpopProof => TokenErrorCode::InvalidDpopProof,
            error::TokenErrorCode::UseDpopNonce => TokenErrorCode::UseDpopNonce,
            error::TokenErrorCode::InvalidRequest => TokenErrorCode::InvalidRequest,
            error::TokenErrorCode::InsufficientUserAuthentication => {
                TokenErrorCode::InsufficientUserAuthentication
            }
        }
    }
}

impl From<error::RawResponse> for RawResponse {
    fn from(raw: error::RawResponse) -> RawResponse {
        RawResponse {
            status: raw.status.into(),
            status_text: raw.status_text,
            headers: raw
                .headers
                .into_iter()
                .map(|(name, value)| vec![name, value])
                .collect(),
            body: raw.body,
        }
    }
}
