//! The fleet's shared store: one Redis (or Valkey) server that every instance of an API talks
//! to, for introspection answers, revocations, DPoP replays and outbound tokens. It is reached
//! one of two ways, with the same commands and the same per-call bound:
//!
//! - a `redis://` / `rediss://` URL: the `redis` crate's `ConnectionManager` owns the
//!   connection and reconnects by itself after a loss;
//! - the user's own connected client (node-redis or ioredis): the JavaScript face drives it
//!   (`ts/native/store.ts`), so its authentication, TLS, sentinel or cluster setup is theirs,
//!   and so is its reconnection.
//!
//! Either way this module only bounds each call with the configured timeout and reports what
//! failed. A call that fails or times out is an error for the caller to decide on; none waits
//! longer than the timeout, and none is retried here.

pub mod revocation;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::{digest, hmac};
use futures_util::{Stream, StreamExt};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::core::callbacks::{Callbacks, JsCall, invoke_within};
use crate::core::client_auth::ClientSecret;
use crate::core::config::StoreSetting;
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

/// How long the user's client may take to subscribe, and to hand over the messages it
/// received (it answers within half a second when there are none).
const LISTEN_TIMEOUT: Duration = Duration::from_secs(2);

/// The message for a `store` object that is neither client the JavaScript face can drive.
pub const UNKNOWN_CLIENT: &str = "The store option must be a redis:// or rediss:// URL, or a connected node-redis client (createClient() from the redis package) or ioredis client";

pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// A server's reply, as far as the store reads replies: RESP's shapes without the types it
/// never needs (a double or a map arrives as text or as a flat list).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Nil,
    Int(i64),
    Text(String),
    List(Vec<Reply>),
}

impl Reply {
    fn from_redis(value: redis::Value) -> Reply {
        use redis::Value as V;
        match value {
            V::Nil => Reply::Nil,
            V::Int(n) => Reply::Int(n),
            V::BulkString(bytes) => Reply::Text(String::from_utf8_lossy(&bytes).into_owned()),
            V::SimpleString(text) => Reply::Text(text),
            V::Okay => Reply::Text("OK".into()),
            V::Double(n) => Reply::Text(n.to_string()),
            V::Boolean(b) => Reply::Int(b as i64),
            V::Array(items) | V::Set(items) => {
                Reply::List(items.into_iter().map(Reply::from_redis).collect())
            }
            V::Map(pairs) => Reply::List(
                pairs
                    .into_iter()
                    .flat_map(|(k, v)| [Reply::from_redis(k), Reply::from_redis(v)])
                    .collect(),
            ),
            _ => Reply::Nil,
        }
    }

    /// A reply the JavaScript face read from the user's client, as JSON.
    fn from_json(value: Value) -> Reply {
        match value {
            Value::Null => Reply::Nil,
            Value::Bool(b) => Reply::Int(b as i64),
            Value::Number(n) => match n.as_i64() {
                Some(n) => Reply::Int(n),
                None => Reply::Text(n.to_string()),
            },
            Value::String(text) => Reply::Text(text),
            Value::Array(items) => Reply::List(items.into_iter().map(Reply::from_json).collect()),
            // RESP3 maps (node-redis v5 may answer with an object).
            Value::Object(members) => Reply::List(
                members
                    .into_iter()
                    .flat_map(|(k, v)| [Reply::Text(k), Reply::from_json(v)])
                    .collect(),
            ),
        }
    }

    /// Text, a number (as text) or nothing; a list is no single value.
    pub fn into_text(self) -> StoreResult<Option<String>> {
        match self {
            Reply::Nil => Ok(None),
            Reply::Text(text) => Ok(Some(text)),
            Reply::Int(n) => Ok(Some(n.to_string())),
            Reply::List(_) => Err(unexpected()),
        }
    }

    /// The items of a list, flattened (RESP3 nests pairs where RESP2 lists them in a row).
    pub fn into_flat_texts(self) -> StoreResult<Vec<String>> {
        fn flatten(reply: Reply, into: &mut Vec<String>) -> StoreResult<()> {
            match reply {
                Reply::List(items) => items.into_iter().try_for_each(|item| flatten(item, into)),
                other => {
                    into.extend(other.into_text()?);
                    Ok(())
                }
            }
        }
        let mut texts = Vec::new();
        match self {
            Reply::List(_) => flatten(self, &mut texts)?,
            Reply::Nil => {}
            _ => return Err(unexpected()),
        }
        Ok(texts)
    }
}

