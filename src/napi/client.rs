//! `NativeClient`: the core client behind the JavaScript `MonoCloudOidcBackendClient` and
//! `MonoCloudBackendNodeClient`.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

use super::bridge::bridge_from;
use super::input::options_input;
use super::outcome::Outcome;
use super::validator;
use crate::core::cert_binding::BindingMode;
use crate::core::client::{Client, Requirements};
use crate::core::config::{self, Profile};
use crate::core::error::Error;
use crate::core::jwt;
use crate::core::keys::KeySet;

#[napi]
pub struct NativeClient {
    core: Arc<Client>,
}

/// Per-call options of `validateAccessToken` and `validateJwtAccessToken`.
#[napi(object)]
pub struct CallOptions {
    pub scopes: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
    pub client_certificate: Option<String>,
    /// `validateJwtAccessToken` only: the binding mode of this call.
    pub validate_certificate_binding: Option<String>,
    /// `validateJwtAccessToken` only: a key set to use instead of the issuer's, as JSON.
    pub jwks: Option<String>,
}

impl CallOptions {
    fn requirements(&self) -> Requirements {
        Requirements {
            scopes: self.scopes.clone(),
            groups: self.groups.clone(),
            client_certificate: self.client_certificate.clone(),
        }
    }
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("JSON values serialise")
}

#[napi]
impl NativeClient {
    /// `profile` is `node` (env-aware `MonoCloudBackendNodeClient`) or `oidc` (the positional
    /// `MonoCloudOidcBackendClient`). Invalid options throw with code `InvalidArg` and
    /// upstream's message.
    /// `callbacks` holds the JavaScript adapters around user callbacks (see `bridge`).
    #[napi(constructor, catch_unwind)]
    pub fn new(
        profile: String,
        options: Unknown,
        env: HashMap<String, String>,
        callbacks: Option<Object>,
    ) -> Result<Self> {
        let profile = match profile.as_str() {
            "oidc" => Profile::OidcClient,
            _ => Profile::NodeClient,
        };
        let input = options_input(&options)?;
        let bridge = bridge_from(callbacks)?;
        let core = config::resolve(&input, &env, profile)
            .and_then(|config| Client::new(config, bridge))
            .map_err(invalid_arg)?;
        Ok(NativeClient {
            core: Arc::new(core),
        })
    }

    /// The per-request entry point `validate(token, scopes, groups, clientCertificate,
    /// fromHeader)`: a token verified before is answered at once (claims JSON text or a
    /// failure); anything else returns a promise of either. With `fromHeader`, `token` is an
    /// `Authorization` header value, and `undefined` means it holds no bearer token.
    #[napi(
        ts_return_type = "(token: string | null, scopes?: string[], groups?: string[], clientCertificate?: string, fromHeader?: boolean) => string | Failure | Promise<string | Failure> | undefined",
        catch_unwind
    )]
    pub fn validator<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let function = validator::create(env.raw(), self.core.clone())?;
        // SAFETY: a function value just created in this env.
        unsafe { Unknown::from_napi_value(env.raw(), function) }
    }

    #[napi]
    pub async fn validate_jwt_access_token(
        &self,
        token: Option<String>,
        options: Option<CallOptions>,
    ) -> Outcome {
        let options = options.unwrap_or(CallOptions {
            scopes: None,
            groups: None,
            client_certificate: None,
            validate_certificate_binding: None,
            jwks: None,
        });
        let binding = options
            .validate_certificate_binding
            .as_deref()
            .and_then(BindingMode::parse);
        let keys = match options.jwks.as_deref().map(parse_key_set).transpose() {
            Ok(keys) => keys,
            Err(e) => return Outcome::from_result(Err(e)),
        };
        let result = self
            .core
            .validate_jwt_access_token(
                token.as_deref(),
                &options.requirements(),
                binding,
                keys.as_ref(),
            )
            .await;
        Outcome::from_result(result.map(|claims| claims.json))
    }

    #[napi]
    pub async fn introspect_access_token(
        &self,
        token: Option<String>,
        options: Option<CallOptions>,
    ) -> Outcome {
        let (requirements, binding) = match &options {
            Some(o) => (
                o.requirements(),
                o.validate_certificate_binding
                    .as_deref()
                    .and_then(BindingMode::parse),
            ),
            None => (Requirements::default(), None),
        };
        let result = self
            .core
            .introspect_access_token(token.as_deref(), &requirements, binding)
            .await;
        Outcome::from_result(result.map(|claims| claims.json))
    }

    #[napi]
    pub async fn get_metadata(&self, force_refresh: bool) -> Outcome {
        let result = self.core.metadata(force_refresh).await;
        Outcome::from_result(result.map(|m| json_text(&m.document)))
    }

    #[napi]
    pub async fn get_jwks(&self, force_refresh: bool) -> Outcome {
        let result = self.core.jwks(force_refresh).await;
        Outcome::from_result(result.map(|k| json_text(&k.document)))
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
    pub fn decode_jwt(token: String) -> Outcome {
        Outcome::from_result(jwt::decode_unverified(&token).map(|claims| claims.json))
    }
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
