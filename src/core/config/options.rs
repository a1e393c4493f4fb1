//! Every option in one table: its name, environment variable, kind (and bounds), defaults and
//! one line of documentation. Each default is written here and nowhere else. The rows are in
//! the order the binding reads an options object; `resolve` validates them in upstream's order.

use super::Env;
use super::input::Input;
use crate::core::text::{js_parse_int, js_trim};

const ENV_PREFIX: &str = "MONOCLOUD_BACKEND_";

/// The JavaScript type an option takes, which also decides how its variable is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A variable is taken verbatim; an empty one is present (and then fails validation).
    Text,
    /// A variable counts when it is exactly `true`/`false` after trim and lowercase, as
    /// upstream's `getBoolean`.
    Bool,
    /// At least `min`. A variable is `parseInt(trimmed, 10)` and does not count when `NaN`, as
    /// upstream's `getNumber`.
    Number {
        min: f64,
    },
    Function,
    Object,
}

/// The value an option takes when neither the options nor the environment give one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultValue {
    None,
    Number(f64),
    Bool(bool),
    Text(&'static str),
}

/// How `new MonoCloudOidcBackendClient(tenantDomain, audience, options)` treats an option. It
/// reads no environment in any case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Oidc {
    /// As the Node client does.
    Same,
    /// With this default instead of the Node client's.
    Default(DefaultValue),
    /// Not at all: the option does not exist there.
    NotRead,
}

#[derive(Debug)]
pub struct Row {
    /// As in upstream's error messages; a dot names a member of an option object.
    pub name: &'static str,
    /// `MONOCLOUD_BACKEND_<env>`.
    pub env: Option<&'static str>,
    pub kind: Kind,
    /// `new MonoCloudBackendNodeClient(options)`'s default.
    pub default: DefaultValue,
    pub oidc: Oidc,
    pub doc: &'static str,
}

const fn row(
    name: &'static str,
    env: Option<&'static str>,
    kind: Kind,
    default: DefaultValue,
    oidc: Oidc,
    doc: &'static str,
) -> Row {
    Row {
        name,
        env,
        kind,
        default,
        oidc,
        doc,
    }
}

use DefaultValue as D;
use Kind::{Bool, Function, Number, Object, Text};
use Oidc::{NotRead, Same};

const CACHE_DURATION: DefaultValue = D::Number(300.0);
const MAX_ENTRIES: DefaultValue = D::Number(10_000.0);

