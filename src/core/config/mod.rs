//! Options resolved once, at construction: constructor options over `MONOCLOUD_BACKEND_*`
//! environment variables over defaults (all in the table of `options`), coerced and validated
//! the way upstream does it, so the first problem found is reported with upstream's exact
//! message, in upstream's field order.

mod input;
pub(crate) mod joi;
pub mod options;
pub(crate) mod tenant;
pub(crate) mod tls;

use std::collections::HashMap;

use serde_json::Value;

use self::joi::{
    invalid, is_uri, number_any, one_of, optional_bool, optional_function, optional_string,
    required_string,
};
use self::options::{Sources, row_of};
use self::tenant::normalise_tenant;
use self::tls::tls_identity;
use super::cert_binding::BindingMode;
use super::challenge;
use super::client_auth::{ClientAuthMethod, ClientSecret, SymmetricKey, check_private_jwk};
use super::dpop;
use super::error::{Error, Result};
use super::jose::Alg;
use super::pinned_secret::HmacAlg;
use super::resource::{Members, ProtectedResource, is_resource_identifier};
use super::text::js_trim;

pub use self::input::Input;
pub use self::options::OPTION_NAMES;

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
    /// The normalised tenant URL: the discovery base and the expected `iss`. With `issuers`,
    /// the first of them (what `getMetadata()` and `getJwks()` describe).
    pub issuer: String,
    /// `issuers`, each as given (an absolute URL): empty for the one tenant. A token's `iss`
    /// picks among them.
    pub issuers: Vec<String>,
    pub audience: String,
    /// The `iss` tokens must carry when it is not `issuer` (the tenant URL), e.g. with its
    /// trailing slash kept; discovery still uses `issuer`.
    pub expected_issuer: Option<String>,
    /// `aud` values accepted besides `audience` (any one matches).
    pub other_audiences: Vec<String>,
    /// The pinned symmetric mode: the one HMAC algorithm and its secret.
    pub pinned_secret: Option<(HmacAlg, Redacted<Vec<u8>>)>,
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
    /// Whether `protectApi` warns the process about answers the configuration or the issuer
    /// caused (the JavaScript face emits them).
    pub warnings: bool,
    /// Only RFC 9068 JWT access tokens (`typ` `at+jwt`) are accepted (`requireTokenType`).
    pub require_at_jwt: bool,
    /// Seconds a JWT is accepted after its `iat` (`maxTokenAge`).
    pub max_token_age: Option<f64>,
    /// How `WWW-Authenticate` challenges are written (`challenge`).
    pub challenge: challenge::Style,
    /// RFC 9728 (`protectedResource`).
    pub protected_resource: Option<ProtectedResource>,
    /// The fleet's shared store (a URL or the user's client), its key prefix and per-call bound.
    pub store: Option<StoreSetting>,
    pub store_prefix: String,
    pub store_timeout_ms: f64,
    /// DPoP (RFC 9449).
    pub dpop: dpop::Settings,
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

