//! Revoked tokens: what this instance refuses although the token verifies, and how the fleet
//! learns of a revocation. A revocation names a token, a `jti` or a subject (`sub`: the tokens
//! issued to it up to that moment) and lasts until the token's possible expiry. Each instance
//! keeps the deny entries it knows in memory and checks every validation against them, cache
//! hits included; with a shared store a revocation is also recorded there (a sorted set, scored
//! by expiry, read again whenever the listener reconnects) and published, so that every other
//! instance adds it within moments. When the store is unreachable, an instance refuses what it
//! knows and says so through `onEvent`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use aws_lc_rs::digest;
use serde_json::{Map, Value};

use super::SharedStore;
use crate::core::cache::token_key;
use crate::core::clock::now_seconds;
use crate::core::error::{Error, Result, TokenErrorCode};
use crate::core::events::{Event, Events};
use crate::core::jose::{b64url_decode, b64url_encode};

pub const REVOKED: &str = "Token has been revoked";

/// Records a revocation in the index (scored by its end), drops the entries that have ended,
/// and tells the fleet. KEYS[1] the index; ARGV: end (ms), member, now (ms), channel, message.
const RECORD_SCRIPT: &str = "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) \
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3]) \
return redis.call('PUBLISH', ARGV[4], ARGV[5])";

