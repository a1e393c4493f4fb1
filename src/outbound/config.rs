//! The token client's options: the backend client's rows for what both share (tenant, client
//! credentials, mTLS identity, timeouts, discovery caching, callbacks), read over the same
//! `MONOCLOUD_BACKEND_*` variables, plus the rows only the token client has.

use crate::core::client_auth::{ClientAuthMethod, ClientSecret};
use crate::core::config::joi::{
    invalid, number, optional_function, optional_string, required_string,
};
use crate::core::config::options::{DefaultValue, Kind, Oidc, Row, Sources, row_of};
use crate::core::config::tls::tls_identity;
use crate::core::config::{
    Env, Input, Redacted, StoreSetting, cache_shape, client_credentials, store_setting,
    tenant_issuer,
};
use crate::core::error::Result;
use crate::outbound::dpop::{DpopKey, KeySource};
use serde_json::Value;

/// Seconds before expiry that a token is refreshed in the background.
pub const DEFAULT_REFRESH_SKEW: f64 = 60.0;
/// Retries of a token request that failed transiently (network, 5xx, 429).
pub const DEFAULT_RETRIES: f64 = 3.0;
/// More retries than this only prolong an outage for the caller.
pub const MAX_RETRIES: f64 = 10.0;

/// The rows only the token client has, in the shape of the shared table.
pub const TOKEN_CLIENT_OPTIONS: [Row; 2] = [
    Row {
        name: "refreshSkew",
        env: Some("TOKEN_REFRESH_SKEW"),
        kind: Kind::Number { min: 0.0 },
        default: DefaultValue::Number(DEFAULT_REFRESH_SKEW),
        oidc: Oidc::NotRead,
        doc: "Seconds before expiry that a cached token is refreshed in the background (never \
              earlier than halfway through its lifetime).",
    },
    Row {
        name: "retries",
        env: Some("TOKEN_REQUEST_RETRIES"),
        kind: Kind::Number { min: 0.0 },
        default: DefaultValue::Number(DEFAULT_RETRIES),
        oidc: Oidc::NotRead,
        doc: "Retries of a token request that failed transiently (network, 5xx, 429), at most 10.",
    },
];

/// The option names the binding reads beyond the shared table's.
pub const TOKEN_CLIENT_OPTION_NAMES: [&str; 2] = ["refreshSkew", "retries"];

/// `dpop`: off (absent, `false`), a key generated per client (`true`, `{}`), or the user's
/// private JWK (`{ key }`, an object or its JSON text), checked here so that a broken key is a
/// configuration error.
fn dpop_option(value: &Input) -> Result<Option<KeySource>> {
    let jwk = match value {
        Input::Missing | Input::Null | Input::Bool(false) => return Ok(None),
        Input::Bool(true) => return Ok(Some(KeySource::Generate)),
        Input::Object(_) => match value.get("key") {
            Input::Missing | Input::Null => return Ok(Some(KeySource::Generate)),
            key @ Input::Object(_) => key.to_json(),
            Input::Str(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        },
        _ => return Err(invalid("dpop", "must be a boolean or an object")),
    };
    let Value::Object(jwk) = jwk else {
        return Err(invalid("dpop.key", "must be a private JWK"));
    };
    let source = KeySource::Jwk(Redacted(jwk));
    DpopKey::new(&source)?;
    Ok(Some(source))
}

/// Everything the token client needs, resolved and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenClientConfig {
    /// The normalised tenant URL: the discovery base and the audience of client assertions.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<ClientSecret>,
    pub client_auth_method: ClientAuthMethod,
    pub trust_store_id: Option<String>,
    pub tls_identity: Option<Redacted<Vec<u8>>>,
    pub response_timeout_ms: Option<f64>,
    pub metadata_cache_duration: f64,
    pub stale_if_error_duration: f64,
    pub refresh_skew: f64,
    pub retries: u32,
    pub has_cache: bool,
    /// The fleet's shared store (`store`), its prefix and per-call bound, as the backend
    /// client reads them.
    pub store: Option<StoreSetting>,
    pub store_prefix: String,
    pub store_timeout_ms: f64,
    /// DPoP-bound tokens (RFC 9449) with this key, when set.
    pub dpop: Option<KeySource>,
}

fn extra_row(name: &str) -> &'static Row {
    TOKEN_CLIENT_OPTIONS
        .iter()
        .find(|row| row.name == name)
        .unwrap_or_else(|| panic!("no token client option named {name}"))
}