/// Resolves and validates. The error is always `Error::Validation` with upstream's message
/// for the first problem, in upstream's field order.
pub fn resolve(options: &Input, env: &Env, profile: Profile) -> Result<Config> {
    let node = profile == Profile::NodeClient;
    let empty = Env::new();
    let sources = Sources {
        options,
        env: if node { env } else { &empty },
        oidc: !node,
    };
    let value = |name: &str| sources.value(row_of(name));
    let string = |name: &str| optional_string(name, &value(name));
    let boolean = |name: &str| optional_bool(name, &value(name));
    let function = |name: &str| optional_function(name, &value(name));
    let number = |name: &str| {
        let row = row_of(name);
        joi::number(row.name, &sources.value(row), row.min())
    };

    let in_code = |name: &str| !matches!(options.get(name), Input::Missing | Input::Null);
    let given = |name: &str| !matches!(value(name), Input::Missing | Input::Null);
    // Code wins over the environment, as for every option: a list in code leaves a tenant in
    // the environment (the token client's, say) unused, and the other way round. Both at the
    // same level leave it unclear which issuers are trusted: the list must say it all.
    let listing = match (given("issuers"), given("tenantDomain")) {
        (false, _) => false,
        (true, false) => true,
        (true, true) if in_code("issuers") != in_code("tenantDomain") => in_code("issuers"),
        (true, true) => {
            return Err(invalid(
                "issuers",
                "cannot be combined with tenantDomain: list every trusted issuer in issuers",
            ));
        }
    };
    let issuers = if listing {
        issuer_list(&value("issuers"))?
    } else {
        Vec::new()
    };
    let issuer = match issuers.first() {
        Some(first) => first.strip_suffix('/').unwrap_or(first).to_owned(),
        None => tenant_issuer(&value("tenantDomain"), node)?,
    };
    let audience = required_string("audience", &value("audience"))?;
    if node && !is_uri(&audience) {
        return Err(invalid("audience", "must be a valid uri"));
    }
    let expected_issuer = string("issuer")?;
    let other_audiences = audience_list(&value("audiences"))?;
    let pinned_secret = pinned_secret(string("hmacSecret")?, string("hmacAlg")?)?;
    let client_id = string("clientId")?;
    let (client_secret, client_auth_method) =
        client_credentials(&value("clientAuthMethod"), &value("clientSecret"))?;
    let trust_store_id = string("trustStoreId")?;
    let has_metadata_resolver = function("metadataResolver")?;
    let has_jwks_resolver = function("jwksResolver")?;
    let groups_claim = defaulted(string("groupOptions.groupsClaim")?);
    let groups_match_all = defaulted(boolean("groupOptions.matchAll")?);
    let clock_skew = defaulted(number("clockSkew")?);
    let clock_tolerance = defaulted(number("clockTolerance")?);
    let jwks_cache_duration = defaulted(number("jwksCacheDuration")?);
    let metadata_cache_duration = defaulted(number("metadataCacheDuration")?);
    let introspect_jwt_tokens = defaulted(boolean("introspectJwtTokens")?);
    let certificate_binding = match &value("validateCertificateBinding") {
        Input::Missing => None,
        Input::Str(s) if BindingMode::parse(s).is_some() => BindingMode::parse(s),
        _ => {
            let names: Vec<_> = BindingMode::ALL.iter().map(|m| m.as_str()).collect();
            return Err(one_of("validateCertificateBinding", &names));
        }
    };
    let response_timeout_ms = if node {
        number("responseTimeout")?
    } else {
        // The OIDC client has no default timeout; zero or less means none, as upstream.
        number_any("responseTimeout", &value("responseTimeout"))?.filter(|ms| *ms > 0.0)
    };
    let introspection_cache_duration = defaulted(number("introspectionCacheDuration")?);
    let has_fetcher = function("fetcher")?;
    let has_cache = cache_shape(&value("cache"))?;
    let introspection_cache_max_entries = defaulted(number("introspectionCacheMaxEntries")?) as u64;
    let token_cache_max_entries = defaulted(number("tokenCacheMaxEntries")?) as u64;
    let stale_if_error_duration = defaulted(number("staleIfErrorDuration")?);
    function("onEvent")?;
    let warnings = defaulted(boolean("warnings")?);
    let store = store_setting(&value("store"))?;
    let store_prefix = string("storePrefix")?.unwrap_or_default();
    let store_timeout_ms = number("storeTimeout")?.unwrap_or(1.0);
    let tls_identity = tls_identity(string("tlsClientCertificate")?, string("tlsClientKey")?)?;
    let require_at_jwt = match string("requireTokenType")?.as_deref() {
        None => false,
        Some("at+jwt") => true,
        Some(_) => return Err(one_of("requireTokenType", &["at+jwt"])),
    };
    let max_token_age = number("maxTokenAge")?;
    let (client_id, introspect_jwt_tokens) = if issuers.is_empty() {
        (client_id, introspect_jwt_tokens)
    } else {
        // Introspection asked for in code is a mistake to report. From the environment it may
        // be meant for another client of the process (the token client reads the same
        // `MONOCLOUD_BACKEND_CLIENT_ID`), so this one just does not use it.
        several_issuers_conflicts(
            expected_issuer.is_some(),
            pinned_secret.is_some(),
            in_code("clientId")
                && client_id
                    .as_deref()
                    .is_some_and(|id| !js_trim(id).is_empty()),
            in_code("introspectJwtTokens") && introspect_jwt_tokens,
        )?;
        (None, false)
    };
    let mut challenge = challenge_style(&sources)?;
    let dpop = dpop_settings(&sources)?;
    let protected_resource =
        protected_resource(&sources, &issuer, &issuers, certificate_binding, &dpop)?;
    if let Some(resource) = &protected_resource {
        // RFC 9728 §5.1: every challenge points to the metadata, in the complete form.
        challenge.describe = challenge.describe || !challenge.full;
        challenge.full = true;
        challenge.resource_metadata = Some(resource.metadata_url.clone());
    }

    Ok(Config {
        issuer,
        issuers,
        audience,
        expected_issuer,
        other_audiences,
        pinned_secret,
        client_id,
        client_secret,
        client_auth_method,
        trust_store_id,
        groups_claim,
        groups_match_all,
        clock_skew,
        clock_tolerance,
        jwks_cache_duration,
        metadata_cache_duration,
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
        warnings,
        require_at_jwt,
        max_token_age,
        challenge,
        protected_resource,
        store,
        store_prefix,
        store_timeout_ms,
        dpop,
    })
}

