//! One client-credentials token request (RFC 6749 §4.4) and how its answer is read: the
//! endpoint from discovery (its mTLS alias for the certificate methods, RFC 8705 §5), the
//! client's authentication, the requested scopes, resource indicators (RFC 8707) and audience,
//! then the token, an OAuth error, or a failure worth retrying.

use std::time::Duration;

use serde_json::{Map, Value};

use super::config::TokenClientConfig;
use super::dpop::{DpopKey, nonce_header};
use crate::core::client_auth::{Authentication, form_body};
use crate::core::clock::Now;
use crate::core::discovery::Metadata;
use crate::core::error::{Error, Result};
use crate::core::http::{Http, Request, Response};

/// What a caller asks for; one cached token per distinct request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TokenRequest {
    /// Sorted and without duplicates: the order of scopes does not make another token.
    pub scopes: Vec<String>,
    /// RFC 8707 resource indicators, sorted and without duplicates.
    pub resources: Vec<String>,
    /// The `audience` parameter some issuers take instead of a resource indicator.
    pub audience: Option<String>,
}

impl TokenRequest {
    pub fn new(scopes: Vec<String>, resources: Vec<String>, audience: Option<String>) -> Self {
        let canonical = |mut list: Vec<String>| {
            list.retain(|item| !item.is_empty());
            list.sort();
            list.dedup();
            list
        };
        TokenRequest {
            scopes: canonical(scopes),
            resources: canonical(resources),
            audience: audience.filter(|a| !a.is_empty()),
        }
    }

    /// A stable text for this request, used as the shared cache's key (with the client's).
    pub fn key(&self) -> String {
        serde_json::json!([self.scopes, self.resources, self.audience]).to_string()
    }
}

/// A token as the issuer gave it.
#[derive(Clone, PartialEq)]
pub struct IssuedToken {
    pub access_token: String,
    pub token_type: String,
    /// Seconds, when the issuer said.
    pub expires_in: Option<f64>,
    pub scope: Option<String>,
}

/// The token never reaches a log through `Debug`.
impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// How a request failed: worth trying again (after the issuer's `Retry-After`, if it gave
/// one), or not.
#[derive(Debug)]
pub enum Failed {
    Transient {
        error: Error,
        retry_after: Option<Duration>,
    },
    Final(Error),
}

impl Failed {
    pub fn into_error(self) -> Error {
        match self {
            Failed::Transient { error, .. } | Failed::Final(error) => error,
        }
    }
}

/// A failure of the exchange itself: no answer (refused, reset, timed out). Other errors
/// (a missing endpoint, a bad key, a `fetcher` that threw) are not the network's.
pub fn classify(error: Error) -> Failed {
    match error {
        Error::Http { raw: None, .. } => Failed::Transient {
            error,
            retry_after: None,
        },
        Error::Http {
            raw: Some(ref raw), ..
        } if is_transient_status(raw.status) => Failed::Transient {
            error,
            retry_after: None,
        },
        other => Failed::Final(other),
    }
}

fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// The token endpoint for this client's authentication method.
pub fn token_endpoint<'m>(metadata: &'m Metadata, config: &TokenClientConfig) -> Result<&'m str> {
    if config.client_auth_method.uses_mtls_endpoints() {
        let store = config.trust_store_id.as_deref();
        metadata.mtls_alias("token_endpoint", store).ok_or_else(|| {
            Error::validation(match store {
                Some(store) => format!(
                    "mTLS token_endpoint is required but not available for trust store \
                     '{store}' in the issuer metadata"
                ),
                None => "mTLS token_endpoint is required but not available in the issuer metadata"
                    .to_owned(),
            })
        })
    } else {
        metadata.endpoint("token_endpoint").ok_or_else(|| {
            Error::validation(
                "token_endpoint endpoint is required but not available in the issuer metadata",
            )
        })
    }
}

