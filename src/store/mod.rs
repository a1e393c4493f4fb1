//! The fleet's shared store: one Redis (or Valkey) server that every instance of an API talks
//! to, for introspection answers, revocations and outbound tokens. The `redis` crate's
//! `ConnectionManager` owns the connection: it reconnects by itself after a loss, so this
//! module only bounds each call with the configured timeout and reports what failed. A call
//! that fails or times out is an error for the caller to decide on; none waits longer than
//! the timeout, and none is retried here.

pub mod revocation;

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::core::jose::b64url_encode;

/// Why a store call gave no answer. Messages never carry a key or a value (keys are hashes of
/// tokens, values may be claims).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the shared store did not answer within {0} ms")]
    Timeout(u64),
    #[error("the shared store failed: {0}")]
    Failed(String),
}

impl From<redis::RedisError> for StoreError {
    fn from(error: redis::RedisError) -> Self {
        // The crate's message names the failure kind and the server's reply, not our arguments.
        StoreError::Failed(format!(
            "{:?}: {}",
            error.kind(),
            error.detail().unwrap_or("")
        ))
    }
}

/// How long one connection attempt may take (in the background; no request waits for it).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// A connection to the shared store, opened on first use.
pub struct SharedStore {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
}

impl SharedStore {
    /// Checks the URL now (a bad one is a configuration error); connects on first use, so that
    /// an instance starts while the store is down.
    pub fn open(url: &str, prefix: &str, timeout_ms: f64) -> Result<SharedStore, String> {
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err("The store option must be a redis:// or rediss:// URL".into());
        }
        let client = redis::Client::open(url)
            .map_err(|_| "The store option is not a valid redis:// or rediss:// URL".to_string())?;
        Ok(SharedStore {
            client,
            connection: OnceCell::new(),
            prefix: prefix.to_string(),
            timeout: Duration::from_millis(timeout_ms.max(1.0) as u64),
        })
    }

    /// Opens the connection in the background (when a runtime is at hand), so that the first
    /// requests find it ready instead of spending their timeout on connecting.
    pub fn connect_in_background(self: &Arc<Self>) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.clone();
            runtime.spawn(async move {
                let _ = store.connection().await;
            });
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// `<prefix><kind>:<hash>`: the hash is a SHA-256 of the parts, so no token (nor anything
    /// else a caller gives) is ever part of a key.
    pub fn key(&self, kind: &str, parts: &[&str]) -> String {
        let mut context = digest::Context::new(&digest::SHA256);
        for part in parts {
            // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part.as_bytes());
        }
        format!(
            "{}{kind}:{}",
            self.prefix,
            b64url_encode(context.finish().as_ref())
        )
    }

    /// The name of a key that is not a hash (a channel, an index).
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The connection, opened once; a failed opening is tried again by the next call.
    async fn connection(&self) -> StoreResult<ConnectionManager> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                // Each caller is bounded by `timeout` (see `run`); connecting may take longer
                // than one call's bound, so that a busy machine still gets connected.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(self.timeout.max(CONNECT_TIMEOUT))
                    .set_response_timeout(self.timeout)
                    // Reconnection runs in the background after a loss; a call never waits for
                    // more than one attempt.
                    .set_number_of_retries(1)
                    .set_max_delay(1_000);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await?;
        Ok(connection.clone())
    }

    /// Runs `call` on the connection, bounded by the timeout as a whole (connecting included).
    pub async fn run<T, F, Fut>(&self, call: F) -> StoreResult<T>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let bounded = async {
            let connection = self.connection().await?;
            Ok(call(connection).await?)
        };
        match tokio::time::timeout(self.timeout, bounded).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(self.timeout.as_millis() as u64)),
        }
    }

    pub async fn get(&self, key: &str) -> StoreResult<Option<String>> {
        self.run(|mut c| async move { c.get(key).await }).await
    }

    /// Keeps `value` for `ttl` (at least a millisecond).
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<()> {
        let ms = (ttl.as_millis() as u64).max(1);
        self.run(|mut c| async move { c.pset_ex(key, value, ms).await })
            .await
    }

    /// `SET key value NX PX ttl`: whether this call took the key.
    pub async fn set_new(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<bool> {
        let ms = (ttl.as_millis() as u64).max(1);
        self.run(|mut c| async move {
            let taken: Option<String> = redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async(&mut c)
                .await?;
            Ok(taken.is_some())
        })
        .await
    }

    pub async fn delete(&self, key: &str) -> StoreResult<()> {
        self.run(|mut c| async move { c.del(key).await }).await
    }

    /// Deletes `key` only while it still holds `value` (a lock released by its holder only).
    pub async fn delete_if(&self, key: &str, value: &str) -> StoreResult<()> {
        self.run(|mut c| async move {
            redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
            )
            .key(key)
            .arg(value)
            .invoke_async::<i64>(&mut c)
            .await
            .map(|_| ())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashes_under_the_prefix() {
        let store = SharedStore::open("redis://127.0.0.1:1", "app:", 20.0).unwrap();
        let key = store.key("i", &["issuer", "secret-token"]);
        assert!(key.starts_with("app:i:"), "{key}");
        assert!(!key.contains("secret-token"));
        assert_ne!(key, store.key("i", &["issuers", "ecret-token"]));
    }

    #[test]
    fn only_redis_urls_are_taken() {
        assert!(SharedStore::open("http://127.0.0.1:6379", "", 20.0).is_err());
        assert!(SharedStore::open("rediss://127.0.0.1:6380", "", 20.0).is_ok());
    }

    /// Nothing listens on port 1: the call fails within its timeout instead of waiting.
    #[tokio::test]
    async fn a_call_to_an_absent_store_fails_within_its_timeout() {
        let store = SharedStore::open("redis://127.0.0.1:1", "", 50.0).unwrap();
        let started = std::time::Instant::now();
        assert!(store.get("k").await.is_err());
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}
