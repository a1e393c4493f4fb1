//! Where introspection answers are kept between requests: the user's cache adapter, or our
//! own bounded memory store.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::core::cache::{AtDeadline, Expiring, token_key};
use crate::core::callbacks::{JsCall, invoke};
use crate::core::clock::{after, now_seconds, seconds};
use crate::core::error::Result;

/// Where introspection answers are kept between requests.
pub enum Store {
    /// The user's `IIntrospectionCache`, keyed by the raw token as upstream does.
    Adapter { get: JsCall, set: JsCall },
    /// Our own: bounded, keyed by a SHA-256 of the token.
    Memory(MemoryStore),
}

impl Store {
    pub async fn get(&self, token: &str) -> Result<Option<Value>> {
        match self {
            Store::Adapter { get, .. } => {
                let value = invoke(get, json!({ "key": token })).await?;
                Ok((!value.is_null()).then_some(value))
            }
            Store::Memory(memory) => Ok(memory.get(token).await),
        }
    }

    pub async fn set(&self, token: &str, value: Value, expires_at: f64) -> Result<()> {
        match self {
            Store::Adapter { set, .. } => {
                invoke(
                    set,
                    json!({ "key": token, "value": value, "expiresAt": expires_at }),
                )
                .await?;
                Ok(())
            }
            Store::Memory(memory) => {
                memory.set(token, value, expires_at).await;
                Ok(())
            }
        }
    }
}

/// Our own store: bounded, least-recently-used, keyed by a SHA-256 of the token.
pub struct MemoryStore {
    entries: moka::future::Cache<[u8; 32], Arc<Entry>>,
}

/// Kept as text: a parsed answer is several times larger, and hits are rarer than tokens.
type Entry = Expiring<Box<str>>;

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

    async fn get(&self, token: &str) -> Option<Value> {
        let entry = self.entries.get(&token_key(token)).await?;
        if entry.until <= Instant::now() {
            return None;
        }
        serde_json::from_str(&entry.value).ok()
    }

    async fn set(&self, token: &str, value: Value, expires_at: f64) {
        let entry = Entry {
            value: value.to_string().into_boxed_str(),
            until: after(Instant::now(), seconds(expires_at - now_seconds())),
        };
        self.entries.insert(token_key(token), Arc::new(entry)).await;
        // moka applies the bound lazily; an insert follows a network round trip, so settle
        // now and keep the bound exact.
        self.entries.run_pending_tasks().await;
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

    #[tokio::test]
    async fn the_memory_store_stays_bounded() {
        let store = MemoryStore::new(1_000);
        let expires = now_seconds() + 300.0;
        for i in 0..100_000 {
            store
                .set(&format!("token-{i}"), json!({ "i": i }), expires)
                .await;
        }
        store.settle().await;
        assert!(store.entry_count() <= 1_000, "{}", store.entry_count());
    }

    #[tokio::test]
    async fn memory_entries_expire_at_their_time() {
        let store = MemoryStore::new(10);
        let now = now_seconds();
        store.set("live", json!({ "a": 1 }), now + 60.0).await;
        store.set("dead", json!({ "a": 2 }), now - 1.0).await;
        assert_eq!(store.get("live").await, Some(json!({ "a": 1 })));
        assert_eq!(store.get("dead").await, None);
        assert_eq!(store.get("unknown").await, None);
    }
}
