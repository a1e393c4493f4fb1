//! The TLS client identity for the mTLS endpoint aliases, read once at construction.

use super::Redacted;
use crate::core::error::{Error, Result};

/// The client certificate and key, each given as PEM text or as the path of a PEM file.
pub fn tls_identity(
    certificate: Option<String>,
    key: Option<String>,
) -> Result<Option<Redacted<Vec<u8>>>> {
    let (certificate, key) = match (certificate, key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        _ => {
            return Err(Error::validation(
                "\"tlsClientCertificate\" and \"tlsClientKey\" must be given together",
            ));
        }
    };
    let read = |field: &str, value: &str| -> Result<Vec<u8>> {
        if value.contains("-----BEGIN") {
            return Ok(value.as_bytes().to_vec());
        }
        std::fs::read(value).map_err(|e| {
            Error::validation(format!(
                "\"{field}\" is neither PEM text nor a readable file: {e}"
            ))
        })
    };
    let mut pem = read("tlsClientCertificate", &certificate)?;
    pem.push(b'\n');
    pem.extend(read("tlsClientKey", &key)?);
    Ok(Some(Redacted(pem)))
}
