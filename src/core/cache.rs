//! A single value fetched from the issuer (discovery document, key set), kept for a while.
//! Concurrent callers share one fetch, and a failed fetch leaves nothing behind. When a refetch
//! fails, the last good value may be served for a bounded time (stale-if-error), retried at
//! most every few seconds so an outage neither blocks every request nor hammers the issuer.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use moka::Expiry;

use super::clock::{after, seconds};
use super::error::{Error, Result};

/// While serving a stale value, how long before the issuer is tried again.
const STALE_RETRY_INTERVAL: Duration = Duration::from_secs(10);

pub struct Fetched<T> {
    ttl: Duration,
    stale_if_error: Duration,
    /// `None` when the duration is 0: every caller fetches, as upstream does.
    cache: Option<moka::future::Cache<(), Entry<T>>>,
    /// The last value fetched successfully, and when it was fetched.
    last_good: Mutex<Option<(Arc<T>, Instant)>>,
}

struct Entry<T> {
    value: Arc<T>,
    until: Instant,
}

impl<T> Clone for Entry<T> {
    fn clone(&self) -> Self {
        Entry {
            value: self.value.clone(),
            until: self.until,
        }
    }
}

/// A cached value that knows when it stops being valid.
pub trait Deadline {
    fn deadline(&self) -> Instant;
}

impl<T: Deadline> Deadline for Arc<T> {
    fn deadline(&self) -> Instant {
        (**self).deadline()
    }
}

/// moka's per-entry expiry: each entry lives until its own deadline.
pub struct AtDeadline;

impl<K, V: Deadline> Expiry<K, V> for AtDeadline {
    fn expire_after_create(&self, _: &K, value: &V, now: Instant) -> Option<Duration> {
        Some(value.deadline().saturating_duration_since(now))
    }
}

impl<T> Deadline for Entry<T> {
    fn deadline(&self) -> Instant {
        self.until
    }
}

/// The key our caches use for a token: its SHA-256, so no raw token is ever a key.
pub fn token_key(token: &str) -> [u8; 32] {
    let mut key = [0; 32];
    key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    key
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
