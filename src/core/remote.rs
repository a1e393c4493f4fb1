//! A document from the issuer (the discovery document, the key set), fetched from its URL or
//! asked of the user's resolver, and kept for a while. Concurrent callers share one fetch, and
//! a failed fetch leaves nothing behind. When a refetch fails, the last good value may be
//! served for a bounded time (stale-if-error), retried at most every few seconds so an outage
//! neither blocks every request nor hammers the issuer.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};

use super::callbacks::{JsCall, Limit, invoke, no_arguments};
use super::clock::{Now, seconds};
use super::error::{Error, Result};
use super::events::{Event, Events};
use super::http::{Http, Request};

/// While serving a stale value, how long before the issuer is tried again.
const STALE_RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// One value with single flight and stale-if-error; what it holds is up to the caller. Its
/// expiry and stale window follow the caller's clock (see `clock`), so a test that moves
/// `Date.now()` past the cache duration sees a refetch, as with the original.
pub struct Fetched<T> {
    ttl_ms: f64,
    stale_if_error_ms: f64,
    /// `false` when the duration is 0: every caller fetches, as upstream does.
    caching: bool,
    state: Mutex<State<T>>,
    /// Held by the one caller fetching; the others wait on it and take its outcome.
    fetching: tokio::sync::Mutex<()>,
}

struct State<T> {
    /// What is served, and until when.
    current: Option<Entry<T>>,
    /// The last value fetched successfully, and when (caller's clock, ms).
    last_good: Option<(Arc<T>, f64)>,
    /// Fetches finished so far, and how the last one ended: a caller that waited on a fetch
    /// takes its outcome, failures included, instead of asking the issuer again.
    finished: u64,
    outcome: Option<Result<Arc<T>>>,
}

#[derive(Clone)]
struct Entry<T> {
    value: Arc<T>,
    /// Caller's clock, ms.
    until_ms: f64,
}

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
        Fetched {
            ttl_ms: seconds(duration_secs).as_secs_f64() * 1000.0,
            stale_if_error_ms: seconds(stale_if_error_secs).as_secs_f64() * 1000.0,
            caching: duration_secs > 0.0,
            state: Mutex::new(State {
                current: None,
                last_good: None,
                finished: 0,
                outcome: None,
            }),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value still current at `now`.
    fn current(&self, now: Now) -> Option<Arc<T>> {
        let state = self.state();
        let entry = state.current.as_ref()?;
        (now.millis() < entry.until_ms).then(|| entry.value.clone())
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
        now: Now,
        fetch: impl FnOnce() -> Fetch<'a, T>,
    ) -> Result<Got<T>> {
        if !refresh
            && self.caching
            && let Some(value) = self.current(now)
        {
            return Ok(Got {
                value,
                stale_for: None,
            });
        }
        Box::pin(self.get_slow(refresh, now, fetch)).await
    }

    async fn get_slow<'a>(
        &'a self,
        refresh: bool,
        now: Now,
        fetch: impl FnOnce() -> Fetch<'a, T>,
    ) -> Result<Got<T>> {
        let fresh = |value: T| Got {
            value: Arc::new(value),
            stale_for: None,
        };
        if !self.caching {
            return fetch().await.map(fresh);
        }
        if refresh {
            let value = Arc::new(fetch().await?);
            self.remember(&value, now);
            return Ok(Got {
                value,
                stale_for: None,
            });
        }
        let seen = self.state().finished;
        let _fetching = self.fetching.lock().await;
        {
            let state = self.state();
            if state.finished != seen
                && let Some(outcome) = &state.outcome
            {
                return outcome.clone().map(|value| Got {
                    value,
                    stale_for: None,
                });
            }
        }
        if let Some(value) = self.current(now) {
            return Ok(Got {
                value,
                stale_for: None,
            });
        }
        let (outcome, got) = match fetch().await {
            Ok(value) => {
                let value = Arc::new(value);
                self.remember(&value, now);
                (
                    Ok(value.clone()),
                    Ok(Got {
                        value,
                        stale_for: None,
                    }),
                )
            }
            Err(error) => match self.serve_stale(now) {
                // Only the caller whose fetch failed reports the stale value, once per retry.
                Some((value, stale_for)) => (
                    Ok(value.clone()),
                    Ok(Got {
                        value,
                        stale_for: Some(stale_for),
                    }),
                ),
                None => (Err(error.clone()), Err(error)),
            },
        };
        let mut state = self.state();
        state.finished += 1;
        state.outcome = Some(outcome);
        got
    }

    fn remember(&self, value: &Arc<T>, now: Now) {
        let mut state = self.state();
        state.last_good = Some((value.clone(), now.millis()));
        state.current = Some(Entry {
            value: value.clone(),
            until_ms: now.millis() + self.ttl_ms,
        });
    }

    /// The last good value, if it is still within the stale-if-error window, and how long past
    /// its expiry it is; it is served until the next retry.
    fn serve_stale(&self, now: Now) -> Option<(Arc<T>, Duration)> {
        let mut state = self.state();
        let (value, fetched_at_ms) = state.last_good.clone()?;
        let expired_at_ms = fetched_at_ms + self.ttl_ms;
        let window_end_ms = expired_at_ms + self.stale_if_error_ms;
        if now.millis() >= window_end_ms {
            return None;
        }
        let retry_ms = now.millis() + STALE_RETRY_INTERVAL.as_secs_f64() * 1000.0;
        state.current = Some(Entry {
            value: value.clone(),
            until_ms: retry_ms.min(window_end_ms),
        });
        Some((value, staleness(now, expired_at_ms)))
    }
}