/// Whether the authority at the start of `rest` (after `http://`) is a loopback host.
pub fn tenant_is_loopback(rest: &str) -> bool {
    tenant::is_loopback_authority(rest)
}

/// A list option: an array of strings, or (from a variable) names separated by spaces.
fn string_list(field: &str, value: &Input) -> Result<Option<Vec<String>>> {
    match value {
        Input::Missing | Input::Null => Ok(None),
        Input::Str(text) => Ok(Some(text.split_whitespace().map(str::to_owned).collect())),
        Input::Array(items) => items
            .iter()
            .map(|item| match item {
                Input::Str(text) if !text.is_empty() => Ok(text.clone()),
                _ => Err(invalid(field, "must contain only non-empty strings")),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        _ => Err(invalid(field, "must be an array of strings")),
    }
}

/// `issuers`: absent, or at least one absolute https URL (http for loopback hosts) without
/// query or fragment, as an array or (from the environment) separated by spaces. Repeats of the
/// same issuer are dropped.
fn issuer_list(value: &Input) -> Result<Vec<String>> {
    const FIELD: &str = "issuers";
    let Some(listed) = string_list(FIELD, value)? else {
        return Ok(Vec::new());
    };
    if listed.is_empty() {
        return Err(invalid(FIELD, "must list at least one issuer URL"));
    }
    let mut issuers: Vec<String> = Vec::with_capacity(listed.len());
    for url in listed {
        if !is_resource_identifier(&url) {
            return Err(invalid(
                FIELD,
                "must list issuer URLs (https, or http for loopback hosts) without query or fragment",
            ));
        }
        let key = crate::core::issuers::match_key(&url);
        if !issuers
            .iter()
            .any(|seen| crate::core::issuers::match_key(seen) == key)
        {
            issuers.push(url);
        }
    }
    Ok(issuers)
}

/// What a client with several issuers cannot also be: each listed URL is the `iss` of its
/// tokens, so neither `issuer` nor one shared secret can apply to all of them; and an opaque
/// token names no issuer, so there is no telling whose introspection endpoint to ask.
fn several_issuers_conflicts(
    issuer: bool,
    hmac_secret: bool,
    client_id: bool,
    introspect_jwt_tokens: bool,
) -> Result<()> {
    if issuer {
        return Err(invalid(
            "issuer",
            "cannot be combined with issuers: each listed issuer is the iss its tokens carry",
        ));
    }
    if hmac_secret {
        return Err(invalid(
            "hmacSecret",
            "cannot be combined with issuers: the pinned secret is one issuer's",
        ));
    }
    if client_id || introspect_jwt_tokens {
        return Err(invalid(
            if client_id {
                "clientId"
            } else {
                "introspectJwtTokens"
            },
            "cannot be combined with issuers: a client with several issuers validates JWTs only, \
             since an opaque token names no issuer to introspect it; use one client per issuer \
             for introspection",
        ));
    }
    Ok(())
}

/// The `protectedResource` option: on when the object is given or `MONOCLOUD_BACKEND_RESOURCE`
/// is set.
fn protected_resource(
    sources: &Sources,
    issuer: &str,
    issuers: &[String],
    certificate_binding: Option<BindingMode>,
    dpop: &dpop::Settings,
) -> Result<Option<ProtectedResource>> {
    let given = match sources.options.get("protectedResource") {
        Input::Missing | Input::Null => false,
        Input::Object(_) => true,
        _ => return Err(invalid("protectedResource", "must be of type object")),
    };
    let value = |name: &str| sources.value(row_of(name));
    let resource = optional_string(
        "protectedResource.resource",
        &value("protectedResource.resource"),
    )?;
    let Some(resource) = resource else {
        return if given {
            Err(invalid("protectedResource.resource", "is required"))
        } else {
            Ok(None)
        };
    };
    if !is_resource_identifier(&resource) {
        return Err(invalid(
            "protectedResource.resource",
            "must be an absolute https URL (http only for loopback hosts) without query or fragment",
        ));
    }
    let url = |name: &str| -> Result<Option<String>> {
        let text = optional_string(name, &value(name))?;
        if let Some(text) = &text {
            let lower = text.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://")) || !is_uri(text) {
                return Err(invalid(name, "must be an absolute http or https URL"));
            }
        }
        Ok(text)
    };
    let authorization_servers = match string_list(
        "protectedResource.authorizationServers",
        &value("protectedResource.authorizationServers"),
    )? {
        None if !issuers.is_empty() => issuers.to_vec(),
        None => vec![issuer.to_owned()],
        Some(servers) => {
            if servers.is_empty() || servers.iter().any(|s| !is_resource_identifier(s)) {
                return Err(invalid(
                    "protectedResource.authorizationServers",
                    "must list issuer URLs (https, or http for loopback hosts)",
                ));
            }
            servers
        }
    };
    let scopes_supported = string_list(
        "protectedResource.scopesSupported",
        &value("protectedResource.scopesSupported"),
    )?;
    let bearer_methods_supported = match string_list(
        "protectedResource.bearerMethodsSupported",
        &value("protectedResource.bearerMethodsSupported"),
    )? {
        None => vec!["header".to_owned()],
        Some(methods) => {
            if methods
                .iter()
                .any(|m| !matches!(m.as_str(), "header" | "body" | "query"))
            {
                return Err(one_of(
                    "protectedResource.bearerMethodsSupported",
                    &["header", "body", "query"],
                ));
            }
            methods
        }
    };
    let resource_name = optional_string(
        "protectedResource.resourceName",
        &value("protectedResource.resourceName"),
    )?;
    let members = Members {
        resource,
        authorization_servers,
        scopes_supported,
        bearer_methods_supported,
        resource_name,
        resource_documentation: url("protectedResource.resourceDocumentation")?,
        resource_policy_uri: url("protectedResource.resourcePolicyUri")?,
        resource_tos_uri: url("protectedResource.resourceTosUri")?,
        certificate_bound: certificate_binding == Some(BindingMode::Required),
        dpop: (dpop.mode != dpop::Mode::Disabled).then(|| {
            (
                dpop.algorithms
                    .iter()
                    .map(|a| a.name().to_owned())
                    .collect(),
                dpop.mode == dpop::Mode::Required,
            )
        }),
    };
    ProtectedResource::new(members)
        .map(Some)
        .ok_or_else(|| invalid("protectedResource.resource", "must be a valid URL"))
}

/// The `challenge` option: given at all (an object, or either variable), it turns the
/// complete challenges on.
fn challenge_style(sources: &Sources) -> Result<challenge::Style> {
    let given = match sources.options.get("challenge") {
        Input::Missing | Input::Null => false,
        Input::Object(_) => true,
        _ => return Err(invalid("challenge", "must be of type object")),
    };
    let realm = optional_string("challenge.realm", &sources.value(row_of("challenge.realm")))?;
    if realm.as_deref().is_some_and(|realm| {
        realm
            .chars()
            .any(|c| c.is_control() || c == '"' || c == '\\')
    }) {
        return Err(invalid(
            "challenge.realm",
            "must not contain quotes, backslashes or control characters",
        ));
    }
    let describe = optional_bool(
        "challenge.describe",
        &sources.value(row_of("challenge.describe")),
    )?;
    let full = given || realm.is_some() || describe.is_some();
    Ok(challenge::Style {
        full,
        realm,
        describe: describe.unwrap_or(full),
        resource_metadata: None,
    })
}

/// The `dpop` options: the object itself, then its members in table order.
fn dpop_settings(sources: &Sources) -> Result<dpop::Settings> {
    match sources.options.get("dpop") {
        Input::Missing | Input::Null | Input::Object(_) => {}
        _ => return Err(invalid("dpop", "must be of type object")),
    }
    let value = |name: &str| sources.value(row_of(name));
    let number = |name: &str| {
        let row = row_of(name);
        joi::number(row.name, &sources.value(row), row.min())
    };
    let mode = match &value("dpop.mode") {
        Input::Str(text) => dpop::Mode::parse(text),
        _ => None,
    }
    .ok_or_else(|| {
        let names: Vec<_> = dpop::Mode::ALL.iter().map(|m| m.as_str()).collect();
        one_of("dpop.mode", &names)
    })?;
    let algorithms = dpop_algorithms(&value("dpop.algorithms"))?;
    let iat_offset = defaulted(number("dpop.iatOffset")?);
    let iat_leeway = defaulted(number("dpop.iatLeeway")?);
    let nonce_secret = match optional_string("dpop.nonceSecret", &value("dpop.nonceSecret"))? {
        Some(secret) if secret.len() < 32 => {
            return Err(invalid(
                "dpop.nonceSecret",
                "must be at least 32 bytes long",
            ));
        }
        secret => secret.map(|secret| Redacted(secret.into_bytes())),
    };
    let nonce_lifetime = defaulted(number("dpop.nonceLifetime")?);
    let replay = match &value("dpop.replayStore") {
        Input::Missing | Input::Null => dpop::Replay::Memory,
        Input::Bool(false) => dpop::Replay::Off,
        store @ Input::Object(_) => match store.get("reserve") {
            Input::Function => dpop::Replay::Shared,
            _ => {
                return Err(invalid(
                    "dpop.replayStore.reserve",
                    "must be of type function",
                ));
            }
        },
        _ => {
            return Err(invalid(
                "dpop.replayStore",
                "must be false or an object with a reserve function",
            ));
        }
    };
    let allow_on_store_error = match &value("dpop.onStoreError") {
        Input::Str(text) if text == "reject" => false,
        Input::Str(text) if text == "allow" => true,
        _ => return Err(one_of("dpop.onStoreError", &["reject", "allow"])),
    };
    let public_url = match optional_string("dpop.publicUrl", &value("dpop.publicUrl"))? {
        Some(url) => Some(public_url(&url)?),
        None => None,
    };
    Ok(dpop::Settings {
        mode,
        algorithms,
        iat_offset,
        iat_leeway,
        nonce_secret,
        nonce_lifetime,
        replay,
        allow_on_store_error,
        public_url,
    })
}

/// An array of names, or names separated by white space (the environment's form). `none` and
/// HMAC algorithms are refused by name: a proof must be signed with a private key.
/// `hmacSecret` and `hmacAlg` come together; the secret is not blank.
fn pinned_secret(
    secret: Option<String>,
    alg: Option<String>,
) -> Result<Option<(HmacAlg, Redacted<Vec<u8>>)>> {
    match (secret, alg) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid("hmacAlg", "is required with hmacSecret")),
        (None, Some(_)) => Err(invalid("hmacSecret", "is required with hmacAlg")),
        (Some(secret), _) if secret.is_empty() => {
            Err(invalid("hmacSecret", "is not allowed to be empty"))
        }
        (Some(secret), Some(alg)) => {
            let alg = HmacAlg::parse(&alg).ok_or_else(|| one_of("hmacAlg", &HmacAlg::NAMES))?;
            Ok(Some((alg, Redacted(secret.into_bytes()))))
        }
    }
}

