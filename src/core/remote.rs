//! A document from the issuer (the discovery document, the key set), fetched from its URL or
//! asked of the user's resolver, and kept for a while. Concurrent callers share one fetch, and
//! a failed fetch leaves nothing behind. When a refetch fails, the last good value may be
//! served for a bounded time (stale-if-error), retried at most every few seconds so an outage
//! neither blocks every request nor hammers the issuer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::cache::{AtDeadline, Expiring};
use super::callbacks::{JsCall, invoke, no_arguments};
use super::clock::{after, seconds};
use super::error::{Error, Result};
use super::events::{Event, Events};
use super::http::{Http, Request};

/// While serving a stale value, how long before the issuer is tried again.
const STALE_RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// One value with single flight and stale-if-error; what it holds is up to the caller.
pub struct Fetched<T> {
    ttl: Duration,
    stale_if_error: Duration,
    /// `None` when the duration is 0: every caller fetches, as upstream does.
    cache: Option<moka::future::Cache<(), Entry<T>>>,
    /// The last value fetched successfully, and when it was fetched.
    last_good: Mutex<Option<(Arc<T>, Instant)>>,
}

type Entry<T> = Expiring<Arc<T>>;

/// A fetch in progress.
pub type Fetch<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A value, and whether it is a stale one served because the issuer failed.
pub struct Got<T> {
    pub value: Arc<T>,
    /// Set when this call's fetch failed and the last good value was served instead: how long
    /// past its expiry that value is.
    pub stale_for: Option<Duration>,
}

impl<T: Send + Sync + 'static> Fetched<T> {
    pub fn new(duration_secs: f64, stale_if_error_secs: f64) -> Self {
        let cache = (duration_secs > 0.0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(1)
                .expire_after(AtDeadline)
                .build()
        });
        Fetched {
            ttl: seconds(duration_secs),
            stale_if_error: seconds(stale_if_error_secs),
            cache,
            last_good: Mutex::new(None),
        }
    }

    /// The cached value, or the result of `fetch` (shared with concurrent callers). With
    /// `refresh`, fetches regardless; the cached value is replaced only when that succeeds.
    /// When a fetch fails and the last good value is recent enough, that value is served.
    ///
    /// `fetch` is only called when a fetch happens, and its future is boxed: the fetch (an HTTP
    /// exchange) is rare, and inlining its state would make every caller's future tens of
    /// kilobytes, copied on every request.
    pub async fn get<'a>(
        &'a self,
        refresh: bool,
        fetch: impl FnOnce() -> Fetch<'a, T>,
    ) -> Result<Got<T>> {
        if !refresh
            && let Some(cache) = &self.cache
            && let Some(entry) = cache.get(&()).await
        {
            return Ok(Got {
                value: entry.value,
                stale_for: None,
            });
        }
        Box::pin(self.get_slow(refresh, fetch())).await
    }

    async fn get_slow(&self, refresh: bool, fetch: Fetch<'_, T>) -> Result<Got<T>> {
        let Some(cache) = &self.cache else {
            return fetch.await.map(|v| Got {
                value: Arc::new(v),
                stale_for: None,
            });
        };
        if refresh {
            let value = Arc::new(fetch.await?);
            cache.insert((), self.fresh_entry(value.clone())).await;
            return Ok(Got {
                value,
                stale_for: None,
            });
        }
        // Only the caller whose fetch failed reports the stale value, once per retry.
        let substituted = AtomicBool::new(false);
        let entry = cache
            .try_get_with((), async {
                match fetch.await {
                    Ok(value) => Ok(self.fresh_entry(Arc::new(value))),
                    Err(error) => {
                        let stale = self.stale_entry().ok_or(error)?;
                        substituted.store(true, Ordering::Relaxed);
                        Ok(stale)
                    }
                }
            })
            .await
            .map_err(|shared: Arc<Error>| (*shared).clone())?;
        let stale_for = substituted
            .load(Ordering::Relaxed)
            .then(|| self.staleness());
        Ok(Got {
            value: entry.value,
            stale_for,
        })
    }

    fn fresh_entry(&self, value: Arc<T>) -> Entry<T> {
        let now = Instant::now();
        *self.last_good.lock().unwrap_or_else(|p| p.into_inner()) = Some((value.clone(), now));
        Entry {
            value,
            until: after(now, self.ttl),
        }
    }

    /// The last good value, if it is still within the stale-if-error window; kept only until
    /// the next retry.
    fn stale_entry(&self) -> Option<Entry<T>> {
        let last = self.last_good.lock().unwrap_or_else(|p| p.into_inner());
        let (value, fetched_at) = last.as_ref()?;
        let window_end = after(*fetched_at, self.ttl.saturating_add(self.stale_if_error));
        let now = Instant::now();
        (window_end > now).then(|| Entry {
            value: value.clone(),
            until: after(now, STALE_RETRY_INTERVAL).min(window_end),
        })
    }

    fn staleness(&self) -> Duration {
        let last = self.last_good.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref()
            .map(|(_, fetched_at)| fetched_at.elapsed().saturating_sub(self.ttl))
            .unwrap_or_default()
    }
}

/// What a document is called where it surfaces: in events, in a resolver's error, and in a
/// failed fetch's message.
pub struct Source {
    /// The `resource` of `issuer_error` and `stale_served` events.
    pub resource: &'static str,
    /// The option that names the user's resolver.
    pub resolver_option: &'static str,
    /// "Error while fetching {what}".
    pub what: &'static str,
}

