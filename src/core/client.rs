//! The client: resolved configuration, the HTTP client, the callbacks and the caches, and the
//! validation flows that use them. Everything per-tenant lives here, nothing in statics, so that
//! several clients live side by side.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::cache::Fetched;
use super::callbacks::{Callbacks, JsCall, invoke, no_arguments};
use super::cert_binding;
use super::cert_binding::BindingMode;
use super::claims::{self, Expectations, Granted, Lifetime};
use super::client_auth::{self, form_body};
use super::clock::{after, now_seconds, seconds};
use super::config::Config;
use super::error::{Error, Result, TokenErrorCode};
use super::events::{Event, Events};
use super::http::{Http, Identity, Request};
use super::introspection::{self, INACTIVE_CACHED, MemoryStore, Store};
use super::jwks::{KeySet, Selection};
use super::jwt::{self, Claims};
use super::text::js_trim;
use super::verified::{Verified, VerifiedTokens};

/// Tokens naming a key we do not have trigger a key-set refetch at most this often, so a
/// flood of made-up `kid`s cannot hammer the issuer.
const UNKNOWN_KID_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// What the caller asks of a token besides being valid.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    pub scopes: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
    pub client_certificate: Option<String>,
}

/// The issuer's discovery document.
#[derive(Debug)]
pub struct Metadata {
    pub document: Map<String, Value>,
}

