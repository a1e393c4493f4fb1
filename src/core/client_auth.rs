//! Client authentication at the introspection endpoint (RFC 6749 §2.3, RFC 7523, RFC 8705):
//! the methods, the secret they use, and what each method adds to the request.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::error::{Error, Result};
use super::jose::{Alg, b64url_decode, b64url_encode};
use super::signing::{KeyProblem, PrivateKey};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const JWT_SPIFFE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe";
/// Client assertions are single-use and short-lived.
const ASSERTION_LIFETIME: f64 = 60.0;

/// `clientAuthMethod`: how the client proves who it is at the introspection endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    ClientSecretJwt,
    PrivateKeyJwt,
    TlsClientAuth,
    SelfSignedTlsClientAuth,
    SpiffeJwt,
    SpiffeX509,
}

impl ClientAuthMethod {
    pub const ALL: [ClientAuthMethod; 8] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::ClientSecretJwt,
        Self::PrivateKeyJwt,
        Self::TlsClientAuth,
        Self::SelfSignedTlsClientAuth,
        Self::SpiffeJwt,
        Self::SpiffeX509,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::TlsClientAuth => "tls_client_auth",
            Self::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
            Self::SpiffeJwt => "spiffe_jwt",
            Self::SpiffeX509 => "spiffe_x509",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Methods that authenticate with a TLS client certificate, on the mTLS endpoint aliases.
    pub fn uses_mtls_endpoints(self) -> bool {
        matches!(
            self,
            Self::TlsClientAuth | Self::SelfSignedTlsClientAuth | Self::SpiffeX509
        )
    }
}

/// `clientSecret`: a shared secret (or a JWT-SVID), the private JWK of `private_key_jwt`, or
/// the symmetric JWK of `client_secret_jwt`.
#[derive(Clone, PartialEq)]
pub enum ClientSecret {
    Text(String),
    Jwk(Map<String, Value>),
    Symmetric(SymmetricKey),
}

/// Secrets never reach a log through `Debug`.
impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientSecret::Text(_) => f.write_str("Text(<redacted>)"),
            ClientSecret::Jwk(_) => f.write_str("Jwk(<redacted>)"),
            ClientSecret::Symmetric(key) => write!(f, "Symmetric({key:?})"),
        }
    }
}

/// The HMAC algorithms a `client_secret_jwt` assertion is signed with (RFC 7518 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlg {
    HS256,
    HS384,
    HS512,
}

impl HmacAlg {
    fn parse(name: &str) -> Option<HmacAlg> {
        match name {
            "HS256" => Some(HmacAlg::HS256),
            "HS384" => Some(HmacAlg::HS384),
            "HS512" => Some(HmacAlg::HS512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HmacAlg::HS256 => "HS256",
            HmacAlg::HS384 => "HS384",
            HmacAlg::HS512 => "HS512",
        }
    }

    fn algorithm(self) -> hmac::Algorithm {
        match self {
            HmacAlg::HS256 => hmac::HMAC_SHA256,
            HmacAlg::HS384 => hmac::HMAC_SHA384,
            HmacAlg::HS512 => hmac::HMAC_SHA512,
        }
    }

    /// RFC 7518 §3.2: the key must be at least as long as the hash output.
    fn min_key_bytes(self) -> usize {
        match self {
            HmacAlg::HS256 => 32,
            HmacAlg::HS384 => 48,
            HmacAlg::HS512 => 64,
        }
    }
}

/// A symmetric JWK (`kty: "oct"`) for `client_secret_jwt`: its `alg` picks the assertion's
/// algorithm and its `kid` names the key in the assertion's header, as MonoCloud's guide for
/// this method documents.
#[derive(Clone, PartialEq)]
pub struct SymmetricKey {
    pub key: Vec<u8>,
    pub alg: HmacAlg,
    pub kid: Option<String>,
}

/// The key never reaches a log through `Debug`.
impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SymmetricKey({}, <redacted>)", self.alg.name())
    }
}

