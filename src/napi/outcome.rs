//! Failures cross into JavaScript as data: an async call cannot reject with our own error
//! classes, so it resolves with either the result or a failure record that the JavaScript face
//! turns into the matching `MonoCloud*Error`.

use napi_derive::napi;

use crate::core::error::{Error, RawResponse};

#[napi(object)]
pub struct Outcome {
    /// The result as JSON text (claims, metadata, key set), when the call succeeded.
    pub json: Option<String>,
    pub failure: Option<Failure>,
}

#[napi(object)]
pub struct Failure {
    /// `validation`, `token`, `op`, `http`, or `callback` (a user callback threw).
    pub kind: String,
    pub message: String,
    /// `MonoCloudTokenError.code`.
    pub code: Option<String>,
    /// `MonoCloudOPError.error` and `.errorDescription`.
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub raw: Option<Raw>,
}

/// `MonoCloudRawResponse`.
#[napi(object)]
pub struct Raw {
    pub status: u32,
    pub status_text: String,
    pub headers: Vec<Vec<String>>,
    pub body: String,
}

impl Outcome {
    pub fn ok(json: String) -> Outcome {
        Outcome {
            json: Some(json),
            failure: None,
        }
    }

    pub fn from_result(result: Result<String, Error>) -> Outcome {
        match result {
            Ok(json) => Outcome::ok(json),
            Err(error) => Outcome {
                json: None,
                failure: Some(Failure::from(error)),
            },
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let message = error.to_string();
        let blank = |kind: &str| Failure {
            kind: kind.to_owned(),
            message: message.clone(),
            code: None,
            error: None,
            error_description: None,
            raw: None,
        };
        match error {
            Error::Validation(_) => blank("validation"),
            Error::Token { code, .. } => Failure {
                code: Some(code.as_str().to_owned()),
                ..blank("token")
            },
            Error::Op {
                error,
                description,
                raw,
            } => Failure {
                error: Some(error),
                error_description: Some(description),
                raw: raw.map(|r| Raw::from(*r)),
                ..blank("op")
            },
            Error::Http { raw, .. } => Failure {
                raw: raw.map(|r| Raw::from(*r)),
                ..blank("http")
            },
            // The message is the id under which the JavaScript face keeps what was thrown.
            Error::Callback(id) => Failure {
                message: id,
                ..blank("callback")
            },
        }
    }
}

impl From<RawResponse> for Raw {
    fn from(raw: RawResponse) -> Raw {
        Raw {
            status: raw.status.into(),
            status_text: raw.status_text,
            headers: raw.headers.into_iter().map(|(k, v)| vec![k, v]).collect(),
            body: raw.body,
        }
    }
}