impl Source {
    pub const fn new(
        resource: &'static str,
        resolver_option: &'static str,
        what: &'static str,
    ) -> Source {
        Source {
            resource,
            resolver_option,
            what,
        }
    }
}

/// A document the issuer publishes.
pub trait Document: Sized + Send + Sync + 'static {
    const SOURCE: Source;

    /// What the client reports when a new one arrives.
    fn fetched(&self) -> Event<'_>;
}

/// One issuer document: asked of the resolver when there is one, otherwise fetched from the
/// URL its caller supplies, then read into `T` and kept as [`Fetched`] keeps it.
pub struct Remote<T> {
    fetched: Fetched<T>,
    resolver: Option<JsCall>,
}

impl<T: Document> Remote<T> {
    pub fn new(resolver: Option<JsCall>, duration_secs: f64, stale_if_error_secs: f64) -> Self {
        Remote {
            fetched: Fetched::new(duration_secs, stale_if_error_secs),
            resolver,
        }
    }

    /// The document, fetched when the cache has none (or with `refresh`). `url` is asked only
    /// when there is no resolver and a fetch happens; a failure there is reported by whatever
    /// produced it, not as this document's. `read` turns the JSON into `T`; its failure is an
    /// issuer error like a failed fetch.
    pub async fn get<'a, U>(
        &'a self,
        http: &'a Http,
        events: &'a Events,
        refresh: bool,
        url: impl FnOnce() -> U + Send + 'a,
        read: impl FnOnce(Map<String, Value>) -> Result<T> + Send + 'a,
    ) -> Result<Arc<T>>
    where
        U: Future<Output = Result<String>> + Send + 'a,
    {
        let source = T::SOURCE;
        let got = self
            .fetched
            .get(refresh, || {
                Box::pin(async move {
                    let document = match &self.resolver {
                        Some(resolver) => resolved_object(resolver, source.resolver_option).await,
                        None => {
                            let url = url().await?;
                            fetch_document(http, &url, source.what).await
                        }
                    };
                    match document.and_then(read) {
                        Ok(value) => {
                            events.emit(value.fetched());
                            Ok(value)
                        }
                        Err(error) => {
                            events.issuer_error(source.resource, &error);
                            Err(error)
                        }
                    }
                })
            })
            .await?;
        if let Some(stale_for) = got.stale_for {
            events.emit(Event::StaleServed {
                resource: source.resource,
                stale_for_seconds: stale_for.as_secs_f64(),
            });
        }
        Ok(got.value)
    }
}

/// A resolver's document; it must be a JSON object.
async fn resolved_object(resolver: &JsCall, name: &str) -> Result<Map<String, Value>> {
    match invoke(resolver, no_arguments()).await? {
        Value::Object(document) => Ok(document),
        _ => Err(Error::validation(format!("{name} must return an object"))),
    }
}

async fn fetch_document(http: &Http, url: &str, what: &str) -> Result<Map<String, Value>> {
    let response = http.send(Request::get(url)).await?;
    if response.status != 200 {
        return Err(Error::http(
            format!(
                "Error while fetching {what}. Unexpected status code: {}",
                response.status
            ),
            Some(response.raw()),
        ));
    }
    response.json_object()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn single_value_with_stale_if_error() {
        let fetched: Fetched<u32> = Fetched::new(0.05, 60.0);
        let got = fetched
            .get(false, || Box::pin(async { Ok(1) }))
            .await
            .unwrap();
        assert_eq!((*got.value, got.stale_for.is_some()), (1, false));
        let cached = fetched
            .get(false, || Box::pin(async { Ok(2) }))
            .await
            .unwrap();
        assert_eq!(*cached.value, 1, "served from the cache");
        tokio::time::sleep(Duration::from_millis(80)).await;
        let stale = fetched
            .get(false, || Box::pin(async { Err(Error::http("down", None)) }))
            .await
            .unwrap();
        assert_eq!((*stale.value, stale.stale_for.is_some()), (1, true));
        let refreshed = fetched
            .get(true, || Box::pin(async { Ok(3) }))
            .await
            .unwrap();
        assert_eq!(*refreshed.value, 3);
        let failed_refresh = fetched
            .get(true, || Box::pin(async { Err(Error::http("down", None)) }))
            .await;
        assert!(failed_refresh.is_err());
        assert_eq!(
            *fetched
                .get(false, || Box::pin(async { Ok(4) }))
                .await
                .unwrap()
                .value,
            3
        );
    }

    #[tokio::test]
    async fn no_stale_value_beyond_the_window() {
        let fetched: Fetched<u32> = Fetched::new(0.02, 0.0);
        fetched
            .get(false, || Box::pin(async { Ok(1) }))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(
            fetched
                .get(false, || Box::pin(async { Err(Error::http("down", None)) }))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn without_caching_every_call_fetches() {
        let fetched: Fetched<u32> = Fetched::new(0.0, 300.0);
        assert_eq!(
            *fetched
                .get(false, || Box::pin(async { Ok(1) }))
                .await
                .unwrap()
                .value,
            1
        );
        assert_eq!(
            *fetched
                .get(false, || Box::pin(async { Ok(2) }))
                .await
                .unwrap()
                .value,
            2
        );
    }
}
