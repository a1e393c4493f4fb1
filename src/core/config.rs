//! Options resolved once, at construction: constructor options over `MONOCLOUD_BACKEND_*`
//! environment variables over defaults, coerced and validated the way upstream does it, so
//! the first problem found is reported with upstream's exact message.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::cert_binding::BindingMode;
use super::client_auth::{ClientAuthMethod, ClientSecret};
use super::error::{Error, Result};
use super::text::{js_parse_int, js_trim};

/// A JavaScript value as the option resolver needs to see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// `undefined`, or a key that is not there.
    Missing,
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Function,
    Array(Vec<Input>),
    Object(Vec<(String, Input)>),
}

const MISSING: Input = Input::Missing;

impl Input {
    /// The member `key` of an object; `Missing` for anything else.
    pub fn get(&self, key: &str) -> &Input {
        match self {
            Input::Object(members) => members
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map_or(&MISSING, |(_, v)| v),
            _ => &MISSING,
        }
    }

    fn is_nullish(&self) -> bool {
        matches!(self, Input::Missing | Input::Null)
    }

    /// `a ?? b`
    fn or(&self, fallback: Input) -> Input {
        if self.is_nullish() {
            fallback
        } else {
            self.clone()
        }
    }

    /// The JSON this value would serialise to (functions and `undefined` dropped).
    pub fn to_json(&self) -> Value {
        match self {
            Input::Missing | Input::Null | Input::Function => Value::Null,
            Input::Bool(b) => Value::Bool(*b),
            Input::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Input::Str(s) => Value::String(s.clone()),
            Input::Array(items) => Value::Array(items.iter().map(Input::to_json).collect()),
            Input::Object(members) => Value::Object(
                members
                    .iter()
                    .filter(|(_, v)| !matches!(v, Input::Missing | Input::Function))
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Which public class is being configured: they differ in defaults and in whether the
/// environment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `new MonoCloudBackendNodeClient(options)`: env-aware, fully validated.
    NodeClient,
    /// `new MonoCloudOidcBackendClient(tenantDomain, audience, options)`: no env, no timeout.
    OidcClient,
}

/// A value kept out of `Debug` output (private keys).
#[derive(Clone, PartialEq)]
pub struct Redacted<T>(pub T);

impl<T> std::fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything a client needs, resolved and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The normalised tenant URL: the discovery base and the expected `iss`.
    pub issuer: String,
    pub audience: String,
    pub client_id: Option<String>,
    pub client_secret: Option<ClientSecret>,
    pub client_auth_method: ClientAuthMethod,
    pub trust_store_id: Option<String>,
    pub groups_claim: String,
    pub groups_match_all: bool,
    /// Seconds added to "now" (positive makes tokens look older).
    pub clock_skew: f64,
    /// Seconds of grace on both `exp` and `nbf`.
    pub clock_tolerance: f64,
    pub jwks_cache_duration: f64,
    pub metadata_cache_duration: f64,
    pub introspect_jwt_tokens: bool,
    /// The client-wide mode; `None` on the OIDC client, where it is given per call.
    pub certificate_binding: Option<BindingMode>,
    pub response_timeout_ms: Option<f64>,
    pub introspection_cache_duration: f64,
    pub has_fetcher: bool,
    pub has_metadata_resolver: bool,
    pub has_jwks_resolver: bool,
    pub has_cache: bool,
    /// Bound of the built-in introspection cache (used when no `cache` adapter is given).
    pub introspection_cache_max_entries: u64,
    /// PEM certificate chain and private key presented on the mTLS endpoint aliases.
    pub tls_identity: Option<Redacted<Vec<u8>>>,
    /// Bound of the verified-JWT cache; 0 turns it off.
    pub token_cache_max_entries: u64,
    /// Seconds past expiry that the last good discovery document and key set are still used
    /// when the issuer fails to give new ones.
    pub stale_if_error_duration: f64,
}

impl Config {
    /// Introspection needs a client id that is not blank.
    pub fn introspection_configured(&self) -> bool {
        self.client_id
            .as_deref()
            .is_some_and(|id| !js_trim(id).is_empty())
    }
}

pub type Env = HashMap<String, String>;

/// Every option `resolve` reads; anything else in an options object is ignored (as upstream
/// does), so the binding need not even look at it.
pub const OPTION_NAMES: [&str; 25] = [
    "tenantDomain",
    "audience",
    "clientId",
    "clientSecret",
    "clientAuthMethod",
    "trustStoreId",
    "groupOptions",
    "clockSkew",
    "clockTolerance",
    "jwksCacheDuration",
    "metadataCacheDuration",
    "introspectJwtTokens",
    "validateCertificateBinding",
    "responseTimeout",
    "introspectionCacheDuration",
    "introspectionCacheMaxEntries",
    "tokenCacheMaxEntries",
    "staleIfErrorDuration",
    "tlsClientCertificate",
    "tlsClientKey",
    "fetcher",
    "metadataResolver",
    "jwksResolver",
    "cache",
    "onEvent",
];

const ENV_PREFIX: &str = "MONOCLOUD_BACKEND_";
const DEFAULT_CACHE_DURATION: f64 = 300.0;
pub const DEFAULT_INTROSPECTION_CACHE_MAX_ENTRIES: f64 = 10_000.0;
pub const DEFAULT_TOKEN_CACHE_MAX_ENTRIES: f64 = 10_000.0;
pub const DEFAULT_STALE_IF_ERROR_DURATION: f64 = 300.0;

/// Upstream's `getBoolean`: exactly `true`/`false` after trim + lowercase, else unset.
fn env_bool(env: &Env, suffix: &str) -> Input {
    match env_raw(env, suffix).map(|v| js_trim(v).to_lowercase()) {
        Some(v) if v == "true" => Input::Bool(true),
        Some(v) if v == "false" => Input::Bool(false),
        _ => Input::Missing,
    }
}

/// Upstream's `getNumber`: `parseInt(trimmed, 10)`, unset when empty or `NaN`.
fn env_number(env: &Env, suffix: &str) -> Input {
    env_raw(env, suffix)
        .and_then(|v| js_parse_int(js_trim(v)))
        .map_or(Input::Missing, Input::Number)
}

/// String variables are taken verbatim; an empty one is present (and then fails validation).
fn env_string(env: &Env, suffix: &str) -> Input {
    env_raw(env, suffix).map_or(Input::Missing, |v| Input::Str(v.to_owned()))
}

fn env_raw<'e>(env: &'e Env, suffix: &str) -> Option<&'e str> {
    env.get(&format!("{ENV_PREFIX}{suffix}"))
        .map(String::as_str)
}

