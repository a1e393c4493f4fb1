//! `NativeTokenClient`: the outbound token client behind `MonoCloudTokenClient`. Answers are
//! JSON text or a `Failure`, as for the validating client.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::callbacks::{callbacks_from, js_call};
use super::failure::{Failure, answer};
use super::options::{options_input, to_input};
use crate::core::clock::Now;
use crate::core::config::Input;
use crate::outbound::config::{TOKEN_CLIENT_OPTION_NAMES, resolve};
use crate::outbound::grant::TokenRequest;
use crate::outbound::token_client::TokenClient;

#[napi]
pub struct NativeTokenClient {
    core: Arc<TokenClient>,
}

/// What a token is asked for: one cached token per distinct set.
#[napi(object)]
#[derive(Default)]
pub struct TokenOptions {
    pub scopes: Option<Vec<String>>,
    /// RFC 8707 resource indicators.
    pub resource: Option<Vec<String>>,
    pub audience: Option<String>,
}

impl TokenOptions {
    fn request(self) -> TokenRequest {
        TokenRequest::new(
            self.scopes.unwrap_or_default(),
            self.resource.unwrap_or_default(),
            self.audience,
        )
    }
}

#[napi]
impl NativeTokenClient {
    /// Invalid options throw with code `InvalidArg`; `callbacks` holds the JavaScript adapters
    /// (`fetch`, `metadata`, `cacheGet`, `cacheSet`, `cacheDelete`, `event`).
    #[napi(constructor, catch_unwind)]
    pub fn new(
        options: Unknown,
        env: HashMap<String, String>,
        callbacks: Option<Object>,
    ) -> Result<Self> {
        let mut input = options_input(&options)?;
        if options.get_type()? == ValueType::Object
            && let Input::Object(members) = &mut input
        {
            // SAFETY: the value was just checked to be an object.
            let object = unsafe { options.cast::<Object>() }?;
            for name in TOKEN_CLIENT_OPTION_NAMES {
                let value: Unknown = object.get_named_property(name)?;
                let value = to_input(&value, 1)?;
                if value != Input::Missing {
                    members.push((name.to_owned(), value));
                }
            }
        }
        let cache_delete = match &callbacks {
            Some(object) => object
                .get::<Function<String, Promise<String>>>("cacheDelete")?
                .map(js_call)
                .transpose()?,
            None => None,
        };
        let callbacks = callbacks_from(callbacks)?;
        // Inside the runtime, so that a shared store starts connecting at once.
        let core = napi::bindgen_prelude::within_runtime_if_available(|| {
            resolve(&input, &env)
                .and_then(|config| TokenClient::new(config, callbacks, cache_delete))
        })
        .map_err(|error| napi::Error::new(Status::InvalidArg, error.to_string()))?;
        Ok(NativeTokenClient {
            core: Arc::new(core),
        })
    }

    /// `{ accessToken, tokenType, expiresAt, scope }` as JSON text; `now` is the caller's
    /// `Date.now()`.
    #[napi]
    pub async fn get_access_token(
        &self,
        options: Option<TokenOptions>,
        now: Option<f64>,
    ) -> Either<String, Failure> {
        let request = options.unwrap_or_default().request();
        let result = self.core.access_token(request, Now::from_caller(now)).await;
        answer(result.map(|token| token.answer_json()))
    }

    /// The cached token as JSON text, answered at once, when it is valid and not yet due for a
    /// refresh; otherwise `null`, and the caller takes `getAccessToken`.
    #[napi(catch_unwind)]
    pub fn fresh_access_token(
        &self,
        options: Option<TokenOptions>,
        now: Option<f64>,
    ) -> Option<String> {
        let request = options.unwrap_or_default().request();
        self.core
            .fresh(&request, Now::before_any_wait(now))
            .map(|token| token.answer_json())
    }

    /// A DPoP proof for one request to an API, as JSON text (a string), with `ath` for
    /// `accessToken` and the nonce the API's origin gave last; `null` when the client has no
    /// DPoP key.
    #[napi(catch_unwind)]
    pub fn dpop_proof(
        &self,
        method: String,
        url: String,
        access_token: String,
        now: Option<f64>,
    ) -> Option<Either<String, Failure>> {
        let key = self.core.dpop()?;
        let proof = key.proof(&method, &url, Some(&access_token), Now::from_caller(now));
        Some(answer(
            proof.map(|proof| serde_json::Value::String(proof).to_string()),
        ))
    }

    /// Keeps the `DPoP-Nonce` an API at `url` answered with, for the next proofs to it.
    #[napi(catch_unwind)]
    pub fn remember_dpop_nonce(&self, url: String, nonce: String) {
        if let Some(key) = self.core.dpop() {
            key.remember_nonce(&url, &nonce);
        }
    }

    /// The RFC 7638 thumbprint of the DPoP key (what bound tokens name in `cnf.jkt`), or
    /// `null` without DPoP.
    #[napi(getter)]
    pub fn dpop_thumbprint(&self) -> Option<String> {
        self.core.dpop().map(|key| key.thumbprint().to_owned())
    }

    /// Forgets a token an API refused, so that the next call fetches another.
    #[napi]
    pub async fn invalidate(&self, access_token: String, options: Option<TokenOptions>) {
        let request = options.unwrap_or_default().request();
        self.core.invalidate(request, &access_token).await;
    }
}
