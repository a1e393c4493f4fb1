//! The introspection request (RFC 7662 §2.1): the endpoint (its mTLS alias when the client
//! authenticates with a certificate, RFC 8705 §5), the client's authentication, the form.

use serde_json::{Map, Value};

use super::answer::read_answer;
use crate::core::client_auth::{Authentication, form_body};
use crate::core::clock::Now;
use crate::core::config::Config;
use crate::core::discovery::Metadata;
use crate::core::error::{Error, Result};
use crate::core::events::Events;
use crate::core::http::{Http, Request};

/// Asks the issuer about `token` as client `client_id`; the claims of an active token.
pub async fn introspect(
    http: &Http,
    events: &Events,
    config: &Config,
    client_id: &str,
    metadata: &Metadata,
    token: &str,
    now: Now,
) -> Result<Map<String, Value>> {
    let method = config.client_auth_method;
    let mtls = method.uses_mtls_endpoints();
    let endpoint = endpoint(metadata, mtls, config.trust_store_id.as_deref())?;
    let credentials = Authentication {
        id: client_id,
        secret: config.client_secret.as_ref(),
        method,
        issuer: &config.issuer,
    }
    .credentials(now.seconds())?;
    let mut fields = vec![
        ("token", token.to_owned()),
        ("token_type_hint", "access_token".to_owned()),
    ];
    fields.extend(credentials.form);
    let answer = match http
        .send(Request {
            url: endpoint,
            form: Some(form_body(&fields)),
            authorization: credentials.authorization,
            dpop: None,
            mtls,
        })
        .await
    {
        Ok(response) => read_answer(&response),
        Err(error) => Err(error),
    };
    if let Err(error @ (Error::Http { .. } | Error::Op { .. })) = &answer {
        events.issuer_error("introspection", error);
    }
    answer
}

fn endpoint<'m>(metadata: &'m Metadata, mtls: bool, store: Option<&str>) -> Result<&'m str> {
    if mtls {
        metadata
            .mtls_alias("introspection_endpoint", store)
            .ok_or_else(|| {
                Error::validation(match store {
                    Some(store) => format!(
                        "mTLS introspection_endpoint is required but not available for trust \
                         store '{store}' in the issuer metadata"
                    ),
                    None => "mTLS introspection_endpoint is required but not available in the \
                             issuer metadata"
                        .to_owned(),
                })
            })
    } else {
        metadata.endpoint("introspection_endpoint").ok_or_else(|| {
            Error::validation(
                "introspection_endpoint endpoint is required but not available in the issuer \
                 metadata",
            )
        })
    }
}
