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
use super::error::{Error, INTROSPECTION_NOT_CONFIGURED, Result};
use super::events::{Event, Events};
use super::http::{Http, Identity};
use super::introspection::policy::introspect_through;
use super::introspection::request::introspect;
use super::introspection::{MemoryStore, Store};
use super::jwt::{self, Claims};
use super::keys::{KeySet, RemoteKeySet};
use super::request::Request;
use super::text::js_trim;
use super::verified::VerifiedTokens;

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
}

impl Client {
    pub fn new(config: Config, callbacks: Callbacks) -> Result<Client> {
        let identity = config
            .tls_identity
            .as_ref()
            .map(|pem| Identity { pem: pem.0.clone() });
        let introspection_store = introspection_store(&config, &callbacks);
        Ok(Client {
            http: Http::new(config.response_timeout_ms, callbacks.fetch, identity)?,
            events: Events::new(callbacks.events),
            clock: ClockSettings::new(config.clock_skew, config.clock_tolerance),
            discovery: Discovery::new(&config, callbacks.metadata),
            keys: RemoteKeySet::new(&config, callbacks.jwks),
            introspection_store,
            verified: (config.token_cache_max_entries > 0).then(|| {
                VerifiedTokens::new(config.token_cache_max_entries, config.jwks_cache_duration)
            }),
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn set_clock_skew(&self, seconds: f64) -> Result<()> {
        self.clock.set_skew(seconds)
    }

    pub fn set_clock_tolerance(&self, seconds: f64) -> Result<()> {
        self.clock.set_tolerance(seconds)
    }

    /// The verdict on a request whose JWT was verified before, without waiting on anything:
    /// `None` when it must go the long way (`verify`). Scopes, groups, binding and the clock are
    /// checked afresh.
    pub fn verify_cached(
        &self,
        token: Option<&str>,
        request: &Request,
    ) -> Option<Result<Arc<str>>> {
        let requirements = &request.requirements;
        let verified = self.verified.as_ref()?;
        let token = token?;
        if self.config.introspect_jwt_tokens || token.len() > jwt::MAX_TOKEN_BYTES {
            return None;
        }
        let now = Now::before_any_wait(request.now_ms);
        let entry = verified.get(token, now)?;
        if entry.generation != self.keys.generation() {
            return None;
        }
        self.events.emit(Event::CacheHit { cache: "token" });
        let checked = entry.check(requirements, &self.config, &self.clock, now);
        if let Err(error) = &checked {
            self.events.rejected(error);
        }
        Some(checked.map(|()| entry.json.clone()))
    }

    /// The verdict on a request (`MonoCloudBackendNodeClient.validateAccessToken`): JWTs
    /// locally, anything else (or every token, with `introspectJwtTokens`) by introspection.
    pub async fn verify(&self, token: Option<&str>, request: &Request) -> Result<Claims> {
        let now = Now::from_caller(request.now_ms);
        let result = self.dispatch(token, &request.requirements, now).await;
        if let Err(error) = &result {
            self.events.rejected(error);
        }
        result
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
    ) -> Result<Claims> {
        match self.route(token)? {
            (token, Route::Jwt) => {
                self.validate_jwt_access_token(
                    Some(token),
                    requirements,
                    self.config.certificate_binding,
                    None,
                    now,
                )
                .await
            }
            (token, Route::Introspection) => {
                // Boxed: introspection state is large and the JWT path should not carry it.
                let answer = self.introspect_checked(token, now);
                let claims = Box::pin(self.introspected(token, requirements, now, answer)).await?;
                Ok(claims_of(claims))
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
        Ok(claims)
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
        let jws = jwt::parse(token)?;
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
        self.check_requirements(&claims.map, requirements, binding)?;
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
                issuer: &self.config.issuer,
                audience: &self.config.audience,
                // After whatever this call waited for, as the original reads its clock.
                now: now.later().seconds(),
                clock_skew: self.clock.skew(),
                clock_tolerance: self.clock.tolerance(),
                require_exp: is_jwt,
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
        self.check_requirements(claims, requirements, binding)
    }

    /// Scopes, groups and certificate binding: what this call asks beyond a valid token.
    fn check_requirements(
        &self,
        claims: &Map<String, Value>,
        requirements: &Requirements,
        binding: Option<BindingMode>,
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
        cert_binding::check(claims, binding, requirements.client_certificate.as_deref())
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
fn introspection_store(config: &Config, callbacks: &Callbacks) -> Option<Store> {
    if config.introspection_cache_duration <= 0.0 {
        return None;
    }
    match (&callbacks.cache_get, &callbacks.cache_set) {
        (Some(get), Some(set)) => Some(Store::Adapter {
            get: get.clone(),
            set: set.clone(),
            timeout_ms: config.response_timeout_ms,
        }),
        _ => (config.introspection_cache_max_entries > 0)
            .then(|| Store::Memory(MemoryStore::new(config.introspection_cache_max_entries))),
    }
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