fn staleness(now: Now, expired_at_ms: f64) -> Duration {
    seconds((now.millis() - expired_at_ms) / 1000.0)
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
    /// `responseTimeout`, for the resolver: a fetch that never ends would hold every caller
    /// sharing it. Past it, the fetch fails like an unreachable issuer and is abandoned, so the
    /// next caller starts a fresh one.
    resolver_timeout_ms: Option<f64>,
}

impl<T: Document> Remote<T> {
    pub fn new(
        resolver: Option<JsCall>,
        duration_secs: f64,
        stale_if_error_secs: f64,
        resolver_timeout_ms: Option<f64>,
    ) -> Self {
        Remote {
            fetched: Fetched::new(duration_secs, stale_if_error_secs),
            resolver,
            resolver_timeout_ms,
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
        now: Now,
        url: impl FnOnce() -> U + Send + 'a,
        read: impl FnOnce(Map<String, Value>) -> Result<T> + Send + 'a,
    ) -> Result<Arc<T>>
    where
        U: Future<Output = Result<String>> + Send + 'a,
    {
        let source = T::SOURCE;
        let got = self
            .fetched
            .get(refresh, now, || {
                Box::pin(async move {
                    let document = match &self.resolver {
                        Some(resolver) => {
                            let limit =
                                Limit::new(source.resolver_option, self.resolver_timeout_ms);
                            resolved_object(resolver, source.resolver_option, limit).await
                        }
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
async fn resolved_object(
    resolver: &JsCall,
    name: &str,
    limit: Limit,
) -> Result<Map<String, Value>> {
    match invoke(resolver, no_arguments(), limit).await? {
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

    fn at(ms: f64) -> Now {
        Now::from_caller(Some(ms))
    }

    const T0: f64 = 1_700_000_000_000.0;

    #[tokio::test]
    async fn single_value_with_stale_if_error() {
        let fetched: Fetched<u32> = Fetched::new(0.05, 60.0);
        let got = fetched
            .get(false, at(T0), || Box::pin(async { Ok(1) }))
            .await
            .unwrap();
        assert_eq!((*got.value, got.stale_for.is_some()), (1, false));
        let cached = fetched
            .get(false, at(T0 + 10.0), || Box::pin(async { Ok(2) }))
            .await
            .unwrap();
        assert_eq!(*cached.value, 1, "served from the cache");
        let stale = fetched
            .get(false, at(T0 + 80.0), || {
                Box::pin(async { Err(Error::http("down", None)) })
            })
            .await
            .unwrap();
        assert_eq!((*stale.value, stale.stale_for.is_some()), (1, true));
        let refreshed = fetched
            .get(true, at(T0 + 90.0), || Box::pin(async { Ok(3) }))
            .await
            .unwrap();
        assert_eq!(*refreshed.value, 3);
        let failed_refresh = fetched
            .get(true, at(T0 + 100.0), || {
                Box::pin(async { Err(Error::http("down", None)) })
            })
            .await;
        assert!(failed_refresh.is_err());
        assert_eq!(
            *fetched
                .get(false, at(T0 + 110.0), || Box::pin(async { Ok(4) }))
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
            .get(false, at(T0), || Box::pin(async { Ok(1) }))
            .await
            .unwrap();
        assert!(
            fetched
                .get(false, at(T0 + 40.0), || {
                    Box::pin(async { Err(Error::http("down", None)) })
                })
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn without_caching_every_call_fetches() {
        let fetched: Fetched<u32> = Fetched::new(0.0, 300.0);
        assert_eq!(
            *fetched
                .get(false, at(T0), || Box::pin(async { Ok(1) }))
                .await
                .unwrap()
                .value,
            1
        );
        assert_eq!(
            *fetched
                .get(false, at(T0), || Box::pin(async { Ok(2) }))
                .await
                .unwrap()
                .value,
            2
        );
    }

    /// The cache duration is measured on the caller's clock: moving it past the duration
    /// refetches, however little real time has passed; moving it back finds the fresh value.
    #[tokio::test]
    async fn expiry_follows_the_callers_clock() {
        let fetched: Fetched<u32> = Fetched::new(300.0, 0.0);
        let get = |now: f64, value: u32| {
            let fetched = &fetched;
            async move {
                *fetched
                    .get(false, at(now), || Box::pin(async move { Ok(value) }))
                    .await
                    .unwrap()
                    .value
            }
        };
        assert_eq!(get(T0, 1).await, 1);
        assert_eq!(get(T0 + 299_000.0, 2).await, 1, "within the duration");
        assert_eq!(
            get(T0 + 300_000.0, 3).await,
            3,
            "expired by the caller's clock"
        );
        assert_eq!(get(T0 + 301_000.0, 4).await, 3);
    }

    /// A stale value is served within the window the caller's clock measures, and not beyond.
    #[tokio::test]
    async fn the_stale_window_follows_the_callers_clock() {
        let fetched: Fetched<u32> = Fetched::new(300.0, 300.0);
        fn down<'a>() -> Fetch<'a, u32> {
            Box::pin(async { Err(Error::http("down", None)) })
        }
        fetched
            .get(false, at(T0), || Box::pin(async { Ok(1) }))
            .await
            .unwrap();
        let stale = fetched.get(false, at(T0 + 500_000.0), down).await.unwrap();
        assert_eq!(*stale.value, 1);
        assert_eq!(stale.stale_for, Some(Duration::from_secs(200)));
        assert!(
            fetched.get(false, at(T0 + 600_000.0), down).await.is_err(),
            "past duration + staleIfErrorDuration"
        );
    }

    /// A resolver that never settles fails its fetch after the timeout, for every caller
    /// sharing it; the next call asks the resolver again instead of joining the hung one.
    #[tokio::test]
    async fn a_resolver_that_never_settles_is_abandoned() {
        use crate::core::callbacks::JsCall;
        use crate::core::keys::KeySet;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let resolver: JsCall = Arc::new(move |_| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            Box::pin(async move {
                if first {
                    std::future::pending::<()>().await;
                }
                Ok(r#"{"ok":{"keys":[]}}"#.to_owned())
            })
        });
        let remote: Remote<KeySet> = Remote::new(Some(resolver), 300.0, 0.0, Some(30.0));
        let http = Http::new(None, None, None).unwrap();
        let events = Events::default();
        let get = || {
            remote.get(
                &http,
                &events,
                false,
                at(T0),
                || async { Ok(String::new()) },
                |document| KeySet::from_document(document).map_err(Error::validation),
            )
        };
        let started = std::time::Instant::now();
        let (a, b) = tokio::join!(get(), get());
        assert!(started.elapsed() < Duration::from_secs(5));
        for result in [a, b] {
            match result {
                Err(Error::Http { message, raw, .. }) => {
                    assert_eq!(
                        message,
                        "jwksResolver did not settle within 30ms (responseTimeout)"
                    );
                    assert!(raw.is_none());
                }
                _ => panic!("expected a timed-out resolver"),
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one shared call");
        assert!(get().await.is_ok(), "a fresh call, answered");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// Concurrent callers share one fetch, and its failure.
    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_its_failure() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let fetched: Fetched<u32> = Fetched::new(300.0, 0.0);
        let calls = AtomicUsize::new(0);
        let slow = |ok: bool| {
            calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if ok {
                    Ok(7u32)
                } else {
                    Err(Error::http("down", None))
                }
            }) as Fetch<'_, u32>
        };
        let (a, b) = tokio::join!(
            fetched.get(false, at(T0), || slow(false)),
            fetched.get(false, at(T0), || slow(false))
        );
        assert!(a.is_err() && b.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let (a, b) = tokio::join!(
            fetched.get(false, at(T0), || slow(true)),
            fetched.get(false, at(T0), || slow(true))
        );
        assert_eq!((*a.unwrap().value, *b.unwrap().value), (7, 7));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
