//! `NativeClient`: the core client behind the JavaScript `MonoCloudOidcBackendClient` and
//! `MonoCloudBackendNodeClient`. Every call answers JSON text or a `Failure` (see `failure`).

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

use super::callbacks::{callbacks_from, js_call};
use super::failure::{CertificateBinding, Failure, answer};
use super::options::options_input;
use super::through::{own_introspection, rethrown};
use super::verify;
use crate::core::cert_binding::BindingMode;
use crate::core::challenge::Params;
use crate::core::claims::Requirements;
use crate::core::client::{Client, Route};
use crate::core::clock::Now;
use crate::core::config::{self, Profile};
use crate::core::error::Error;
use crate::core::keys::KeySet;
use crate::core::{jwt, text};
use crate::store::revocation::Revoked;

#[napi]
pub struct NativeClient {
    core: Arc<Client>,
}

/// Which method `validateAccessToken` calls for a token: `validateJwtAccessToken` or
/// `introspectAccessToken`.
#[napi(string_enum = "lowercase")]
pub enum TokenRoute {
    Jwt,
    Introspection,
}

/// Which public class a native client stands behind: they differ in defaults and in whether the
/// environment is read.
#[napi(string_enum = "lowercase")]
pub enum ClientProfile {
    /// `MonoCloudBackendNodeClient`: options over `MONOCLOUD_BACKEND_*` variables.
    Node,
    /// `MonoCloudOidcBackendClient`: positional, no environment.
    Oidc,
}

/// Where the protected resource metadata is served, and the document.
#[napi(object)]
pub struct ProtectedResourceMetadata {
    pub url: String,
    /// The path requests for it arrive at.
    pub path: String,
    /// JSON text.
    pub document: String,
}

/// Per-call options of `validateJwtAccessToken` and `introspectAccessToken`.
#[napi(object)]
#[derive(Default)]
pub struct CallOptions {
    pub scopes: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
    pub client_certificate: Option<String>,
    /// Step-up (RFC 9470): the `acr` values the call accepts.
    pub acr_values: Option<Vec<String>>,
    /// Step-up (RFC 9470): seconds since `auth_time`, at most.
    pub max_age: Option<f64>,
    /// The certificate binding mode of this call; none means no binding check.
    pub validate_certificate_binding: Option<CertificateBinding>,
    /// `validateJwtAccessToken` only: a key set to use instead of the issuer's, as JSON.
    pub jwks: Option<String>,
}

impl CallOptions {
    fn requirements(&self) -> Requirements {
        Requirements {
            scopes: self.scopes.clone(),
            groups: self.groups.clone(),
            client_certificate: self.client_certificate.clone(),
            acr_values: self.acr_values.clone(),
            max_age: self.max_age,
        }
    }

    fn binding(&self) -> Option<BindingMode> {
        self.validate_certificate_binding
            .as_ref()
            .map(|mode| match mode {
                CertificateBinding::WhenPresent => BindingMode::WhenPresent,
                CertificateBinding::Required => BindingMode::Required,
                CertificateBinding::DangerouslyIgnore => BindingMode::DangerouslyIgnore,
            })
    }
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("JSON values serialise")
}

#[napi]
impl NativeClient {
    /// Invalid options throw with code `InvalidArg` and upstream's message. `callbacks` holds
    /// the JavaScript adapters around user callbacks (see `callbacks`).
    #[napi(constructor, catch_unwind)]
    pub fn new(
        profile: ClientProfile,
        options: Unknown,
        env: HashMap<String, String>,
        callbacks: Option<Object>,
    ) -> Result<Self> {
        let profile = match profile {
            ClientProfile::Node => Profile::NodeClient,
            ClientProfile::Oidc => Profile::OidcClient,
        };
        let input = options_input(&options)?;
        let callbacks = callbacks_from(callbacks)?;
        // Inside the runtime: with a shared store, the client starts listening for the fleet's
        // revocations at once.
        let core = napi::bindgen_prelude::within_runtime_if_available(|| {
            config::resolve(&input, &env, profile).and_then(|config| Client::new(config, callbacks))
        })
        .map_err(invalid_arg)?;
        Ok(NativeClient {
            core: Arc::new(core),
        })
    }

    /// The way `validateAccessToken` takes for `token` when it calls through the object, or why
    /// it takes none.
    #[napi(catch_unwind)]
    pub fn token_route(&self, token: Option<String>) -> Either<TokenRoute, Failure> {
        match self.core.route(token.as_deref()) {
            Ok((_, Route::Jwt)) => Either::A(TokenRoute::Jwt),
            Ok((_, Route::Introspection)) => Either::A(TokenRoute::Introspection),
            Err(error) => {
                self.core.report_route_failure(&error);
                Either::B(error.into())
            }
        }
    }

