//! Certificate-bound access tokens (RFC 8705 §3): the token's `cnf.x5t#S256` must be the
//! SHA-256 thumbprint of the client certificate the request came with; when that applies is
//! the `validateCertificateBinding` mode.

use aws_lc_rs::{constant_time, digest};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::jose::b64url_encode;
use super::text::is_js_whitespace;

/// Forgiving base64, as a browser's `atob`: padding optional, stray low bits ignored.
const FORGIVING_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// `validateCertificateBinding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingMode {
    WhenPresent,
    Required,
    DangerouslyIgnore,
}

impl BindingMode {
    pub const ALL: [BindingMode; 3] = [Self::WhenPresent, Self::Required, Self::DangerouslyIgnore];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::WhenPresent => "when_present",
            Self::Required => "required",
            Self::DangerouslyIgnore => "dangerously_ignore",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

pub fn check(
    claims: &Map<String, Value>,
    mode: Option<BindingMode>,
    certificate: Option<&str>,
) -> Result<()> {
    if !applies(mode, || is_certificate_bound(claims)) {
        return Ok(());
    }
    let cnf = claims.get("cnf").filter(|v| !v.is_null());
    let certificate = certificate
        .filter(|c| !c.trim_matches(is_js_whitespace).is_empty())
        .ok_or_else(|| Error::token("Client certificate is not present"))?;
    let der = certificate_der(certificate)
        .ok_or_else(|| Error::token("Client certificate is malformed"))?;
    let cnf = cnf.ok_or_else(|| {
        Error::token(
            "Access token does not contain a 'cnf' (confirmation) claim for certificate binding",
        )
    })?;
    let parsed;
    let cnf = match cnf {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|_| Error::token("Malformed 'cnf' claim for certificate binding"))?;
            &parsed
        }
        other => other,
    };
    let Value::Object(cnf) = cnf else {
        return Err(Error::token("The 'cnf' claim could not be parsed"));
    };
    let expected = cnf
        .get("x5t#S256")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::token(
                "The 'cnf' claim does not contain an 'x5t#S256' member specifying the \
                 certificate hash for binding",
            )
        })?;
    let actual = b64url_encode(digest::digest(&digest::SHA256, &der).as_ref());
    constant_time::verify_slices_are_equal(actual.as_bytes(), expected.as_bytes()).map_err(|_| {
        Error::token(
            "The certificate hash in the access token does not match the presented client \
             certificate (certificate binding validation failed)",
        )
    })
}

/// Whether the binding check runs in `mode` for claims that are (or are not) certificate-bound.
pub fn applies(mode: Option<BindingMode>, certificate_bound: impl FnOnce() -> bool) -> bool {
    match mode {
        Some(BindingMode::Required) => true,
        Some(BindingMode::WhenPresent) => certificate_bound(),
        Some(BindingMode::DangerouslyIgnore) | None => false,
    }
}

/// Whether the claims' `cnf` names a certificate (or cannot be read, which `check` refuses).
pub fn is_certificate_bound(claims: &Map<String, Value>) -> bool {
    claims
        .get("cnf")
        .filter(|v| !v.is_null())
        .is_some_and(looks_certificate_bound)
}

/// In `when_present` mode, a `cnf` that cannot be read is treated as binding (and then fails),
/// while a proof-of-possession key of another kind (`jkt`) is not.
fn looks_certificate_bound(cnf: &Value) -> bool {
    match cnf {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(o)) => o.contains_key("x5t#S256"),
            _ => true,
        },
        Value::Object(o) => o.contains_key("x5t#S256"),
        _ => true,
    }
}

/// The DER bytes of a PEM certificate (its first block) or of bare base64.
fn certificate_der(certificate: &str) -> Option<Vec<u8>> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let body = certificate
        .find(BEGIN)
        .and_then(|start| {
            let rest = &certificate[start + BEGIN.len()..];
            rest.find(END).map(|end| &rest[..end])
        })
        .unwrap_or(certificate);
    let compact: String = body.chars().filter(|c| !is_js_whitespace(*c)).collect();
    FORGIVING_BASE64.decode(compact).ok()
}

#[cfg(test)]
mod tests;
