//! A single value fetched from the issuer (discovery document, key set), kept for a while.
//! Concurrent callers share one fetch, and a failed fetch leaves nothing behind.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::error::Result;

pub struct Fetched<T> {
    /// `None` when the duration is 0: every caller fetches, as upstream does.
    cache: Option<moka::future::Cache<(), Arc<T>>>,
}

impl<T: Send + Sync + 'static> Fetched<T> {
    pub fn new(duration_secs: f64) -> Self {
        let cache = (duration_secs > 0.0).then(|| {
            moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(Duration::from_secs_f64(duration_secs))
                .build()
        });
        Fetched { cache }
    }

    /// The cached value, or the result of `fetch` (shared with concurrent callers). With
    /// `refresh`, fetches regardless; the cached value is replaced only when that succeeds, so
    /// a failed refresh leaves the last good value in place until it expires.
    pub async fn get<F>(&self, refresh: bool, fetch: F) -> Result<Arc<T>>
    where
        F: Future<Output = Result<T>>,
    {
        let Some(cache) = &self.cache else {
            return fetch.await.map(Arc::new);
        };
        if refresh {
            let fresh = Arc::new(fetch.await?);
            cache.insert((), fresh.clone()).await;
            return Ok(fresh);
        }
        cache
            .try_get_with((), async { fetch.await.map(Arc::new) })
            .await
            .map_err(|shared| (*shared).clone())
    }

    /// The cached value, if there is one, without fetching.
    pub async fn peek(&self) -> Option<Arc<T>> {
        self.cache.as_ref()?.get(&()).await
    }
}