#[rustfmt::skip]
pub const OPTIONS: [Row; 56] = [
    //  name                            env                                         kind                        default (Node client)               OIDC client                                  doc
    row("tenantDomain",                 Some("TENANT_DOMAIN"),                      Text,                       D::None,                            Same,                                        "The tenant's URL, with its scheme (the OIDC client adds https:// when missing); plain http only for loopback hosts."),
    row("audience",                     Some("AUDIENCE"),                           Text,                       D::None,                            Same,                                        "The `aud` tokens must carry."),
    row("issuer",                       None,                                       Text,                       D::None,                            Same,                                        "The exact `iss` tokens must carry, when it is not the tenant URL without its trailing slash (e.g. `https://tenant.example.com/`); discovery still starts from `tenantDomain`."),
    row("issuers",                      Some("ISSUERS"),                            Text,                       D::None,                            Same,                                        "Several trusted issuers instead of `tenantDomain`: an array of issuer URLs (in the environment, separated by spaces); a token's `iss` picks its issuer, each with its own discovery and keys. JWTs only."),
    row("audiences",                    None,                                       Text,                       D::None,                            Same,                                        "More `aud` values a token may carry instead of `audience`: an array of strings, any one of which matches."),
    row("hmacSecret",                   None,                                       Text,                       D::None,                            Same,                                        "A shared secret: JWTs must be signed with it and `hmacAlg`; no key set is fetched and public-key tokens are refused."),
    row("hmacAlg",                      None,                                       Text,                       D::None,                            Same,                                        "The one HMAC algorithm (HS256, HS384 or HS512) of `hmacSecret` tokens."),
    row("clientId",                     Some("CLIENT_ID"),                          Text,                       D::None,                            Same,                                        "The client that introspects; without one, only JWTs are validated."),
    row("clientSecret",                 Some("CLIENT_SECRET"),                      Text,                       D::None,                            Same,                                        "A shared secret or JWT-SVID; for private_key_jwt a private JWK (object or JSON text)."),
    row("clientAuthMethod",             Some("CLIENT_AUTH_METHOD"),                 Text,                       D::Text("client_secret_post"),      Oidc::Default(D::Text("client_secret_basic")), "How the client authenticates at the introspection endpoint."),
    row("trustStoreId",                 Some("TRUST_STORE_ID"),                     Text,                       D::None,                            Same,                                        "Picks `mtls_additional_endpoint_aliases[id]` over `mtls_endpoint_aliases`."),
    row("groupOptions.groupsClaim",     Some("GROUPS_CLAIM"),                       Text,                       D::Text("groups"),                  Same,                                        "The claim that lists a token's groups."),
    row("groupOptions.matchAll",        Some("GROUPS_MATCH_ALL"),                   Bool,                       D::Bool(false),                     Same,                                        "Whether every requested group is needed, rather than one."),
    row("clockSkew",                    Some("CLOCK_SKEW"),                         Number { min: 0.0 },        D::Number(0.0),                     Same,                                        "Seconds added to now: positive makes tokens look older."),
    row("clockTolerance",               Some("CLOCK_TOLERANCE"),                    Number { min: 0.0 },        D::Number(60.0),                    Same,                                        "Seconds of grace on both `exp` and `nbf`."),
    row("jwksCacheDuration",            Some("JWKS_CACHE_DURATION"),                Number { min: 0.0 },        CACHE_DURATION,                     Same,                                        "Seconds a key set is kept; 0 fetches it for every token."),
    row("metadataCacheDuration",        Some("METADATA_CACHE_DURATION"),            Number { min: 0.0 },        CACHE_DURATION,                     Same,                                        "Seconds the discovery document is kept; 0 fetches it every time."),
    row("introspectJwtTokens",          Some("INTROSPECT_JWT_TOKENS"),              Bool,                       D::Bool(false),                     Same,                                        "Introspect JWTs too, instead of verifying them locally."),
    row("validateCertificateBinding",   Some("VALIDATE_CERTIFICATE_BINDING"),       Text,                       D::Text("when_present"),            NotRead,                                     "Client-wide certificate binding; the OIDC client takes it per call."),
    row("responseTimeout",              Some("RESPONSE_TIMEOUT"),                   Number { min: 1000.0 },     D::Number(10_000.0),                Oidc::Default(D::None),                      "Milliseconds an issuer exchange may take; on the OIDC client, 0 or less means none."),
    row("introspectionCacheDuration",   Some("INTROSPECTION_CACHE_DURATION"),       Number { min: 0.0 },        CACHE_DURATION,                     Same,                                        "Seconds an introspection answer is kept (at most until its `exp`); 0 turns the cache off."),
    row("introspectionCacheMaxEntries", Some("INTROSPECTION_CACHE_MAX_ENTRIES"),    Number { min: 0.0 },        D::Number(0.0),                     Same,                                        "Entries of the built-in introspection cache, used when no `cache` adapter is given; 0 (the default) means none: every opaque token is introspected."),
    row("tokenCacheMaxEntries",         Some("TOKEN_CACHE_MAX_ENTRIES"),            Number { min: 0.0 },        MAX_ENTRIES,                        Same,                                        "Bound of the verified-JWT cache; 0 turns it off."),
    row("staleIfErrorDuration",         Some("STALE_IF_ERROR_DURATION"),            Number { min: 0.0 },        D::Number(300.0),                   Same,                                        "Seconds past expiry the last good discovery document and key set serve while the issuer fails."),
    row("tlsClientCertificate",         Some("TLS_CLIENT_CERTIFICATE"),             Text,                       D::None,                            Same,                                        "PEM text or file of the certificate chain presented on the mTLS endpoint aliases."),
    row("tlsClientKey",                 Some("TLS_CLIENT_KEY"),                     Text,                       D::None,                            Same,                                        "PEM text or file of that certificate's private key."),
    row("store",                        Some("REDIS_URL"),                          Text,                       D::None,                            NotRead,                                     "The fleet's shared store (Redis or Valkey): a redis:// or rediss:// URL, or a connected node-redis or ioredis client."),
    row("storePrefix",                  Some("REDIS_PREFIX"),                       Text,                       D::Text("monocloud:"),              NotRead,                                     "Prefix of every key and channel in the shared store."),
    row("storeTimeout",                 Some("REDIS_TIMEOUT"),                      Number { min: 1.0 },        D::Number(50.0),                    NotRead,                                     "Milliseconds a shared-store call may take before its fault rule applies."),
    row("fetcher",                      None,                                       Function,                   D::None,                            Same,                                        "Makes the HTTP exchanges with the issuer instead of the built-in client."),
    row("metadataResolver",             None,                                       Function,                   D::None,                            Same,                                        "Gives the discovery document instead of fetching it."),
    row("jwksResolver",                 None,                                       Function,                   D::None,                            Same,                                        "Gives the key set instead of fetching it."),
    row("cache",                        None,                                       Object,                     D::None,                            Same,                                        "An introspection cache adapter with `get`, `set` and `delete`."),
    row("onEvent",                      None,                                       Function,                   D::None,                            Same,                                        "Hears rejections, cache hits and misses, fetches and issuer failures."),
    row("warnings",                     Some("WARNINGS"),                           Bool,                       D::Bool(true),                      Same,                                        "Whether protectApi reports a 500 or 503 caused by the configuration or the issuer with process.emitWarning (at most once a minute per cause); onEvent turns it off too."),
    row("requireTokenType",             Some("REQUIRE_TOKEN_TYPE"),                 Text,                       D::None,                            Same,                                        "`at+jwt` to accept only RFC 9068 JWT access tokens (`typ` `at+jwt` or `application/at+jwt`)."),
    row("maxTokenAge",                  Some("MAX_TOKEN_AGE"),                      Number { min: 0.0 },        D::None,                            Same,                                        "Seconds a JWT access token is accepted after its `iat` (which it must then carry)."),
    row("challenge.realm",              Some("CHALLENGE_REALM"),                    Text,                       D::None,                            Same,                                        "The `realm` of every `WWW-Authenticate` challenge; setting it turns the complete challenges on."),
    row("challenge.describe",           Some("CHALLENGE_DESCRIBE"),                 Bool,                       D::None,                            Same,                                        "Whether complete challenges carry a fixed `error_description` (default true once they are on)."),
    row("protectedResource.resource",   Some("RESOURCE"),                           Text,                       D::None,                            Same,                                        "The resource identifier (RFC 9728): an absolute https URL (http on loopback), no query or fragment; tokens' `aud` must name it."),
    row("protectedResource.authorizationServers", None,                         Text,                       D::None,                            Same,                                        "The issuers of tokens for this resource, for its metadata; default the tenant."),
    row("protectedResource.scopesSupported", Some("RESOURCE_SCOPES"),           Text,                       D::None,                            Same,                                        "The scopes the resource knows: an array, or names separated by spaces."),
    row("protectedResource.bearerMethodsSupported", None,                       Text,                       D::None,                            Same,                                        "How tokens may be sent: `header` (default), `body`, `query`."),
    row("protectedResource.resourceName", None,                                 Text,                       D::None,                            Same,                                        "A human-readable name of the resource."),
    row("protectedResource.resourceDocumentation", None,                        Text,                       D::None,                            Same,                                        "The URL of its documentation."),
    row("protectedResource.resourcePolicyUri", None,                            Text,                       D::None,                            Same,                                        "The URL of its data-use policy."),
    row("protectedResource.resourceTosUri", None,                               Text,                       D::None,                            Same,                                        "The URL of its terms of service."),
    row("dpop.mode",                    Some("DPOP_MODE"),                          Text,                       D::Text("allowed"),                 Same,                                        "DPoP (RFC 9449): `allowed` (Bearer and DPoP, bound tokens need their proof), `required` (DPoP only) or `disabled` (the original's behaviour)."),
    row("dpop.algorithms",              Some("DPOP_ALGORITHMS"),                    Text,                       D::Text(DPOP_ALGORITHMS),           Same,                                        "The proof algorithms accepted: an array, or names separated by spaces."),
    row("dpop.iatOffset",               Some("DPOP_IAT_OFFSET"),                    Number { min: 0.0 },        D::Number(300.0),                   Same,                                        "Seconds a proof's `iat` may lie in the past."),
    row("dpop.iatLeeway",               Some("DPOP_IAT_LEEWAY"),                    Number { min: 0.0 },        D::Number(30.0),                    Same,                                        "Seconds a proof's `iat` may lie in the future."),
    row("dpop.nonceSecret",             Some("DPOP_NONCE_SECRET"),                  Text,                       D::None,                            Same,                                        "At least 32 bytes: server nonces are then required, and every instance sharing the secret accepts them."),
    row("dpop.nonceLifetime",           Some("DPOP_NONCE_LIFETIME"),                Number { min: 1.0 },        D::Number(300.0),                   Same,                                        "Seconds a server nonce is accepted."),
    row("dpop.replayStore",             None,                                       Object,                     D::None,                            Same,                                        "Where proofs are remembered: the built-in memory store, `false` for none, or `{ reserve(key, expiresAt) }`."),
    row("dpop.onStoreError",            Some("DPOP_ON_STORE_ERROR"),                Text,                       D::Text("reject"),                  Same,                                        "When the shared store cannot reserve a proof in time: `reject` (503) or `allow` (the proof passes unreserved)."),
    row("dpop.publicUrl",               Some("PUBLIC_URL"),                         Text,                       D::None,                            Same,                                        "The public origin (and base path) proofs name behind a proxy; otherwise the framework's trusted-proxy rules decide."),
];