/// What a revocation names.
#[derive(Debug, Clone, Copy)]
pub enum Revoked<'a> {
    Token(&'a str),
    Jti(&'a str),
    Sub(&'a str),
}

impl Revoked<'_> {
    /// The entry's name: a hash, never the token or identifier itself.
    fn entry_key(&self) -> String {
        match self {
            Revoked::Token(token) => format!("t:{}", b64url_encode(&token_key(token))),
            Revoked::Jti(jti) => format!("j:{}", hash(jti)),
            Revoked::Sub(sub) => format!("s:{}", hash(sub)),
        }
    }
}

fn hash(text: &str) -> String {
    b64url_encode(digest::digest(&digest::SHA256, text.as_bytes()).as_ref())
}

#[derive(Debug, Clone, Copy)]
struct Denial {
    /// Seconds since the epoch when it was revoked: a `sub` entry refuses tokens issued then
    /// or before.
    revoked_at: f64,
    /// Seconds since the epoch past which the entry is dropped.
    until: f64,
}

/// Called with the token's key (its SHA-256) when a token revocation arrives, so the caches
/// that hold it drop it.
pub type ForgetToken = Box<dyn Fn(&[u8; 32]) + Send + Sync>;

pub struct Revocations {
    denied: RwLock<HashMap<String, Denial>>,
    /// Entries naming a `jti` or a `sub`: only then does a check read the claims.
    by_claims: AtomicUsize,
    count: AtomicUsize,
    shared: Option<Arc<SharedStore>>,
    events: Events,
    forget: ForgetToken,
    /// Whether the listener is subscribed (and so learns of the fleet's revocations).
    listening: AtomicBool,
    /// Whether a check has reported that the listener is away, since it last connected.
    reported_away: AtomicBool,
}

/// How long a `jti` or `sub` revocation lasts when the caller gives no expiry: a day, longer
/// than access tokens live.
pub const DEFAULT_SECONDS: f64 = 86_400.0;

impl Revocations {
    pub fn new(shared: Option<Arc<SharedStore>>, events: Events, forget: ForgetToken) -> Arc<Self> {
        let revocations = Arc::new(Revocations {
            denied: RwLock::new(HashMap::new()),
            by_claims: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
            shared,
            events,
            forget,
            listening: AtomicBool::new(false),
            reported_away: AtomicBool::new(false),
        });
        if revocations.shared.is_some()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(listen(Arc::downgrade(&revocations)));
        }
        revocations
    }

    /// Records a revocation here, then with the fleet. `until` defaults to the token's `exp`
    /// when it is a JWT that carries one, else to a day. Answers whether the fleet was told.
    pub async fn revoke(&self, revoked: Revoked<'_>, until: Option<f64>) -> Result<bool> {
        let now = now_seconds();
        let until = until
            .or_else(|| match revoked {
                Revoked::Token(token) => jwt_exp(token),
                _ => None,
            })
            .unwrap_or(now + DEFAULT_SECONDS);
        let key = revoked.entry_key();
        let denial = Denial {
            revoked_at: now,
            until,
        };
        self.add(&key, denial, "local");
        let Some(shared) = &self.shared else {
            return Ok(false);
        };
        let index = shared.name("revoked");
        let channel = shared.name("revocations");
        let member = format!("{key} {now}");
        let message = format!("{key} {now} {until}");
        let until_ms = ((until * 1000.0).round() as i64).to_string();
        let now_ms = ((now * 1000.0).round() as i64).to_string();
        // One script: recorded, pruned and published together, the same way over either
        // transport (the user's client runs it as any other command).
        let recorded = shared
            .command(&[
                "EVAL",
                RECORD_SCRIPT,
                "1",
                &index,
                &until_ms,
                &member,
                &now_ms,
                &channel,
                &message,
            ])
            .await
            .map(|_| ());
        match recorded {
            Ok(()) => Ok(true),
            Err(error) => {
                self.events.emit(Event::StoreError {
                    operation: "revoke",
                    message: &error.to_string(),
                });
                Ok(false)
            }
        }
    }

    fn add(&self, key: &str, denial: Denial, origin: &'static str) {
        if denial.until <= now_seconds() {
            return;
        }
        let mut denied = self.denied.write().unwrap_or_else(|e| e.into_inner());
        // Expired entries go when a new one comes: the map holds what is still in force.
        let now = now_seconds();
        let before = denied.len();
        denied.retain(|_, d| d.until > now);
        if denied.len() != before {
            self.recount(&denied);
        }
        // What is already known (this instance's own message coming back, or the index read
        // again after a reconnection) changes nothing and is not announced again. A later
        // revocation of a subject covers more tokens; a longer one lasts longer.
        let merged = match denied.get(key) {
            Some(known) if known.revoked_at >= denial.revoked_at && known.until >= denial.until => {
                return;
            }
            Some(known) => Denial {
                revoked_at: known.revoked_at.max(denial.revoked_at),
                until: known.until.max(denial.until),
            },
            None => denial,
        };
        denied.insert(key.to_string(), merged);
        self.recount(&denied);
        drop(denied);
        if let Some(hash) = key.strip_prefix("t:")
            && let Some(bytes) = b64url_decode(hash)
            && let Ok(token_key) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            (self.forget)(&token_key);
        }
        let by = match key.as_bytes().first() {
            Some(b't') => "token",
            Some(b'j') => "jti",
            _ => "sub",
        };
        self.events.emit(Event::Revoked { by, origin });
    }

    fn recount(&self, denied: &HashMap<String, Denial>) {
        self.count.store(denied.len(), Ordering::Release);
        let by_claims = denied.keys().filter(|k| !k.starts_with("t:")).count();
        self.by_claims.store(by_claims, Ordering::Release);
    }

    /// Refuses `token` when it, its `jti`, or its subject (for tokens issued up to the
    /// revocation) is revoked. `claims` gives the claims when a `jti` or `sub` entry exists.
    pub fn check<'c>(
        &self,
        token: &str,
        claims: impl FnOnce() -> Option<Claimed<'c>>,
    ) -> Result<()> {
        self.report_if_away();
        if self.count.load(Ordering::Acquire) == 0 {
            return Ok(());
        }
        let now = now_seconds();
        let denied = self.denied.read().unwrap_or_else(|e| e.into_inner());
        let in_force = |key: &str| denied.get(key).filter(|d| d.until > now).copied();
        if in_force(&Revoked::Token(token).entry_key()).is_some() {
            return Err(revoked());
        }
        if self.by_claims.load(Ordering::Acquire) == 0 {
            return Ok(());
        }
        let Some(claimed) = claims() else {
            return Ok(());
        };
        let map = claimed.map();
        if let Some(Value::String(jti)) = map.get("jti")
            && in_force(&Revoked::Jti(jti).entry_key()).is_some()
        {
            return Err(revoked());
        }
        if let Some(Value::String(sub)) = map.get("sub")
            && let Some(denial) = in_force(&Revoked::Sub(sub).entry_key())
        {
            let issued = map.get("iat").and_then(Value::as_f64);
            if issued.is_none_or(|iat| iat <= denial.revoked_at) {
                return Err(revoked());
            }
        }
        Ok(())
    }

    /// With a shared store, a check while the listener is away may miss the fleet's latest
    /// revocations: say so once per absence.
    fn report_if_away(&self) {
        if self.shared.is_some()
            && !self.listening.load(Ordering::Acquire)
            && !self.reported_away.swap(true, Ordering::AcqRel)
        {
            self.events.emit(Event::StoreError {
                operation: "revocations",
                message: "not listening for the fleet's revocations; refusing what this instance knows",
            });
        }
    }

    fn apply_message(&self, text: &str) {
        let mut parts = text.split(' ');
        let (Some(key), Some(revoked_at), Some(until)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        if let (Ok(revoked_at), Ok(until)) = (revoked_at.parse(), until.parse()) {
            self.add(key, Denial { revoked_at, until }, "fleet");
        }
    }

    /// Reads every revocation still in force from the store's index.
    async fn load(&self, shared: &SharedStore) -> bool {
        let index = shared.name("revoked");
        let now_ms = ((now_seconds() * 1000.0) as i64).to_string();
        let entries = shared
            .command(&["ZRANGEBYSCORE", &index, &now_ms, "+inf", "WITHSCORES"])
            .await
            .and_then(|reply| reply.into_flat_texts())
            .map(|texts| {
                texts
                    .chunks_exact(2)
                    .filter_map(|pair| Some((pair[0].clone(), pair[1].parse::<f64>().ok()?)))
                    .collect::<Vec<_>>()
            });
        match entries {
            Ok(entries) => {
                for (member, until_ms) in entries {
                    let mut parts = member.split(' ');
                    if let (Some(key), Some(Ok(revoked_at))) =
                        (parts.next(), parts.next().map(str::parse::<f64>))
                    {
                        let denial = Denial {
                            revoked_at,
                            until: until_ms / 1000.0,
                        };
                        self.add(key, denial, "fleet");
                    }
                }
                true
            }
            Err(error) => {
                self.events.emit(Event::StoreError {
                    operation: "revocations",
                    message: &error.to_string(),
                });
                false
            }
        }
    }
}

