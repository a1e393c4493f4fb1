//! The token client: one cached token per distinct request (scopes, resources, audience),
//! handed out until it expires and refreshed in the background ahead of that, so that callers
//! never wait on a refresh while a valid token exists. Concurrent callers with nothing to use
//! share one token request. A transient failure (no answer, 5xx, 429) is retried a bounded
//! number of times within a bounded time; an OAuth error answers at once.
//!
//! Every expiry decision reads the caller's clock (`Date.now()`, see `core::clock`); waits
//! between retries and the pause after a failed background refresh are monotonic.
//!
//! With a DPoP key (option `dpop`), every token request carries a proof and tokens are bound to
//! that key; the key's thumbprint is part of every shared cache key, so a Bearer token and a
//! DPoP-bound one (or tokens bound to different keys) are never handed out for each other.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use serde_json::{Value, json};

use super::config::TokenClientConfig;
use super::dpop::DpopKey;
use super::grant::{Failed, IssuedToken, TokenRequest, classify, request_token};
use crate::core::callbacks::{Callbacks, JsCall, Limit, invoke};
use crate::core::clock::Now;
use crate::core::discovery::Discovery;
use crate::core::error::{Error, Result};
use crate::core::events::{Event, Events, class_name};
use crate::core::http::{Http, Identity};
use crate::core::jose::b64url_encode;
use crate::store::{SharedStore, StoreError};

/// How long a token whose answer has no `expires_in` is used, at most.
pub const LIFETIME_WHEN_UNKNOWN: Duration = Duration::from_secs(60);
/// The first wait before a retry; each next one doubles, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// All retries of one token request end within this time; a `Retry-After` that asks for more
/// answers the failure at once instead.
pub const RETRY_BUDGET: Duration = Duration::from_secs(30);
/// After a background refresh failed, the next caller does not start another for this long:
/// the old token is still good, and an issuer in trouble should not see a request per call.
const BACKGROUND_RETRY_PAUSE: Duration = Duration::from_secs(5);
/// Past this many distinct requests, slots whose token expired are dropped.
const SLOTS_BEFORE_PRUNING: usize = 256;

/// A token as the client keeps it; times on the caller's clock, milliseconds.
#[derive(Clone, PartialEq)]
pub struct CachedToken {
    pub access_token: String,
    pub token_type: String,
    pub scope: Option<String>,
    pub expires_at_ms: f64,
    pub refresh_at_ms: f64,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedToken")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("refresh_at_ms", &self.refresh_at_ms)
            .finish()
    }
}

impl CachedToken {
    /// `sent` is when the request left: the lifetime counts from then, never from later.
    /// Refreshing starts `skew` before expiry but not before half the lifetime has passed, so
    /// a short-lived token is not refreshed on every call.
    fn from_issued(issued: IssuedToken, sent: Now, skew_secs: f64) -> CachedToken {
        let lifetime_ms = issued
            .expires_in
            .unwrap_or(LIFETIME_WHEN_UNKNOWN.as_secs_f64())
            * 1000.0;
        let sent_ms = sent.millis();
        let expires_at_ms = sent_ms + lifetime_ms;
        let refresh_at_ms = (expires_at_ms - skew_secs * 1000.0).max(sent_ms + lifetime_ms / 2.0);
        CachedToken {
            access_token: issued.access_token,
            token_type: issued.token_type,
            scope: issued.scope,
            expires_at_ms,
            refresh_at_ms,
        }
    }

    fn valid_at(&self, now: Now) -> bool {
        now.millis() < self.expires_at_ms
    }

    fn due_at(&self, now: Now) -> bool {
        now.millis() >= self.refresh_at_ms
    }

    /// What `getAccessToken` answers, as JSON text.
    pub fn answer_json(&self) -> String {
        json!({
            "accessToken": self.access_token,
            "tokenType": self.token_type,
            "expiresAt": self.expires_at_ms,
            "scope": self.scope,
        })
        .to_string()
    }

    fn shared_json(&self) -> Value {
        json!({
            "accessToken": self.access_token,
            "tokenType": self.token_type,
            "scope": self.scope,
            "expiresAt": self.expires_at_ms,
            "refreshAt": self.refresh_at_ms,
        })
    }

