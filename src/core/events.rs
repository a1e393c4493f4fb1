//! What the client reports to an `onEvent` hook, so operators can log, count and alert: why a
//! token was refused (its class and code, never the token), cache hits and misses, fetches from
//! the issuer and its failures, and stale values served during an outage.

use std::sync::Arc;

use serde::Serialize;

use super::error::{Error, INTROSPECTION_NOT_CONFIGURED_HINT};

/// Delivers one event, as JSON text, without waiting.
pub type EventSink = Arc<dyn Fn(String) + Send + Sync>;

#[derive(Debug, Serialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum Event<'a> {
    TokenRejected {
        error: &'static str,
        code: Option<&'static str>,
        message: &'a str,
    },
    CacheHit {
        cache: &'static str,
    },
    CacheMiss {
        cache: &'static str,
    },
    MetadataFetched,
    JwksFetched {
        keys: usize,
    },
    IssuerError {
        resource: &'static str,
        error: &'static str,
        message: &'a str,
        status: Option<u16>,
    },
    StaleServed {
        resource: &'static str,
        stale_for_seconds: f64,
    },
    /// A request was refused because of how the client is configured, not because of its
    /// token alone: what to change is in `message`.
    ConfigurationHint {
        code: &'static str,
        message: &'static str,
    },
    /// The shared store failed or was too slow; what happened instead is the operation's rule.
    StoreError {
        operation: &'static str,
        message: &'a str,
    },
    /// A revocation took effect here: made by this instance (`local`) or heard from the fleet.
    Revoked {
        by: &'static str,
        origin: &'static str,
    },
}

#[derive(Clone, Default)]
pub struct Events(Option<EventSink>);

impl Events {
    pub fn new(sink: Option<EventSink>) -> Self {
        Events(sink)
    }

    pub fn emit(&self, event: Event<'_>) {
        if let Some(sink) = &self.0
            && let Ok(text) = serde_json::to_string(&event)
        {
            sink(text);
        }
    }

    /// An event of another part of the package (the outbound token client) through the same
    /// hook.
    pub fn report(&self, event: &impl Serialize) {
        if let Some(sink) = &self.0
            && let Ok(text) = serde_json::to_string(event)
        {
            sink(text);
        }
    }

    pub fn rejected(&self, error: &Error) {
        if let Error::IntrospectionNotConfigured = error {
            self.emit(Event::ConfigurationHint {
                code: INTROSPECTION_NOT_CONFIGURED_HINT,
                message: "A token that is not a JWT was refused: token introspection is not \
                          configured. Set clientId (and its credentials) to accept opaque tokens.",
            });
            return;
        }
        if self.0.is_some() {
            let message = error.to_string();
            let code = match error {
                Error::Token { code, .. } => Some(code.as_str()),
                Error::Dpop(refusal) => Some(refusal.code.as_str()),
                _ => None,
            };
            self.emit(Event::TokenRejected {
                error: class_name(error),
                code,
                message: &message,
            });
        }
    }

    pub fn issuer_error(&self, resource: &'static str, error: &Error) {
        if self.0.is_some() {
            let message = error.to_string();
            let status = match error {
                Error::Http { raw, .. } | Error::Op { raw, .. } => raw.as_ref().map(|r| r.status),
                _ => None,
            };
            self.emit(Event::IssuerError {
                resource,
                error: class_name(error),
                message: &message,
                status,
            });
        }
    }
}

/// The JavaScript class an error becomes.
pub fn class_name(error: &Error) -> &'static str {
    match error {
        Error::Validation(_) | Error::IntrospectionNotConfigured => "MonoCloudValidationError",
        Error::Token { .. } | Error::Dpop(_) => "MonoCloudTokenError",
        Error::Op { .. } => "MonoCloudOPError",
        Error::Http { .. } => "MonoCloudHttpError",
        Error::Callback(_) => "Error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::TokenErrorCode;
    use std::sync::Mutex;

    #[test]
    fn events_are_json_with_a_type() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let events = Events::new(Some(Arc::new(move |e| sink.lock().unwrap().push(e))));
        events.rejected(&Error::token_with(
            "Token is missing required scopes",
            TokenErrorCode::InsufficientScope,
        ));
        events.emit(Event::StaleServed {
            resource: "jwks",
            stale_for_seconds: 1.5,
        });
        events.issuer_error("metadata", &Error::http("down", None));
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen[0],
            r#"{"type":"token_rejected","error":"MonoCloudTokenError","code":"insufficient_scope","message":"Token is missing required scopes"}"#
        );
        assert_eq!(
            seen[1],
            r#"{"type":"stale_served","resource":"jwks","staleForSeconds":1.5}"#
        );
        assert_eq!(
            seen[2],
            r#"{"type":"issuer_error","resource":"metadata","error":"MonoCloudHttpError","message":"down","status":null}"#
        );
        Events::default().rejected(&Error::token("nobody listens"));
    }
}
