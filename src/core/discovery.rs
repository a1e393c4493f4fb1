//! OpenID Provider discovery (OpenID Connect Discovery 1.0, RFC 8414): the issuer's metadata,
//! from `{issuer}/.well-known/openid-configuration` or the user's `metadataResolver`, and the
//! endpoints it names, with the mTLS aliases of RFC 8705 §5.

use std::future::ready;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::callbacks::JsCall;
use super::clock::Now;
use super::config::Config;
use super::error::Result;
use super::events::{Event, Events};
use super::http::Http;
use super::remote::{Document, Remote, Source};

/// The issuer's discovery document.
#[derive(Debug)]
pub struct Metadata {
    pub document: Map<String, Value>,
}

impl Metadata {
    pub fn endpoint(&self, name: &str) -> Option<&str> {
        self.document
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// An endpoint of `mtls_endpoint_aliases`, or of `mtls_additional_endpoint_aliases[store]`.
    pub fn mtls_alias(&self, name: &str, trust_store: Option<&str>) -> Option<&str> {
        let aliases = match trust_store {
            Some(store) => self
                .document
                .get("mtls_additional_endpoint_aliases")?
                .get(store)?,
            None => self.document.get("mtls_endpoint_aliases")?,
        };
        aliases
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

impl Document for Metadata {
    const SOURCE: Source = Source::new("metadata", "metadataResolver", "metadata");

    fn fetched(&self) -> Event<'_> {
        Event::MetadataFetched
    }
}

/// The client's view of its issuer's metadata.
pub struct Discovery {
    remote: Remote<Metadata>,
    url: String,
}

impl Discovery {
    pub fn new(config: &Config, resolver: Option<JsCall>) -> Discovery {
        Discovery::for_issuer(
            &config.issuer,
            config.metadata_cache_duration,
            config.stale_if_error_duration,
            config.response_timeout_ms,
            resolver,
        )
    }

    /// For a client that is configured without a `Config` (the outbound token client).
    pub fn for_issuer(
        issuer: &str,
        cache_duration_secs: f64,
        stale_if_error_secs: f64,
        resolver_timeout_ms: Option<f64>,
        resolver: Option<JsCall>,
    ) -> Discovery {
        Discovery {
            remote: Remote::new(
                resolver,
                cache_duration_secs,
                stale_if_error_secs,
                resolver_timeout_ms,
            ),
            url: format!("{issuer}/.well-known/openid-configuration"),
        }
    }

    pub async fn metadata(
        &self,
        http: &Http,
        events: &Events,
        refresh: bool,
        now: Now,
    ) -> Result<Arc<Metadata>> {
        self.remote
            .get(
                http,
                events,
                refresh,
                now,
                || ready(Ok(self.url.clone())),
                |document| Ok(Metadata { document }),
            )
            .await
    }
}