/// `audiences`: absent, or an array of non-empty strings.
fn audience_list(value: &Input) -> Result<Vec<String>> {
    const FIELD: &str = "audiences";
    match value {
        Input::Missing | Input::Null => Ok(Vec::new()),
        Input::Array(items) => items
            .iter()
            .map(|item| match item {
                Input::Str(aud) if !aud.is_empty() => Ok(aud.clone()),
                _ => Err(invalid(FIELD, "must contain only non-empty strings")),
            })
            .collect(),
        _ => Err(invalid(FIELD, "must be an array of strings")),
    }
}

fn dpop_algorithms(value: &Input) -> Result<Vec<Alg>> {
    const FIELD: &str = "dpop.algorithms";
    let names: Vec<String> = match value {
        Input::Str(text) => text.split_whitespace().map(str::to_owned).collect(),
        Input::Array(items) => items
            .iter()
            .map(|item| match item {
                Input::Str(name) => Ok(name.clone()),
                _ => Err(invalid(FIELD, "must contain only algorithm names")),
            })
            .collect::<Result<_>>()?,
        _ => return Err(invalid(FIELD, "must be an array of algorithm names")),
    };
    if names.is_empty() {
        return Err(invalid(FIELD, "must name at least one algorithm"));
    }
    let mut algorithms = Vec::with_capacity(names.len());
    for name in &names {
        if name.eq_ignore_ascii_case("none") || name.to_ascii_uppercase().starts_with("HS") {
            return Err(invalid(
                FIELD,
                "must not contain \"none\" or HMAC algorithms: proofs are signed with private keys",
            ));
        }
        let alg = Alg::parse(name).ok_or_else(|| {
            invalid(
                FIELD,
                &format!(
                    "must contain only supported algorithms ({})",
                    options::DPOP_ALGORITHMS
                ),
            )
        })?;
        if !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    Ok(algorithms)
}

/// An absolute `http(s)` URL without query or fragment; kept without its trailing slash so that
/// the request path joins it.
fn public_url(url: &str) -> Result<String> {
    let problem = || {
        invalid(
            "dpop.publicUrl",
            "must be an absolute http or https URL without query or fragment",
        )
    };
    if url.contains(['?', '#']) {
        return Err(problem());
    }
    let normalised = dpop::htu::normalise(url).ok_or_else(problem)?;
    Ok(normalised.trim_end_matches('/').to_owned())
}

/// An option whose row has a default: the default stands in for a missing value before it is
/// validated, so it is never missing here.
fn defaulted<T>(value: Option<T>) -> T {
    value.expect("an option with a default is never missing")
}

/// `tenantDomain` as both clients read it: required, a URI when `require_uri` (the
/// env-aware clients), then normalised into the issuer.
pub(crate) fn tenant_issuer(value: &Input, require_uri: bool) -> Result<String> {
    let tenant = required_string("tenantDomain", value)?;
    if require_uri && !is_uri(&tenant) {
        return Err(invalid("tenantDomain", "must be a valid uri"));
    }
    normalise_tenant(&tenant)
}

/// `clientSecret` and `clientAuthMethod`, as the validating and the token client both read
/// them: the method decides what kind of secret is wanted, the secret is checked first (as
/// upstream's schema does), then the method itself.
pub(crate) fn client_credentials(
    method: &Input,
    secret: &Input,
) -> Result<(Option<ClientSecret>, ClientAuthMethod)> {
    let wanted = match method {
        Input::Str(m) if m == "private_key_jwt" => Wanted::PrivateJwk,
        Input::Str(m) if m == "client_secret_jwt" => Wanted::TextOrSymmetricJwk,
        _ => Wanted::Text,
    };
    let client_secret = client_secret(secret, wanted)?;
    let client_auth_method = match method {
        Input::Str(m) => ClientAuthMethod::parse(m),
        _ => None,
    }
    .ok_or_else(|| {
        let names: Vec<_> = ClientAuthMethod::ALL.iter().map(|m| m.as_str()).collect();
        one_of("clientAuthMethod", &names)
    })?;
    Ok((client_secret, client_auth_method))
}

/// What `clientSecret` may be, by `clientAuthMethod`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Wanted {
    /// A string (upstream's rule for every other method).
    Text,
    /// `private_key_jwt`: a private JWK.
    PrivateJwk,
    /// `client_secret_jwt`: a string, or a symmetric JWK (`kty: "oct"`), which the original
    /// documents but its schema refuses.
    TextOrSymmetricJwk,
}

