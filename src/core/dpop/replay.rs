//! Replay protection (RFC 9449 §11.1): each proof (its key and `jti`) is accepted once. A key
//! is reserved only after every other check passed, so a proof refused for another reason can
//! be retried, and only until the proof's `iat` window has closed: after that the `iat` check
//! refuses it anyway. A store that cannot answer fails the request; it never lets it through.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use serde_json::{Value, json};

use crate::core::callbacks::{JsCall, invoke_within};
use crate::core::clock::{Now, after};
use crate::core::error::{Error, Result};
use crate::core::events::{Event, Events};
use crate::store::SharedStore;

/// Proofs remembered by the built-in store: 600 new proofs a second over a whole `iat` window
/// of 330 s, in about 20 MB. Beyond it the oldest are forgotten first (never a new one, which
/// a cache's admission policy might refuse), and those depend on the `iat` window alone.
pub const MEMORY_ENTRIES: usize = 200_000;

/// The message of a store that failed (answered as 503, so clients retry).
pub const STORE_FAILED: &str = "The DPoP replay store could not be reached";

/// Where seen proofs are reserved.
pub enum ReplayStore {
    /// `replayStore: false`.
    Off,
    /// The built-in store: bounded, in this process.
    Memory(MemoryStore),
    /// The user's `{ reserve(key, expiresAt) }`, shared across clients and processes.
    Callback {
        reserve: JsCall,
        timeout: Option<Duration>,
    },
    /// The fleet's store (`store`): `SET key 1 NX PX ttl`, bounded by `storeTimeout`.
    Shared {
        store: Arc<SharedStore>,
        events: Events,
        /// `dpop.onStoreError: 'allow'`.
        allow_on_error: bool,
    },
}

/// Keys in the order they were reserved, each until its moment on the monotonic clock. Proofs
/// arrive roughly in `iat` order, so the oldest reservation is (about) the first to expire.
pub struct MemoryStore {
    capacity: usize,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    keys: HashSet<[u8; 32]>,
    order: VecDeque<([u8; 32], Instant)>,
}

impl MemoryStore {
    pub fn new(capacity: usize) -> MemoryStore {
        MemoryStore {
            capacity: capacity.max(1),
            seen: Mutex::default(),
        }
    }

    /// `true` when `key` was free; it is then taken until `until`.
    fn reserve(&self, key: [u8; 32], until: Instant) -> bool {
        // A panic elsewhere cannot leave the set half-updated: every step below is complete.
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        while let Some((oldest, at)) = seen.order.front().copied() {
            if at > now && seen.keys.len() < self.capacity {
                break;
            }
            seen.order.pop_front();
            seen.keys.remove(&oldest);
        }
        if !seen.keys.insert(key) {
            return false;
        }
        seen.order.push_back((key, until));
        true
    }

    pub fn entry_count(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .keys
            .len()
    }
}

