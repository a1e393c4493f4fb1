//! What each fuzz target does with its input, as plain functions. The targets in
//! `fuzz_targets/` are one-line wrappers; the tests at the bottom replay every saved input in
//! `regressions/<target>/` (and the seeds) through the same functions with a plain
//! `cargo test`, so a crash found once stays fixed.
//!
//! Beyond "never panics", each function asserts a few invariants of the core's contract:
//! token failures are `MonoCloudTokenError`-shaped (`Error::Token`, code `invalid_token`),
//! configuration failures are `Error::Validation`, and no error message repeats a token.

use std::collections::HashMap;
use std::sync::OnceLock;

use monocloud_backend_node_rs::core::callbacks::Callbacks;
use monocloud_backend_node_rs::core::cert_binding::{self, BindingMode};
use monocloud_backend_node_rs::core::claims::{self, Expectations};
use monocloud_backend_node_rs::core::client::Client;
use monocloud_backend_node_rs::core::client_auth;
use monocloud_backend_node_rs::core::config::{self, Env, Input, Profile};
use monocloud_backend_node_rs::core::error::{Error, TokenErrorCode};
use monocloud_backend_node_rs::core::http::Response;
use monocloud_backend_node_rs::core::introspection;
use monocloud_backend_node_rs::core::jose::Alg;
use monocloud_backend_node_rs::core::keys::KeySet;
use monocloud_backend_node_rs::core::jwt;
use serde_json::{Map, Value};

/// Public keys for every algorithm (written by `seeds/generate.mjs`); the seed tokens in
/// `seeds/tokens.json` are signed with their private halves, which were thrown away.
const FIXED_JWKS: &str = include_str!("../seeds/jwks.json");
const FIXED_TOKENS: &str = include_str!("../seeds/tokens.json");

fn document(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => panic!("the fixed seed documents are JSON objects"),
    }
}

pub fn fixed_keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| KeySet::from_document(document(FIXED_JWKS)).expect("a key set"))
}

/// One validly signed token per algorithm, all verifying against [`fixed_keys`].
pub fn fixed_tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| serde_json::from_str(FIXED_TOKENS).expect("a JSON array of tokens"))
}

fn is_invalid_token(error: &Error) -> bool {
    matches!(
        error,
        Error::Token {
            code: TokenErrorCode::InvalidToken,
            ..
        }
    )
}