/// Resolves and validates. The error is always `Error::Validation` with upstream's message
/// for the first problem, in upstream's field order.
pub fn resolve(options: &Input, env: &Env, profile: Profile) -> Result<Config> {
    let node = profile == Profile::NodeClient;
    let empty = Env::new();
    let env = if node { env } else { &empty };
    let opt = |key: &str| options.get(key);

    let tenant = opt("tenantDomain").or(env_string(env, "TENANT_DOMAIN"));
    let audience = opt("audience").or(env_string(env, "AUDIENCE"));
    let client_id = opt("clientId").or(env_string(env, "CLIENT_ID"));
    let secret = opt("clientSecret").or(env_string(env, "CLIENT_SECRET"));
    let default_method = if node {
        "client_secret_post"
    } else {
        "client_secret_basic"
    };
    let method = opt("clientAuthMethod")
        .or(env_string(env, "CLIENT_AUTH_METHOD"))
        .or(Input::Str(default_method.into()));
    let trust_store_id = opt("trustStoreId").or(env_string(env, "TRUST_STORE_ID"));
    let group_options = opt("groupOptions");
    let groups_claim = group_options
        .get("groupsClaim")
        .or(env_string(env, "GROUPS_CLAIM"));
    let groups_match_all = group_options
        .get("matchAll")
        .or(env_bool(env, "GROUPS_MATCH_ALL"));
    let clock_skew = opt("clockSkew")
        .or(env_number(env, "CLOCK_SKEW"))
        .or(Input::Number(0.0));
    let clock_tolerance = opt("clockTolerance")
        .or(env_number(env, "CLOCK_TOLERANCE"))
        .or(Input::Number(60.0));
    let jwks_cache = opt("jwksCacheDuration").or(env_number(env, "JWKS_CACHE_DURATION"));
    let metadata_cache =
        opt("metadataCacheDuration").or(env_number(env, "METADATA_CACHE_DURATION"));
    let introspect_jwt = opt("introspectJwtTokens")
        .or(env_bool(env, "INTROSPECT_JWT_TOKENS"))
        .or(Input::Bool(false));
    let binding = if node {
        opt("validateCertificateBinding")
            .or(env_string(env, "VALIDATE_CERTIFICATE_BINDING"))
            .or(Input::Str("when_present".into()))
    } else {
        Input::Missing
    };
    let response_timeout = if node {
        opt("responseTimeout")
            .or(env_number(env, "RESPONSE_TIMEOUT"))
            .or(Input::Number(10_000.0))
    } else {
        opt("responseTimeout").clone()
    };
    let cache_max_entries = opt("introspectionCacheMaxEntries")
        .or(env_number(env, "INTROSPECTION_CACHE_MAX_ENTRIES"))
        .or(Input::Number(DEFAULT_INTROSPECTION_CACHE_MAX_ENTRIES));
    let token_cache_max_entries = opt("tokenCacheMaxEntries")
        .or(env_number(env, "TOKEN_CACHE_MAX_ENTRIES"))
        .or(Input::Number(DEFAULT_TOKEN_CACHE_MAX_ENTRIES));
    let stale_if_error = opt("staleIfErrorDuration")
        .or(env_number(env, "STALE_IF_ERROR_DURATION"))
        .or(Input::Number(DEFAULT_STALE_IF_ERROR_DURATION));
    let tls_certificate = opt("tlsClientCertificate").or(env_string(env, "TLS_CLIENT_CERTIFICATE"));
    let tls_key = opt("tlsClientKey").or(env_string(env, "TLS_CLIENT_KEY"));
    let introspection_cache = opt("introspectionCacheDuration")
        .or(env_number(env, "INTROSPECTION_CACHE_DURATION"))
        .or(Input::Number(DEFAULT_CACHE_DURATION));

    let tenant = required_string("tenantDomain", &tenant)?;
    if node && !is_uri(&tenant) {
        return Err(invalid("tenantDomain", "must be a valid uri"));
    }
    let issuer = normalise_tenant(&tenant)?;
    let audience = required_string("audience", &audience)?;
    if node && !is_uri(&audience) {
        return Err(invalid("audience", "must be a valid uri"));
    }
    let client_id = optional_string("clientId", &client_id)?;
    let secret_is_jwk_for_method = matches!(&method, Input::Str(m) if m == "private_key_jwt");
    let client_secret = client_secret(&secret, secret_is_jwk_for_method)?;
    let client_auth_method = match &method {
        Input::Str(m) => ClientAuthMethod::parse(m),
        _ => None,
    }
    .ok_or_else(|| {
        let names: Vec<_> = ClientAuthMethod::ALL.iter().map(|m| m.as_str()).collect();
        one_of("clientAuthMethod", &names)
    })?;
    let trust_store_id = optional_string("trustStoreId", &trust_store_id)?;
    let has_metadata_resolver = optional_function("metadataResolver", opt("metadataResolver"))?;
    let has_jwks_resolver = optional_function("jwksResolver", opt("jwksResolver"))?;
    let groups_claim = optional_string("groupOptions.groupsClaim", &groups_claim)?;
    let groups_match_all = optional_bool("groupOptions.matchAll", &groups_match_all)?;
    let clock_skew = number("clockSkew", &clock_skew, 0.0)?.unwrap_or(0.0);
    let clock_tolerance = number("clockTolerance", &clock_tolerance, 0.0)?.unwrap_or(60.0);
    let jwks_cache_duration = number("jwksCacheDuration", &jwks_cache, 0.0)?;
    let metadata_cache_duration = number("metadataCacheDuration", &metadata_cache, 0.0)?;
    let introspect_jwt_tokens =
        optional_bool("introspectJwtTokens", &introspect_jwt)?.unwrap_or(false);
    let certificate_binding = match &binding {
        Input::Missing => None,
        Input::Str(s) if BindingMode::parse(s).is_some() => BindingMode::parse(s),
        _ => {
            let names: Vec<_> = BindingMode::ALL.iter().map(|m| m.as_str()).collect();
            return Err(one_of("validateCertificateBinding", &names));
        }
    };
    let response_timeout_ms = if node {
        number("responseTimeout", &response_timeout, 1000.0)?
    } else {
        // The OIDC client has no default timeout; zero or less means none, as upstream.
        number_any("responseTimeout", &response_timeout)?.filter(|ms| *ms > 0.0)
    };
    let introspection_cache_duration =
        number("introspectionCacheDuration", &introspection_cache, 0.0)?
            .unwrap_or(DEFAULT_CACHE_DURATION);
    let has_fetcher = optional_function("fetcher", opt("fetcher"))?;
    let has_cache = cache_shape(opt("cache"))?;
    let introspection_cache_max_entries =
        number("introspectionCacheMaxEntries", &cache_max_entries, 1.0)?
            .unwrap_or(DEFAULT_INTROSPECTION_CACHE_MAX_ENTRIES) as u64;
    let token_cache_max_entries = number("tokenCacheMaxEntries", &token_cache_max_entries, 0.0)?
        .unwrap_or(DEFAULT_TOKEN_CACHE_MAX_ENTRIES) as u64;
    let stale_if_error_duration = number("staleIfErrorDuration", &stale_if_error, 0.0)?
        .unwrap_or(DEFAULT_STALE_IF_ERROR_DURATION);
    optional_function("onEvent", opt("onEvent"))?;
    let tls_identity = tls_identity(
        optional_string("tlsClientCertificate", &tls_certificate)?,
        optional_string("tlsClientKey", &tls_key)?,
    )?;

    Ok(Config {
        issuer,
        audience,
        client_id,
        client_secret,
        client_auth_method,
        trust_store_id,
        groups_claim: groups_claim.unwrap_or_else(|| "groups".into()),
        groups_match_all: groups_match_all.unwrap_or(false),
        clock_skew,
        clock_tolerance,
        jwks_cache_duration: jwks_cache_duration.unwrap_or(DEFAULT_CACHE_DURATION),
        metadata_cache_duration: metadata_cache_duration.unwrap_or(DEFAULT_CACHE_DURATION),
        introspect_jwt_tokens,
        certificate_binding,
        response_timeout_ms,
        introspection_cache_duration,
        has_fetcher,
        has_metadata_resolver,
        has_jwks_resolver,
        has_cache,
        introspection_cache_max_entries,
        tls_identity,
        token_cache_max_entries,
        stale_if_error_duration,
    })
}

