//! The issuers a client trusts: the one tenant, or the list of `issuers`. Each has its own
//! discovery document and key set, fetched when its first token arrives, then kept, refreshed
//! and served stale by the same rules as the single tenant's. With a list, a token's `iss`
//! picks its issuer before anything is fetched, so a token naming any other issuer costs no
//! request; and each key set numbers its own generations, so rotating one issuer's keys leaves
//! what the others verified in the verified-token cache.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::callbacks::JsCall;
use super::config::Config;
use super::discovery::Discovery;
use super::dpop::htu;
use super::keys::RemoteKeySet;

/// One trusted issuer.
pub struct Trusted {
    /// The `iss` its tokens carry: the tenant URL (or `issuer`), or the URL as listed.
    pub iss: String,
    pub discovery: Discovery,
    pub keys: RemoteKeySet,
}

pub struct Issuers {
    trusted: Vec<Trusted>,
    /// With a list: each issuer's comparison form (`match_key`), in the order of `trusted`.
    listed: Option<Vec<String>>,
}

impl Issuers {
    pub fn new(config: &Config, metadata: Option<JsCall>, jwks: Option<JsCall>) -> Issuers {
        if config.issuers.is_empty() {
            return Issuers {
                trusted: vec![Trusted {
                    iss: config
                        .expected_issuer
                        .clone()
                        .unwrap_or_else(|| config.issuer.clone()),
                    discovery: Discovery::new(config, metadata),
                    keys: RemoteKeySet::new(config, jwks),
                }],
                listed: None,
            };
        }
        let trusted = config
            .issuers
            .iter()
            .map(|url| {
                let base = url.strip_suffix('/').unwrap_or(url);
                Trusted {
                    iss: url.clone(),
                    discovery: Discovery::for_issuer(
                        base,
                        config.metadata_cache_duration,
                        config.stale_if_error_duration,
                        config.response_timeout_ms,
                        metadata.as_ref().map(|call| naming(call, url)),
                    ),
                    keys: RemoteKeySet::new(config, jwks.as_ref().map(|call| naming(call, url))),
                }
            })
            .collect();
        Issuers {
            trusted,
            listed: Some(config.issuers.iter().map(|url| match_key(url)).collect()),
        }
    }

    /// Whether tokens pick their issuer by `iss` (a list), rather than all going to the tenant.
    pub fn is_list(&self) -> bool {
        self.listed.is_some()
    }

    /// The tenant, or the first listed issuer.
    pub fn first(&self) -> &Trusted {
        &self.trusted[0]
    }

    pub fn get(&self, index: usize) -> Option<&Trusted> {
        self.trusted.get(index)
    }

    /// The listed issuer the (not yet verified) claims name, by position: `None` when the token
    /// names none of them. Without a list, always the tenant (its `iss` is checked later, with
    /// the other claims).
    pub fn pick(&self, claims: &Map<String, Value>) -> Option<usize> {
        let Some(listed) = &self.listed else {
            return Some(0);
        };
        let iss = claims.get("iss")?.as_str()?;
        let key = match_key(iss);
        if key.is_empty() {
            return None;
        }
        listed.iter().position(|listed| *listed == key)
    }
}

/// The form issuer URLs are compared in: scheme and host in lower case, default port dropped,
/// one trailing slash dropped (RFC 3986 §6.2.2-6.2.3). Two URLs with the same form name the same
/// issuer; the token's signature must still come from that issuer's keys. Empty for anything
/// that is not an absolute http(s) URL without query or fragment, which matches nothing.
pub fn match_key(url: &str) -> String {
    if url.contains(['?', '#']) {
        return String::new();
    }
    match htu::normalise(url) {
        Some(mut normal) => {
            if normal.ends_with('/') {
                normal.pop();
            }
            normal
        }
        None => String::new(),
    }
}

/// The user's resolver, called for one issuer of a list: it is given that issuer's URL.
fn naming(call: &JsCall, issuer: &str) -> JsCall {
    let call = call.clone();
    let request = json!({ "issuer": issuer }).to_string();
    Arc::new(move |_| call(request.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{Input, Profile, resolve};

    fn config(issuers: &[&str]) -> Config {
        let options = Input::Object(vec![
            (
                "issuers".into(),
                Input::Array(issuers.iter().map(|i| Input::Str((*i).into())).collect()),
            ),
            ("audience".into(), Input::Str("https://api.example".into())),
        ]);
        resolve(&options, &Default::default(), Profile::NodeClient).unwrap()
    }

    fn claims(iss: Value) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("iss".into(), iss);
        map
    }

    #[test]
    fn the_tokens_iss_picks_its_issuer() {
        let issuers = Issuers::new(
            &config(&["https://a.example", "https://B.example:443/tenant/"]),
            None,
            None,
        );
        assert!(issuers.is_list());
        let pick = |iss: &str| issuers.pick(&claims(json!(iss)));
        assert_eq!(pick("https://a.example"), Some(0));
        assert_eq!(pick("https://A.EXAMPLE/"), Some(0));
        assert_eq!(pick("https://b.example/tenant"), Some(1));
        assert_eq!(pick("https://b.example/tenant/"), Some(1));
        for unlisted in [
            "https://c.example",
            "https://b.example",
            "https://b.example/tenant/x",
            "http://a.example",
            "https://a.example:8443",
            "https://a.example?x",
            "https://user@a.example",
            "a.example",
            "",
        ] {
            assert_eq!(pick(unlisted), None, "{unlisted}");
        }
        assert_eq!(issuers.pick(&claims(json!(1))), None);
        assert_eq!(issuers.pick(&Map::new()), None);
        assert_eq!(issuers.get(1).unwrap().iss, "https://B.example:443/tenant/");
    }

    #[test]
    fn the_one_tenant_takes_every_token() {
        let options = Input::Object(vec![
            (
                "tenantDomain".into(),
                Input::Str("https://t.example".into()),
            ),
            ("audience".into(), Input::Str("https://api.example".into())),
        ]);
        let config = resolve(&options, &Default::default(), Profile::NodeClient).unwrap();
        let issuers = Issuers::new(&config, None, None);
        assert!(!issuers.is_list());
        assert_eq!(issuers.pick(&Map::new()), Some(0));
        assert_eq!(issuers.first().iss, "https://t.example");
    }

    /// A resolver serving a list is told which issuer it is asked for.
    #[tokio::test]
    async fn a_resolver_is_given_the_issuer() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let resolver: JsCall = Arc::new(move |request| {
            record.lock().unwrap().push(request);
            Box::pin(async { Ok(r#"{"ok":{}}"#.to_owned()) })
        });
        let wrapped = naming(&resolver, "https://a.example/");
        wrapped("{}".into()).await.unwrap();
        assert_eq!(
            seen.lock().unwrap().as_slice(),
            [r#"{"issuer":"https://a.example/"}"#]
        );
    }
}
