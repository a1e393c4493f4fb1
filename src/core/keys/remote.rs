//! The issuer's key set: from its `jwksResolver` or the discovery document's `jwks_uri`,
//! numbered by fetch so that what an older set verified is not trusted once a newer one has
//! arrived, and fetched again (at most every so often) when a token names a key it lacks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::local::{KeySet, Selection};
use crate::core::callbacks::JsCall;
use crate::core::clock::Now;
use crate::core::config::Config;
use crate::core::discovery::Discovery;
use crate::core::error::{Error, Result};
use crate::core::events::{Event, Events};
use crate::core::http::Http;
use crate::core::jose::Alg;
use crate::core::remote::{Document, Remote, Source};

/// Tokens naming a key we do not have trigger a key-set refetch at most this often, so a
/// flood of made-up `kid`s cannot hammer the issuer.
const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

impl Document for KeySet {
    const SOURCE: Source = Source::new("jwks", "jwksResolver", "JWKS");

    fn fetched(&self) -> Event<'_> {
        Event::JwksFetched {
            keys: self.keys.len(),
        }
    }
}

pub struct RemoteKeySet {
    remote: Remote<KeySet>,
    /// The generation of the newest key set fetched (0: none yet).
    generation: AtomicU64,
    last_unknown_kid_refetch: Mutex<Option<Instant>>,
}

impl RemoteKeySet {
    pub fn new(config: &Config, resolver: Option<JsCall>) -> RemoteKeySet {
        RemoteKeySet {
            remote: Remote::new(
                resolver,
                config.jwks_cache_duration,
                config.stale_if_error_duration,
                config.response_timeout_ms,
            ),
            generation: AtomicU64::new(0),
            last_unknown_kid_refetch: Mutex::new(None),
        }
    }

    /// The generation of the newest set fetched: what a verified token's set must still be.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub async fn get(
        &self,
        http: &Http,
        events: &Events,
        discovery: &Discovery,
        refresh: bool,
        now: Now,
    ) -> Result<Arc<KeySet>> {
        self.remote
            .get(
                http,
                events,
                refresh,
                now,
                || async move {
                    // Discovery reports its own failures.
                    let metadata = discovery.metadata(http, events, false, now).await?;
                    metadata
                        .endpoint("jwks_uri")
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            Error::validation(
                                "jwks_uri endpoint is required but not available in the issuer \
                             metadata",
                            )
                        })
                },
                move |document| {
                    let mut keys = KeySet::from_document(document)
                        .map_err(|message| Error::http(message, None))?;
                    keys.generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
                    keys.fetched_at_ms = now.millis();
                    Ok(keys)
                },
            )
            .await
    }

    /// The set to verify a token signed with `alg` by `kid`. When no key fits, the issuer may
    /// have rotated its keys: the set is fetched again, unless that was done very recently. If
    /// the refetch fails, the token is judged on the keys we have: an outage must not turn a
    /// bad token into a server error, nor drop the keys good tokens need.
    pub async fn for_token(
        &self,
        http: &Http,
        events: &Events,
        discovery: &Discovery,
        alg: Alg,
        kid: Option<&Value>,
        now: Now,
    ) -> Result<Arc<KeySet>> {
        let mut keys = self.get(http, events, discovery, false, now).await?;
        if let Err(Selection::NoneFits) = keys.select(alg, kid)
            && self.may_refetch_for_unknown_kid()
            && let Ok(fresh) = Box::pin(self.get(http, events, discovery, true, now)).await
        {
            keys = fresh;
        }
        Ok(keys)
    }

    fn may_refetch_for_unknown_kid(&self) -> bool {
        let mut last = self
            .last_unknown_kid_refetch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < UNKNOWN_KID_REFETCH_INTERVAL) {
            return false;
        }
        *last = Some(now);
        true
    }
}