/// The store's key for a proof: a hash of its key's thumbprint and its `jti`, so that two
/// clients choosing the same `jti` never collide and no raw value is ever stored.
pub fn replay_key(thumbprint: &str, jti: &str) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(thumbprint.as_bytes());
    context.update(&[0]);
    context.update(jti.as_bytes());
    let mut key = [0; 32];
    key.copy_from_slice(context.finish().as_ref());
    key
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ReplayStore {
    pub fn memory() -> ReplayStore {
        ReplayStore::Memory(MemoryStore::new(MEMORY_ENTRIES))
    }

    /// Whether reserving needs JavaScript (and so cannot answer synchronously).
    pub fn is_async(&self) -> bool {
        matches!(
            self,
            ReplayStore::Callback { .. } | ReplayStore::Shared { .. }
        )
    }

    /// Reserves `key` until `expires_ms` (caller's clock) without waiting: `None` when the
    /// store is the user's and must be awaited.
    pub fn reserve_now(&self, key: [u8; 32], expires_ms: f64, now: Now) -> Option<bool> {
        match self {
            ReplayStore::Off => Some(true),
            ReplayStore::Memory(store) => {
                Some(store.reserve(key, after(Instant::now(), now.until(expires_ms))))
            }
            ReplayStore::Callback { .. } | ReplayStore::Shared { .. } => None,
        }
    }

    /// Reserves `key` until `expires_ms`: `true` when it was free.
    pub async fn reserve(&self, key: [u8; 32], expires_ms: f64, now: Now) -> Result<bool> {
        if let ReplayStore::Shared {
            store,
            events,
            allow_on_error,
        } = self
        {
            // Kept as long as the proof could be accepted, on the caller's clock.
            let ttl = now.until(expires_ms).max(Duration::from_millis(1));
            let name = store.fleet_wide_key("dpop", &[&hex(&key)]);
            return match store.set_new(&name, "1", ttl).await {
                Ok(free) => Ok(free),
                Err(error) => {
                    events.emit(Event::StoreError {
                        operation: "dpop_reserve",
                        message: &error.to_string(),
                    });
                    if *allow_on_error {
                        Ok(true)
                    } else {
                        Err(Error::http(STORE_FAILED, None))
                    }
                }
            };
        }
        let ReplayStore::Callback { reserve, timeout } = self else {
            return Ok(self.reserve_now(key, expires_ms, now).unwrap_or(false));
        };
        let answer = invoke_within(
            reserve,
            json!({ "key": hex(&key), "expiresAt": expires_ms }),
            *timeout,
        )
        .await
        .ok_or_else(|| Error::http(STORE_FAILED, None))?;
        match answer {
            Ok(Value::Bool(free)) => Ok(free),
            // A store that throws or answers anything but a boolean must not let proofs pass.
            _ => Err(Error::http(STORE_FAILED, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_700_000_000_000.0;

    #[test]
    fn the_memory_store_accepts_a_key_once() {
        let store = ReplayStore::memory();
        let now = Now::from_caller(Some(T0));
        let key = replay_key("thumb", "jti-1");
        assert_eq!(store.reserve_now(key, T0 + 330_000.0, now), Some(true));
        assert_eq!(store.reserve_now(key, T0 + 330_000.0, now), Some(false));
        assert_eq!(
            store.reserve_now(replay_key("thumb", "jti-2"), T0 + 1.0, now),
            Some(true)
        );
        assert_ne!(replay_key("a", "bc"), replay_key("ab", "c"));
    }

    /// Past its capacity the store forgets its oldest keys, never refuses to remember a new one.
    #[test]
    fn the_memory_store_is_bounded_and_keeps_the_newest() {
        let store = MemoryStore::new(3);
        let later = Instant::now() + Duration::from_secs(60);
        let keys: Vec<[u8; 32]> = (0..5).map(|i| replay_key("t", &format!("j{i}"))).collect();
        for key in &keys {
            assert!(store.reserve(*key, later));
        }
        assert_eq!(store.entry_count(), 3);
        assert!(!store.reserve(keys[4], later), "the newest is remembered");
        assert!(store.reserve(keys[0], later), "the oldest was forgotten");
        // Expired reservations go first.
        let expired = MemoryStore::new(10);
        assert!(expired.reserve(keys[0], Instant::now()));
        assert!(expired.reserve(keys[1], later));
        assert_eq!(expired.entry_count(), 1);
        assert!(expired.reserve(keys[0], later));
    }

    #[test]
    fn off_accepts_everything() {
        let store = ReplayStore::Off;
        let now = Now::from_caller(Some(T0));
        let key = replay_key("t", "j");
        assert_eq!(store.reserve_now(key, T0, now), Some(true));
        assert_eq!(store.reserve_now(key, T0, now), Some(true));
    }

    fn callback(reply: &'static str) -> ReplayStore {
        ReplayStore::Callback {
            reserve: Arc::new(move |_request| Box::pin(async move { Ok(reply.to_owned()) })),
            timeout: Some(Duration::from_millis(200)),
        }
    }

    #[tokio::test]
    async fn a_user_store_decides_and_its_failures_fail_the_request() {
        let now = Now::from_caller(Some(T0));
        let key = replay_key("t", "j");
        assert!(
            callback(r#"{"ok":true}"#)
                .reserve(key, T0, now)
                .await
                .unwrap()
        );
        assert!(
            !callback(r#"{"ok":false}"#)
                .reserve(key, T0, now)
                .await
                .unwrap()
        );
        for broken in [
            r#"{"err":"1"}"#,
            r#"{"ok":"yes"}"#,
            r#"{"ok":null}"#,
            "nonsense",
        ] {
            let error = callback(broken).reserve(key, T0, now).await.unwrap_err();
            assert!(matches!(error, Error::Http { .. }), "{broken}: {error:?}");
        }
        let hanging = ReplayStore::Callback {
            reserve: Arc::new(|_request| Box::pin(std::future::pending())),
            timeout: Some(Duration::from_millis(50)),
        };
        assert!(matches!(
            hanging.reserve(key, T0, now).await,
            Err(Error::Http { .. })
        ));
    }
}