/// The client certificate and key, each given as PEM text or as the path of a PEM file.
fn tls_identity(
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

fn invalid(field: &str, problem: &str) -> Error {
    Error::validation(format!("\"{field}\" {problem}"))
}

fn one_of(field: &str, names: &[&str]) -> Error {
    invalid(field, &format!("must be one of [{}]", names.join(", ")))
}

fn required_string(field: &str, value: &Input) -> Result<String> {
    optional_string(field, value)?.ok_or_else(|| invalid(field, "is required"))
}

fn optional_string(field: &str, value: &Input) -> Result<Option<String>> {
    match value {
        Input::Missing | Input::Null => Ok(None),
        Input::Str(s) if s.is_empty() => Err(invalid(field, "is not allowed to be empty")),
        Input::Str(s) => Ok(Some(s.clone())),
        _ => Err(invalid(field, "must be a string")),
    }
}

fn optional_bool(field: &str, value: &Input) -> Result<Option<bool>> {
    match value {
        Input::Missing | Input::Null => Ok(None),
        Input::Bool(b) => Ok(Some(*b)),
        // Joi converts these two strings, in any case.
        Input::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Input::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(invalid(field, "must be a boolean")),
    }
}

fn optional_function(field: &str, value: &Input) -> Result<bool> {
    match value {
        Input::Missing | Input::Null => Ok(false),
        Input::Function => Ok(true),
        _ => Err(invalid(field, "must be of type function")),
    }
}

/// A number `>= min`, with Joi's string conversion.
fn number(field: &str, value: &Input, min: f64) -> Result<Option<f64>> {
    let n = number_any(field, value)?;
    match n {
        Some(n) if n < min => Err(invalid(
            field,
            &format!("must be greater than or equal to {min}"),
        )),
        n => Ok(n),
    }
}

fn number_any(field: &str, value: &Input) -> Result<Option<f64>> {
    let n = match value {
        Input::Missing | Input::Null => return Ok(None),
        Input::Number(n) => *n,
        Input::Str(s) => parse_joi_number(s).ok_or_else(|| invalid(field, "must be a number"))?,
        _ => return Err(invalid(field, "must be a number")),
    };
    if n.is_nan() {
        return Err(invalid(field, "must be a number"));
    }
    if n.is_infinite() {
        return Err(invalid(field, "cannot be infinity"));
    }
    Ok(Some(n))
}

/// Joi accepts decimal strings with optional sign, fraction and exponent, padded by spaces.
fn parse_joi_number(s: &str) -> Option<f64> {
    let s = js_trim(s);
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    s.parse().ok()
}

/// A JSON string holding a JWK (an object with a string `kty`) is used as that JWK.
fn client_secret(value: &Input, method_wants_jwk: bool) -> Result<Option<ClientSecret>> {
    let value = match value {
        Input::Str(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(jwk)) if jwk.get("kty").is_some_and(Value::is_string) => {
                return jwk_secret(Some(jwk), method_wants_jwk);
            }
            _ => value,
        },
        other => other,
    };
    if method_wants_jwk {
        return match value {
            Input::Missing | Input::Null => Ok(None),
            Input::Object(_) => match value.to_json() {
                Value::Object(jwk) => jwk_secret(Some(jwk), true),
                _ => unreachable!("an object serialises to an object"),
            },
            _ => Err(Error::validation(
                "clientSecret must be a valid JWK when clientAuthMethod is 'private_key_jwt'",
            )),
        };
    }
    Ok(optional_string("clientSecret", value)?.map(ClientSecret::Text))
}