    /// An entry another instance stored; anything malformed is a miss.
    fn from_shared(value: &Value) -> Option<CachedToken> {
        let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let number = |name: &str| value.get(name).and_then(Value::as_f64);
        Some(CachedToken {
            access_token: text("accessToken").filter(|t| !t.is_empty())?,
            token_type: text("tokenType").filter(|t| !t.is_empty())?,
            scope: text("scope"),
            expires_at_ms: number("expiresAt")?,
            refresh_at_ms: number("refreshAt")?,
        })
    }
}

/// A cache shared by a fleet: one token request per token, not per instance.
pub enum SharedCache {
    /// The user's adapter.
    Adapter {
        get: JsCall,
        set: JsCall,
        delete: Option<JsCall>,
    },
    /// The shared store (`store`): with a short lock, so that one instance asks the issuer
    /// while the others wait for its answer.
    Store(Arc<SharedStore>),
}

/// How long the instance that asks the issuer holds the lock, at most; the others wait as long
/// for its token, then ask the issuer themselves.
const LOCK_MS: u64 = 5_000;
/// How often a waiting instance looks for the token the lock holder stores.
const LOCK_POLL: Duration = Duration::from_millis(25);

/// What the client reports to `onEvent`. Never a token or a secret.
#[derive(Serialize)]
// The variants are named as the events' `type`, which all begin with `token_`.
#[allow(clippy::enum_variant_names)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
enum TokenEvent<'a> {
    TokenFetched {
        scopes: &'a [String],
        resources: &'a [String],
        audience: Option<&'a str>,
        /// `issuer`, or `shared_cache` when another instance had fetched it.
        source: &'static str,
        expires_at: f64,
    },
    TokenRefreshed {
        scopes: &'a [String],
        resources: &'a [String],
        audience: Option<&'a str>,
        source: &'static str,
        expires_at: f64,
        /// Whether callers went on with the old token meanwhile.
        background: bool,
    },
    TokenError {
        scopes: &'a [String],
        resources: &'a [String],
        audience: Option<&'a str>,
        error: &'static str,
        /// The OAuth error code, for `MonoCloudOPError`.
        code: Option<&'a str>,
        message: &'a str,
        status: Option<u16>,
        /// 1 for the first try.
        attempt: u32,
        /// Whether the client tries again.
        retrying: bool,
        /// `token_request`, `background_refresh` or `shared_cache`.
        during: &'static str,
    },
}

struct Slot {
    state: Mutex<SlotState>,
    /// Held by the one caller fetching; the others wait on it and take its outcome.
    fetching: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct SlotState {
    token: Option<Arc<CachedToken>>,
    /// Fetches finished so far, and how the last one ended: a caller that waited on a fetch
    /// takes its outcome, failures included, rather than asking the issuer again.
    finished: u64,
    outcome: Option<Result<Arc<CachedToken>>>,
    /// No background refresh is started before this (monotonic), after one failed.
    pause_until: Option<Instant>,
}

impl Slot {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct TokenClient {
    config: TokenClientConfig,
    http: Http,
    events: Events,
    discovery: Discovery,
    shared: Option<SharedCache>,
    slots: Mutex<HashMap<TokenRequest, Arc<Slot>>>,
    dpop: Option<DpopKey>,
}

impl TokenClient {
    pub fn new(
        config: TokenClientConfig,
        callbacks: Callbacks,
        cache_delete: Option<JsCall>,
    ) -> Result<TokenClient> {
        let identity = config
            .tls_identity
            .as_ref()
            .map(|pem| Identity { pem: pem.0.clone() });
        let has_adapter =
            config.has_cache && callbacks.cache_get.is_some() && callbacks.cache_set.is_some();
        // The store is opened only when no cache adapter takes its place.
        let store = match &config.store {
            Some(setting) if !has_adapter => Some(
                crate::store::open_setting(
                    setting,
                    &config.store_prefix,
                    config.store_timeout_ms,
                    (
                        config.client_secret.as_ref(),
                        config.tls_identity.as_ref().map(|pem| pem.0.as_slice()),
                    ),
                    &callbacks,
                )
                .map_err(Error::validation)?,
            ),
            _ => None,
        };
        let shared = match (callbacks.cache_get, callbacks.cache_set) {
            (Some(get), Some(set)) if config.has_cache => Some(SharedCache::Adapter {
                get,
                set,
                delete: cache_delete,
            }),
            _ => store.map(SharedCache::Store),
        };
        let dpop = config.dpop.as_ref().map(DpopKey::new).transpose()?;
        Ok(TokenClient {
            dpop,
            http: Http::new(config.response_timeout_ms, callbacks.fetch, identity)?,
            events: Events::new(callbacks.events),
            discovery: Discovery::for_issuer(
                &config.issuer,
                config.metadata_cache_duration,
                config.stale_if_error_duration,
                config.response_timeout_ms,
                callbacks.metadata,
            ),
            shared,
            slots: Mutex::new(HashMap::new()),
            config,
        })
    }