/// The claims a check may need, parsed only when a `jti` or `sub` entry exists.
pub enum Claimed<'c> {
    Map(&'c Map<String, Value>),
    Owned(Map<String, Value>),
}

impl Claimed<'_> {
    fn map(&self) -> &Map<String, Value> {
        match self {
            Claimed::Map(map) => map,
            Claimed::Owned(map) => map,
        }
    }

    pub fn parse(json: &str) -> Option<Claimed<'static>> {
        serde_json::from_str(json).ok().map(Claimed::Owned)
    }
}

fn revoked() -> Error {
    Error::token_with(REVOKED, TokenErrorCode::InactiveToken)
}

/// The `exp` of a JWT, read without verifying it: only to bound how long its revocation lasts.
fn jwt_exp(token: &str) -> Option<f64> {
    let payload = token.split('.').nth(1)?;
    let bytes = b64url_decode(payload)?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp").and_then(Value::as_f64)
}

/// Listens for the fleet's revocations while the client lives: subscribes, reads the index
/// (what was revoked while away), then applies each message. On a loss it subscribes again
/// after a short pause; the pause grows to two seconds while the store stays away.
async fn listen(revocations: Weak<Revocations>) {
    let mut pause = Duration::from_millis(100);
    loop {
        let Some(this) = revocations.upgrade() else {
            return;
        };
        let Some(shared) = this.shared.clone() else {
            return;
        };
        let channel = shared.name("revocations");
        let mut subscription = match shared.subscribe(&channel).await {
            Ok(subscription) => subscription,
            Err(_) => {
                drop(this);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        if !this.load(&shared).await {
            drop(this);
            subscription.close().await;
            tokio::time::sleep(pause).await;
            continue;
        }
        pause = Duration::from_millis(100);
        this.listening.store(true, Ordering::Release);
        this.reported_away.store(false, Ordering::Release);
        drop(this);
        // Each turn waits a second at most, so that a client that is gone is noticed.
        loop {
            let batch = subscription.next().await;
            let Some(this) = revocations.upgrade() else {
                subscription.close().await;
                return;
            };
            match batch {
                Some(messages) => {
                    for text in messages {
                        this.apply_message(&text);
                    }
                }
                None => {
                    this.listening.store(false, Ordering::Release);
                    this.events.emit(Event::StoreError {
                        operation: "revocations",
                        message: "the shared store's subscription ended; subscribing again",
                    });
                    break;
                }
            }
        }
        subscription.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// The token keys the revocations asked the caches to forget.
    type Forgotten = Arc<Mutex<Vec<[u8; 32]>>>;

    fn local() -> (Arc<Revocations>, Forgotten) {
        let forgotten = Arc::new(Mutex::new(Vec::new()));
        let sink = forgotten.clone();
        let revocations = Revocations::new(
            None,
            Events::new(None),
            Box::new(move |key| sink.lock().unwrap().push(*key)),
        );
        (revocations, forgotten)
    }

    fn claims(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[tokio::test]
    async fn a_revoked_token_is_refused_and_forgotten() {
        let (revocations, forgotten) = local();
        assert!(revocations.check("abc", || None).is_ok());
        assert!(
            !revocations
                .revoke(Revoked::Token("abc"), None)
                .await
                .unwrap()
        );
        assert!(revocations.check("abc", || None).is_err());
        assert!(revocations.check("abd", || None).is_ok());
        assert_eq!(forgotten.lock().unwrap().as_slice(), &[token_key("abc")]);
    }

    #[tokio::test]
    async fn jti_and_subject_revocations_read_the_claims() {
        let (revocations, _) = local();
        revocations.revoke(Revoked::Jti("j1"), None).await.unwrap();
        revocations
            .revoke(Revoked::Sub("alice"), None)
            .await
            .unwrap();
        let now = now_seconds();
        let check = |json: String| {
            let map = claims(&json);
            revocations.check("t", || Some(Claimed::Map(&map)))
        };
        assert!(check(r#"{"jti":"j1"}"#.into()).is_err());
        assert!(check(r#"{"jti":"j2"}"#.into()).is_ok());
        assert!(check(format!(r#"{{"sub":"alice","iat":{}}}"#, now - 10.0)).is_err());
        assert!(
            check(r#"{"sub":"alice"}"#.into()).is_err(),
            "no iat: refused"
        );
        assert!(
            check(format!(r#"{{"sub":"alice","iat":{}}}"#, now + 10.0)).is_ok(),
            "issued after the revocation"
        );
        assert!(check(format!(r#"{{"sub":"bob","iat":{}}}"#, now - 10.0)).is_ok());
    }

    #[tokio::test]
    async fn revocations_end_at_their_expiry() {
        let (revocations, _) = local();
        revocations
            .revoke(Revoked::Token("old"), Some(now_seconds() - 1.0))
            .await
            .unwrap();
        assert!(revocations.check("old", || None).is_ok());
        // A JWT's own `exp` bounds its revocation.
        let payload = b64url_encode(format!(r#"{{"exp":{}}}"#, now_seconds() + 60.0).as_bytes());
        let jwt = format!("e30.{payload}.sig");
        revocations
            .revoke(Revoked::Token(&jwt), None)
            .await
            .unwrap();
        assert!(revocations.check(&jwt, || None).is_err());
    }

    /// This instance's own message coming back, or the index read again, is no new revocation.
    #[tokio::test]
    async fn a_known_revocation_is_announced_once() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = heard.clone();
        let revocations = Revocations::new(
            None,
            Events::new(Some(Arc::new(move |text: String| {
                sink.lock().unwrap().push(text)
            }))),
            Box::new(|_| {}),
        );
        let now = now_seconds();
        let key = Revoked::Sub("dave").entry_key();
        let message = format!("{key} {now} {}", now + 60.0);
        revocations.apply_message(&message);
        revocations.apply_message(&message);
        assert_eq!(heard.lock().unwrap().len(), 1);
        // A later revocation of the same subject covers more tokens: it counts.
        revocations.apply_message(&format!("{key} {} {}", now + 5.0, now + 60.0));
        assert_eq!(heard.lock().unwrap().len(), 2);
        assert!(heard.lock().unwrap()[0].contains(r#""origin":"fleet""#));
    }

    #[test]
    fn fleet_messages_are_applied_and_garbage_ignored() {
        let (revocations, _) = local();
        let key = Revoked::Jti("j9").entry_key();
        revocations.apply_message("garbage");
        revocations.apply_message(&format!("{key} x y"));
        assert_eq!(revocations.count.load(Ordering::Acquire), 0);
        revocations.apply_message(&format!("{key} {} {}", now_seconds(), now_seconds() + 60.0));
        let map = claims(r#"{"jti":"j9"}"#);
        assert!(revocations.check("t", || Some(Claimed::Map(&map))).is_err());
    }
}