/// A JSON string holding a JWK (an object with a string `kty`) is used as that JWK.
pub(crate) fn client_secret(value: &Input, wanted: Wanted) -> Result<Option<ClientSecret>> {
    let jwk = match value {
        Input::Str(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(jwk)) if jwk.get("kty").is_some_and(Value::is_string) => Some(jwk),
            _ => None,
        },
        Input::Object(_) if wanted != Wanted::Text => match value.to_json() {
            Value::Object(jwk) => Some(jwk),
            _ => unreachable!("an object serialises to an object"),
        },
        _ => None,
    };
    match (wanted, jwk) {
        (Wanted::PrivateJwk, Some(jwk)) => {
            check_private_jwk(&jwk)?;
            Ok(Some(ClientSecret::Jwk(jwk)))
        }
        (Wanted::PrivateJwk, None) => match value {
            Input::Missing | Input::Null => Ok(None),
            _ => Err(Error::validation(
                "clientSecret must be a valid JWK when clientAuthMethod is 'private_key_jwt'",
            )),
        },
        (Wanted::TextOrSymmetricJwk, Some(jwk)) => {
            SymmetricKey::from_jwk(&jwk).map(|key| Some(ClientSecret::Symmetric(key)))
        }
        (Wanted::Text, Some(_)) => Err(invalid("clientSecret", "must be a string")),
        (_, None) => Ok(optional_string("clientSecret", value)?.map(ClientSecret::Text)),
    }
}

/// The cache adapter must offer `get`, `set` and `delete` functions. Other members (fields of
/// a class instance) are fine: the object is used as given.
/// What `store` names: a URL, or a client object (which the JavaScript face drives; whether it
/// is one it can drive is decided where the store is opened).
#[derive(Debug, Clone, PartialEq)]
pub enum StoreSetting {
    Url(String),
    Client,
}

pub(crate) fn store_setting(value: &Input) -> Result<Option<StoreSetting>> {
    if let Input::Object(_) | Input::Array(_) = value {
        return Ok(Some(StoreSetting::Client));
    }
    Ok(optional_string("store", value)?
        .filter(|url| !js_trim(url).is_empty())
        .map(StoreSetting::Url))
}

pub(crate) fn cache_shape(value: &Input) -> Result<bool> {
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

#[cfg(test)]
mod tests;