/// Every proof algorithm we verify; `none` and HMAC are never among them.
pub const DPOP_ALGORITHMS: &str = "ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA";

/// The top-level names of the options, as the binding reads them from an options object;
/// anything else there is ignored (as upstream does).
pub const OPTION_NAMES: [&str; top_level_count()] = top_level_names();

/// The part of `name` before its first dot.
const fn top_level(name: &'static str) -> &'static str {
    let bytes = name.as_bytes();
    let mut end = 0;
    while end < bytes.len() && bytes[end] != b'.' {
        end += 1;
    }
    match std::str::from_utf8(bytes.split_at(end).0) {
        Ok(top) => top,
        Err(_) => panic!("option names are ASCII"),
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Members of one option object stand next to each other in the table.
const fn starts_option(index: usize) -> bool {
    index == 0
        || !same(
            top_level(OPTIONS[index].name),
            top_level(OPTIONS[index - 1].name),
        )
}

const fn top_level_count() -> usize {
    let (mut count, mut i) = (0, 0);
    while i < OPTIONS.len() {
        if starts_option(i) {
            count += 1;
        }
        i += 1;
    }
    count
}

const fn top_level_names<const N: usize>() -> [&'static str; N] {
    let mut names = [""; N];
    let (mut n, mut i) = (0, 0);
    while i < OPTIONS.len() {
        if starts_option(i) {
            names[n] = top_level(OPTIONS[i].name);
            n += 1;
        }
        i += 1;
    }
    names
}

/// The row of `name`; every name `resolve` asks for is in the table.
pub fn row_of(name: &str) -> &'static Row {
    OPTIONS
        .iter()
        .find(|row| row.name == name)
        .unwrap_or_else(|| panic!("no option row named {name}"))
}

impl Row {
    /// The lower bound of a number option.
    pub fn min(&self) -> f64 {
        match self.kind {
            Number { min } => min,
            _ => f64::NEG_INFINITY,
        }
    }
}

impl DefaultValue {
    pub fn input(self) -> Input {
        match self {
            D::None => Input::Missing,
            D::Number(n) => Input::Number(n),
            D::Bool(b) => Input::Bool(b),
            D::Text(s) => Input::Str(s.to_owned()),
        }
    }

    pub fn number(self) -> Option<f64> {
        match self {
            D::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// One profile's view of the options object and the environment.
pub struct Sources<'a> {
    pub options: &'a Input,
    /// Empty for the OIDC client.
    pub env: &'a Env,
    pub oidc: bool,
}

impl Sources<'_> {
    /// The default this profile gives `row`; `None` when the profile does not read it.
    pub fn default_for(&self, row: &Row) -> Option<DefaultValue> {
        match (self.oidc, row.oidc) {
            (false, _) | (true, Same) => Some(row.default),
            (true, Oidc::Default(default)) => Some(default),
            (true, NotRead) => None,
        }
    }

    /// `option ?? environment ?? default`, or `Missing` where the profile does not read it.
    pub fn value(&self, row: &Row) -> Input {
        let Some(default) = self.default_for(row) else {
            return Input::Missing;
        };
        let given = match row.name.split_once('.') {
            Some((object, member)) => self.options.get(object).get(member),
            None => self.options.get(row.name),
        };
        given.or(self.env_value(row)).or(default.input())
    }

    fn env_value(&self, row: &Row) -> Input {
        let Some(raw) = row
            .env
            .and_then(|suffix| self.env.get(&format!("{ENV_PREFIX}{suffix}")))
        else {
            return Input::Missing;
        };
        match row.kind {
            Bool => match js_trim(raw).to_lowercase().as_str() {
                "true" => Input::Bool(true),
                "false" => Input::Bool(false),
                _ => Input::Missing,
            },
            Number { .. } => js_parse_int(js_trim(raw)).map_or(Input::Missing, Input::Number),
            Text | Function | Object => Input::Str(raw.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_names_are_the_top_level_names_in_table_order() {
        assert_eq!(OPTION_NAMES.len(), 39);
        assert_eq!(
            &OPTION_NAMES[10..13],
            ["trustStoreId", "groupOptions", "clockSkew"]
        );
        for row in &OPTIONS {
            assert!(OPTION_NAMES.contains(&top_level(row.name)), "{}", row.name);
            assert!(row.doc.ends_with('.'), "{}", row.name);
        }
    }
}
