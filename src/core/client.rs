//! The client, and the dispatcher each validation goes through: a JWT is verified locally
//! (against the issuer's key set, or a verified-token cache hit), anything else is introspected;
//! then what the call asks beyond a valid token. The client holds everything per tenant (its
//! configuration, HTTP client, callbacks, caches and clock settings), nothing in statics, so
//! that several clients live side by side.

use std::future::Future;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::callbacks::Callbacks;
use super::cert_binding::{self, BindingMode};

use super::claims::{self, Expectations, Lifetime, Requirements};
use super::clock::{ClockSettings, Now};
use super::config::Config;
use super::discovery::{Discovery, Metadata};
use super::dpop::{self, Dpop, Scheme};
use super::error::{Error, INTROSPECTION_NOT_CONFIGURED, Result};
use super::events::{Event, Events};
use super::http::{Http, Identity};
use super::introspection::policy::introspect_through;
use super::introspection::request::introspect;
use super::introspection::{MemoryStore, Store};
use super::jwt::{self, Claims};
use super::keys::{KeySet, RemoteKeySet};
use super::pinned_secret::PinnedSecret;
use super::request::Request;
use super::text::js_trim;
use super::verified::VerifiedTokens;
use crate::store::SharedStore;
use crate::store::revocation::{Claimed, Revocations, Revoked};

/// Which way `validateAccessToken` takes a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Verified locally (`validateJwtAccessToken`).
    Jwt,
    /// Asked of the issuer (`introspectAccessToken`).
    Introspection,
}

pub struct Client {
    config: Config,
    http: Http,
    events: Events,
    clock: ClockSettings,
    discovery: Discovery,
    keys: RemoteKeySet,
    /// `None` unless asked for (see `introspection_store`).
    introspection_store: Option<Store>,
    /// Verified JWT claims; `None` when `tokenCacheMaxEntries` is 0.
    verified: Option<VerifiedTokens>,
    /// What this instance refuses although it verifies (and, with a store, the fleet too).
    revocations: Arc<Revocations>,
    /// The fleet's shared store, when `store` is given.
    shared: Option<Arc<SharedStore>>,
    /// DPoP proofs, nonces and replay (RFC 9449).
    dpop: Dpop,
    /// The pinned symmetric mode (`hmacSecret`): JWTs are verified with it alone.
    pinned: Option<PinnedSecret>,
}