/// Sends one token request and reads its answer. With a DPoP key, the request carries a
/// proof; a `use_dpop_nonce` refusal that brings a nonce is answered once with a proof that
/// carries it (RFC 9449 §8), and the answer must be a DPoP-bound token.
pub async fn request_token(
    http: &Http,
    config: &TokenClientConfig,
    metadata: &Metadata,
    request: &TokenRequest,
    now: Now,
    dpop: Option<&DpopKey>,
) -> std::result::Result<IssuedToken, Failed> {
    let endpoint = token_endpoint(metadata, config).map_err(Failed::Final)?;
    let mut now = now;
    let mut nonce_retried = false;
    loop {
        let response = send_token_request(http, config, endpoint, request, now, dpop).await?;
        if let Some(key) = dpop
            && let Some(nonce) = nonce_header(&response.headers)
        {
            key.remember_nonce(endpoint, nonce);
            if !nonce_retried && asks_for_nonce(&response) {
                nonce_retried = true;
                now = now.later();
                continue;
            }
        }
        let token = read_token_answer(&response)?;
        if dpop.is_some() && !token.token_type.eq_ignore_ascii_case("DPoP") {
            return Err(Failed::Final(Error::http(
                format!(
                    "The token endpoint answered a {} token although DPoP was asked for: the \
                     issuer does not bind tokens to this client's DPoP key",
                    if token.token_type.len() <= 16 {
                        token.token_type.as_str()
                    } else {
                        "non-DPoP"
                    }
                ),
                Some(redacted(&response)),
            )));
        }
        return Ok(token);
    }
}

async fn send_token_request(
    http: &Http,
    config: &TokenClientConfig,
    endpoint: &str,
    request: &TokenRequest,
    now: Now,
    dpop: Option<&DpopKey>,
) -> std::result::Result<Response, Failed> {
    // Client assertions and proofs are single-use: a new one for every request.
    let credentials = Authentication {
        id: &config.client_id,
        secret: config.client_secret.as_ref(),
        method: config.client_auth_method,
        issuer: &config.issuer,
    }
    .credentials(now.seconds())
    .map_err(Failed::Final)?;
    let proof = dpop
        .map(|key| key.proof("POST", endpoint, None, now))
        .transpose()
        .map_err(Failed::Final)?;
    let mut fields = vec![("grant_type", "client_credentials".to_owned())];
    if !request.scopes.is_empty() {
        fields.push(("scope", request.scopes.join(" ")));
    }
    for resource in &request.resources {
        fields.push(("resource", resource.clone()));
    }
    if let Some(audience) = &request.audience {
        fields.push(("audience", audience.clone()));
    }
    fields.extend(credentials.form);
    http.send(Request {
        url: endpoint,
        form: Some(form_body(&fields)),
        authorization: credentials.authorization,
        dpop: proof,
        mtls: config.client_auth_method.uses_mtls_endpoints(),
    })
    .await
    .map_err(classify)
}

/// A 400 whose OAuth error is `use_dpop_nonce` (RFC 9449 §8).
fn asks_for_nonce(response: &Response) -> bool {
    response.status == 400
        && serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|body| body.get("error")?.as_str().map(|e| e == "use_dpop_nonce"))
            .unwrap_or(false)
}

/// A successful answer's token, an OAuth error (final), or a failure worth retrying.
pub fn read_token_answer(response: &Response) -> std::result::Result<IssuedToken, Failed> {
    let status = response.status;
    if is_transient_status(status) {
        return Err(Failed::Transient {
            error: Error::http(
                format!("The token endpoint answered {status}"),
                Some(response.raw()),
            ),
            retry_after: retry_after(response),
        });
    }
    if status != 200 {
        return Err(Failed::Final(oauth_error(response)));
    }
    let answer = response.json_object().map_err(Failed::Final)?;
    parse_token(&answer)
        .map_err(|problem| Failed::Final(Error::http(problem.to_owned(), Some(redacted(response)))))
}

