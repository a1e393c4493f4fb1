//! Talking to the authorization server: reqwest (or the user's `fetcher`), no redirects, a
//! timeout over the whole exchange and a cap on what an answer may weigh.

use serde_json::{Map, Value, json};

use super::callbacks::{JsCall, Limit, invoke};
use super::clock::seconds;
use super::error::{Error, RawResponse, Result};

/// Discovery documents, key sets and introspection answers are small; anything bigger is an
/// issuer misbehaving or an attack.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct Http {
    client: reqwest::Client,
    /// Presents the client's TLS certificate; used for the mTLS endpoint aliases only.
    mtls_client: Option<reqwest::Client>,
    fetcher: Option<JsCall>,
    timeout_ms: Option<f64>,
}

#[derive(Clone)]
pub struct Request<'a> {
    pub url: &'a str,
    /// Form-encoded body; `None` for a GET.
    pub form: Option<String>,
    pub authorization: Option<String>,
    /// A DPoP proof (RFC 9449 §4.1) for the `DPoP` header.
    pub dpop: Option<String>,
    /// Send over the connection that presents the client certificate.
    pub mtls: bool,
}

impl<'a> Request<'a> {
    pub fn get(url: &'a str) -> Self {
        Request {
            url,
            form: None,
            authorization: None,
            dpop: None,
            mtls: false,
        }
    }
}

pub struct Response {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn raw(&self) -> RawResponse {
        RawResponse {
            status: self.status,
            status_text: self.status_text.clone(),
            headers: self.headers.clone(),
            body: String::from_utf8_lossy(&self.body).into_owned(),
        }
    }

    /// The body as a JSON object; other JSON or none is a `MonoCloudHttpError`.
    pub fn json_object(&self) -> Result<Map<String, Value>> {
        match self.json()? {
            Value::Object(map) => Ok(map),
            _ => Err(self.not_an_object()),
        }
    }

    /// The error for a body that is JSON but not an object.
    pub fn not_an_object(&self) -> Error {
        Error::http(
            "Failed to parse response body as JSON : the body is not a JSON object",
            Some(self.raw()),
        )
    }

    /// The body as JSON; a body that is not JSON is a `MonoCloudHttpError` that carries its
    /// text, so that the JavaScript face words the message with `JSON.parse`'s own error, as
    /// the original does (serde's wording differs).
    pub fn json(&self) -> Result<Value> {
        // Read as text first, as fetch's `text()` does: a leading byte-order mark is not JSON.
        let body = self
            .body
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.body);
        serde_json::from_slice::<Value>(body).map_err(|e| Error::Http {
            message: format!("Failed to parse response body as JSON : {e}"),
            raw: Some(Box::new(self.raw())),
            json_text: Some(String::from_utf8_lossy(body).into()),
        })
    }
}

/// How one try went wrong: with no answer at all, or otherwise.
enum Attempt {
    Unanswered(Error),
    Failed(Error),
}

impl Attempt {
    fn into_error(self) -> Error {
        match self {
            Attempt::Unanswered(e) | Attempt::Failed(e) => e,
        }
    }
}

/// A TLS client certificate and its private key, PEM.
pub struct Identity {
    pub pem: Vec<u8>,
}

impl Http {
    pub fn new(
        timeout_ms: Option<f64>,
        fetcher: Option<JsCall>,
        identity: Option<Identity>,
    ) -> Result<Http> {
        let client = builder(timeout_ms)
            .build()
            .map_err(|e| Error::validation(format!("Could not set up the HTTP client: {e}")))?;
        let mtls_client = identity
            .map(|identity| {
                let identity = reqwest::Identity::from_pem(&identity.pem).map_err(|e| {
                    Error::validation(format!(
                        "The TLS client certificate or key could not be read: {}",
                        chain(&e)
                    ))
                })?;
                builder(timeout_ms).identity(identity).build().map_err(|e| {
                    Error::validation(format!(
                        "The TLS client certificate and key could not be used together: {}",
                        chain(&e)
                    ))
                })
            })
            .transpose()?;
        Ok(Http {
            client,
            mtls_client,
            fetcher,
            timeout_ms,
        })
    }

    pub async fn send(&self, request: Request<'_>) -> Result<Response> {
        match &self.fetcher {
            Some(fetcher) => self.send_through(fetcher, request).await,
            None => self.send_reqwest(request).await,
        }
    }

    async fn send_reqwest(&self, request: Request<'_>) -> Result<Response> {
        let retry = request.form.is_none().then(|| request.clone());
        match (self.send_reqwest_once(request).await, retry) {
            // A GET is safe to repeat: once, when the connection failed before any answer (a
            // pooled connection the server closed just as we reused it).
            (Err(Attempt::Unanswered(_)), Some(again)) => self
                .send_reqwest_once(again)
                .await
                .map_err(Attempt::into_error),
            (result, _) => result.map_err(Attempt::into_error),
        }
    }

