//! The client: resolved configuration, the HTTP client and the caches, and the validation
//! flows that use them. Everything per-tenant lives here, nothing in statics, so that several
//! clients live side by side.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::binding;
use super::cache::Fetched;
use super::claims::{self, Expectations};
use super::config::{BindingMode, Config};
use super::error::{Error, Result};
use super::http::Http;
use super::jwks::{KeySet, Selection};
use super::jwt::{self, Claims};
use super::text::js_trim;

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
}

pub struct Client {
    config: Config,
    http: Http,
    metadata: Fetched<Metadata>,
    jwks: Fetched<KeySet>,
    clock_skew: AtomicF64,
    clock_tolerance: AtomicF64,
    last_unknown_kid_refetch: Mutex<Option<Instant>>,
}

impl Client {
    pub fn new(config: Config) -> Result<Client> {
        Ok(Client {
            http: Http::new(config.response_timeout_ms)?,
            metadata: Fetched::new(config.metadata_cache_duration),
            jwks: Fetched::new(config.jwks_cache_duration),
            clock_skew: AtomicF64::new(config.clock_skew),
            clock_tolerance: AtomicF64::new(config.clock_tolerance),
            last_unknown_kid_refetch: Mutex::new(None),
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn set_clock_skew(&self, seconds: f64) {
        self.clock_skew.store(seconds);
    }

    pub fn set_clock_tolerance(&self, seconds: f64) {
        self.clock_tolerance.store(seconds);
    }

    /// `MonoCloudBackendNodeClient.validateAccessToken`: JWTs locally, anything else (or every
    /// token, with `introspectJwtTokens`) by introspection.
    pub async fn validate_access_token(
        &self,
        token: Option<&str>,
        requirements: &Requirements,
    ) -> Result<Claims> {
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
        Err(Error::validation(
            "Token introspection is not supported by this build yet",
        ))
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
            Some(keys) => jws.verify(keys)?,
            None => {
                let keys = self.jwks(false).await?;
                match keys.select(jws.alg, jws.kid.as_ref()) {
                    Err(Selection::NoneFits) if self.may_refetch_for_unknown_kid() => {
                        jws.verify(&*self.jwks(true).await?)?
                    }
                    _ => jws.verify(&keys)?,
                }
            }
        };
        self.check_claims(&claims.map, requirements, binding, true)?;
        Ok(claims)
    }

    /// Standard claims, then scopes, groups and certificate binding.
    pub fn check_claims(
        &self,
        claims: &Map<String, Value>,
        requirements: &Requirements,
        binding: Option<BindingMode>,
        is_jwt: bool,
    ) -> Result<()> {
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
        )?;
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
        binding::check(claims, binding, requirements.client_certificate.as_deref())
    }

    pub async fn metadata(&self, refresh: bool) -> Result<Arc<Metadata>> {
        self.metadata
            .get(refresh, async {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
                let response = self.http.get(&url).await?;
                if response.status != 200 {
                    return Err(Error::http(
                        format!(
                            "Error while fetching metadata. Unexpected status code: {}",
                            response.status
                        ),
                        Some(response.raw()),
                    ));
                }
                Ok(Metadata {
                    document: response.json_object()?,
                })
            })
            .await
    }

    pub async fn jwks(&self, refresh: bool) -> Result<Arc<KeySet>> {
        self.jwks
            .get(refresh, async {
                let metadata = self.metadata(false).await?;
                let url = metadata.endpoint("jwks_uri").ok_or_else(|| {
                    Error::validation(
                        "jwks_uri endpoint is required but not available in the issuer metadata",
                    )
                })?;
                let response = self.http.get(url).await?;
                if response.status != 200 {
                    return Err(Error::http(
                        format!(
                            "Error while fetching JWKS. Unexpected status code: {}",
                            response.status
                        ),
                        Some(response.raw()),
                    ));
                }
                KeySet::from_document(response.json_object()?)
                    .map_err(|message| Error::http(message, Some(response.raw())))
            })
            .await
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

fn non_blank(token: Option<&str>) -> Result<&str> {
    token
        .filter(|t| !js_trim(t).is_empty())
        .ok_or_else(|| Error::validation("Access token must be a valid non-empty string"))
}

/// Whole seconds since the epoch, as upstream's `floor(Date.now() / 1000)`.
pub fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64)
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