impl SymmetricKey {
    /// Checked once, at construction, so that a bad key is a configuration error rather than a
    /// failure on every request. The messages name members, never their values.
    pub fn from_jwk(jwk: &Map<String, Value>) -> Result<SymmetricKey> {
        const WHICH: &str = "clientSecret must be a symmetric JWK (kty \"oct\") when \
                             clientAuthMethod is 'client_secret_jwt'";
        if jwk.get("kty").and_then(Value::as_str) != Some("oct") {
            return Err(Error::validation(WHICH));
        }
        let alg = jwk
            .get("alg")
            .and_then(Value::as_str)
            .and_then(HmacAlg::parse)
            .ok_or_else(|| {
                Error::validation(
                    "The clientSecret JWK's \"alg\" must be HS256, HS384 or HS512 for \
                     client_secret_jwt",
                )
            })?;
        let key = jwk
            .get("k")
            .and_then(Value::as_str)
            .and_then(b64url_decode)
            .filter(|key| key.len() >= alg.min_key_bytes())
            .ok_or_else(|| {
                Error::validation(format!(
                    "The clientSecret JWK's \"k\" must be base64url of at least {} bytes for {}",
                    alg.min_key_bytes(),
                    alg.name()
                ))
            })?;
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => {
                return Err(Error::validation(
                    "The clientSecret JWK's \"kid\" must be a string",
                ));
            }
        };
        Ok(SymmetricKey { key, alg, kid })
    }
}

/// What authentication adds to the request: form fields and perhaps a header.
#[derive(Debug, Default, PartialEq)]
pub struct Credentials {
    pub form: Vec<(&'static str, String)>,
    pub authorization: Option<String>,
}

/// The client as it authenticates: who it is, what it holds, and how it proves it.
pub struct Authentication<'a> {
    pub id: &'a str,
    pub secret: Option<&'a ClientSecret>,
    pub method: ClientAuthMethod,
    /// The normalised tenant URL: the audience of client assertions.
    pub issuer: &'a str,
}

fn unusable(method: ClientAuthMethod, why: &str) -> Error {
    Error::validation(format!(
        "Invalid Client Authentication Method: {} {why}",
        method.as_str()
    ))
}

impl Authentication<'_> {
    pub fn credentials(&self, now: f64) -> Result<Credentials> {
        let id = self.id.to_owned();
        let text_secret = match self.secret {
            Some(ClientSecret::Text(s)) => Some(s.as_str()),
            _ => None,
        };
        Ok(match self.method {
            ClientAuthMethod::ClientSecretBasic => {
                if matches!(
                    self.secret,
                    Some(ClientSecret::Jwk(_) | ClientSecret::Symmetric(_))
                ) {
                    return Err(unusable(
                        self.method,
                        "needs a string clientSecret, not a JWK",
                    ));
                }
                // RFC 6749 §2.3.1: both parts are form-encoded before base64.
                let pair = format!(
                    "{}:{}",
                    form_urlencode(self.id),
                    form_urlencode(text_secret.unwrap_or(""))
                );
                Credentials {
                    form: vec![],
                    authorization: Some(format!("Basic {}", STANDARD.encode(pair))),
                }
            }
            ClientAuthMethod::ClientSecretPost => {
                let mut form = vec![("client_id", id)];
                if let Some(secret) = text_secret {
                    form.push(("client_secret", secret.to_owned()));
                }
                Credentials {
                    form,
                    authorization: None,
                }
            }
            ClientAuthMethod::ClientSecretJwt => {
                // A plain secret signs with HS256, as the original does.
                let signer = match self.secret {
                    Some(ClientSecret::Text(secret)) => Signer::Hmac {
                        key: secret.as_bytes(),
                        alg: HmacAlg::HS256,
                        kid: None,
                    },
                    Some(ClientSecret::Symmetric(jwk)) => Signer::Hmac {
                        key: &jwk.key,
                        alg: jwk.alg,
                        kid: jwk.kid.as_deref(),
                    },
                    _ => {
                        return Err(unusable(
                            self.method,
                            "needs a string clientSecret or a symmetric JWK",
                        ));
                    }
                };
                let assertion = self.assertion(now, &signer)?;
                assertion_credentials(id, JWT_BEARER, assertion)
            }
            ClientAuthMethod::PrivateKeyJwt => {
                let Some(ClientSecret::Jwk(jwk)) = self.secret else {
                    return Err(unusable(self.method, "needs a private JWK as clientSecret"));
                };
                let assertion = self.assertion(now, &Signer::Jwk(jwk))?;
                assertion_credentials(id, JWT_BEARER, assertion)
            }
            ClientAuthMethod::SpiffeJwt => {
                let svid = text_secret.ok_or_else(|| {
                    unusable(self.method, "needs the JWT-SVID as a string clientSecret")
                })?;
                assertion_credentials(id, JWT_SPIFFE, svid.to_owned())
            }
            ClientAuthMethod::TlsClientAuth
            | ClientAuthMethod::SelfSignedTlsClientAuth
            | ClientAuthMethod::SpiffeX509 => Credentials {
                form: vec![("client_id", id)],
                authorization: None,
            },
        })
    }

    fn assertion(&self, now: f64, signer: &Signer) -> Result<String> {
        let (alg, kid) = signer.header()?;
        let mut header = json!({ "alg": alg });
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        let mut jti = [0u8; 32];
        SystemRandom::new()
            .fill(&mut jti)
            .map_err(|_| Error::validation("No randomness available for a client assertion"))?;
        let now = now.floor();
        let payload = json!({
            "iss": self.id,
            "sub": self.id,
            "aud": self.issuer,
            "jti": b64url_encode(&jti),
            "iat": now,
            "nbf": now,
            "exp": now + ASSERTION_LIFETIME,
        });
        let input = format!(
            "{}.{}",
            b64url_encode(header.to_string().as_bytes()),
            b64url_encode(payload.to_string().as_bytes())
        );
        let signature = signer.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", b64url_encode(&signature)))
    }
}