fn unexpected() -> StoreError {
    StoreError::Failed("unexpected reply".into())
}

/// The user's own client, as the JavaScript face drives it: `command` runs one command
/// (`{"args": [...]}`), `listen` subscribes and hands over what arrived.
#[derive(Clone)]
pub struct ClientCalls {
    pub command: JsCall,
    pub listen: JsCall,
}

enum Transport {
    Url {
        client: redis::Client,
        connection: OnceCell<ConnectionManager>,
    },
    Client(ClientCalls),
}

/// The shared store: its transport, key prefix, per-call bound and the key its entry names are
/// keyed with.
pub struct SharedStore {
    transport: Transport,
    prefix: String,
    timeout: Duration,
    naming: Option<hmac::Key>,
}

/// What a fleet's instances all hold and nobody reading the store does: the client's own
/// credential (its secret, private key or TLS key). Keys named under it are HMACs that a reader
/// of the store cannot recompute for a token they hold, so the store does not even confirm
/// which tokens were seen. `None` without a credential: keys are then plain hashes.
fn naming_secret(secret: Option<&ClientSecret>, tls_identity: Option<&[u8]>) -> Option<Vec<u8>> {
    let material = match secret {
        Some(ClientSecret::Text(text)) => text.as_bytes().to_vec(),
        Some(ClientSecret::Jwk(jwk)) => serde_json::to_vec(jwk).ok()?,
        Some(ClientSecret::Symmetric(key)) => key.key.clone(),
        None => tls_identity?.to_vec(),
    };
    // A label of its own, so that the key names nothing else the credential is used for.
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"monocloud shared store key names\0");
    context.update(&material);
    Some(context.finish().as_ref().to_vec())
}