    pub fn config(&self) -> &TokenClientConfig {
        &self.config
    }

    /// The DPoP key, when tokens are DPoP-bound.
    pub fn dpop(&self) -> Option<&DpopKey> {
        self.dpop.as_ref()
    }

    /// What a cached or shared token must be: `DPoP` with a key, else anything but `DPoP`.
    fn fits(&self, token: &CachedToken) -> bool {
        token.token_type.eq_ignore_ascii_case("DPoP") == self.dpop.is_some()
    }

    fn slot(&self, request: &TokenRequest, now: Now) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = slots.get(request) {
            return slot.clone();
        }
        if slots.len() >= SLOTS_BEFORE_PRUNING {
            slots.retain(|_, slot| {
                slot.fetching.try_lock().is_err()
                    || slot
                        .state()
                        .token
                        .as_ref()
                        .is_some_and(|token| token.valid_at(now))
            });
        }
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::default()),
            fetching: Arc::new(tokio::sync::Mutex::new(())),
        });
        slots.insert(request.clone(), slot.clone());
        slot
    }

    /// The cached token for `request` when it is valid and not yet due for a refresh: what a
    /// caller can be answered without waiting on anything. `None` sends it to `access_token`.
    pub fn fresh(&self, request: &TokenRequest, now: Now) -> Option<Arc<CachedToken>> {
        let slot = {
            let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.get(request)?.clone()
        };
        let token = slot.state().token.clone()?;
        (token.valid_at(now) && !token.due_at(now)).then_some(token)
    }

    /// A valid token for `request`: the cached one (starting its refresh in the background
    /// when due), or a new one shared with every concurrent caller.
    pub async fn access_token(
        self: &Arc<Self>,
        request: TokenRequest,
        now: Now,
    ) -> Result<Arc<CachedToken>> {
        let slot = self.slot(&request, now);
        let cached = slot.state().token.clone();
        if let Some(token) = cached.filter(|token| token.valid_at(now)) {
            if token.due_at(now) {
                self.refresh_in_background(&slot, &request, now);
            }
            return Ok(token);
        }
        self.fetch_shared(&slot, &request, now).await
    }

    /// Forgets `access_token` (the API it was sent to said it is not valid), here and in the
    /// shared cache, so the next call fetches a new one.
    pub async fn invalidate(&self, request: TokenRequest, access_token: &str) {
        let slot = {
            let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.get(&request).cloned()
        };
        // Only the caller that still holds the refused token clears it: when many requests
        // were refused together, the others must not drop the replacement the first one got.
        let held = slot.is_some_and(|slot| {
            let mut state = slot.state();
            let held = state
                .token
                .as_ref()
                .is_some_and(|token| token.access_token == access_token);
            if held {
                state.token = None;
                state.outcome = None;
            }
            held
        });
        if !held {
            return;
        }
        match &self.shared {
            Some(SharedCache::Adapter {
                delete: Some(delete),
                ..
            }) => {
                let key = self.shared_key(&request);
                let limit = Limit::new("cache.delete", self.config.response_timeout_ms);
                if let Err(error) = invoke(delete, json!({ "key": key }), limit).await {
                    self.report_error(&request, &error, 1, false, "shared_cache");
                }
            }
            Some(SharedCache::Store(store)) => {
                let key = self.store_key(store, &request);
                if let Err(error) = store.delete(&key).await {
                    self.store_error("token_delete", &error);
                }
            }
            _ => {}
        }
    }

    async fn fetch_shared(
        &self,
        slot: &Slot,
        request: &TokenRequest,
        now: Now,
    ) -> Result<Arc<CachedToken>> {
        let seen = slot.state().finished;
        let _fetching = slot.fetching.lock().await;
        let now = now.later();
        let replacing = {
            let state = slot.state();
            if state.finished != seen
                && let Some(outcome) = &state.outcome
            {
                return outcome.clone();
            }
            if let Some(token) = state.token.as_ref().filter(|t| t.valid_at(now)) {
                return Ok(token.clone());
            }
            state.token.is_some()
        };
        let outcome = self.fetch(request, now, replacing, false).await;
        let mut state = slot.state();
        state.finished += 1;
        if let Ok(token) = &outcome {
            state.token = Some(token.clone());
        }
        state.outcome = Some(outcome.clone());
        outcome
    }

    fn refresh_in_background(self: &Arc<Self>, slot: &Arc<Slot>, request: &TokenRequest, now: Now) {
        {
            let state = slot.state();
            if state
                .pause_until
                .is_some_and(|until| Instant::now() < until)
            {
                return;
            }
        }
        // Whoever holds the lock is already fetching this token.
        let Ok(guard) = slot.fetching.clone().try_lock_owned() else {
            return;
        };
        let client = self.clone();
        let slot = slot.clone();
        let request = request.clone();
        tokio::spawn(async move {
            let _fetching = guard;
            let now = now.later();
            let still_due = slot
                .state()
                .token
                .as_ref()
                .is_none_or(|token| token.due_at(now));
            if !still_due {
                return;
            }
            let outcome = client.fetch(&request, now, true, true).await;
            let mut state = slot.state();
            state.finished += 1;
            match &outcome {
                Ok(token) => {
                    state.token = Some(token.clone());
                    state.pause_until = None;
                }
                Err(_) => state.pause_until = Some(Instant::now() + BACKGROUND_RETRY_PAUSE),
            }
            state.outcome = Some(outcome);
        });
    }

    /// A new token: from the shared cache when another instance fetched one that is not yet
    /// due, else from the issuer (and then stored in the shared cache).
    async fn fetch(
        &self,
        request: &TokenRequest,
        now: Now,
        replacing: bool,
        background: bool,
    ) -> Result<Arc<CachedToken>> {
        let report = |token: &CachedToken, source: &'static str| {
            let (scopes, resources, audience) = parts(request);
            self.events.report(&if replacing {
                TokenEvent::TokenRefreshed {
                    scopes,
                    resources,
                    audience,
                    source,
                    expires_at: token.expires_at_ms,
                    background,
                }
            } else {
                TokenEvent::TokenFetched {
                    scopes,
                    resources,
                    audience,
                    source,
                    expires_at: token.expires_at_ms,
                }
            });
        };
        if let Some(token) = self.shared_cache_token(request, now).await {
            report(&token, "shared_cache");
            return Ok(Arc::new(token));
        }
        // With the shared store, only the instance that takes the lock asks the issuer; the
        // others wait (bounded) for the token it stores.
        let lock = match &self.shared {
            Some(SharedCache::Store(store)) => {
                let lock = format!("{}:lock", self.store_key(store, request));
                let holder = format!("{:x}", rand_u64());
                match store
                    .set_new(&lock, &holder, Duration::from_millis(LOCK_MS))
                    .await
                {
                    Ok(true) => {
                        // The previous holder may have stored its token and let go between our
                        // read and our lock: read once more before asking the issuer.
                        if let Some(token) = self.shared_cache_token(request, now).await {
                            if let Err(error) = store.delete_if(&lock, &holder).await {
                                self.store_error("token_unlock", &error);
                            }
                            report(&token, "shared_cache");
                            return Ok(Arc::new(token));
                        }
                        Some((store.clone(), lock, holder))
                    }
                    Ok(false) => {
                        if let Some(token) = self.wait_for_holder(store, request, now).await {
                            report(&token, "shared_cache");
                            return Ok(Arc::new(token));
                        }
                        None
                    }
                    Err(error) => {
                        self.store_error("token_lock", &error);
                        None
                    }
                }
            }
            _ => None,
        };
        let result = self
            .fetch_from_issuer(request, now, background, &report)
            .await;
        if let Some((store, lock, holder)) = lock
            && let Err(error) = store.delete_if(&lock, &holder).await
        {
            self.store_error("token_unlock", &error);
        }
        result
    }

    async fn fetch_from_issuer(
        &self,
        request: &TokenRequest,
        now: Now,
        background: bool,
        report: &impl Fn(&CachedToken, &'static str),
    ) -> Result<Arc<CachedToken>> {
        let during = if background {
            "background_refresh"
        } else {
            "token_request"
        };
        let (issued, sent) = self.request_with_retries(request, now, during).await?;
        let token = CachedToken::from_issued(issued, sent, self.config.refresh_skew);
        report(&token, "issuer");
        self.store_shared(request, &token).await;
        Ok(Arc::new(token))
    }

    async fn request_with_retries(
        &self,
        request: &TokenRequest,
        now: Now,
        during: &'static str,
    ) -> Result<(IssuedToken, Now)> {
        let started = Instant::now();
        let mut attempt: u32 = 1;
        loop {
            let sent = now.later();
            let result = match self
                .discovery
                .metadata(&self.http, &self.events, false, sent)
                .await
            {
                Ok(metadata) => {
                    request_token(
                        &self.http,
                        &self.config,
                        &metadata,
                        request,
                        sent,
                        self.dpop.as_ref(),
                    )
                    .await
                }
                Err(error) => Err(classify(error)),
            };
            let (error, wait) = match result {
                Ok(issued) => return Ok((issued, sent)),
                Err(Failed::Final(error)) => (error, None),
                Err(Failed::Transient { error, retry_after }) => {
                    let wait = retry_after.unwrap_or_else(|| backoff(attempt));
                    let within_budget = started.elapsed() + wait <= RETRY_BUDGET;
                    let retrying = attempt <= self.config.retries && within_budget;
                    (error, retrying.then_some(wait))
                }
            };
            self.report_error(request, &error, attempt, wait.is_some(), during);
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(error),
            }
            attempt += 1;
        }
    }

    fn report_error(
        &self,
        request: &TokenRequest,
        error: &Error,
        attempt: u32,
        retrying: bool,
        during: &'static str,
    ) {
        let (scopes, resources, audience) = parts(request);
        let message = error.to_string();
        let (code, status) = match error {
            Error::Op { error, raw, .. } => (Some(error.as_str()), raw.as_ref().map(|r| r.status)),
            Error::Http { raw, .. } => (None, raw.as_ref().map(|r| r.status)),
            _ => (None, None),
        };
        self.events.report(&TokenEvent::TokenError {
            scopes,
            resources,
            audience,
            error: class_name(error),
            code,
            message: &message,
            status,
            attempt,
            retrying,
            during,
        });
    }

    /// The shared cache's key: the issuer, the client and the request, hashed so that the key
    /// has a bounded length and shows nothing.
    fn shared_key(&self, request: &TokenRequest) -> String {
        let text = json!([
            self.config.issuer,
            self.config.client_id,
            request.key(),
            self.binding()
        ])
        .to_string();
        let hash = digest::digest(&digest::SHA256, text.as_bytes());
        format!("monocloud-token:{}", b64url_encode(hash.as_ref()))
    }

    /// The shared store's key for `request`: a hash of the same parts, under the prefix.
    fn store_key(&self, store: &SharedStore, request: &TokenRequest) -> String {
        store.key(
            "token",
            &[
                &self.config.issuer,
                &self.config.client_id,
                &request.key(),
                self.binding(),
            ],
        )
    }

    /// What a token is bound to, in its cache keys: the DPoP key's thumbprint, or `bearer`.
    fn binding(&self) -> &str {
        self.dpop.as_ref().map_or("bearer", DpopKey::thumbprint)
    }

    fn store_error(&self, operation: &'static str, error: &StoreError) {
        self.events.emit(Event::StoreError {
            operation,
            message: &error.to_string(),
        });
    }

    /// Waits while another instance holds the lock, for the token it stores; `None` when the
    /// wait ends without one (the lock expired or the store failed).
    async fn wait_for_holder(
        &self,
        store: &SharedStore,
        request: &TokenRequest,
        now: Now,
    ) -> Option<CachedToken> {
        let key = self.store_key(store, request);
        let lock = format!("{key}:lock");
        let deadline = Instant::now() + Duration::from_millis(LOCK_MS);
        while Instant::now() < deadline {
            tokio::time::sleep(LOCK_POLL).await;
            match store.get(&key).await {
                Ok(Some(text)) => {
                    let token = stored_token(&text, now);
                    if token.is_some() {
                        return token;
                    }
                }
                Ok(None) => {
                    // No lock any more: the holder stored its token just now (read it once
                    // more), or gave up (failed, or its lock expired): stop waiting.
                    if matches!(store.get(&lock).await, Ok(None)) {
                        return match store.get(&key).await {
                            Ok(Some(text)) => stored_token(&text, now),
                            _ => None,
                        };
                    }
                }
                Err(error) => {
                    self.store_error("token_get", &error);
                    return None;
                }
            }
        }
        None
    }

    async fn shared_cache_token(&self, request: &TokenRequest, now: Now) -> Option<CachedToken> {
        let (get, key) = match self.shared.as_ref()? {
            SharedCache::Adapter { get, .. } => (get, self.shared_key(request)),
            SharedCache::Store(store) => {
                let key = self.store_key(store, request);
                return match store.get(&key).await {
                    Ok(text) => text
                        .and_then(|text| stored_token(&text, now))
                        .filter(|token| self.fits(token)),
                    Err(error) => {
                        self.store_error("token_get", &error);
                        None
                    }
                };
            }
        };
        let limit = Limit::new("cache.get", self.config.response_timeout_ms);
        match invoke(get, json!({ "key": key }), limit).await {
            Ok(value) => CachedToken::from_shared(&value)
                .filter(|token| !token.due_at(now.later()) && self.fits(token)),
            Err(error) => {
                // A cache that fails is a miss: the issuer still answers.
                self.report_error(request, &error, 1, false, "shared_cache");
                None
            }
        }
    }

    async fn store_shared(&self, request: &TokenRequest, token: &CachedToken) {
        let set = match &self.shared {
            None => return,
            Some(SharedCache::Adapter { set, .. }) => set,
            Some(SharedCache::Store(store)) => {
                let key = self.store_key(store, request);
                let left_ms = token.expires_at_ms - Now::system().millis();
                if left_ms > 0.0 {
                    let ttl = Duration::from_millis(left_ms.min(1e12) as u64);
                    let value = token.shared_json().to_string();
                    if let Err(error) = store.set(&key, &value, ttl).await {
                        self.store_error("token_set", &error);
                    }
                }
                return;
            }
        };
        let key = self.shared_key(request);
        let stored = invoke(
            set,
            json!({
                "key": key,
                "value": token.shared_json(),
                // Seconds, as the introspection cache's adapter takes it.
                "expiresAt": (token.expires_at_ms / 1000.0).floor(),
            }),
            Limit::new("cache.set", self.config.response_timeout_ms),
        )
        .await;
        if let Err(error) = stored {
            self.report_error(request, &error, 1, false, "shared_cache");
        }
    }
}

/// A token another instance stored, while it is not yet due; anything malformed is a miss.
fn stored_token(text: &str, now: Now) -> Option<CachedToken> {
    serde_json::from_str(text)
        .ok()
        .and_then(|value| CachedToken::from_shared(&value))
        .filter(|token| !token.due_at(now.later()))
}

/// A lock holder's name: random, so that only the holder releases its lock.
fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // Should the system's generator fail, the time still tells holders apart.
    match SystemRandom::new().fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => Now::system().millis() as u64,
    }
}

fn parts(request: &TokenRequest) -> (&[String], &[String], Option<&str>) {
    (
        &request.scopes,
        &request.resources,
        request.audience.as_deref(),
    )
}

/// The wait before retry `attempt` (1 for the first retry): doubling, capped, with jitter so
/// that a fleet does not retry in step.
fn backoff(attempt: u32) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = doubled.min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let jitter = match SystemRandom::new().fill(&mut byte) {
        Ok(()) => 0.5 + f64::from(byte[0]) / 510.0,
        Err(_) => 1.0,
    };
    capped.mul_f64(jitter)
}

#[cfg(test)]
mod tests;