fn assertion_credentials(id: String, kind: &str, assertion: String) -> Credentials {
    Credentials {
        form: vec![
            ("client_id", id),
            ("client_assertion_type", kind.to_owned()),
            ("client_assertion", assertion),
        ],
        authorization: None,
    }
}

enum Signer<'a> {
    Hmac {
        key: &'a [u8],
        alg: HmacAlg,
        kid: Option<&'a str>,
    },
    Jwk(&'a Map<String, Value>),
}

impl Signer<'_> {
    fn header(&self) -> Result<(&'static str, Option<String>)> {
        match self {
            Signer::Hmac { alg, kid, .. } => Ok((alg.name(), kid.map(str::to_owned))),
            Signer::Jwk(jwk) => {
                let alg = jwk_alg(jwk)?;
                let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
                Ok((alg.name(), kid))
            }
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match self {
            Signer::Hmac { key, alg, .. } => {
                let key = hmac::Key::new(alg.algorithm(), key);
                Ok(hmac::sign(&key, message).as_ref().to_vec())
            }
            Signer::Jwk(jwk) => sign_with_jwk(jwk, jwk_alg(jwk)?, message),
        }
    }
}

/// Checks a `private_key_jwt` key once, at construction, by signing with it as an
/// introspection would: a broken key (a member that is not base64url, a wrong curve, a key too
/// small) is then a configuration error, not a 500 on the first opaque token.
pub fn check_private_jwk(jwk: &Map<String, Value>) -> Result<()> {
    sign_with_jwk(jwk, jwk_alg(jwk)?, b"construction check").map(drop)
}

fn jwk_alg(jwk: &Map<String, Value>) -> Result<Alg> {
    jwk.get("alg")
        .and_then(Value::as_str)
        .and_then(Alg::parse)
        .ok_or_else(|| {
            Error::validation(
                "unsupported JWS algorithm: the private key JWK needs an \"alg\" of RS256-512, \
                 PS256-512, ES256-512 or EdDSA",
            )
        })
}

fn bad_key() -> Error {
    Error::validation("The private key JWK for private_key_jwt could not be used")
}

fn sign_with_jwk(jwk: &Map<String, Value>, alg: Alg, message: &[u8]) -> Result<Vec<u8>> {
    PrivateKey::from_jwk(jwk, alg)
        .and_then(|key| key.sign(message))
        .map_err(|problem| match problem {
            KeyProblem::Unusable => bad_key(),
            KeyProblem::RsaTooSmall => Error::validation(
                "The private key JWK for private_key_jwt must be RSA 2048 bits or more",
            ),
        })
}

/// `application/x-www-form-urlencoded` as URLSearchParams writes it (space as `+`).
pub fn form_urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A form body from name/value pairs, in order.
pub fn form_body(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", form_urlencode(name), form_urlencode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests;