impl SharedStore {
    /// Checks the URL now (a bad one is a configuration error); connects on first use, so that
    /// an instance starts while the store is down.
    pub fn open(
        url: &str,
        prefix: &str,
        timeout_ms: f64,
        naming: Option<&[u8]>,
    ) -> Result<SharedStore, String> {
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err("The store option must be a redis:// or rediss:// URL".into());
        }
        let client = redis::Client::open(url)
            .map_err(|_| "The store option is not a valid redis:// or rediss:// URL".to_string())?;
        Ok(SharedStore {
            transport: Transport::Url {
                client,
                connection: OnceCell::new(),
            },
            prefix: prefix.to_string(),
            timeout: timeout_ms_to_duration(timeout_ms),
            naming: naming_key(naming),
        })
    }

    /// The user's connected client; `calls` is `None` when the JavaScript face did not
    /// recognise the object as a client it can drive.
    pub fn with_client(
        calls: Option<ClientCalls>,
        prefix: &str,
        timeout_ms: f64,
        naming: Option<&[u8]>,
    ) -> Result<SharedStore, String> {
        let calls = calls.ok_or_else(|| UNKNOWN_CLIENT.to_string())?;
        Ok(SharedStore {
            transport: Transport::Client(calls),
            prefix: prefix.to_string(),
            timeout: timeout_ms_to_duration(timeout_ms),
            naming: naming_key(naming),
        })
    }

    /// Opens the connection in the background (when a runtime is at hand), so that the first
    /// requests find it ready instead of spending their timeout on connecting. The user's
    /// client is connected already.
    pub fn connect_in_background(self: &Arc<Self>) {
        if !matches!(self.transport, Transport::Url { .. }) {
            return;
        }
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

    /// `<prefix><kind>:<hash>`: the hash is an HMAC-SHA256 of the parts under the fleet's
    /// naming key (a SHA-256 without one), so no token (nor anything else a caller gives) is
    /// ever part of a key. For entries a changed credential may safely miss: a cache.
    pub fn key(&self, kind: &str, parts: &[&str]) -> String {
        self.hashed_name(kind, parts, self.naming.as_ref())
    }

    /// `<prefix><kind>:<SHA-256 of the parts>`, whatever the credential: for entries every
    /// instance must find even while a rolling deploy changes the client secret, such as a
    /// DPoP proof's reservation (a missed one would be a replay let through). The parts must
    /// not be secrets: a proof's reservation names a hash of its key's thumbprint and `jti`.
    pub fn fleet_wide_key(&self, kind: &str, parts: &[&str]) -> String {
        self.hashed_name(kind, parts, None)
    }

    fn hashed_name(&self, kind: &str, parts: &[&str], naming: Option<&hmac::Key>) -> String {
        // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
        let mut framed = Vec::new();
        for part in parts {
            framed.extend_from_slice(&(part.len() as u64).to_be_bytes());
            framed.extend_from_slice(part.as_bytes());
        }
        let hash = match naming {
            Some(key) => b64url_encode(hmac::sign(key, &framed).as_ref()),
            None => b64url_encode(digest::digest(&digest::SHA256, &framed).as_ref()),
        };
        format!("{}{kind}:{hash}", self.prefix)
    }

    /// The name of a key that is not a hash (a channel, an index).
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The URL's connection, opened once; a failed opening is tried again by the next call.
    async fn connection(&self) -> StoreResult<ConnectionManager> {
        let Transport::Url { client, connection } = &self.transport else {
            return Err(StoreError::Failed("no connection of our own".into()));
        };
        let connection = connection
            .get_or_try_init(|| async {
                // Each caller is bounded by `timeout` (see `command`); connecting may take
                // longer than one call's bound, so that a busy machine still gets connected.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(self.timeout.max(CONNECT_TIMEOUT))
                    .set_response_timeout(self.timeout)
                    // Reconnection runs in the background after a loss; a call never waits for
                    // more than one attempt.
                    .set_number_of_retries(1)
                    .set_max_delay(1_000);
                ConnectionManager::new_with_config(client.clone(), config).await
            })
            .await?;
        Ok(connection.clone())
    }

    /// Runs one command, bounded by the timeout as a whole (connecting included).
    pub async fn command(&self, args: &[&str]) -> StoreResult<Reply> {
        let bounded = async {
            match &self.transport {
                Transport::Url { .. } => {
                    let mut connection = self.connection().await?;
                    let mut command = redis::cmd(args[0]);
                    for arg in &args[1..] {
                        command.arg(*arg);
                    }
                    let value: redis::Value = command.query_async(&mut connection).await?;
                    Ok(Reply::from_redis(value))
                }
                Transport::Client(calls) => {
                    let answer = invoke_within(&calls.command, json!({ "args": args }), None)
                        .await
                        .unwrap_or(Ok(Value::Null))
                        .map_err(|_| {
                            StoreError::Failed("the store client could not be called".into())
                        })?;
                    client_reply(answer)
                }
            }
        };
        match tokio::time::timeout(self.timeout, bounded).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(self.timeout.as_millis() as u64)),
        }
    }

    pub async fn get(&self, key: &str) -> StoreResult<Option<String>> {
        self.command(&["GET", key]).await?.into_text()
    }

    /// Keeps `value` for `ttl` (at least a millisecond).
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<()> {
        let ms = millis(ttl);
        self.command(&["SET", key, value, "PX", &ms]).await?;
        Ok(())
    }

    /// `SET key value NX PX ttl`: whether this call took the key.
    pub async fn set_new(&self, key: &str, value: &str, ttl: Duration) -> StoreResult<bool> {
        let ms = millis(ttl);
        let reply = self.command(&["SET", key, value, "NX", "PX", &ms]).await?;
        Ok(reply.into_text()?.is_some())
    }

    pub async fn delete(&self, key: &str) -> StoreResult<()> {
        self.command(&["DEL", key]).await?;
        Ok(())
    }

    /// Deletes `key` only while it still holds `value` (a lock released by its holder only).
    pub async fn delete_if(&self, key: &str, value: &str) -> StoreResult<()> {
        const SCRIPT: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
        self.command(&["EVAL", SCRIPT, "1", key, value]).await?;
        Ok(())
    }

    /// Subscribes to `channel` on a connection of its own (a subscribed connection takes no
    /// other command), bounded by `LISTEN_TIMEOUT`.
    pub async fn subscribe(&self, channel: &str) -> StoreResult<Subscription> {
        let subscribed = async {
            match &self.transport {
                Transport::Url { client, .. } => {
                    let mut pubsub = client.get_async_pubsub().await?;
                    pubsub.subscribe(channel).await?;
                    Ok(Subscription::Url(Box::pin(pubsub.into_on_message())))
                }
                Transport::Client(calls) => {
                    let request = json!({ "op": "subscribe", "channel": channel });
                    let answer = invoke_within(&calls.listen, request, None)
                        .await
                        .unwrap_or(Ok(Value::Null))
                        .map_err(|_| {
                            StoreError::Failed("the store client could not be called".into())
                        })?;
                    client_reply(answer)?;
                    Ok(Subscription::Client(calls.listen.clone()))
                }
            }
        };
        match tokio::time::timeout(LISTEN_TIMEOUT, subscribed).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(LISTEN_TIMEOUT.as_millis() as u64)),
        }
    }
}