/// No error message may repeat a token, or any long piece of one (a signature, a payload).
/// Only runs of token characters count: the fuzzer likes to copy our own (fixed) messages into
/// its inputs, and a message quoting itself leaks nothing.
fn assert_no_token_in(message: &str, token: &str) {
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=');
    for piece in token.split(|c: char| !token_char(c)) {
        if piece.len() >= 24 {
            assert!(
                !message.contains(piece),
                "an error message repeats part of the token: {message:?}"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------
// jwt_parse

/// Arbitrary bytes as a token: parse, read the claims unverified, verify against the fixed
/// keys, and `decodeJwt`.
pub fn jwt_parse(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = jwt::looks_like_jwt(token);
    match jwt::decode_unverified(token) {
        Ok(claims) => assert_claims_consistent(&claims),
        Err(error) => {
            assert!(matches!(error, Error::Token { .. }), "{error:?}");
            assert_no_token_in(&error.to_string(), token);
        }
    }
    let jws = match jwt::parse(token) {
        Ok(jws) => jws,
        Err(error) => {
            assert!(is_invalid_token(&error), "parse failed with {error:?}");
            assert_no_token_in(&error.to_string(), token);
            return;
        }
    };
    // The signature covers exactly `header.payload`.
    assert!(token.starts_with(jws.signing_input));
    assert_eq!(
        token.len(),
        jws.signing_input.len() + 1 + token.rsplit('.').next().unwrap().len()
    );
    assert!(jws.signing_input.ends_with(jws.payload));
    let unverified = jws.claims();
    if let Ok(claims) = &unverified {
        assert_claims_consistent(claims);
    }
    match jws.verify(fixed_keys()) {
        // What JavaScript receives is what was checked.
        Ok(claims) => assert_eq!(Some(&claims), unverified.as_ref().ok()),
        Err(error) => {
            assert!(is_invalid_token(&error), "verify failed with {error:?}");
            assert_no_token_in(&error.to_string(), token);
        }
    }
}

/// The JSON text handed to JavaScript parses to the map the checks looked at.
fn assert_claims_consistent(claims: &jwt::Claims) {
    let reparsed: Value = serde_json::from_str(&claims.json).expect("claims text is JSON");
    assert_eq!(reparsed, Value::Object(claims.map.clone()));
}

// ------------------------------------------------------------------------------------------
// jwks_parse

/// Arbitrary bytes as a JWKS document: select a key for every algorithm (with and without
/// each `kid` the document names), try a garbage signature with it, and verify the fixed
/// valid tokens against the set.
pub fn jwks_parse(data: &[u8]) {
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let kids: Vec<Value> = doc
        .get("keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(|k| k.get("kid").cloned()).take(8).collect())
        .unwrap_or_default();
    let Ok(set) = KeySet::from_document(doc) else {
        return;
    };
    let garbage = &data[..data.len().min(600)];
    for alg in Alg::ALL {
        for kid in std::iter::once(None).chain(kids.iter().map(Some)) {
            if let Ok(key) = set.select(alg, kid) {
                if let Err(error) = key.verify(alg, b"eyJhbGciOiJub25lIn0.e30", garbage) {
                    assert!(is_invalid_token(&error), "{error:?}");
                }
            }
        }
    }
    for token in fixed_tokens() {
        let jws = jwt::parse(token).expect("the fixed tokens parse");
        if let Err(error) = jws.verify(&set) {
            assert!(is_invalid_token(&error), "{error:?}");
        }
    }
}

// ------------------------------------------------------------------------------------------
// introspection_answer

/// The first two bytes choose the status (mostly 200, 400 and 401), the rest is the body.
pub fn introspection_answer(data: &[u8]) {
    let (status, body) = match data {
        [a, b, rest @ ..] => {
            let status = match a % 8 {
                0..=3 => 200,
                4 => 400,
                5 => 401,
                _ => u16::from_le_bytes([*a, *b]),
            };
            (status, rest)
        }
        _ => (200, data),
    };
    let response = Response {
        status,
        status_text: String::from_utf8_lossy(&data[..data.len().min(2)]).into_owned(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_vec(),
    };
    let raw = response.raw();
    assert_eq!(raw.status, status);
    match introspection::read_answer(&response) {
        Ok(claims) => {
            assert_eq!(status, 200);
            assert!(!claims.contains_key("active"));
        }
        Err(Error::Token { code, .. }) => {
            assert_eq!(status, 200);
            assert_eq!(code, TokenErrorCode::InactiveToken);
        }
        Err(Error::Op { raw, .. }) => {
            assert!(matches!(status, 400 | 401));
            assert_eq!(raw.map(|r| r.status), Some(status));
        }
        Err(Error::Http { .. }) => {}
        Err(other) => panic!("read_answer failed with {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------
// config_resolve

/// Reads choices from the fuzzer's bytes; runs out gracefully (zeros).
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.byte() as usize % items.len()]
    }

    fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            *b = self.byte();
        }
        u64::from_le_bytes(bytes)
    }

    /// A short string taken from the input.
    fn text(&mut self) -> String {
        let len = (self.byte() % 24) as usize;
        let start = self.pos.min(self.data.len());
        let end = (start + len).min(self.data.len());
        self.pos += len;
        String::from_utf8_lossy(&self.data[start..end]).into_owned()
    }
}

/// Names the resolver reads (from the core, so the fuzzer follows new options), plus nested
/// member names (cache methods, group options, a JWK's `kty`) worth producing.
const NESTED_NAMES: &[&str] = &["get", "set", "delete", "groupsClaim", "matchAll", "kty"];

fn option_name(index: usize) -> &'static str {
    let all = config::OPTION_NAMES.len() + NESTED_NAMES.len();
    let index = index % all;
    config::OPTION_NAMES
        .get(index)
        .copied()
        .unwrap_or_else(|| NESTED_NAMES[index - config::OPTION_NAMES.len()])
}

/// The variables the resolver reads (from the core's option table, so the fuzzer follows new
/// options), in table order.
fn env_suffixes() -> &'static [&'static str] {
    static SUFFIXES: OnceLock<Vec<&'static str>> = OnceLock::new();
    SUFFIXES.get_or_init(|| config::options::OPTIONS.iter().filter_map(|row| row.env).collect())
}

const STRINGS: &[&str] = &[
    "https://tenant.example.com",
    "https://tenant.example.com/",
    "https://api.example.com",
    "http://localhost:3000",
    "http://127.0.0.1:8080/",
    "http://127.255.0.1",
    "http://[::1]:80",
    "http://[::1",
    "HTTP://LOCALHOST",
    "http://user@localhost",
    "http://evil.example.com",
    "tenant.example.com",
    "https://",
    "a:b",
    "urn:x:y",
    "https://h/%zz",
    "https://[::1]:x",
    "https://a#b#c",
    "",
    " ",
    "\u{feff}",
    "true",
    "FALSE",
    "1e3",
    " 12 ",
    "-5",
    "+7.5e-1",
    "0x10",
    "Infinity",
    "NaN",
    "1000000000000000000000",
    "1e400",
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "tls_client_auth",
    "self_signed_tls_client_auth",
    "spiffe_jwt",
    "spiffe_x509",
    "when_present",
    "required",
    "dangerously_ignore",
    "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}",
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"AA\",\"x\":\"AA\",\"y\":\"AA\"}",
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
    "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\",\"d\":\"AQ\",\"p\":\"AQ\",\"q\":\"AQ\"}",
    "{\"kty\":1}",
    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    "/nonexistent/client.pem",
];

fn interesting_number(bytes: &mut Bytes) -> f64 {
    const NUMBERS: &[f64] = &[
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        59.999,
        60.0,
        300.0,
        999.0,
        1000.0,
        1e9,
        1e15,
        9.2e18,
        1e19,
        1.9e19,
        1e22,
        1e300,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        9007199254740993.0,
    ];
    if bytes.byte() % 4 == 0 {
        f64::from_bits(bytes.u64())
    } else {
        *bytes.pick(NUMBERS)
    }
}

fn string_value(bytes: &mut Bytes) -> String {
    if bytes.byte() % 3 == 0 {
        bytes.text()
    } else {
        (*bytes.pick(STRINGS)).to_owned()
    }
}

fn input_value(bytes: &mut Bytes, depth: usize) -> Input {
    let kind = bytes.byte() % if depth >= 4 { 6 } else { 9 };
    match kind {
        0 => Input::Missing,
        1 => Input::Null,
        2 => Input::Bool(bytes.byte() % 2 == 0),
        3 => Input::Number(interesting_number(bytes)),
        4 | 5 => Input::Str(string_value(bytes)),
        6 => Input::Function,
        7 => {
            let len = bytes.byte() % 4;
            Input::Array((0..len).map(|_| input_value(bytes, depth + 1)).collect())
        }
        _ => input_object(bytes, depth + 1),
    }
}

const URLS: &[&str] = &[
    "https://tenant.example.com",
    "https://tenant.example.com/",
    "https://api.example.com",
    "http://localhost:3000",
    "http://127.0.0.1:8080/",
    "http://[::1]:80",
    "HTTP://LOCALHOST",
    "http://evil.example.com",
    "tenant.example.com",
    "https://",
    "urn:x:y",
];

/// Mostly a value of the kind the option takes, so that many inputs resolve and reach the
/// client; otherwise anything.
fn member_value(bytes: &mut Bytes, key: &str, depth: usize) -> Input {
    if bytes.byte() % 4 != 0 {
        match key {
            "tenantDomain" | "audience" => {
                return Input::Str(if bytes.byte() % 4 == 0 {
                    string_value(bytes)
                } else {
                    (*bytes.pick(URLS)).to_owned()
                });
            }
            "clientId" | "clientSecret" | "trustStoreId" | "groupsClaim" | "clientAuthMethod"
            | "validateCertificateBinding" | "tlsClientCertificate" | "tlsClientKey" => {
                return Input::Str(string_value(bytes));
            }
            "clockSkew" | "clockTolerance" | "jwksCacheDuration" | "metadataCacheDuration"
            | "responseTimeout" | "introspectionCacheDuration" | "introspectionCacheMaxEntries"
            | "tokenCacheMaxEntries" | "staleIfErrorDuration" => {
                return Input::Number(interesting_number(bytes));
            }
            "introspectJwtTokens" | "matchAll" => return Input::Bool(bytes.byte() % 2 == 0),
            "fetcher" | "metadataResolver" | "jwksResolver" | "onEvent" | "get" | "set"
            | "delete" => return Input::Function,
            "groupOptions" | "cache" if depth < 4 => return input_object(bytes, depth + 1),
            _ => {}
        }
    }
    input_value(bytes, depth)
}

fn input_object(bytes: &mut Bytes, depth: usize) -> Input {
    let len = bytes.byte() % 12;
    let mut members = Vec::new();
    if depth == 0 && bytes.byte() % 4 != 0 {
        for key in ["tenantDomain", "audience"] {
            members.push((key.to_owned(), Input::Str((*bytes.pick(URLS)).to_owned())));
        }
    }
    for _ in 0..len {
        if bytes.done() {
            break;
        }
        let key = if bytes.byte() % 8 == 0 {
            bytes.text()
        } else {
            option_name(usize::from(bytes.byte())).to_owned()
        };
        let value = member_value(bytes, &key, depth);
        members.push((key, value));
    }
    Input::Object(members)
}

/// A TLS option that names a file could name `/dev/zero` or a FIFO: keep the fuzzer off the
/// file system (PEM text passes through).
fn defuse_paths(options: &mut Input, env: &mut Env) {
    if let Input::Object(members) = options {
        for (key, value) in members.iter_mut() {
            if key == "tlsClientCertificate" || key == "tlsClientKey" {
                if let Input::Str(s) = value {
                    if !s.contains("-----BEGIN") {
                        *s = "/nonexistent/client.pem".into();
                    }
                }
            }
        }
    }
    for suffix in ["TLS_CLIENT_CERTIFICATE", "TLS_CLIENT_KEY"] {
        if let Some(value) = env.get_mut(&format!("MONOCLOUD_BACKEND_{suffix}")) {
            if !value.contains("-----BEGIN") {
                *value = "/nonexistent/client.pem".into();
            }
        }
    }
}

/// The options object and environment a fuzz input describes.
pub fn config_input(data: &[u8]) -> (Input, Env) {
    let mut bytes = Bytes { data, pos: 0 };
    let mut env = HashMap::new();
    for _ in 0..bytes.byte() % 6 {
        let name = format!("MONOCLOUD_BACKEND_{}", bytes.pick(env_suffixes()));
        let value = if bytes.byte() % 2 == 0 {
            string_value(&mut bytes)
        } else {
            format!("{}", interesting_number(&mut bytes))
        };
        env.insert(name, value);
    }
    let mut options = if bytes.byte() % 16 == 0 {
        input_value(&mut bytes, 0)
    } else {
        input_object(&mut bytes, 0)
    };
    defuse_paths(&mut options, &mut env);
    (options, env)
}

/// Resolution must succeed or fail with a `MonoCloudValidationError`, for both profiles; a
/// resolved configuration must then build a client (which is what the Node constructor does
/// next, synchronously: a panic there aborts the process) and client credentials.
pub fn config_resolve(data: &[u8]) {
    let (options, env) = config_input(data);
    let build_client = data.last().is_some_and(|b| b % 16 == 0);
    for profile in [Profile::NodeClient, Profile::OidcClient] {
        let config = match config::resolve(&options, &env, profile) {
            Ok(config) => config,
            Err(Error::Validation(_)) => continue,
            Err(other) => panic!("resolve failed with {other:?}"),
        };
        for value in [
            config.clock_skew,
            config.clock_tolerance,
            config.jwks_cache_duration,
            config.metadata_cache_duration,
            config.introspection_cache_duration,
            config.stale_if_error_duration,
        ] {
            assert!(value.is_finite(), "{config:?}");
        }
        assert!(config.jwks_cache_duration >= 0.0 && config.metadata_cache_duration >= 0.0);
        // ("https:/" is what upstream's rule makes of a tenant of "https://".)
        assert!(
            config.issuer.starts_with("https:/")
                || config.issuer.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")),
            "{}",
            config.issuer
        );
        if profile == Profile::NodeClient {
            assert!(config.response_timeout_ms.is_some_and(|ms| ms >= 1000.0));
        }
        if let Some(id) = config.client_id.as_deref() {
            let credentials = client_auth::Authentication {
                id,
                secret: config.client_secret.as_ref(),
                method: config.client_auth_method,
                issuer: &config.issuer,
            }
            .credentials(1_700_000_000.0);
            if let Err(error) = credentials {
                assert!(matches!(error, Error::Validation(_)), "{error:?}");
            }
        }
        // Building a client (two HTTP clients with their root stores) costs milliseconds: one
        // input in sixteen does it, so the fuzzer spends its time on resolution.
        if build_client && let Err(error) = Client::new(config, Callbacks::default()) {
            assert!(matches!(error, Error::Validation(_)), "{error:?}");
        }
    }
}

// ------------------------------------------------------------------------------------------
// claim_checks

/// The checks a cached token gets synchronously on the Node thread (a panic there aborts the
/// process): standard claims, scopes, groups and certificate binding. The input is the claims
/// JSON, a 0xFF byte, the requested scopes/groups (whitespace-separated), another 0xFF, and
/// the client certificate as presented.
pub fn claim_checks(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == 0xFF);
    let claims_text = parts.next().unwrap_or_default();
    let wanted = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let certificate = parts.next().map(|c| String::from_utf8_lossy(c).into_owned());
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(claims_text) else {
        return;
    };
    let required: Vec<String> = wanted.split_whitespace().map(str::to_owned).collect();
    for (require_exp, skew, tolerance) in [(true, 0.0, 60.0), (false, 1e300, f64::NAN)] {
        let result = claims::check_standard(
            &claims,
            &Expectations {
                issuer: "https://tenant.example.com",
                audience: "https://api.example.com",
                now: 1_700_000_000.0,
                clock_skew: skew,
                clock_tolerance: tolerance,
                require_exp,
            },
        );
        if let Err(error) = result {
            assert!(is_invalid_token(&error), "{error:?}");
        }
    }
    if let Err(error) = claims::check_scopes(&claims, &required) {
        assert!(matches!(error, Error::Token { .. }), "{error:?}");
    }
    for match_all in [false, true] {
        let _ = claims::check_groups(&claims, &required, "groups", match_all);
        let _ = claims::is_user_in_group(&claims, &required, "roles", match_all);
    }
    for mode in [
        None,
        Some(BindingMode::WhenPresent),
        Some(BindingMode::Required),
        Some(BindingMode::DangerouslyIgnore),
    ] {
        if let Err(error) = cert_binding::check(&claims, mode, certificate.as_deref()) {
            assert!(is_invalid_token(&error), "{error:?}");
        }
    }
}

// ------------------------------------------------------------------------------------------

// ------------------------------------------------------------------------------------------
// dpop_proof

/// Arbitrary bytes as a DPoP proof and the request URL around it (split at the first 0xFF):
/// never a panic, a refusal is one of our fixed messages, and a normalised `htu` is stable
/// (normalising it again changes nothing).
pub fn dpop_proof(data: &[u8]) {
    use monocloud_backend_node_rs::core::dpop::{htu, proof};
    let (proof_bytes, url_bytes) = match data.iter().position(|b| *b == 0xFF) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"https://api.example.com/orders"[..]),
    };
    let proof_text = String::from_utf8_lossy(proof_bytes);
    let url = String::from_utf8_lossy(url_bytes);
    if let Some(normalised) = htu::normalise(&url) {
        assert_eq!(htu::normalise(&normalised).as_deref(), Some(normalised.as_str()));
    }
    let target = htu::normalise(&url).unwrap_or_default();
    let expected = proof::Expected {
        algorithms: &Alg::ALL,
        method: "GET",
        htu: &target,
        access_token: "token",
        now_seconds: 1_700_000_000.0,
        iat_offset: 300.0,
        iat_leeway: 30.0,
    };
    if let Err(message) = proof::verify(&proof_text, &expected) {
        assert!(message.starts_with("DPoP proof"), "{message}");
        assert_no_token_in(message, &proof_text);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every file under `dir` through `run`: seeds and saved crash inputs.
    fn replay(dir: &str, run: fn(&[u8])) -> usize {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let Ok(entries) = std::fs::read_dir(&path) else {
            return 0;
        };
        let mut count = 0;
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let data = std::fs::read(entry.path()).unwrap();
                eprintln!("replaying {}", entry.path().display());
                run(&data);
                count += 1;
            }
        }
        count
    }

    #[test]
    fn the_fixed_tokens_verify_against_the_fixed_keys() {
        let tokens = super::fixed_tokens();
        assert_eq!(tokens.len(), super::Alg::ALL.len());
        for token in tokens {
            let jws = super::jwt::parse(token).unwrap();
            jws.verify(super::fixed_keys()).unwrap();
        }
    }

    macro_rules! replays {
        ($name:ident) => {
            #[test]
            fn $name() {
                let seeds = replay(concat!("seeds/", stringify!($name)), super::$name);
                let saved = replay(concat!("regressions/", stringify!($name)), super::$name);
                eprintln!("{} seeds, {} saved inputs", seeds, saved);
            }
        };
    }

    /// Durations the clock cannot represent used to panic in `Client::new` (and so abort Node);
    /// fixed by core::clock. Every one of them must build a client.
    #[test]
    fn huge_durations_build_a_client() {
        use super::config::{Input, Profile};
        for (name, value) in [
            ("jwksCacheDuration", 1e300),
            ("metadataCacheDuration", 1e300),
            ("staleIfErrorDuration", 1e20),
            ("responseTimeout", 1e300),
        ] {
            let options = Input::Object(vec![
                ("tenantDomain".into(), Input::Str("https://tenant.example.com".into())),
                ("audience".into(), Input::Str("https://api.example.com".into())),
                (name.into(), Input::Number(value)),
            ]);
            let config = super::config::resolve(&options, &Default::default(), Profile::NodeClient)
                .expect("any duration >= 0 is accepted");
            super::Client::new(config, super::Callbacks::default()).expect("a client");
        }
    }

    replays!(jwt_parse);
    replays!(jwks_parse);
    replays!(introspection_answer);
    replays!(config_resolve);
    replays!(claim_checks);
    replays!(dpop_proof);
}

#[cfg(test)]
mod corpus_stats {
    #[test]
    #[ignore = "diagnostics: cargo test --release corpus_stats -- --ignored --nocapture"]
    fn corpus_stats() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/config_resolve");
        let (mut total, mut resolved, mut huge) = (0, 0, 0);
        let mut names = std::collections::BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("no corpus yet: run scripts/fuzz.sh first");
            return;
        };
        for entry in entries.flatten() {
            let data = std::fs::read(entry.path()).unwrap();
            let (options, env) = super::config_input(&data);
            total += 1;
            if let super::Input::Object(members) = &options {
                for (k, _) in members {
                    *names.entry(k.clone()).or_insert(0) += 1;
                }
            }
            for profile in [super::Profile::NodeClient, super::Profile::OidcClient] {
                if let Ok(config) = super::config::resolve(&options, &env, profile) {
                    resolved += 1;
                    if config.jwks_cache_duration > 1e15 || config.metadata_cache_duration > 1e15 {
                        huge += 1;
                    }
                }
            }
        }
        eprintln!("{total} inputs, {resolved} resolved, {huge} huge; names: {names:?}");
    }
}
