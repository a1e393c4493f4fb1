//! RFC 7662 token introspection: the request, the answer, and the cache of answers.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::cache::{AtDeadline, Deadline, token_key};
use super::callbacks::{JsCall, invoke};
use super::clock::{after, now_seconds, seconds};
use super::error::{Error, Result, TokenErrorCode};
use super::http::Response;

pub const INACTIVE: &str = "Token is not active. The introspection endpoint returned active=false";
pub const INACTIVE_CACHED: &str =
    "Token is not active. A cached introspection result reported active=false";

/// The claims of an introspection answer: the answer minus `active`, which must be the JSON
/// value `true` (a string "true" or a 1 is not).
pub fn read_answer(response: &Response) -> Result<Map<String, Value>> {
    match response.status {
        200 => {}
        400 | 401 => return Err(op_error(response)),
        status => {
            return Err(Error::http(
                format!(
                    "Error while performing token introspection. Unexpected status code: {status}"
                ),
                Some(response.raw()),
            ));
        }
    }
    let mut answer = response.json_object()?;
    if answer.remove("active") != Some(Value::Bool(true)) {
        return Err(Error::token_with(INACTIVE, TokenErrorCode::InactiveToken));
    }
    Ok(answer)
}

/// 400 and 401 carry an OAuth error; a body without one still says what kind of failure.
fn op_error(response: &Response) -> Error {
    let body = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let error = body
        .get("error")
        .filter(|v| !v.is_null())
        .map(text)
        .unwrap_or_else(|| {
            if response.status == 401 {
                "invalid_client".into()
            } else {
                "introspection_failed".into()
            }
        });
    let description = body
        .get("error_description")
        .filter(|v| !v.is_null())
        .map(text)
        .unwrap_or_else(|| "Token introspection failed".into());
    Error::Op {
        error,
        description,
        raw: Some(Box::new(response.raw())),
    }
}

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

pub struct MemoryStore {
    entries: moka::future::Cache<[u8; 32], Arc<Entry>>,
}

struct Entry {
    /// Kept as text: a parsed answer is several times larger, and hits are rarer than tokens.
    text: Box<str>,
    /// When the entry stops being served: an `Instant`, so a wall-clock jump cannot revive it.
    until: Instant,
}

impl Deadline for Entry {
    fn deadline(&self) -> Instant {
        self.until
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

    async fn get(&self, token: &str) -> Option<Value> {
        let entry = self.entries.get(&token_key(token)).await?;
        if entry.until <= Instant::now() {
            return None;
        }
        serde_json::from_str(&entry.text).ok()
    }

    async fn set(&self, token: &str, value: Value, expires_at: f64) {
        let entry = Entry {
            text: value.to_string().into_boxed_str(),
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

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            status_text: String::new(),
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

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

    #[test]
    fn answers() {
        let ok = read_answer(&response(200, r#"{"active":true,"sub":"u"}"#)).unwrap();
        assert_eq!(Value::Object(ok), json!({ "sub": "u" }));
        for inactive in [
            r#"{"active":false}"#,
            r#"{}"#,
            r#"{"active":"true"}"#,
            r#"{"active":1}"#,
            r#"{"active":"false"}"#,
        ] {
            let err = read_answer(&response(200, inactive)).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Token {
                        code: TokenErrorCode::InactiveToken,
                        ..
                    }
                ),
                "{inactive}"
            );
        }
        let op = |status, body| match read_answer(&response(status, body)).unwrap_err() {
            Error::Op {
                error, description, ..
            } => (error, description),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            op(
                400,
                r#"{"error":"invalid_request","error_description":"bad"}"#
            ),
            ("invalid_request".into(), "bad".into())
        );
        assert_eq!(
            op(400, "{}"),
            (
                "introspection_failed".into(),
                "Token introspection failed".into()
            )
        );
        assert_eq!(
            op(400, ""),
            (
                "introspection_failed".into(),
                "Token introspection failed".into()
            )
        );
        assert_eq!(
            op(401, "<html>"),
            ("invalid_client".into(), "Token introspection failed".into())
        );
        assert_eq!(op(401, r#"{"error":"invalid_token"}"#).0, "invalid_token");
        let http = read_answer(&response(500, "oops")).unwrap_err();
        assert_eq!(
            http.to_string(),
            "Error while performing token introspection. Unexpected status code: 500"
        );
        assert!(matches!(
            read_answer(&response(200, "null")).unwrap_err(),
            Error::Http { .. }
        ));
    }
}