/// The store `setting` names, opened (a URL is checked, the user's client must be one the
/// JavaScript face recognised), its entry names keyed by the client's `credential` (secret, TLS
/// key); it connects in the background.
pub fn open_setting(
    setting: &StoreSetting,
    prefix: &str,
    timeout_ms: f64,
    credential: (Option<&ClientSecret>, Option<&[u8]>),
    callbacks: &Callbacks,
) -> Result<Arc<SharedStore>, String> {
    let naming = naming_secret(credential.0, credential.1);
    let naming = naming.as_deref();
    let store = match setting {
        StoreSetting::Url(url) => SharedStore::open(url, prefix, timeout_ms, naming)?,
        StoreSetting::Client => {
            let calls = match (&callbacks.store_command, &callbacks.store_listen) {
                (Some(command), Some(listen)) => Some(ClientCalls {
                    command: command.clone(),
                    listen: listen.clone(),
                }),
                _ => None,
            };
            SharedStore::with_client(calls, prefix, timeout_ms, naming)?
        }
    };
    let store = Arc::new(store);
    store.connect_in_background();
    Ok(store)
}

fn timeout_ms_to_duration(timeout_ms: f64) -> Duration {
    Duration::from_millis(timeout_ms.max(1.0) as u64)
}

fn millis(ttl: Duration) -> String {
    (ttl.as_millis() as u64).max(1).to_string()
}

/// The JavaScript face answers `{"reply": ...}`, or `{"error": "<the client's message>"}`.
fn client_reply(mut answer: Value) -> StoreResult<Reply> {
    if let Some(message) = answer.get("error").and_then(Value::as_str) {
        return Err(StoreError::Failed(message.chars().take(200).collect()));
    }
    match answer.get_mut("reply") {
        Some(reply) => Ok(Reply::from_json(reply.take())),
        None => Err(unexpected()),
    }
}

/// A subscription to one channel: messages as text, until it ends.
pub enum Subscription {
    Url(Pin<Box<dyn Stream<Item = redis::Msg> + Send>>),
    Client(JsCall),
}

impl Subscription {
    /// The messages that arrived, waiting a second at most for one: an empty batch when none
    /// did, `None` once the subscription has ended (the connection was lost).
    pub async fn next(&mut self) -> Option<Vec<String>> {
        match self {
            Subscription::Url(messages) => {
                match tokio::time::timeout(Duration::from_secs(1), messages.next()).await {
                    Err(_) => Some(Vec::new()),
                    Ok(None) => None,
                    Ok(Some(message)) => {
                        Some(message.get_payload::<String>().into_iter().collect())
                    }
                }
            }
            Subscription::Client(listen) => {
                let answer =
                    invoke_within(listen, json!({ "op": "next" }), Some(LISTEN_TIMEOUT)).await;
                // A client that does not answer in time, or fails, has lost its subscription.
                let Some(Ok(answer)) = answer else {
                    return None;
                };
                if answer.get("ended") == Some(&Value::Bool(true)) {
                    return None;
                }
                let messages = answer.get("messages").and_then(Value::as_array)?;
                Some(
                    messages
                        .iter()
                        .filter_map(|m| m.as_str().map(str::to_owned))
                        .collect(),
                )
            }
        }
    }

    /// Lets the user's client drop the connection it opened for this subscription.
    pub async fn close(self) {
        if let Subscription::Client(listen) = self {
            let _ = invoke_within(&listen, json!({ "op": "close" }), Some(LISTEN_TIMEOUT)).await;
        }
    }
}