/// The answer's members, checked (RFC 6749 §5.1). A problem names a member, never its value.
fn parse_token(answer: &Map<String, Value>) -> std::result::Result<IssuedToken, &'static str> {
    let access_token = match answer.get("access_token") {
        Some(Value::String(token)) if !token.is_empty() => token.clone(),
        _ => return Err("The token endpoint's answer has no access_token string"),
    };
    let token_type = match answer.get("token_type") {
        Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
        _ => return Err("The token endpoint's answer has no token_type string"),
    };
    let expires_in = match answer.get("expires_in") {
        None | Some(Value::Null) => None,
        // Some issuers send the number as a string.
        Some(Value::String(text)) => Some(
            text.trim()
                .parse::<f64>()
                .map_err(|_| "The token endpoint's expires_in is not a number")?,
        ),
        Some(Value::Number(n)) => n.as_f64(),
        Some(_) => return Err("The token endpoint's expires_in is not a number"),
    };
    if expires_in.is_some_and(|s| !s.is_finite() || s < 0.0) {
        return Err("The token endpoint's expires_in is not a number of seconds");
    }
    let scope = match answer.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(scope)) => Some(scope.clone()),
        Some(_) => return Err("The token endpoint's scope is not a string"),
    };
    Ok(IssuedToken {
        access_token,
        token_type,
        expires_in,
        scope,
    })
}

/// The raw answer of a successful exchange holds the token: it never goes into an error.
fn redacted(response: &Response) -> crate::core::error::RawResponse {
    let mut raw = response.raw();
    raw.body = "<redacted: the answer of a successful token request>".into();
    raw
}

/// A 4xx answer: the issuer's OAuth error (`invalid_client`, `invalid_scope`,
/// `invalid_target`...), as `MonoCloudOPError`.
fn oauth_error(response: &Response) -> Error {
    let body = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let error = text("error").unwrap_or_else(|| match response.status {
        401 => "invalid_client".to_owned(),
        _ => "token_request_failed".to_owned(),
    });
    let description = text("error_description").unwrap_or_else(|| {
        format!(
            "The token endpoint refused the request with status {}",
            response.status
        )
    });
    Error::Op {
        error,
        description,
        raw: Some(Box::new(response.raw())),
    }
}