/// Options over `MONOCLOUD_BACKEND_*` variables over defaults, checked with the backend
/// client's messages for the options both share.
pub fn resolve(options: &Input, env: &Env) -> Result<TokenClientConfig> {
    let sources = Sources {
        options,
        env,
        oidc: false,
    };
    let value = |name: &str| sources.value(row_of(name));
    let defaulted_number = |row: &Row| -> Result<f64> {
        Ok(number(row.name, &sources.value(row), row.min())?
            .expect("an option with a default is never missing"))
    };

    let issuer = tenant_issuer(&value("tenantDomain"), true)?;
    let client_id = required_string("clientId", &value("clientId"))?;
    let (client_secret, client_auth_method) =
        client_credentials(&value("clientAuthMethod"), &value("clientSecret"))?;
    let trust_store_id = optional_string("trustStoreId", &value("trustStoreId"))?;
    optional_function("metadataResolver", &value("metadataResolver"))?;
    optional_function("fetcher", &value("fetcher"))?;
    optional_function("onEvent", &value("onEvent"))?;
    let metadata_cache_duration = defaulted_number(row_of("metadataCacheDuration"))?;
    let response_timeout_ms = Some(defaulted_number(row_of("responseTimeout"))?);
    let stale_if_error_duration = defaulted_number(row_of("staleIfErrorDuration"))?;
    let has_cache = cache_shape(&value("cache"))?;
    let store = store_setting(&value("store"))?;
    let store_prefix = optional_string("storePrefix", &value("storePrefix"))?.unwrap_or_default();
    let store_timeout_ms = defaulted_number(row_of("storeTimeout"))?;
    let tls_identity = tls_identity(
        optional_string("tlsClientCertificate", &value("tlsClientCertificate"))?,
        optional_string("tlsClientKey", &value("tlsClientKey"))?,
    )?;
    if client_auth_method.uses_mtls_endpoints() && tls_identity.is_none() {
        return Err(invalid(
            "tlsClientCertificate",
            &format!(
                "and \"tlsClientKey\" are required when clientAuthMethod is '{}'",
                client_auth_method.as_str()
            ),
        ));
    }
    let refresh_skew = defaulted_number(extra_row("refreshSkew"))?;
    let dpop = dpop_option(options.get("dpop"))?;
    let retries = defaulted_number(extra_row("retries"))?;
    if retries > MAX_RETRIES {
        return Err(invalid(
            "retries",
            &format!("must be less than or equal to {MAX_RETRIES}"),
        ));
    }

    Ok(TokenClientConfig {
        issuer,
        client_id,
        client_secret,
        client_auth_method,
        trust_store_id,
        tls_identity,
        response_timeout_ms,
        metadata_cache_duration,
        stale_if_error_duration,
        refresh_skew,
        retries: retries.floor() as u32,
        has_cache,
        store,
        store_prefix,
        store_timeout_ms,
        dpop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(members: &[(&str, Input)]) -> Input {
        Input::Object(
            members
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect(),
        )
    }

    #[test]
    fn the_shared_variables_and_the_token_client_own_are_read() {
        let env: Env = [
            (
                "MONOCLOUD_BACKEND_TENANT_DOMAIN",
                "https://tenant.example.com/",
            ),
            ("MONOCLOUD_BACKEND_CLIENT_ID", "orders"),
            ("MONOCLOUD_BACKEND_CLIENT_SECRET", "s3cret"),
            ("MONOCLOUD_BACKEND_TOKEN_REFRESH_SKEW", "30"),
            ("MONOCLOUD_BACKEND_TOKEN_REQUEST_RETRIES", "0"),
            // The backend client's own options mean nothing here, valid or not.
            ("MONOCLOUD_BACKEND_AUDIENCE", "not a uri"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        let config = resolve(&options(&[]), &env).unwrap();
        assert_eq!(config.issuer, "https://tenant.example.com");
        assert_eq!(config.client_id, "orders");
        assert_eq!(
            config.client_auth_method,
            ClientAuthMethod::ClientSecretPost
        );
        assert_eq!((config.refresh_skew, config.retries), (30.0, 0));
        assert!(!format!("{config:?}").contains("s3cret"));
        let given = resolve(&options(&[("refreshSkew", Input::Number(5.0))]), &env).unwrap();
        assert_eq!(given.refresh_skew, 5.0);
    }

    #[test]
    fn problems_are_named() {
        let tenant = (
            "tenantDomain",
            Input::Str("https://tenant.example.com".into()),
        );
        let message = |members: &[(&str, Input)]| {
            resolve(&options(members), &Env::new())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            message(std::slice::from_ref(&tenant)),
            "\"clientId\" is required"
        );
        let id = ("clientId", Input::Str("c".into()));
        assert!(
            message(&[tenant.clone(), id.clone(), ("retries", Input::Number(11.0))])
                .contains("\"retries\"")
        );
        assert!(
            message(&[
                tenant.clone(),
                id.clone(),
                (
                    "clientAuthMethod",
                    Input::Str("self_signed_tls_client_auth".into())
                )
            ])
            .contains("tlsClientCertificate")
        );
        assert!(
            message(&[
                (
                    "tenantDomain",
                    Input::Str("http://tenant.example.com".into())
                ),
                id
            ])
            .contains("https")
        );
    }

    /// Both clients read the credentials through one function: the same input gives the
    /// same message from either.
    #[test]
    fn credential_problems_read_as_the_backend_client_words_them() {
        use crate::core::config::Profile;
        let base = [
            (
                "tenantDomain",
                Input::Str("https://tenant.example.com".into()),
            ),
            ("audience", Input::Str("https://api.example.com".into())),
            ("clientId", Input::Str("c".into())),
        ];
        let cases: [&[(&str, Input)]; 3] = [
            &[("clientAuthMethod", Input::Str("password".into()))],
            &[
                ("clientAuthMethod", Input::Str("private_key_jwt".into())),
                ("clientSecret", Input::Str("not a jwk".into())),
            ],
            &[("clientSecret", Input::Number(3.0))],
        ];
        for extra in cases {
            let members: Vec<_> = base.iter().cloned().chain(extra.iter().cloned()).collect();
            let outbound = resolve(&options(&members), &Env::new()).unwrap_err();
            let backend =
                crate::core::config::resolve(&options(&members), &Env::new(), Profile::NodeClient)
                    .unwrap_err();
            assert_eq!(outbound.to_string(), backend.to_string());
        }
        let no_tenant = [("clientId", Input::Str("c".into()))];
        assert_eq!(
            resolve(&options(&no_tenant), &Env::new())
                .unwrap_err()
                .to_string(),
            "\"tenantDomain\" is required"
        );
    }
}
