//! Talking to the authorization server: one reqwest client per `Client`, no redirects, a
//! timeout over the whole exchange and a cap on what an answer may weigh.

use std::time::Duration;

use serde_json::{Map, Value};

use super::error::{Error, RawResponse, Result};

/// Discovery documents, key sets and introspection answers are small; anything bigger is an
/// issuer misbehaving or an attack.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct Http {
    client: reqwest::Client,
    timeout_ms: Option<f64>,
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn raw(&self) -> RawResponse {
        RawResponse {
            status: self.status,
            status_text: reason_phrase(self.status).to_owned(),
            headers: self.headers.clone(),
            body: String::from_utf8_lossy(&self.body).into_owned(),
        }
    }

    /// The body as a JSON object; other JSON or none is a `MonoCloudHttpError`.
    pub fn json_object(&self) -> Result<Map<String, Value>> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(Error::http(
                "Failed to parse response body as JSON : the body is not a JSON object",
                Some(self.raw()),
            )),
            Err(e) => Err(Error::http(
                format!("Failed to parse response body as JSON : {e}"),
                Some(self.raw()),
            )),
        }
    }
}

impl Http {
    pub fn new(timeout_ms: Option<f64>) -> Result<Http> {
        let mut builder = reqwest::Client::builder()
            // A redirect would carry client credentials elsewhere, or let another origin
            // supply keys: answers with 3xx are errors instead.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "monocloud-backend-node-rs/",
                env!("CARGO_PKG_VERSION")
            ))
            .tls_certs_merge(extra_roots());
        if let Some(ms) = timeout_ms {
            builder = builder.timeout(Duration::from_secs_f64(ms / 1000.0));
        }
        let client = builder
            .build()
            .map_err(|e| Error::validation(format!("Could not set up the HTTP client: {e}")))?;
        Ok(Http { client, timeout_ms })
    }

    pub async fn get(&self, url: &str) -> Result<Response> {
        self.send(url, self.client.get(url)).await
    }

    pub async fn post_form(
        &self,
        url: &str,
        form: String,
        authorization: Option<String>,
    ) -> Result<Response> {
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(form);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.send(url, request).await
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Result<Response> {
        let fail = |e: reqwest::Error| self.transport_error(url, &e);
        let mut response = request.send().await.map_err(fail)?;
        let status = response.status().as_u16();
        let headers = header_list(response.headers());
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(too_large(url));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large(url));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn transport_error(&self, url: &str, error: &reqwest::Error) -> Error {
        match self.timeout_ms {
            Some(ms) if error.is_timeout() => Error::http(
                format!("Request to {url} timed out after {}ms", js_number(ms)),
                None,
            ),
            _ => Error::http(format!("Request to {url} failed: {}", chain(error)), None),
        }
    }
}

fn too_large(url: &str) -> Error {
    Error::http(
        format!("Response from {url} is larger than the 1 MiB limit"),
        None,
    )
}

/// The error and its causes, most specific last ("connection refused", "timed out"...).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Node's convention: extra trusted roots in a PEM file named by `NODE_EXTRA_CA_CERTS`,
/// on top of the system's (which honour `SSL_CERT_FILE` and `SSL_CERT_DIR`).
fn extra_roots() -> Vec<reqwest::Certificate> {
    std::env::var_os("NODE_EXTRA_CA_CERTS")
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
        .unwrap_or_default()
}

fn header_list(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        if name == reqwest::header::SET_COOKIE {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match list.iter_mut().find(|(n, _)| n == name.as_str()) {
            Some((_, joined)) => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            None => list.push((name.as_str().to_owned(), value)),
        }
    }
    list
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// How JavaScript prints a number (`10000`, not `10000.0`).
pub fn js_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