fn jwk_secret(
    jwk: Option<Map<String, Value>>,
    method_wants_jwk: bool,
) -> Result<Option<ClientSecret>> {
    if method_wants_jwk {
        Ok(jwk.map(ClientSecret::Jwk))
    } else {
        Err(invalid("clientSecret", "must be a string"))
    }
}

/// The cache adapter must offer `get`, `set` and `delete` functions. Other members (fields of
/// a class instance) are fine: the object is used as given.
fn cache_shape(value: &Input) -> Result<bool> {
    match value {
        Input::Missing | Input::Null => Ok(false),
        Input::Object(_) => {
            for name in ["set", "get", "delete"] {
                match value.get(name) {
                    Input::Function => {}
                    Input::Missing => return Err(invalid(&format!("cache.{name}"), "is required")),
                    _ => {
                        return Err(invalid(
                            &format!("cache.{name}"),
                            "must be of type function",
                        ));
                    }
                }
            }
            Ok(true)
        }
        _ => Err(invalid("cache", "must be of type object")),
    }
}

/// Upstream prefixes `https://` unless present and drops one trailing slash. Plain `http` is
/// kept for loopback hosts only; anywhere else it is refused rather than mangled.
fn normalise_tenant(tenant: &str) -> Result<String> {
    let mut url = if tenant.starts_with("https://") {
        tenant.to_owned()
    } else if let Some(rest) = strip_prefix_ignore_case(tenant, "http://") {
        if !is_loopback_authority(rest) {
            return Err(Error::validation(
                "\"tenantDomain\" must use https; plain http is allowed only for loopback hosts \
                 (localhost, 127.0.0.0/8, [::1])",
            ));
        }
        tenant.to_owned()
    } else {
        format!("https://{tenant}")
    };
    if url.ends_with('/') {
        url.pop();
    }
    Ok(url)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn is_loopback_authority(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, port)) if port.is_empty() || port.starts_with(':') => addr,
            _ => return false,
        }
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// An absolute URI in the sense of RFC 3986 (what Joi's `uri()` accepts): a scheme, then only
/// URI characters, well-formed percent escapes, one fragment at most, brackets only around an
/// IPv6 host and a numeric port.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut scheme_chars = scheme.chars();
    let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.matches('#').count() > 1 {
        return false;
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?#[]".contains(&b);
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if allowed(bytes[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            (&after[..end], &after[end..])
        }
        None => ("", rest),
    };
    if path.contains(['[', ']']) {
        return false;
    }
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let port = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, port)) if !host.contains(['[', ']']) => match port {
                "" => "",
                p => match p.strip_prefix(':') {
                    Some(p) => p,
                    None => return false,
                },
            },
            _ => return false,
        }
    } else if host_port.contains(['[', ']']) {
        return false;
    } else {
        host_port.split_once(':').map_or("", |(_, p)| p)
    };
    port.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