    async fn send_reqwest_once(&self, request: Request<'_>) -> Result<Response, Attempt> {
        let url = request.url;
        let client = match (&self.mtls_client, request.mtls) {
            (Some(mtls), true) => mtls,
            _ => &self.client,
        };
        let mut builder = match request.form {
            Some(form) => client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(form),
            None => client.get(url),
        };
        if let Some(value) = request.authorization {
            builder = builder.header("authorization", value);
        }
        if let Some(proof) = request.dpop {
            builder = builder.header("dpop", proof);
        }
        let mut response = builder.send().await.map_err(|e| {
            let error = self.transport_error(url, &e);
            if e.is_timeout() {
                Attempt::Failed(error)
            } else {
                Attempt::Unanswered(error)
            }
        })?;
        let fail = |e: reqwest::Error| Attempt::Failed(self.transport_error(url, &e));
        let status = response.status();
        let headers = header_list(response.headers());
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BODY_BYTES as u64)
        {
            return Err(Attempt::Failed(too_large(url)));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Attempt::Failed(too_large(url)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status: status.as_u16(),
            status_text: reason_phrase(&response, status),
            headers,
            body,
        })
    }

    /// The user's `fetcher`, called in JavaScript with upstream's `(url, init)` shape; the
    /// binding's adapter reads the answer and applies the timeout. The same timeout bounds the
    /// wait here too, for a fetcher (or a body) that never settles whatever its signal says;
    /// either way the request ends as a timed-out exchange.
    async fn send_through(&self, fetcher: &JsCall, request: Request<'_>) -> Result<Response> {
        let url = request.url;
        let mut headers = Map::new();
        if request.form.is_some() {
            headers.insert(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            );
            headers.insert("accept".into(), "application/json".into());
        }
        if let Some(value) = request.authorization {
            headers.insert("authorization".into(), value.into());
        }
        if let Some(proof) = request.dpop {
            headers.insert("dpop".into(), proof.into());
        }
        let exchange = invoke(
            fetcher,
            json!({
                "url": url,
                "method": if request.form.is_some() { "POST" } else { "GET" },
                "headers": headers,
                "body": request.form,
                "timeout": self.timeout_ms,
            }),
            Limit::new("fetcher", None),
        );
        let reply = match self.timeout_ms {
            Some(ms) => tokio::time::timeout(seconds(ms / 1000.0), exchange)
                .await
                .map_err(|_| timed_out(url, ms))??,
            None => exchange.await?,
        };
        if reply.get("timedOut").and_then(Value::as_bool) == Some(true) {
            let ms = self.timeout_ms.unwrap_or_default();
            return Err(timed_out(url, ms));
        }
        if let Some(message) = reply.get("failed").and_then(Value::as_str) {
            return Err(Error::http(message, None));
        }
        let text = |name: &str| reply.get(name).and_then(Value::as_str).unwrap_or("");
        let body = text("body").as_bytes().to_vec();
        if body.len() > MAX_BODY_BYTES {
            return Err(too_large(url));
        }
        let headers = reply
            .get("headers")
            .and_then(Value::as_array)
            .map(|pairs| {
                pairs
                    .iter()
                    .filter_map(|pair| {
                        let name = pair.get(0)?.as_str()?;
                        let value = pair.get(1)?.as_str()?;
                        Some((name.to_owned(), value.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Response {
            status: reply
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0),
            status_text: text("statusText").to_owned(),
            headers,
            body,
        })
    }

    fn transport_error(&self, url: &str, error: &reqwest::Error) -> Error {
        match self.timeout_ms {
            Some(ms) if error.is_timeout() => timed_out(url, ms),
            _ => Error::http(format!("Request to {url} failed: {}", chain(error)), None),
        }
    }
}

fn builder(timeout_ms: Option<f64>) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        // A redirect would carry client credentials elsewhere, or let another origin supply
        // keys: answers with 3xx are errors instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "monocloud-backend-node-rs/",
            env!("CARGO_PKG_VERSION")
        ))
        .tls_certs_merge(extra_roots());
    match timeout_ms {
        Some(ms) => builder.timeout(seconds(ms / 1000.0)),
        None => builder,
    }
}

/// The phrase the server sent (`404 Gone Fishing`), else the standard one for the code.
fn reason_phrase(response: &reqwest::Response, status: reqwest::StatusCode) -> String {
    match response.extensions().get::<hyper::ext::ReasonPhrase>() {
        Some(phrase) => String::from_utf8_lossy(phrase.as_bytes()).into_owned(),
        None => status.canonical_reason().unwrap_or("").to_owned(),
    }
}

fn timed_out(url: &str, ms: f64) -> Error {
    Error::http(
        format!("Request to {url} timed out after {}ms", js_number(ms)),
        None,
    )
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

/// How JavaScript prints a number (`10000`, not `10000.0`).
pub fn js_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
