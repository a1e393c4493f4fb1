//! Where introspection answers are kept between requests: the user's cache adapter, or our
//! own bounded memory store (only when asked for, with `introspectionCacheMaxEntries`). Expiry
//! is read on the caller's clock, like every wall-clock decision.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::core::cache::{AtDeadline, Deadline, token_key};
use crate::core::callbacks::{JsCall, invoke_within};
use crate::core::clock::{Now, after, seconds};
use crate::core::error::Result;
use crate::core::events::{Event, Events};
use crate::store::SharedStore;

/// How long the shared store keeps an inactive answer, at most: a token the issuer did not
/// know may be one it is about to issue.
const SHARED_INACTIVE_SECONDS: f64 = 10.0;

/// Where introspection answers are kept between requests.
pub enum Store {
    /// The user's `IIntrospectionCache`, keyed by the raw token as upstream does. Each call
    /// is bounded by `responseTimeout` (`timeout_ms`): a cache that does not answer in time
    /// is a miss, and a write that does not finish is left behind.
    Adapter {
        get: JsCall,
        set: JsCall,
        timeout_ms: Option<f64>,
    },
    /// Our own: bounded, keyed by a SHA-256 of the token.
    Memory(MemoryStore),
    /// The fleet's (`store`), keyed by a hash of `scope` (the issuer) and the token. A store
    /// that fails or is slow is a miss: the issuer is asked, never the token accepted.
    Shared {
        store: Arc<SharedStore>,
        scope: String,
    },
}

impl Store {
    pub async fn get(&self, token: &str, now: Now, events: &Events) -> Result<Option<Value>> {
        match self {
            Store::Adapter {
                get, timeout_ms, ..
            } => match invoke_within(get, json!({ "key": token }), within(*timeout_ms)).await {
                Some(value) => Ok(Some(value?).filter(|value| !value.is_null())),
                None => Ok(None),
            },
            Store::Memory(memory) => Ok(memory.get(token, now).await),
            Store::Shared { store, scope } => {
                match store
                    .get(&store.key("introspection", &[scope, token]))
                    .await
                {
                    Ok(text) => Ok(text.and_then(|text| serde_json::from_str(&text).ok())),
                    Err(error) => {
                        events.emit(Event::StoreError {
                            operation: "introspection_get",
                            message: &error.to_string(),
                        });
                        Ok(None)
                    }
                }
            }
        }
    }

    /// Keeps `value` until `expires_at` (seconds since the epoch, on the caller's clock).
    pub async fn set(
        &self,
        token: &str,
        value: Value,
        expires_at: f64,
        now: Now,
        events: &Events,
    ) -> Result<()> {
        match self {
            Store::Adapter {
                set, timeout_ms, ..
            } => {
                let request = json!({ "key": token, "value": value, "expiresAt": expires_at });
                invoke_within(set, request, within(*timeout_ms))
                    .await
                    .transpose()?;
                Ok(())
            }
            Store::Memory(memory) => {
                memory.set(token, value, expires_at, now).await;
                Ok(())
            }
            Store::Shared { store, scope } => {
                let mut seconds = expires_at - now.seconds();
                if value.get("active") == Some(&Value::Bool(false)) {
                    seconds = seconds.min(SHARED_INACTIVE_SECONDS);
                }
                if seconds.is_nan() || seconds <= 0.0 {
                    return Ok(());
                }
                let key = store.key("introspection", &[scope, token]);
                let ttl = std::time::Duration::from_secs_f64(seconds.min(1e9));
                if let Err(error) = store.set(&key, &value.to_string(), ttl).await {
                    events.emit(Event::StoreError {
                        operation: "introspection_set",
                        message: &error.to_string(),
                    });
                }
                Ok(())
            }
        }
    }
}

fn within(timeout_ms: Option<f64>) -> Option<std::time::Duration> {
    timeout_ms.map(|ms| seconds(ms / 1000.0))
}

/// Our own store: bounded, least-recently-used, keyed by a SHA-256 of the token.
pub struct MemoryStore {
    entries: moka::future::Cache<[u8; 32], Arc<Entry>>,
}

/// Kept as text: a parsed answer is several times larger, and hits are rarer than tokens.
struct Entry {
    text: Box<str>,
    /// Seconds since the epoch, on the caller's clock.
    expires_at: f64,
    /// When moka reclaims it: as long after insertion as `expires_at` was.
    evict_at: Instant,
}

impl Deadline for Entry {
    fn deadline(&self) -> Instant {
        self.evict_at
    }
}

impl MemoryStore {
    pub fn new(max_entries: u64) -> MemoryStore {
        MemoryStore {
            // Least-recently-used: the tokens of active clients stay; a burst of one-off tokens
            // evicts only what is idle.
            entries: moka::future::Cache::builder()
                .max_capacity(max_entries)
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .expire_after(AtDeadline)
                .build(),
        }
    }

    async fn get(&self, token: &str, now: Now) -> Option<Value> {
        let entry = self.entries.get(&token_key(token)).await?;
        if entry.expires_at <= now.seconds() {
            return None;
        }
        serde_json::from_str(&entry.text).ok()
    }

    async fn set(&self, token: &str, value: Value, expires_at: f64, now: Now) {
        let entry = Entry {
            text: value.to_string().into_boxed_str(),
            expires_at,
            evict_at: after(Instant::now(), now.until(expires_at * 1000.0)),
        };
        self.entries.insert(token_key(token), Arc::new(entry)).await;
        // moka applies the bound lazily; an insert follows a network round trip, so settle
        // now and keep the bound exact.
        self.entries.run_pending_tasks().await;
    }

    /// Drops the entry for `token` (it was revoked).
    pub async fn forget(&self, token: &str) {
        self.entries.invalidate(&token_key(token)).await;
    }

    /// Entries held (approximately; moka counts lazily).
    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }

    pub async fn settle(&self) {
        self.entries.run_pending_tasks().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: f64) -> Now {
        Now::from_caller(Some(seconds * 1000.0))
    }

    const T0: f64 = 1_700_000_000.0;

    #[tokio::test]
    async fn the_memory_store_stays_bounded() {
        let store = MemoryStore::new(1_000);
        for i in 0..100_000 {
            store
                .set(&format!("token-{i}"), json!({ "i": i }), T0 + 300.0, at(T0))
                .await;
        }
        store.settle().await;
        assert!(store.entry_count() <= 1_000, "{}", store.entry_count());
    }

    /// Entries expire on the caller's clock, and serve again when it moves back.
    #[tokio::test]
    async fn memory_entries_expire_at_their_time() {
        let store = MemoryStore::new(10);
        store
            .set("live", json!({ "a": 1 }), T0 + 60.0, at(T0))
            .await;
        store.set("dead", json!({ "a": 2 }), T0 - 1.0, at(T0)).await;
        assert_eq!(store.get("live", at(T0)).await, Some(json!({ "a": 1 })));
        assert_eq!(store.get("dead", at(T0)).await, None);
        assert_eq!(store.get("unknown", at(T0)).await, None);
        assert_eq!(store.get("live", at(T0 + 60.0)).await, None);
        assert_eq!(
            store.get("live", at(T0 + 59.0)).await,
            Some(json!({ "a": 1 }))
        );
    }
}