impl Client {
    pub fn new(config: Config, callbacks: Callbacks) -> Result<Client> {
        let identity = config
            .tls_identity
            .as_ref()
            .map(|pem| Identity { pem: pem.0.clone() });
        let shared = match &config.store {
            Some(setting) => Some(
                crate::store::open_setting(
                    setting,
                    &config.store_prefix,
                    config.store_timeout_ms,
                    &callbacks,
                )
                .map_err(Error::validation)?,
            ),
            None => None,
        };
        let introspection_store = introspection_store(&config, &callbacks, shared.as_ref());
        let events = Events::new(callbacks.events);
        let verified = (config.token_cache_max_entries > 0).then(|| {
            VerifiedTokens::new(config.token_cache_max_entries, config.jwks_cache_duration)
        });
        let forget_verified = verified.clone();
        let revocations = Revocations::new(
            shared.clone(),
            events.clone(),
            Box::new(move |key| {
                if let Some(verified) = &forget_verified {
                    verified.forget(key);
                }
            }),
        );
        let mut dpop = Dpop::new(
            config.dpop.clone(),
            config.challenge.clone(),
            callbacks.dpop_reserve.clone(),
            config
                .response_timeout_ms
                .map(|ms| super::clock::seconds(ms / 1000.0)),
        );
        if let Some(shared) = &shared {
            dpop.share_replay(shared.clone(), events.clone());
        }
        let pinned = config
            .pinned_secret
            .as_ref()
            .map(|(alg, secret)| PinnedSecret::new(*alg, secret));
        Ok(Client {
            pinned,
            http: Http::new(config.response_timeout_ms, callbacks.fetch, identity)?,
            events,
            clock: ClockSettings::new(config.clock_skew, config.clock_tolerance),
            discovery: Discovery::new(&config, callbacks.metadata),
            keys: RemoteKeySet::new(&config, callbacks.jwks),
            introspection_store,
            dpop,
            verified,
            revocations,
            shared,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn dpop(&self) -> &Dpop {
        &self.dpop
    }

    pub fn set_clock_skew(&self, seconds: f64) -> Result<()> {
        self.clock.set_skew(seconds)
    }

    pub fn set_clock_tolerance(&self, seconds: f64) -> Result<()> {
        self.clock.set_tolerance(seconds)
    }

    /// The verdict on a request whose JWT was verified before, without waiting on anything:
    /// `None` when it must go the long way (`verify`). Scopes, groups, binding and the clock are
    /// checked afresh. A request with a DPoP proof goes the long way too: its signature check
    /// runs on the worker threads, not on JavaScript's (see `cached_verdict`).
    pub fn verify_cached(
        &self,
        token: Option<&str>,
        request: &Request,
    ) -> Option<Result<Arc<str>>> {
        let now = Now::before_any_wait(request.now_ms);
        if self.dpop.mode() != dpop::Mode::Disabled
            && let Err(error) = self.dpop.check_shape(request)
        {
            self.events.rejected(&error);
            return Some(Err(error));
        }
        let checked = self.cached_verdict(token, request, now, false)?;
        if let Err(error) = &checked {
            self.events.rejected(error);
        }
        Some(checked)
    }

    /// A verified token's verdict from the cache, or `None` when it is not there (or cannot be
    /// answered here: a proof to check while `with_proofs` is false, or a replay store in
    /// JavaScript). Everything that can change between two uses is checked again, the DPoP
    /// proof and binding included: the cache saves the token's signature, never the proof's.
    fn cached_verdict(
        &self,
        token: Option<&str>,
        request: &Request,
        now: Now,
        with_proofs: bool,
    ) -> Option<Result<Arc<str>>> {
        let verified = self.verified.as_ref()?;
        let token = token?;
        if self.config.introspect_jwt_tokens || token.len() > jwt::MAX_TOKEN_BYTES {
            return None;
        }
        let entry = verified.get(token, now)?;
        if entry.generation != self.keys.generation() {
            return None;
        }
        let proof_involved = self.dpop.mode() != dpop::Mode::Disabled
            && (entry.has_jkt
                || request.scheme == Some(Scheme::Dpop)
                || !request.dpop.is_empty()
                || self.dpop.mode() == dpop::Mode::Required);
        if proof_involved && !(with_proofs && self.dpop.is_synchronous()) {
            return None;
        }
        self.events.emit(Event::CacheHit { cache: "token" });
        let checked = entry
            .check(&request.requirements, &self.config, &self.clock, now)
            .and_then(|()| {
                self.revocations
                    .check(token, || Claimed::parse(&entry.json))
            })
            .and_then(|()| {
                if !proof_involved {
                    return Ok(());
                }
                let claims = if entry.has_jkt {
                    serde_json::from_str(&entry.json)
                        .map_err(|_| Error::token("Failed to parse JWT Payload"))?
                } else {
                    Map::new()
                };
                match self.dpop.check_token(token, &claims, false, request, now)? {
                    Some(ticket) => self.dpop.reserve_now(ticket, now).unwrap_or(Ok(())),
                    None => Ok(()),
                }
            })
            .map_err(|error| self.dpop.answer_token_error(error, request));
        Some(checked.map(|()| entry.json.clone()))
    }

    /// The verdict on a request (`MonoCloudBackendNodeClient.validateAccessToken`): JWTs
    /// locally, anything else (or every token, with `introspectJwtTokens`) by introspection.
    pub async fn verify(&self, token: Option<&str>, request: &Request) -> Result<Claims> {
        let now = Now::from_caller(request.now_ms);
        let result = self.verify_request(token, request, now).await;
        if let Err(error) = &result {
            self.events.rejected(error);
        }
        result
    }

    /// The request's shape, its token, then its DPoP proof and binding, and last the proof's
    /// one-time use, so that a proof refused for any other reason is not spent.
    async fn verify_request(
        &self,
        token: Option<&str>,
        request: &Request,
        now: Now,
    ) -> Result<Claims> {
        self.dpop.check_shape(request)?;
        if let Some(cached) = self.cached_verdict(token, request, now, true) {
            let json = cached?;
            let map = serde_json::from_str(&json)
                .map_err(|_| Error::token("Failed to parse JWT Payload"))?;
            return Ok(Claims {
                json: json.to_string(),
                map,
            });
        }
        let (claims, route) = self
            .dispatch(token, &request.requirements, now)
            .await
            .map_err(|error| self.dpop.answer_token_error(error, request))?;
        let (Some(token), true) = (token, self.dpop.mode() != dpop::Mode::Disabled) else {
            return Ok(claims);
        };
        let introspected = route == Route::Introspection;
        let now = now.later();
        if let Some(ticket) =
            self.dpop
                .check_token(token, &claims.map, introspected, request, now)?
        {
            // Boxed: only DPoP requests carry the store's future.
            Box::pin(self.dpop.reserve(ticket, now)).await?;
        }
        Ok(claims)
    }

    /// Which way a token goes, after the checks every token passes first (not blank, not
    /// oversized, and introspection configured for anything that is not a JWT).
    pub fn route<'t>(&self, token: Option<&'t str>) -> Result<(&'t str, Route)> {
        let token = non_blank(token)?;
        if token.len() > jwt::MAX_TOKEN_BYTES {
            return Err(Error::token(jwt::TOO_LARGE));
        }
        let looks_like_jwt = jwt::looks_like_jwt(token);
        if looks_like_jwt && !self.config.introspect_jwt_tokens {
            return Ok((token, Route::Jwt));
        }
        if !self.config.introspection_configured() {
            // A JWT here means `introspectJwtTokens` without a client id: every token fails,
            // which is the configuration's fault. Anything else is a token this API does not
            // take, which any caller can send.
            return Err(if looks_like_jwt {
                Error::validation(INTROSPECTION_NOT_CONFIGURED)
            } else {
                Error::IntrospectionNotConfigured
            });
        }
        Ok((token, Route::Introspection))
    }

    /// What `route` refused, told to the `onEvent` hook when it is about configuration (the
    /// verdict's own path reports through `verify`).
    pub fn report_route_failure(&self, error: &Error) {
        if let Error::IntrospectionNotConfigured = error {
            self.events.rejected(error);
        }
    }

    async fn dispatch(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
        now: Now,
    ) -> Result<(Claims, Route)> {
        match self.route(token)? {
            (token, Route::Jwt) => self
                .validate_jwt_access_token(
                    Some(token),
                    requirements,
                    self.config.certificate_binding,
                    None,
                    now,
                )
                .await
                .map(|claims| (claims, Route::Jwt)),
            (token, Route::Introspection) => {
                // Boxed: introspection state is large and the JWT path should not carry it.
                let answer = self.introspect_checked(token, now);
                let claims = Box::pin(self.introspected(token, requirements, now, answer)).await?;
                Ok((claims_of(claims), Route::Introspection))
            }
        }
    }

    /// `validateAccessToken`'s introspection path around `answer`: our own introspection, or
    /// the object's replaced `introspectAccessToken` (the original calls it through the
    /// object). The answer goes through the introspection cache when there is one, then the
    /// claims are checked with what the call asks for and the client's certificate binding.
    pub async fn introspected(
        &self,
        token: &str,
        requirements: &Requirements,
        now: Now,
        answer: impl Future<Output = Result<Map<String, Value>>>,
    ) -> Result<Map<String, Value>> {
        let claims = match &self.introspection_store {
            Some(store) => {
                introspect_through(
                    store,
                    &self.events,
                    &self.clock,
                    self.config.introspection_cache_duration,
                    token,
                    now,
                    answer,
                )
                .await?
            }
            None => answer.await?,
        };
        self.check_claims(
            &claims,
            requirements,
            self.config.certificate_binding,
            false,
            now,
        )?;
        self.revocations
            .check(token, || Some(Claimed::Map(&claims)))?;
        Ok(claims)
    }

    /// Refuses `revoked` from now on, here and (with a store) across the fleet; drops what the
    /// caches hold for it. Answers whether the fleet was told.
    pub async fn revoke(&self, revoked: Revoked<'_>, until: Option<f64>) -> Result<bool> {
        if let (Revoked::Token(token), Some(shared)) = (revoked, &self.shared)
            && let Some(Store::Shared { .. }) = &self.introspection_store
        {
            let key = introspection_key(shared, &self.config, token);
            if let Err(error) = shared.delete(&key).await {
                self.events.emit(Event::StoreError {
                    operation: "revoke",
                    message: &error.to_string(),
                });
            }
        }
        if let (Revoked::Token(token), Some(Store::Memory(memory))) =
            (revoked, &self.introspection_store)
        {
            memory.forget(token).await;
        }
        self.revocations.revoke(revoked, until).await
    }

    pub fn shared_store(&self) -> Option<&Arc<SharedStore>> {
        self.shared.as_ref()
    }

    /// `introspectAccessToken`: the answer, its standard claims, then what the call asks for.
    pub async fn introspect_access_token(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
        binding: Option<BindingMode>,
        now: Now,
    ) -> Result<Claims> {
        let claims = self.introspect_answer(token, now).await?;
        self.check_claims(&claims, requirements, binding, false, now)?;
        if let Some(token) = token {
            self.revocations
                .check(token, || Some(Claimed::Map(&claims)))?;
        }
        Ok(claims_of(claims))
    }

    async fn introspect_checked(&self, token: &str, now: Now) -> Result<Map<String, Value>> {
        let claims = self.introspect_answer(Some(token), now).await?;
        self.check_standard(&claims, false, now)?;
        Ok(claims)
    }

    async fn introspect_answer(&self, token: Option<&str>, now: Now) -> Result<Map<String, Value>> {
        let client_id = self.config.client_id.as_deref().ok_or_else(|| {
            Error::validation("The clientId option must be configured to introspect access tokens")
        })?;
        let token = non_blank(token)?;
        let metadata = self.metadata(false, now).await?;
        introspect(
            &self.http,
            &self.events,
            &self.config,
            client_id,
            &metadata,
            token,
            now,
        )
        .await
    }

    /// Local validation of a JWT access token against the issuer's key set (or `keys`).
    pub async fn validate_jwt_access_token(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
        binding: Option<BindingMode>,
        keys: Option<&KeySet>,
        now: Now,
    ) -> Result<Claims> {
        let token = non_blank(token)?;
        if let Some(pinned) = &self.pinned {
            // No key set: the secret is the only key, and nothing is fetched.
            let claims = pinned.verify(token)?;
            self.check_standard(&claims.map, true, now)?;
            self.check_requirements(&claims.map, requirements, binding, now)?;
            return Ok(claims);
        }
        let jws = jwt::parse(token)?;
        if self.config.require_at_jwt && jws.typ != jwt::TokenType::AccessToken {
            return Err(Error::token(jwt::UNEXPECTED_TYP));
        }
        let claims = match keys {
            Some(keys) => {
                let claims = jws.verify(keys)?;
                self.check_standard(&claims.map, true, now)?;
                claims
            }
            None => {
                let keys = self
                    .keys
                    .for_token(
                        &self.http,
                        &self.events,
                        &self.discovery,
                        jws.alg,
                        jws.kid.as_ref(),
                        now,
                    )
                    .await?;
                let claims = jws.verify(&keys)?;
                let lifetime = self.check_standard(&claims.map, true, now)?;
                if let Some(verified) = &self.verified {
                    self.events.emit(Event::CacheMiss { cache: "token" });
                    verified.remember(token, &claims, lifetime, &keys, &self.clock, now.later());
                }
                claims
            }
        };
        self.check_requirements(&claims.map, requirements, binding, now)?;
        self.revocations
            .check(token, || Some(Claimed::Map(&claims.map)))?;
        Ok(claims)
    }

    fn check_standard(
        &self,
        claims: &Map<String, Value>,
        is_jwt: bool,
        now: Now,
    ) -> Result<Lifetime> {
        claims::check_standard(
            claims,
            &Expectations {
                issuer: self
                    .config
                    .expected_issuer
                    .as_deref()
                    .unwrap_or(&self.config.issuer),
                audience: &self.config.audience,
                other_audiences: &self.config.other_audiences,
                // After whatever this call waited for, as the original reads its clock.
                now: now.later().seconds(),
                clock_skew: self.clock.skew(),
                clock_tolerance: self.clock.tolerance(),
                require_exp: is_jwt,
                max_token_age: self.config.max_token_age,
                resource: self.config.protected_resource.as_ref(),
            },
        )
    }

    /// Standard claims, then scopes, groups and certificate binding.
    pub fn check_claims(
        &self,
        claims: &Map<String, Value>,
        requirements: &Requirements,
        binding: Option<BindingMode>,
        is_jwt: bool,
        now: Now,
    ) -> Result<()> {
        self.check_standard(claims, is_jwt, now)?;
        self.check_requirements(claims, requirements, binding, now)
    }

    /// Scopes, groups, certificate binding and the user's authentication (step-up): what this
    /// call asks beyond a valid token.
    fn check_requirements(
        &self,
        claims: &Map<String, Value>,
        requirements: &Requirements,
        binding: Option<BindingMode>,
        now: Now,
    ) -> Result<()> {
        if let Some(scopes) = &requirements.scopes {
            claims::check_scopes(claims, scopes)?;
        }
        if let Some(groups) = &requirements.groups {
            claims::check_groups(
                claims,
                groups,
                &self.config.groups_claim,
                self.config.groups_match_all,
            )?;
        }
        cert_binding::check(claims, binding, requirements.client_certificate.as_deref())?;
        if requirements.steps_up() {
            claims::check_authentication(
                claims,
                requirements,
                now.later().seconds() + self.clock.skew(),
                self.clock.tolerance(),
            )?;
        }
        Ok(())
    }

    /// `getMetadata()`: the discovery document.
    pub async fn metadata(&self, refresh: bool, now: Now) -> Result<Arc<Metadata>> {
        self.discovery
            .metadata(&self.http, &self.events, refresh, now)
            .await
    }

    /// `getJwks()`: the issuer's key set.
    pub async fn jwks(&self, refresh: bool, now: Now) -> Result<Arc<KeySet>> {
        self.keys
            .get(&self.http, &self.events, &self.discovery, refresh, now)
            .await
    }
}

/// Introspection answers are kept only when the user asks: with a `cache` adapter (as the
/// original) or with `introspectionCacheMaxEntries` above 0 for the built-in store. Otherwise
/// every opaque token is introspected, so a revoked token is refused at once. Duration 0 turns
/// either off.
///
/// With a shared `store` (and no adapter), answers are kept there for the fleet.
fn introspection_store(
    config: &Config,
    callbacks: &Callbacks,
    shared: Option<&Arc<SharedStore>>,
) -> Option<Store> {
    if config.introspection_cache_duration <= 0.0 {
        return None;
    }
    match (&callbacks.cache_get, &callbacks.cache_set) {
        (Some(get), Some(set)) => Some(Store::Adapter {
            get: get.clone(),
            set: set.clone(),
            timeout_ms: config.response_timeout_ms,
        }),
        _ if shared.is_some() => shared.map(|shared| Store::Shared {
            store: shared.clone(),
            scope: config.issuer.clone(),
        }),
        _ => (config.introspection_cache_max_entries > 0)
            .then(|| Store::Memory(MemoryStore::new(config.introspection_cache_max_entries))),
    }
}

/// Where the shared store keeps the introspection answer for `token` from this issuer.
fn introspection_key(shared: &SharedStore, config: &Config, token: &str) -> String {
    shared.key("introspection", &[&config.issuer, token])
}

fn claims_of(map: Map<String, Value>) -> Claims {
    let json = Value::Object(map.clone()).to_string();
    Claims { json, map }
}

fn non_blank(token: Option<&str>) -> Result<&str> {
    token
        .filter(|t| !js_trim(t).is_empty())
        .ok_or_else(|| Error::validation("Access token must be a valid non-empty string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::{Input, Profile, resolve};

    /// Any number >= 0 is a valid duration; extreme ones must not panic anywhere.
    #[tokio::test]
    async fn extreme_durations_do_not_panic() {
        let huge = Input::Number(1e300);
        let options = Input::Object(vec![
            (
                "tenantDomain".into(),
                Input::Str("http://127.0.0.1:9".into()),
            ),
            (
                "audience".into(),
                Input::Str("https://a.example.com".into()),
            ),
            ("jwksCacheDuration".into(), huge.clone()),
            ("metadataCacheDuration".into(), huge.clone()),
            ("introspectionCacheDuration".into(), huge.clone()),
            ("staleIfErrorDuration".into(), huge.clone()),
            ("responseTimeout".into(), huge.clone()),
            ("clockTolerance".into(), huge),
            ("clientId".into(), Input::Str("c".into())),
        ]);
        let config = resolve(&options, &Default::default(), Profile::NodeClient).unwrap();
        let client = Client::new(config, Callbacks::default()).unwrap();
        let request = Request::default();
        // Nothing listens on port 9: both paths fail cleanly.
        assert!(client.verify(Some("a.b.c"), &request).await.is_err());
        assert!(client.verify(Some("opaque"), &request).await.is_err());
    }

    fn client_with(extra: &[(&str, Input)]) -> Client {
        let mut members = vec![
            (
                "tenantDomain".to_owned(),
                Input::Str("https://t.example.com".into()),
            ),
            (
                "audience".to_owned(),
                Input::Str("https://a.example.com".into()),
            ),
        ];
        members.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let config = resolve(
            &Input::Object(members),
            &Default::default(),
            Profile::NodeClient,
        )
        .unwrap();
        Client::new(config, Callbacks::default()).unwrap()
    }

    /// The built-in introspection store exists only when asked for: the original has
    /// none, and a revoked token must be refused at once.
    #[test]
    fn the_built_in_introspection_store_is_opt_in() {
        assert!(client_with(&[]).introspection_store.is_none());
        let zero = Input::Number(0.0);
        let some = Input::Number(5.0);
        assert!(
            client_with(&[("introspectionCacheMaxEntries", zero)])
                .introspection_store
                .is_none()
        );
        assert!(matches!(
            client_with(&[("introspectionCacheMaxEntries", some.clone())]).introspection_store,
            Some(Store::Memory(_))
        ));
        assert!(
            client_with(&[
                ("introspectionCacheMaxEntries", some),
                ("introspectionCacheDuration", Input::Number(0.0)),
            ])
            .introspection_store
            .is_none()
        );
    }

    /// A verified-token cache hit saves the token's signature check, never the proof's: the
    /// binding, the proof and its one-time use are checked on every hit.
    #[tokio::test]
    async fn cache_hits_check_the_proof_and_binding_every_time() {
        use crate::core::claims::{Granted, Lifetime};
        use crate::core::dpop::tests::{NOW_MS, TOKEN, URL, bound_to, proof_by};
        use crate::core::jose::Alg;
        use crate::core::testkit::TestKey;
        use crate::core::verified::Verified;

        let client = client_with(&[]);
        let key = TestKey::new(Alg::ES256, "k");
        let claims_text = Value::Object(bound_to(&key)).to_string();
        let now = Now::from_caller(Some(NOW_MS));
        client.verified.as_ref().unwrap().insert(
            TOKEN,
            Verified {
                json: claims_text.as_str().into(),
                lifetime: Lifetime {
                    exp: None,
                    nbf: None,
                    too_old_after: None,
                },
                scopes: Granted::Scopes(vec![]),
                has_cnf: true,
                has_jkt: true,
                generation: client.keys.generation(),
                until_ms: NOW_MS + 60_000.0,
                evict_at: std::time::Instant::now() + std::time::Duration::from_secs(60),
            },
            now,
        );
        let request = |scheme, proofs: Vec<String>| Request {
            method: Some("GET".into()),
            url: Some(URL.into()),
            dpop: proofs,
            now_ms: Some(NOW_MS),
            scheme: Some(scheme),
            ..Request::default()
        };
        let code = |answer: Result<Claims>| match answer {
            Err(Error::Dpop(refusal)) => refusal.code.as_str(),
            other => panic!("not a DPoP refusal: {other:?}"),
        };
        // Proofs are checked off JavaScript's thread: the synchronous answer declines them.
        let bearer = request(Scheme::Bearer, vec![]);
        assert!(client.verify_cached(Some(TOKEN), &bearer).is_none());
        // Stolen and sent as Bearer.
        assert_eq!(
            code(client.verify(Some(TOKEN), &bearer).await),
            "invalid_token"
        );
        let proof = proof_by(&key, serde_json::json!({}));
        let good = request(Scheme::Dpop, vec![proof]);
        let claims = client.verify(Some(TOKEN), &good).await.unwrap();
        assert_eq!(claims.json, claims_text);
        assert_eq!(
            code(client.verify(Some(TOKEN), &good).await),
            "invalid_dpop_proof"
        );
        // Another key's proof.
        let thief = TestKey::new(Alg::ES256, "t");
        let stolen = request(Scheme::Dpop, vec![proof_by(&thief, serde_json::json!({}))]);
        assert_eq!(
            code(client.verify(Some(TOKEN), &stolen).await),
            "invalid_token"
        );
    }

    /// Every request moves this future onto the heap; the cold paths (HTTP, introspection)
    /// are boxed so that it stays small. It was 35 KB before they were.
    #[test]
    fn the_request_future_stays_small() {
        let options = Input::Object(vec![
            (
                "tenantDomain".into(),
                Input::Str("https://t.example.com".into()),
            ),
            (
                "audience".into(),
                Input::Str("https://a.example.com".into()),
            ),
        ]);
        let config = resolve(&options, &Default::default(), Profile::NodeClient).unwrap();
        let client = Client::new(config, Callbacks::default()).unwrap();
        let request = Request::default();
        let future = client.verify(Some("x"), &request);
        assert!(
            std::mem::size_of_val(&future) <= 4096,
            "{} bytes",
            std::mem::size_of_val(&future)
        );
    }
}