/// `Retry-After` in seconds (RFC 9110 §10.2.3). An HTTP date is read as "later", which the
/// backoff already gives.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))?
        .1
        .trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            status_text: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn config(method: &str, extra: &[(&str, &str)]) -> TokenClientConfig {
        use crate::core::config::{Env, Input};
        let mut members = vec![
            (
                "tenantDomain".to_owned(),
                Input::Str("https://t.example".into()),
            ),
            ("clientId".to_owned(), Input::Str("c".into())),
            ("clientSecret".to_owned(), Input::Str("s".into())),
            ("clientAuthMethod".to_owned(), Input::Str(method.into())),
        ];
        members.extend(
            extra
                .iter()
                .map(|(n, v)| (n.to_string(), Input::Str(v.to_string()))),
        );
        crate::outbound::config::resolve(&Input::Object(members), &Env::new()).unwrap()
    }

    #[test]
    fn certificate_methods_use_the_mtls_alias_of_the_token_endpoint() {
        let metadata = Metadata {
            document: serde_json::json!({
                "token_endpoint": "https://t.example/token",
                "mtls_endpoint_aliases": { "token_endpoint": "https://mtls.t.example/token" },
                "mtls_additional_endpoint_aliases": {
                    "store-a": { "token_endpoint": "https://a.t.example/token" }
                }
            })
            .as_object()
            .unwrap()
            .clone(),
        };
        let pem = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----";
        let tls = [("tlsClientCertificate", pem), ("tlsClientKey", pem)];
        let endpoint =
            |config: &TokenClientConfig| token_endpoint(&metadata, config).unwrap().to_owned();
        assert_eq!(
            endpoint(&config("client_secret_basic", &[])),
            "https://t.example/token"
        );
        assert_eq!(
            endpoint(&config("spiffe_jwt", &[])),
            "https://t.example/token"
        );
        for method in [
            "tls_client_auth",
            "self_signed_tls_client_auth",
            "spiffe_x509",
        ] {
            assert_eq!(
                endpoint(&config(method, &tls)),
                "https://mtls.t.example/token"
            );
        }
        let with_store = [tls[0], tls[1], ("trustStoreId", "store-a")];
        assert_eq!(
            endpoint(&config("tls_client_auth", &with_store)),
            "https://a.t.example/token"
        );
        let missing = [tls[0], tls[1], ("trustStoreId", "store-b")];
        assert!(token_endpoint(&metadata, &config("tls_client_auth", &missing)).is_err());
    }

    #[test]
    fn requests_with_the_same_parts_in_another_order_are_one() {
        let a = TokenRequest::new(
            vec!["b".into(), "a".into(), "a".into()],
            vec!["https://r".into()],
            Some(String::new()),
        );
        let b = TokenRequest::new(vec!["a".into(), "b".into()], vec!["https://r".into()], None);
        assert_eq!(a, b);
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), TokenRequest::default().key());
    }

    #[test]
    fn a_token_answer_is_read() {
        let token = read_token_answer(&response(
            200,
            &[],
            r#"{"access_token":"abc","token_type":"Bearer","expires_in":"120","scope":"a b"}"#,
        ))
        .unwrap();
        assert_eq!(token.access_token, "abc");
        assert_eq!(token.expires_in, Some(120.0));
        assert_eq!(token.scope.as_deref(), Some("a b"));
        assert!(!format!("{token:?}").contains("abc"));
    }

    #[test]
    fn a_bad_answer_never_shows_the_token() {
        let Err(Failed::Final(error)) = read_token_answer(&response(
            200,
            &[],
            r#"{"access_token":"secret-token-value","expires_in":60}"#,
        )) else {
            panic!("a token without token_type is refused")
        };
        assert!(!format!("{error:?}").contains("secret-token-value"));
    }

    #[test]
    fn oauth_errors_are_final_and_overload_is_transient() {
        let Err(Failed::Final(Error::Op { error, .. })) = read_token_answer(&response(
            401,
            &[],
            r#"{"error":"invalid_client","error_description":"no"}"#,
        )) else {
            panic!("invalid_client is an OAuth error")
        };
        assert_eq!(error, "invalid_client");
        let Err(Failed::Transient { retry_after, .. }) =
            read_token_answer(&response(429, &[("retry-after", "3")], "slow down"))
        else {
            panic!("429 is transient")
        };
        assert_eq!(retry_after, Some(Duration::from_secs(3)));
        assert!(matches!(
            read_token_answer(&response(503, &[], "")),
            Err(Failed::Transient {
                retry_after: None,
                ..
            })
        ));
        assert!(matches!(
            classify(Error::http("Request to x failed: connection refused", None)),
            Failed::Transient { .. }
        ));
        assert!(matches!(
            classify(Error::validation("no endpoint")),
            Failed::Final(_)
        ));
    }

    #[test]
    fn only_a_400_use_dpop_nonce_asks_for_a_nonce() {
        let body = r#"{"error":"use_dpop_nonce","error_description":"nonce is required"}"#;
        assert!(asks_for_nonce(&response(400, &[("DPoP-Nonce", "n")], body)));
        assert!(!asks_for_nonce(&response(401, &[], body)));
        assert!(!asks_for_nonce(&response(
            400,
            &[],
            r#"{"error":"invalid_dpop_proof"}"#
        )));
        assert!(!asks_for_nonce(&response(400, &[], "use_dpop_nonce")));
        assert_eq!(
            nonce_header(&response(400, &[("dpop-nonce", " n-1 ")], "").headers),
            Some("n-1")
        );
    }
}