    /// The client's `validateCertificateBinding`, which `validateAccessToken` hands to
    /// `validateJwtAccessToken`.
    /// The `WWW-Authenticate` challenge of a request without any token when it is not plain
    /// `Bearer` (DPoP `required` mode).
    #[napi(getter)]
    pub fn no_token_challenge(&self) -> Option<String> {
        self.core.dpop().no_token_challenge()
    }

    /// The protected resource metadata (RFC 9728), when `protectedResource` is configured.
    #[napi(getter)]
    pub fn protected_resource(&self) -> Option<ProtectedResourceMetadata> {
        self.core
            .config()
            .protected_resource
            .as_ref()
            .map(|resource| ProtectedResourceMetadata {
                url: resource.metadata_url.clone(),
                path: resource.metadata_path.clone(),
                document: resource.document.clone(),
            })
    }

    /// Whether challenges are written in their complete form (the `challenge` option).
    #[napi(getter)]
    pub fn full_challenges(&self) -> bool {
        self.core.config().challenge.full
    }

    /// The `Bearer` challenge of a refusal with `error`, naming what the route asks for.
    #[napi]
    pub fn bearer_challenge(
        &self,
        error: String,
        scopes: Option<Vec<String>>,
        acr_values: Option<Vec<String>>,
        max_age: Option<f64>,
    ) -> String {
        self.core.config().challenge.write(
            "Bearer",
            Params {
                error: Some(&error),
                scopes: scopes.as_deref(),
                acr_values: acr_values.as_deref(),
                max_age,
                extra: None,
            },
        )
    }

    #[napi(getter)]
    pub fn certificate_binding(&self) -> Option<CertificateBinding> {
        self.core
            .config()
            .certificate_binding
            .map(|mode| match mode {
                BindingMode::WhenPresent => CertificateBinding::WhenPresent,
                BindingMode::Required => CertificateBinding::Required,
                BindingMode::DangerouslyIgnore => CertificateBinding::DangerouslyIgnore,
            })
    }

    /// `responseTimeout` in milliseconds, as resolved (none when turned off): the JavaScript
    /// face bounds the user code it waits on itself by it (`protectApi`'s token and
    /// certificate resolvers, a route's claim checks).
    #[napi(getter)]
    pub fn response_timeout(&self) -> Option<f64> {
        self.core.config().response_timeout_ms
    }

    /// Whether `protectApi` warns the process about 500 and 503 answers (`warnings`).
    #[napi(getter)]
    pub fn warnings(&self) -> bool {
        self.core.config().warnings
    }

