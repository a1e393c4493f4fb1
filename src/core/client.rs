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
use super::discovery::Metadata;
use super::dpop::{self, Dpop, Scheme};
use super::error::{Error, INTROSPECTION_NOT_CONFIGURED, Result};
use super::events::{Event, Events};
use super::http::{Http, Identity};
use super::introspection::policy::introspect_through;
use super::introspection::request::introspect;
use super::introspection::{MemoryStore, Store};
use super::issuers::{Issuers, match_key};
use super::jwt::{self, Claims};
use super::keys::KeySet;
use super::pinned_secret::PinnedSecret;
use super::request::Request;
use super::text::js_trim;
use super::verified::{Verified, VerifiedTokens};
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
    /// The tenant, or the `issuers` list: each one's discovery document and key set.
    issuers: Issuers,
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
                    (
                        config.client_secret.as_ref(),
                        config.tls_identity.as_ref().map(|pem| pem.0.as_slice()),
                    ),
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
            issuers: Issuers::new(&config, callbacks.metadata, callbacks.jwks),
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
    /// `<entry>:<claims JSON>` (see `verified::Answer`), or `None` when it must go the long way
    /// (`verify`). Scopes, groups, binding and the clock are checked afresh. A request with a DPoP proof goes the long way too: its signature check
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
        Some(checked.map(|entry| entry.answer.text().clone()))
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
    ) -> Option<Result<Arc<Verified>>> {
        let verified = self.verified.as_ref()?;
        let token = token?;
        if self.config.introspect_jwt_tokens || token.len() > jwt::MAX_TOKEN_BYTES {
            return None;
        }
        let entry = verified.get(token, now)?;
        // Only its own issuer's rotation makes an entry stale.
        let trusted = self.issuers.get(entry.issuer)?;
        if entry.generation != trusted.keys.generation() {
            return None;
        }
        let proof_involved = self.dpop.mode() != dpop::Mode::Disabled
            && (entry.is_dpop_bound()
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
                    .check(token, || Claimed::parse(entry.answer.json()))
            })
            .and_then(|()| {
                if !proof_involved {
                    return Ok(());
                }
                match self.dpop.check_bound_token(
                    &entry.token_sha,
                    entry.bound_key(),
                    request,
                    now,
                )? {
                    Some(ticket) => self.dpop.reserve_now(ticket, now).unwrap_or(Ok(())),
                    None => Ok(()),
                }
            })
            .map_err(|error| self.dpop.answer_token_error(error, request));
        Some(checked.map(|()| entry))
    }

    /// The verdict on a request (`MonoCloudBackendNodeClient.validateAccessToken`): JWTs
    /// locally, anything else (or every token, with `introspectJwtTokens`) by introspection.
    /// The claims come as JSON text, or, for a token answered from the verified-token cache,
    /// as that entry's answer (`<entry>:<claims JSON>`), which JavaScript parses once per entry.
    pub async fn verify(&self, token: Option<&str>, request: &Request) -> Result<String> {
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
    ) -> Result<String> {
        self.dpop.check_shape(request)?;
        if let Some(cached) = self.cached_verdict(token, request, now, true) {
            return Ok(cached?.answer.text().to_string());
        }
        let (claims, route) = self
            .dispatch(token, &request.requirements, now)
            .await
            .map_err(|error| self.dpop.answer_token_error(error, request))?;
        let (Some(token), true) = (token, self.dpop.mode() != dpop::Mode::Disabled) else {
            return Ok(claims.json);
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
        Ok(claims.json)
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
            let (typ, claims) = pinned.verify(token)?;
            self.check_token_type(typ)?;
            self.check_standard(&claims.map, true, now)?;
            self.check_requirements(&claims.map, requirements, binding, now)?;
            return Ok(claims);
        }
        let jws = jwt::parse(token)?;
        self.check_token_type(jws.typ)?;
        // With a list, the payload is read before anything is fetched: its `iss` says whose
        // keys to use, and a token naming no listed issuer is refused without a request.
        let (index, unverified) = if self.issuers.is_list() {
            let claims = jws.claims()?;
            let index = self
                .issuers
                .pick(&claims.map)
                .ok_or_else(|| Error::token("Invalid Issuer"))?;
            (index, Some(claims))
        } else {
            (0, None)
        };
        let trusted = self
            .issuers
            .get(index)
            .ok_or_else(|| Error::token("Invalid Issuer"))?;
        let verify = |keys: &KeySet| match &unverified {
            Some(claims) => jws.verify_signature(keys).map(|()| claims.clone()),
            None => jws.verify(keys),
        };
        let claims = match keys {
            Some(keys) => {
                let claims = verify(keys)?;
                self.check_standard_of(&claims.map, true, now, &trusted.iss)?;
                claims
            }
            None => {
                let keys = trusted
                    .keys
                    .for_token(
                        &self.http,
                        &self.events,
                        &trusted.discovery,
                        jws.alg,
                        jws.kid.as_ref(),
                        now,
                    )
                    .await?;
                let claims = verify(&keys)?;
                let lifetime = self.check_standard_of(&claims.map, true, now, &trusted.iss)?;
                if let Some(verified) = &self.verified {
                    self.events.emit(Event::CacheMiss { cache: "token" });
                    verified.remember(
                        token,
                        index,
                        &claims,
                        lifetime,
                        &keys,
                        &self.clock,
                        now.later(),
                    );
                }
                claims
            }
        };
        self.check_requirements(&claims.map, requirements, binding, now)?;
        self.revocations
            .check(token, || Some(Claimed::Map(&claims.map)))?;
        Ok(claims)
    }

    /// `requireTokenType`, whichever verifier read the header.
    fn check_token_type(&self, typ: jwt::TokenType) -> Result<()> {
        if self.config.require_at_jwt && typ != jwt::TokenType::AccessToken {
            return Err(Error::token(jwt::UNEXPECTED_TYP));
        }
        Ok(())
    }

    /// The standard claims of a token of the tenant (the only issuer an introspecting or
    /// pinned-secret client has).
    fn check_standard(
        &self,
        claims: &Map<String, Value>,
        is_jwt: bool,
        now: Now,
    ) -> Result<Lifetime> {
        self.check_standard_of(claims, is_jwt, now, &self.issuers.first().iss)
    }

    /// The standard claims of a token of `issuer`. A listed issuer matches the token's `iss` by
    /// comparison form (`issuers::match_key`), which picked it; the check is then on the
    /// token's own spelling.
    fn check_standard_of(
        &self,
        claims: &Map<String, Value>,
        is_jwt: bool,
        now: Now,
        issuer: &str,
    ) -> Result<Lifetime> {
        let issuer = match claims.get("iss").and_then(Value::as_str) {
            Some(iss) if self.issuers.is_list() && match_key(iss) == match_key(issuer) => iss,
            _ => issuer,
        };
        claims::check_standard(
            claims,
            &Expectations {
                issuer,
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
        self.issuers
            .first()
            .discovery
            .metadata(&self.http, &self.events, refresh, now)
            .await
    }

    /// `getJwks()`: the issuer's key set.
    pub async fn jwks(&self, refresh: bool, now: Now) -> Result<Arc<KeySet>> {
        let first = self.issuers.first();
        first
            .keys
            .get(&self.http, &self.events, &first.discovery, refresh, now)
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

        let client = client_with(&[]);
        let key = TestKey::new(Alg::ES256, "k");
        let claims = bound_to(&key);
        let claims_text = Value::Object(claims.clone()).to_string();
        let (certificate_bound, jkt) = Verified::bindings_of(&claims);
        let now = Now::from_caller(Some(NOW_MS));
        client.verified.as_ref().unwrap().insert(
            TOKEN,
            Verified {
                answer: crate::core::verified::Answer::new(&claims_text),
                lifetime: Lifetime {
                    exp: None,
                    nbf: None,
                    too_old_after: None,
                },
                scopes: Granted::Scopes(vec![]),
                certificate_bound,
                jkt,
                issuer: 0,
                generation: client.issuers.first().keys.generation(),
                until_ms: NOW_MS + 60_000.0,
                evict_at: std::time::Instant::now() + std::time::Duration::from_secs(60),
                token_sha: [0; 32],
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
        let code = |answer: Result<String>| match answer {
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
        // The entry's own answer, so that JavaScript parses its claims once.
        let answer = client.verify(Some(TOKEN), &good).await.unwrap();
        let entry = client.verified.as_ref().unwrap().get(TOKEN, now).unwrap();
        assert_eq!(answer, &*entry.answer.text().clone());
        assert_eq!(entry.answer.json(), claims_text);
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

    /// Two listed issuers served by resolvers that count their calls: each one's tokens
    /// pass on its own keys; a token naming no listed issuer is refused before any call; and a
    /// key rotation at one issuer (a refetch for an unknown `kid`) leaves the other's verified
    /// tokens in the cache.
    #[tokio::test]
    async fn a_list_of_issuers_each_with_its_own_keys() {
        use crate::core::callbacks::JsCall;
        use crate::core::jose::Alg;
        use crate::core::testkit::{TestKey, good_claims};
        use std::collections::HashMap;
        use std::sync::Mutex;

        const A: &str = "https://a.example.com";
        const B: &str = "https://b.example.com/tenant/";
        let keys: Arc<Mutex<HashMap<String, Vec<Value>>>> = Arc::new(Mutex::new(HashMap::new()));
        let calls: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let key_a = TestKey::new(Alg::ES256, "a1");
        let key_b = TestKey::new(Alg::RS256, "b1");
        let key_b2 = TestKey::new(Alg::RS256, "b2");
        keys.lock().unwrap().insert(A.into(), vec![key_a.jwk()]);
        keys.lock().unwrap().insert(B.into(), vec![key_b.jwk()]);
        let issuer_of = |request: &str| -> String {
            serde_json::from_str::<Value>(request).unwrap()["issuer"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (metadata_calls, jwks_calls, jwks_keys) = (calls.clone(), calls.clone(), keys.clone());
        let metadata: JsCall = Arc::new(move |request| {
            let issuer = issuer_of(&request);
            metadata_calls
                .lock()
                .unwrap()
                .push(format!("metadata {issuer}"));
            let reply = serde_json::json!({ "ok": { "issuer": issuer } }).to_string();
            Box::pin(async move { Ok(reply) })
        });
        let jwks: JsCall = Arc::new(move |request| {
            let issuer = issuer_of(&request);
            jwks_calls.lock().unwrap().push(format!("jwks {issuer}"));
            let set = jwks_keys.lock().unwrap()[&issuer].clone();
            let reply = serde_json::json!({ "ok": { "keys": set } }).to_string();
            Box::pin(async move { Ok(reply) })
        });
        let options = Input::Object(vec![
            (
                "issuers".into(),
                Input::Array(vec![Input::Str(A.into()), Input::Str(B.into())]),
            ),
            (
                "audience".into(),
                Input::Str(crate::core::testkit::AUDIENCE.into()),
            ),
            ("metadataResolver".into(), Input::Function),
            ("jwksResolver".into(), Input::Function),
        ]);
        let config = resolve(&options, &Default::default(), Profile::NodeClient).unwrap();
        let callbacks = Callbacks {
            metadata: Some(metadata),
            jwks: Some(jwks),
            ..Callbacks::default()
        };
        let client = Client::new(config, callbacks).unwrap();
        let token = |key: &TestKey, iss: &str| {
            let mut claims = good_claims();
            claims["iss"] = Value::from(iss);
            key.sign(claims)
        };
        let request = Request::default();
        let from_a = token(&key_a, A);
        // The token may spell its issuer in another comparison form.
        let from_b = token(&key_b, "https://B.example.com/tenant");
        let first = client.verify(Some(&from_a), &request).await.unwrap();
        assert_eq!(serde_json::from_str::<Value>(&first).unwrap()["iss"], A);
        client.verify(Some(&from_b), &request).await.unwrap();
        assert!(client.verify_cached(Some(&from_a), &request).is_some());
        assert!(client.verify_cached(Some(&from_b), &request).is_some());
        let fetched = calls.lock().unwrap().clone();
        assert_eq!(
            fetched,
            // A key set resolver needs no discovery document.
            [format!("jwks {A}"), format!("jwks {B}")]
        );

        // Unlisted, missing or mistyped `iss`: refused with no call at all.
        calls.lock().unwrap().clear();
        let key_c = TestKey::new(Alg::ES256, "c1");
        for iss in [
            Value::from("https://c.example.com"),
            Value::from("https://a.example.com.evil"),
            Value::Null,
            Value::from(7),
        ] {
            let mut claims = good_claims();
            claims["iss"] = iss.clone();
            match client.verify(Some(&key_c.sign(claims)), &request).await {
                Err(Error::Token { message, .. }) => assert_eq!(message, "Invalid Issuer"),
                other => panic!("{iss}: {other:?}"),
            }
        }
        // A's key signing a token that names B is checked against B's keys, and fails.
        assert!(
            client
                .verify(Some(&token(&key_a, B)), &request)
                .await
                .is_err()
        );
        let fetched = calls.lock().unwrap().clone();
        assert_eq!(
            fetched,
            [format!("jwks {B}")],
            "only B's refetch for A's unknown kid"
        );

        // That refetch gave B a new key set generation: what B's old set verified is
        // verified again, what A's verified is still served from the cache.
        assert!(client.verify_cached(Some(&from_a), &request).is_some());
        assert!(client.verify_cached(Some(&from_b), &request).is_none());
        client.verify(Some(&from_b), &request).await.unwrap();
        assert!(client.verify_cached(Some(&from_b), &request).is_some());

        // B rotates: its new key's first token (an unknown kid) refetches B's set, once the
        // unknown-kid interval allows it. Here the refetch above used it, so ask directly.
        keys.lock().unwrap().insert(B.into(), vec![key_b2.jwk()]);
        let b = client.issuers.get(1).unwrap();
        b.keys
            .get(
                &client.http,
                &client.events,
                &b.discovery,
                true,
                Now::from_caller(None),
            )
            .await
            .unwrap();
        assert!(
            client.verify_cached(Some(&from_b), &request).is_none(),
            "B's rotation retires what B's old set verified"
        );
        assert!(
            client.verify_cached(Some(&from_a), &request).is_some(),
            "A's verified token is untouched"
        );
        client
            .verify(Some(&token(&key_b2, B)), &request)
            .await
            .unwrap();
        // The first issuer is what getMetadata() describes.
        assert_eq!(
            client
                .metadata(false, Now::from_caller(None))
                .await
                .unwrap()
                .document["issuer"],
            A
        );
    }

    /// With a list, the options that name one issuer are configuration errors.
    #[test]
    fn a_list_of_issuers_conflicts_with_one_issuers_options() {
        let base = |extra: Vec<(String, Input)>| {
            let mut members = vec![
                (
                    "issuers".to_owned(),
                    Input::Array(vec![Input::Str("https://a.example.com".into())]),
                ),
                (
                    "audience".to_owned(),
                    Input::Str("https://api.example".into()),
                ),
            ];
            members.extend(extra);
            resolve(
                &Input::Object(members),
                &Default::default(),
                Profile::NodeClient,
            )
        };
        let message = |extra: Vec<(&str, Input)>| match base(
            extra.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ) {
            Err(Error::Validation(message)) => message,
            other => panic!("{other:?}"),
        };
        let text = |s: &str| Input::Str(s.into());
        assert!(
            message(vec![("tenantDomain", text("https://a.example.com"))]).contains("tenantDomain")
        );
        assert!(
            message(vec![("issuer", text("https://a.example.com/"))]).starts_with("\"issuer\"")
        );
        assert!(
            message(vec![("hmacSecret", text("s")), ("hmacAlg", text("HS256"))])
                .starts_with("\"hmacSecret\"")
        );
        assert!(message(vec![("clientId", text("c"))]).contains("validates JWTs only"));
        assert!(
            message(vec![("introspectJwtTokens", Input::Bool(true))])
                .starts_with("\"introspectJwtTokens\"")
        );
        for bad in [
            Input::Array(vec![]),
            Input::Array(vec![text("http://a.example.com")]),
            Input::Array(vec![text("https://a.example.com?x=1")]),
            Input::Array(vec![text("")]),
            text(""),
            Input::Number(1.0),
        ] {
            let options = Input::Object(vec![
                ("issuers".into(), bad.clone()),
                ("audience".into(), text("https://api.example")),
            ]);
            assert!(
                resolve(&options, &Default::default(), Profile::NodeClient).is_err(),
                "{bad:?}"
            );
        }
        // The environment's form: separated by spaces; repeats are dropped. Introspection
        // settings there are not this client's: it does not use them.
        let env: crate::core::config::Env = [
            (
                "MONOCLOUD_BACKEND_ISSUERS",
                " https://a.example.com https://b.example.com  https://A.example.com/ ",
            ),
            ("MONOCLOUD_BACKEND_CLIENT_ID", "outbound"),
            ("MONOCLOUD_BACKEND_INTROSPECT_JWT_TOKENS", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let options = Input::Object(vec![("audience".into(), text("https://api.example"))]);
        let config = resolve(&options, &env, Profile::NodeClient).unwrap();
        assert_eq!(
            config.issuers,
            ["https://a.example.com", "https://b.example.com"]
        );
        assert_eq!(config.issuer, "https://a.example.com");
        assert!(!config.introspection_configured() && !config.introspect_jwt_tokens);
        // Code wins over the environment; both at the same level are the conflict.
        let tenant = Input::Object(vec![
            ("tenantDomain".into(), text("https://t.example.com")),
            ("audience".into(), text("https://api.example")),
        ]);
        let config = resolve(&tenant, &env, Profile::NodeClient).unwrap();
        assert!(config.issuers.is_empty());
        assert_eq!(config.issuer, "https://t.example.com");
        let mut both_in_env = env.clone();
        both_in_env.insert(
            "MONOCLOUD_BACKEND_TENANT_DOMAIN".into(),
            "https://t.example.com".into(),
        );
        assert!(resolve(&options, &both_in_env, Profile::NodeClient).is_err());
        let listed = Input::Object(vec![
            (
                "issuers".into(),
                Input::Array(vec![text("https://b.example.com")]),
            ),
            ("audience".into(), text("https://api.example")),
        ]);
        let config = resolve(&listed, &both_in_env, Profile::NodeClient).unwrap();
        assert_eq!(config.issuers, ["https://b.example.com"]);
    }

    /// `requireTokenType` applies to the pinned HMAC mode as to every JWT: its header is read
    /// by the same rules.
    #[tokio::test]
    async fn the_pinned_mode_applies_the_token_type_rules() {
        use crate::core::jose::b64url_encode;
        use aws_lc_rs::hmac;

        let secret = "a-shared-secret-of-enough-length-0123";
        let client = client_with(&[
            ("hmacSecret", Input::Str(secret.into())),
            ("hmacAlg", Input::Str("HS256".into())),
            ("requireTokenType", Input::Str("at+jwt".into())),
        ]);
        let now = crate::core::testkit::now();
        let sign = |typ: &str| {
            let header = b64url_encode(format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#).as_bytes());
            let payload = serde_json::json!({
                "iss": "https://t.example.com", "aud": "https://a.example.com",
                "sub": "svc", "exp": now + 60.0,
            });
            let input = format!("{header}.{}", b64url_encode(payload.to_string().as_bytes()));
            let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
            format!(
                "{input}.{}",
                b64url_encode(hmac::sign(&key, input.as_bytes()).as_ref())
            )
        };
        let request = Request::default();
        assert!(client.verify(Some(&sign("at+jwt")), &request).await.is_ok());
        for typ in ["JWT", "logout+jwt"] {
            match client.verify(Some(&sign(typ)), &request).await {
                Err(Error::Token { message, .. }) => assert_eq!(message, jwt::UNEXPECTED_TYP),
                other => panic!("{typ}: {other:?}"),
            }
        }
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
