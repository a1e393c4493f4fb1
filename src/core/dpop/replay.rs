//! Replay protection (RFC 9449 §11.1): each proof (its key and `jti`) is accepted once. A key
//! is reserved only after every other check passed, so a proof refused for another reason can
//! be retried, and only until the proof's `iat` window has closed: after that the `iat` check
//! refuses it anyway. A store that cannot answer fails the request; it never lets it through.

use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use serde_json::{Value, json};

use crate::core::cache::{AtDeadline, Deadline};
use crate::core::callbacks::{JsCall, invoke};
use crate::core::clock::{Now, after};
use crate::core::error::{Error, Result};

/// Proofs remembered by the built-in store. A flood beyond this evicts the oldest entries,
/// whose proofs then depend on the `iat` window alone.
pub const MEMORY_ENTRIES: u64 = 100_000;

/// The message of a store that failed (answered as 503, so clients retry).
pub const STORE_FAILED: &str = "The DPoP replay store could not be reached";

/// Where seen proofs are reserved.
pub enum ReplayStore {
    /// `replayStore: false`.
    Off,
    /// The built-in store: bounded, in this process.
    Memory(moka::sync::Cache<[u8; 32], Reserved>),
    /// The user's `{ reserve(key, expiresAt) }`, shared across clients and processes.
    Callback {
        reserve: JsCall,
        timeout: Option<Duration>,
    },
}

#[derive(Clone)]
pub struct Reserved {
    evict_at: Instant,
}

impl Deadline for Reserved {
    fn deadline(&self) -> Instant {
        self.evict_at
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
        ReplayStore::Memory(
            moka::sync::Cache::builder()
                .max_capacity(MEMORY_ENTRIES)
                .expire_after(AtDeadline)
                .build(),
        )
    }

    /// Whether reserving needs JavaScript (and so cannot answer synchronously).
    pub fn is_async(&self) -> bool {
        matches!(self, ReplayStore::Callback { .. })
    }

    /// Reserves `key` until `expires_ms` (caller's clock) without waiting: `None` when the
    /// store is the user's and must be awaited.
    pub fn reserve_now(&self, key: [u8; 32], expires_ms: f64, now: Now) -> Option<bool> {
        match self {
            ReplayStore::Off => Some(true),
            ReplayStore::Memory(entries) => {
                let evict_at = after(Instant::now(), now.until(expires_ms));
                let entry = entries.entry(key).or_insert_with(|| Reserved { evict_at });
                Some(entry.is_fresh())
            }
            ReplayStore::Callback { .. } => None,
        }
    }

    /// Reserves `key` until `expires_ms`: `true` when it was free.
    pub async fn reserve(&self, key: [u8; 32], expires_ms: f64, now: Now) -> Result<bool> {
        let ReplayStore::Callback { reserve, timeout } = self else {
            return Ok(self.reserve_now(key, expires_ms, now).unwrap_or(false));
        };
        let call = invoke(
            reserve,
            json!({ "key": hex(&key), "expiresAt": expires_ms }),
        );
        let answer = match timeout {
            Some(limit) => tokio::time::timeout(*limit, call)
                .await
                .map_err(|_| Error::http(STORE_FAILED, None))?,
            None => call.await,
        };
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
    use std::sync::Arc;

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