fn naming_key(secret: Option<&[u8]>) -> Option<hmac::Key> {
    secret.map(|secret| hmac::Key::new(hmac::HMAC_SHA256, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashes_under_the_prefix() {
        let store = SharedStore::open("redis://127.0.0.1:1", "app:", 20.0, None).unwrap();
        let key = store.key("i", &["issuer", "secret-token"]);
        assert!(key.starts_with("app:i:"), "{key}");
        assert!(!key.contains("secret-token"));
        assert_ne!(key, store.key("i", &["issuers", "ecret-token"]));
    }

    #[test]
    fn keys_are_keyed_by_the_fleets_credential() {
        let secret = ClientSecret::Text("client-secret".into());
        let naming = naming_secret(Some(&secret), None).unwrap();
        let open = |naming: Option<&[u8]>| {
            SharedStore::open("redis://127.0.0.1:1", "app:", 20.0, naming).unwrap()
        };
        let (keyed, again, plain) = (open(Some(&naming)), open(Some(&naming)), open(None));
        let parts = ["issuer", "secret-token"];
        // Every instance holding the credential names an entry alike; without it, a reader of
        // the store who holds the token cannot name it.
        assert_eq!(keyed.key("i", &parts), again.key("i", &parts));
        assert_ne!(keyed.key("i", &parts), plain.key("i", &parts));
        let other = naming_secret(Some(&ClientSecret::Text("other".into())), None).unwrap();
        assert_ne!(keyed.key("i", &parts), open(Some(&other)).key("i", &parts));
        assert!(keyed.key("i", &parts).starts_with("app:i:"));
        // Reservations are named alike whatever the credential.
        assert_eq!(keyed.fleet_wide_key("d", &parts), plain.key("d", &parts));
        assert!(!keyed.key("i", &parts).contains("secret-token"));
        // A TLS key serves when there is no secret; nothing at all gives no naming key.
        assert!(naming_secret(None, Some(b"-----BEGIN PRIVATE KEY-----")).is_some());
        assert!(naming_secret(None, None).is_none());
    }

    #[test]
    fn only_redis_urls_are_taken() {
        assert!(SharedStore::open("http://127.0.0.1:6379", "", 20.0, None).is_err());
        assert!(SharedStore::open("rediss://127.0.0.1:6380", "", 20.0, None).is_ok());
    }

    #[test]
    fn an_unrecognised_client_object_is_refused_naming_what_is_taken() {
        let error = SharedStore::with_client(None, "", 20.0, None)
            .err()
            .unwrap();
        assert!(
            error.contains("redis://") && error.contains("node-redis") && error.contains("ioredis")
        );
    }

    #[test]
    fn replies_read_from_either_transport_agree() {
        let from_redis = Reply::from_redis(redis::Value::Array(vec![
            redis::Value::BulkString(b"a".to_vec()),
            redis::Value::BulkString(b"1.5".to_vec()),
        ]));
        let from_json = Reply::from_json(serde_json::json!(["a", "1.5"]));
        assert_eq!(from_redis, from_json);
        // RESP3 pairs, nested, read as the same flat list.
        let nested = Reply::from_json(serde_json::json!([["a", 1.5]]));
        assert_eq!(nested.into_flat_texts().unwrap(), vec!["a", "1.5"]);
        assert_eq!(
            Reply::from_redis(redis::Value::Okay)
                .into_text()
                .unwrap()
                .as_deref(),
            Some("OK")
        );
        assert_eq!(Reply::from_json(Value::Null).into_text().unwrap(), None);
        assert!(
            Reply::from_json(serde_json::json!(["x"]))
                .into_text()
                .is_err()
        );
    }

    #[test]
    fn a_client_error_is_a_store_error_with_a_bounded_message() {
        let long = "x".repeat(1_000);
        match client_reply(serde_json::json!({ "error": long })) {
            Err(StoreError::Failed(message)) => assert_eq!(message.len(), 200),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            client_reply(serde_json::json!({ "reply": "OK" })).unwrap(),
            Reply::Text("OK".into())
        );
        assert!(client_reply(serde_json::json!({})).is_err());
    }

    /// Nothing listens on port 1: the call fails within its timeout instead of waiting.
    #[tokio::test]
    async fn a_call_to_an_absent_store_fails_within_its_timeout() {
        let store = SharedStore::open("redis://127.0.0.1:1", "", 50.0, None).unwrap();
        let started = std::time::Instant::now();
        assert!(store.get("k").await.is_err());
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}