impl Metadata {
    pub fn endpoint(&self, name: &str) -> Option<&str> {
        self.document
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// An endpoint of `mtls_endpoint_aliases`, or of `mtls_additional_endpoint_aliases[store]`.
    fn mtls_alias(&self, name: &str, trust_store: Option<&str>) -> Option<&str> {
        let aliases = match trust_store {
            Some(store) => self
                .document
                .get("mtls_additional_endpoint_aliases")?
                .get(store)?,
            None => self.document.get("mtls_endpoint_aliases")?,
        };
        aliases
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

pub struct Client {
    config: Config,
    http: Http,
    callbacks: Callbacks,
    metadata: Fetched<Metadata>,
    jwks: Fetched<KeySet>,
    /// `None` when caching is off (`introspectionCacheDuration: 0`).
    introspection_store: Option<Store>,
    /// Verified JWT claims; `None` when `tokenCacheMaxEntries` is 0.
    verified: Option<VerifiedTokens>,
    /// The generation of the newest key set fetched (0: none yet).
    jwks_generation: AtomicU64,
    clock_skew: AtomicF64,
    clock_tolerance: AtomicF64,
    last_unknown_kid_refetch: Mutex<Option<Instant>>,
    events: Events,
}

impl Client {
    pub fn new(config: Config, callbacks: Callbacks) -> Result<Client> {
        let identity = config
            .tls_identity
            .as_ref()
            .map(|pem| Identity { pem: pem.0.clone() });
        let introspection_store = (config.introspection_cache_duration > 0.0).then(|| {
            match (&callbacks.cache_get, &callbacks.cache_set) {
                (Some(get), Some(set)) => Store::Adapter {
                    get: get.clone(),
                    set: set.clone(),
                },
                _ => Store::Memory(MemoryStore::new(config.introspection_cache_max_entries)),
            }
        });
        Ok(Client {
            http: Http::new(
                config.response_timeout_ms,
                callbacks.fetch.clone(),
                identity,
            )?,
            metadata: Fetched::new(
                config.metadata_cache_duration,
                config.stale_if_error_duration,
            ),
            jwks: Fetched::new(config.jwks_cache_duration, config.stale_if_error_duration),
            introspection_store,
            verified: (config.token_cache_max_entries > 0)
                .then(|| VerifiedTokens::new(config.token_cache_max_entries)),
            jwks_generation: AtomicU64::new(0),
            clock_skew: AtomicF64::new(config.clock_skew),
            clock_tolerance: AtomicF64::new(config.clock_tolerance),
            last_unknown_kid_refetch: Mutex::new(None),
            events: Events::new(callbacks.events.clone()),
            callbacks,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A clock setting that is not a finite number would make every token look current.
    pub fn set_clock_skew(&self, seconds: f64) -> Result<()> {
        self.clock_skew.store(finite("clockSkew", seconds)?);
        Ok(())
    }

    pub fn set_clock_tolerance(&self, seconds: f64) -> Result<()> {
        self.clock_tolerance
            .store(finite("clockTolerance", seconds)?);
        Ok(())
    }

    /// The answer for a JWT verified before, without waiting on anything: `None` when the token
    /// must go the long way (`validate_access_token`). Scopes, groups, binding and the clock are
    /// checked afresh.
    pub fn validate_cached(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
    ) -> Option<Result<Arc<str>>> {
        let verified = self.verified.as_ref()?;
        let token = token?;
        if self.config.introspect_jwt_tokens || token.len() > jwt::MAX_TOKEN_BYTES {
            return None;
        }
        let entry = verified.get(token)?;
        if entry.generation != self.jwks_generation.load(Ordering::Acquire) {
            return None;
        }
        self.events.emit(Event::CacheHit { cache: "token" });
        let checked = self.check_verified(&entry, requirements);
        if let Err(error) = &checked {
            self.events.rejected(error);
        }
        Some(checked.map(|()| entry.json.clone()))
    }

    /// What can change between two uses of a verified token: the clock, and what the call
    /// asks for. Issuer, audience and subject were checked when it was verified.
    fn check_verified(&self, entry: &Verified, requirements: &Requirements) -> Result<()> {
        entry.lifetime.check(
            now_seconds(),
            self.clock_skew.load(),
            self.clock_tolerance.load(),
        )?;
        if let Some(scopes) = &requirements.scopes {
            entry.scopes.require(scopes)?;
        }
        let binding = self.config.certificate_binding;
        let binding_applies = entry.has_cnf || binding == Some(BindingMode::Required);
        if requirements.groups.is_none() && !binding_applies {
            return Ok(());
        }
        let map: Map<String, Value> = serde_json::from_str(&entry.json)
            .map_err(|_| Error::token("Failed to parse JWT Payload"))?;
        if let Some(groups) = &requirements.groups {
            claims::check_groups(
                &map,
                groups,
                &self.config.groups_claim,
                self.config.groups_match_all,
            )?;
        }
        if binding_applies {
            cert_binding::check(&map, binding, requirements.client_certificate.as_deref())?;
        }
        Ok(())
    }

    /// `MonoCloudBackendNodeClient.validateAccessToken`: JWTs locally, anything else (or every
    /// token, with `introspectJwtTokens`) by introspection.
    pub async fn validate_access_token(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
    ) -> Result<Claims> {
        let result = self.validate(token, requirements).await;
        if let Err(error) = &result {
            self.events.rejected(error);
        }
        result
    }

    async fn validate(&self, token: Option<&str>, requirements: &Requirements) -> Result<Claims> {
        let token = non_blank(token)?;
        if token.len() > jwt::MAX_TOKEN_BYTES {
            return Err(Error::token(jwt::TOO_LARGE));
        }
        if jwt::looks_like_jwt(token) && !self.config.introspect_jwt_tokens {
            return self
                .validate_jwt_access_token(
                    Some(token),
                    requirements,
                    self.config.certificate_binding,
                    None,
                )
                .await;
        }
        if !self.config.introspection_configured() {
            return Err(Error::validation("Token introspection is not configured"));
        }
        // Boxed: introspection state is large and the JWT path should not carry it.
        let claims = match &self.introspection_store {
            Some(store) => Box::pin(self.introspect_through(store, token)).await?,
            None => Box::pin(self.introspect_checked(token)).await?,
        };
        self.check_claims(
            &claims,
            requirements,
            self.config.certificate_binding,
            false,
        )?;
        Ok(claims_of(claims))
    }

    /// The cached answer for `token`, or a fresh one that is then cached. Scopes, groups and
    /// binding are checked by the caller, after caching, so that a request refused for its
    /// scopes still leaves an entry a later request can use.
    async fn introspect_through(&self, store: &Store, token: &str) -> Result<Map<String, Value>> {
        let now = now_seconds();
        let cached = store.get(token).await?;
        let cache = if cached.is_some() {
            Event::CacheHit {
                cache: "introspection",
            }
        } else {
            Event::CacheMiss {
                cache: "introspection",
            }
        };
        self.events.emit(cache);
        if let Some(Value::Object(cached)) = cached {
            let exp = cached.get("exp");
            if cached.get("active") == Some(&Value::Bool(false)) {
                if exp.and_then(Value::as_f64).is_some_and(|exp| exp > now) {
                    return Err(Error::token_with(
                        INACTIVE_CACHED,
                        TokenErrorCode::InactiveToken,
                    ));
                }
            } else {
                let fresh = match exp {
                    None => true,
                    Some(exp) => exp.as_f64().is_some_and(|exp| {
                        exp > now + self.clock_skew.load() - self.clock_tolerance.load()
                    }),
                };
                if fresh {
                    return Ok(cached);
                }
            }
        }
        let duration = self.config.introspection_cache_duration;
        match self.introspect_checked(token).await {
            Ok(claims) => {
                let expires_at = match claims.get("exp").and_then(Value::as_f64) {
                    Some(exp) => exp.min(now + duration),
                    None => now + duration,
                };
                store
                    .set(token, Value::Object(claims.clone()), expires_at)
                    .await?;
                Ok(claims)
            }
            Err(Error::Token {
                code: TokenErrorCode::InactiveToken,
                message,
            }) => {
                let expires_at = now + duration;
                store
                    .set(
                        token,
                        json!({ "active": false, "exp": expires_at }),
                        expires_at,
                    )
                    .await?;
                Err(Error::token_with(message, TokenErrorCode::InactiveToken))
            }
            Err(other) => Err(other),
        }
    }

    /// `introspectAccessToken`: the answer, its standard claims, then what the call asks for.
    pub async fn introspect_access_token(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
        binding: Option<BindingMode>,
    ) -> Result<Claims> {
        let claims = self.introspect_answer(token).await?;
        self.check_claims(&claims, requirements, binding, false)?;
        Ok(claims_of(claims))
    }

    async fn introspect_checked(&self, token: &str) -> Result<Map<String, Value>> {
        let claims = self.introspect_answer(Some(token)).await?;
        self.check_standard(&claims, false)?;
        Ok(claims)
    }

    async fn introspect_answer(&self, token: Option<&str>) -> Result<Map<String, Value>> {
        let client_id = self.config.client_id.as_deref().ok_or_else(|| {
            Error::validation("The clientId option must be configured to introspect access tokens")
        })?;
        let token = non_blank(token)?;
        let metadata = self.metadata(false).await?;
        let method = self.config.client_auth_method;
        let mtls = method.uses_mtls_endpoints();
        let endpoint = if mtls {
            let store = self.config.trust_store_id.as_deref();
            metadata
                .mtls_alias("introspection_endpoint", store)
                .ok_or_else(|| {
                    Error::validation(match store {
                        Some(store) => format!(
                            "mTLS introspection_endpoint is required but not available for \
                             trust store '{store}' in the issuer metadata"
                        ),
                        None => "mTLS introspection_endpoint is required but not available in \
                                 the issuer metadata"
                            .to_owned(),
                    })
                })?
        } else {
            metadata.endpoint("introspection_endpoint").ok_or_else(|| {
                Error::validation(
                    "introspection_endpoint endpoint is required but not available in the \
                     issuer metadata",
                )
            })?
        };
        let credentials = client_auth::Authentication {
            id: client_id,
            secret: self.config.client_secret.as_ref(),
            method,
            issuer: &self.config.issuer,
        }
        .credentials(now_seconds())?;
        let mut fields = vec![
            ("token", token.to_owned()),
            ("token_type_hint", "access_token".to_owned()),
        ];
        fields.extend(credentials.form);
        let answer = match self
            .http
            .send(Request {
                url: endpoint,
                form: Some(form_body(&fields)),
                authorization: credentials.authorization,
                mtls,
            })
            .await
        {
            Ok(response) => introspection::read_answer(&response),
            Err(error) => Err(error),
        };
        if let Err(error @ (Error::Http { .. } | Error::Op { .. })) = &answer {
            self.events.issuer_error("introspection", error);
        }
        answer
    }

    /// Local validation of a JWT access token against the issuer's key set (or `keys`).
    pub async fn validate_jwt_access_token(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
        binding: Option<BindingMode>,
        keys: Option<&KeySet>,
    ) -> Result<Claims> {
        let token = non_blank(token)?;
        let jws = jwt::parse(token)?;
        let claims = match keys {
            Some(keys) => {
                let claims = jws.verify(keys)?;
                self.check_standard(&claims.map, true)?;
                claims
            }
            None => {
                let mut keys = self.jwks(false).await?;
                if let Err(Selection::NoneFits) = keys.select(jws.alg, jws.kid.as_ref()) {
                    // The issuer may have rotated its keys. If the refetch fails, the token is
                    // judged on the keys we have: an outage must not turn a bad token into a
                    // server error, nor drop the keys good tokens need.
                    if self.may_refetch_for_unknown_kid()
                        && let Ok(fresh) = Box::pin(self.jwks(true)).await
                    {
                        keys = fresh;
                    }
                }
                let claims = jws.verify(&keys)?;
                let lifetime = self.check_standard(&claims.map, true)?;
                if self.verified.is_some() {
                    self.events.emit(Event::CacheMiss { cache: "token" });
                }
                self.remember_verified(token, &claims, lifetime, &keys);
                claims
            }
        };
        self.check_requirements(&claims.map, requirements, binding)?;
        Ok(claims)
    }

    /// Keeps verified claims until the token expires or the key set that verified it would
    /// have been refetched, whichever comes first.
    fn remember_verified(&self, token: &str, claims: &Claims, lifetime: Lifetime, keys: &KeySet) {
        let (Some(verified), Some(exp)) = (&self.verified, lifetime.exp) else {
            return;
        };
        let remaining = exp + self.clock_tolerance.load() - now_seconds();
        if remaining <= 0.0 || self.config.jwks_cache_duration <= 0.0 {
            return;
        }
        let token_end = after(Instant::now(), seconds(remaining));
        let keys_end = after(keys.fetched_at, seconds(self.config.jwks_cache_duration));
        verified.insert(
            token,
            Verified {
                json: claims.json.as_str().into(),
                scopes: Granted::of(&claims.map),
                has_cnf: claims.map.get("cnf").is_some_and(|cnf| !cnf.is_null()),
                lifetime,
                generation: keys.generation,
                until: token_end.min(keys_end),
            },
        );
    }

    fn check_standard(&self, claims: &Map<String, Value>, is_jwt: bool) -> Result<Lifetime> {
        claims::check_standard(
            claims,
            &Expectations {
                issuer: &self.config.issuer,
                audience: &self.config.audience,
                now: now_seconds(),
                clock_skew: self.clock_skew.load(),
                clock_tolerance: self.clock_tolerance.load(),
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
    ) -> Result<()> {
        self.check_standard(claims, is_jwt)?;
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

    pub async fn metadata(&self, refresh: bool) -> Result<Arc<Metadata>> {
        let got = self
            .metadata
            .get(refresh, || {
                Box::pin(async {
                    let document = match &self.callbacks.metadata {
                        Some(resolver) => resolved_object(resolver, "metadataResolver").await,
                        None => {
                            let url =
                                format!("{}/.well-known/openid-configuration", self.config.issuer);
                            self.fetch_document(&url, "metadata").await
                        }
                    };
                    match document {
                        Ok(document) => {
                            self.events.emit(Event::MetadataFetched);
                            Ok(Metadata { document })
                        }
                        Err(error) => {
                            self.events.issuer_error("metadata", &error);
                            Err(error)
                        }
                    }
                })
            })
            .await?;
        self.report_stale("metadata", got.stale_for);
        Ok(got.value)
    }

    pub async fn jwks(&self, refresh: bool) -> Result<Arc<KeySet>> {
        let got = self
            .jwks
            .get(refresh, || {
                Box::pin(async {
                    let document = match &self.callbacks.jwks {
                        Some(resolver) => resolved_object(resolver, "jwksResolver").await,
                        None => {
                            // Discovery reports its own failures.
                            let metadata = self.metadata(false).await?;
                            let url = metadata.endpoint("jwks_uri").ok_or_else(|| {
                                Error::validation(
                                    "jwks_uri endpoint is required but not available in the issuer \
                                 metadata",
                                )
                            })?;
                            self.fetch_document(url, "JWKS").await
                        }
                    };
                    let keys = document.and_then(|document| {
                        KeySet::from_document(document)
                            .map_err(|message| Error::http(message, None))
                    });
                    match keys {
                        Ok(mut keys) => {
                            keys.generation =
                                self.jwks_generation.fetch_add(1, Ordering::AcqRel) + 1;
                            self.events.emit(Event::JwksFetched {
                                keys: keys.keys.len(),
                            });
                            Ok(keys)
                        }
                        Err(error) => {
                            self.events.issuer_error("jwks", &error);
                            Err(error)
                        }
                    }
                })
            })
            .await?;
        self.report_stale("jwks", got.stale_for);
        Ok(got.value)
    }

    fn report_stale(&self, resource: &'static str, stale_for: Option<Duration>) {
        if let Some(stale_for) = stale_for {
            self.events.emit(Event::StaleServed {
                resource,
                stale_for_seconds: stale_for.as_secs_f64(),
            });
        }
    }

    async fn fetch_document(&self, url: &str, what: &str) -> Result<Map<String, Value>> {
        let response = self.http.send(Request::get(url)).await?;
        if response.status != 200 {
            return Err(Error::http(
                format!(
                    "Error while fetching {what}. Unexpected status code: {}",
                    response.status
                ),
                Some(response.raw()),
            ));
        }
        response.json_object()
    }

    fn may_refetch_for_unknown_kid(&self) -> bool {
        let mut last = self
            .last_unknown_kid_refetch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < UNKNOWN_KID_REFETCH_INTERVAL) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// A resolver's document; it must be a JSON object.
async fn resolved_object(resolver: &JsCall, name: &str) -> Result<Map<String, Value>> {
    match invoke(resolver, no_arguments()).await? {
        Value::Object(document) => Ok(document),
        _ => Err(Error::validation(format!("{name} must return an object"))),
    }
}

fn claims_of(map: Map<String, Value>) -> Claims {
    let json = Value::Object(map.clone()).to_string();
    Claims { json, map }
}

fn finite(name: &str, seconds: f64) -> Result<f64> {
    if seconds.is_finite() {
        Ok(seconds)
    } else {
        Err(Error::validation(format!(
            "\"{name}\" must be a finite number"
        )))
    }
}

fn non_blank(token: Option<&str>) -> Result<&str> {
    token
        .filter(|t| !js_trim(t).is_empty())
        .ok_or_else(|| Error::validation("Access token must be a valid non-empty string"))
}

/// Clock settings change at runtime (`setClockSkew`) while validations read them.
struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn new(v: f64) -> Self {
        AtomicF64(AtomicU64::new(v.to_bits()))
    }
    fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    fn store(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
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
        let requirements = Requirements::default();
        // Nothing listens on port 9: both paths fail cleanly.
        assert!(
            client
                .validate_access_token(Some("a.b.c"), &requirements)
                .await
                .is_err()
        );
        assert!(
            client
                .validate_access_token(Some("opaque"), &requirements)
                .await
                .is_err()
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
        let requirements = Requirements::default();
        let future = client.validate_access_token(Some("x"), &requirements);
        assert!(
            std::mem::size_of_val(&future) <= 4096,
            "{} bytes",
            std::mem::size_of_val(&future)
        );
    }
}