    /// `validateAccessToken`'s introspection path with `introspect` (the object's own
    /// `introspectAccessToken`, adapted to answer a JSON envelope) in place of ours.
    #[napi(ts_return_type = "Promise<string | Failure>")]
    pub fn introspect_through<'env>(
        &self,
        env: &'env Env,
        token: String,
        options: Option<CallOptions>,
        introspect: Function<'env, String, Promise<String>>,
        now: Option<f64>,
    ) -> Result<PromiseRaw<'env, Either<String, Failure>>> {
        let call = js_call(introspect)?;
        let core = self.core.clone();
        let requirements = options.unwrap_or_default().requirements();
        env.spawn_future(async move {
            let mut thrown_inactive = None;
            let answer_of_object = own_introspection(&call, &mut thrown_inactive);
            let result = core
                .introspected(
                    &token,
                    &requirements,
                    Now::from_caller(now),
                    answer_of_object,
                )
                .await;
            Ok(answer(
                rethrown(result, thrown_inactive).map(|claims| Value::Object(claims).to_string()),
            ))
        })
    }

    /// The client's per-request functions, by where the token comes from (see `verify`).
    #[napi(
        ts_return_type = "{ fromAuthorization: (authorization: string | null, now?: number, scopes?: string[], groups?: string[], clientCertificate?: string, method?: string, url?: string, dpop?: string | string[], acrValues?: string[], maxAge?: number) => string | Failure | Promise<string | Failure> | undefined; fromToken: (token: string | null, now?: number, scopes?: string[], groups?: string[], clientCertificate?: string, method?: string, url?: string, dpop?: string | string[], acrValues?: string[], maxAge?: number) => string | Failure | Promise<string | Failure> }",
        catch_unwind
    )]
    pub fn request_verifiers<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let function = verify::create(env.raw(), self.core.clone())?;
        // SAFETY: a function value just created in this env.
        unsafe { Unknown::from_napi_value(env.raw(), function) }
    }

    /// `now` is the caller's clock (`Date.now()`) for every wall-clock decision; without it,
    /// the system clock. The same holds for the methods below.
    #[napi]
    pub async fn validate_jwt_access_token(
        &self,
        token: Option<String>,
        options: Option<CallOptions>,
        now: Option<f64>,
    ) -> Either<String, Failure> {
        let options = options.unwrap_or_default();
        let keys = match options.jwks.as_deref().map(parse_key_set).transpose() {
            Ok(keys) => keys,
            Err(error) => return answer(Err(error)),
        };
        let result = self
            .core
            .validate_jwt_access_token(
                token.as_deref(),
                &options.requirements(),
                options.binding(),
                keys.as_ref(),
                Now::from_caller(now),
            )
            .await;
        answer(result.map(|claims| claims.json))
    }

    #[napi]
    pub async fn introspect_access_token(
        &self,
        token: Option<String>,
        options: Option<CallOptions>,
        now: Option<f64>,
    ) -> Either<String, Failure> {
        let options = options.unwrap_or_default();
        let result = self
            .core
            .introspect_access_token(
                token.as_deref(),
                &options.requirements(),
                options.binding(),
                Now::from_caller(now),
            )
            .await;
        answer(result.map(|claims| claims.json))
    }

    /// Refuses a token, a `jti` or a subject from now on (`kind` says which), here and across
    /// the fleet when there is a shared store, until `until` (seconds since the epoch; by
    /// default the JWT's `exp`, else a day). Answers whether the fleet was told.
    #[napi]
    pub async fn revoke(
        &self,
        kind: String,
        value: String,
        until: Option<f64>,
    ) -> Either<bool, Failure> {
        let revoked = match kind.as_str() {
            "token" => Revoked::Token(&value),
            "jti" => Revoked::Jti(&value),
            "sub" => Revoked::Sub(&value),
            _ => {
                return Either::B(
                    Error::validation("revoke takes { token }, { jti } or { sub }").into(),
                );
            }
        };
        if value.is_empty() {
            return Either::B(Error::validation("revoke needs a value that is not empty").into());
        }
        match self.core.revoke(revoked, until).await {
            Ok(shared) => Either::A(shared),
            Err(error) => Either::B(error.into()),
        }
    }

    #[napi]
    pub async fn get_metadata(
        &self,
        force_refresh: bool,
        now: Option<f64>,
    ) -> Either<String, Failure> {
        let result = self
            .core
            .metadata(force_refresh, Now::from_caller(now))
            .await;
        answer(result.map(|metadata| json_text(&metadata.document)))
    }

    #[napi]
    pub async fn get_jwks(&self, force_refresh: bool, now: Option<f64>) -> Either<String, Failure> {
        let result = self.core.jwks(force_refresh, Now::from_caller(now)).await;
        answer(result.map(|keys| json_text(&keys.document)))
    }

    #[napi(catch_unwind)]
    pub fn set_clock_skew(&self, seconds: f64) -> Result<()> {
        self.core.set_clock_skew(seconds).map_err(invalid_arg)
    }

    #[napi(catch_unwind)]
    pub fn set_clock_tolerance(&self, seconds: f64) -> Result<()> {
        self.core.set_clock_tolerance(seconds).map_err(invalid_arg)
    }

    /// The payload of a JWT, without verification.
    #[napi(catch_unwind)]
    pub fn decode_jwt(token: String) -> Either<String, Failure> {
        answer(jwt::decode_unverified(&token).map(|claims| claims.json))
    }
}

/// The token of an `Authorization` header value, or `null` when it holds no bearer token: the
/// one reader every adapter uses, whichever path its request takes.
#[napi(catch_unwind)]
pub fn bearer_token(authorization: String) -> Option<String> {
    text::bearer_token(&authorization).map(str::to_owned)
}

/// A usage error thrown synchronously; the JavaScript face rethrows it as
/// `MonoCloudValidationError`.
fn invalid_arg(error: Error) -> napi::Error {
    napi::Error::new(Status::InvalidArg, error.to_string())
}

fn parse_key_set(text: &str) -> std::result::Result<KeySet, Error> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(document)) => KeySet::from_document(document).map_err(Error::validation),
        _ => Err(Error::validation(
            "The jwks option must be a JSON Web Key Set",
        )),
    }
}
