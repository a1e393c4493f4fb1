//! `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9449 §7.1, RFC 9470 §3). By default they are
//! the original's short forms; with the `challenge` option they are complete: a `realm`, a
//! fixed `error_description` per code (never anything from the token), and the `scope` a route
//! needs when a token lacks it.

/// How challenges are written, from the `challenge` option.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Style {
    /// The complete form: `scope` on `insufficient_scope`, and what the members below ask.
    pub full: bool,
    pub realm: Option<String>,
    pub describe: bool,
    /// The URL of the protected resource metadata (RFC 9728 §5.1), on every challenge.
    pub resource_metadata: Option<String>,
}

/// The auth-params of one challenge, beyond its scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct Params<'a> {
    pub error: Option<&'a str>,
    /// The scopes the route needs, written on `insufficient_scope` in the complete form.
    pub scopes: Option<&'a [String]>,
    /// Step-up (RFC 9470): the `acr` values the route accepts.
    pub acr_values: Option<&'a [String]>,
    /// Step-up (RFC 9470): the route's `max_age`.
    pub max_age: Option<f64>,
    /// Parameters of the scheme itself, last (DPoP's `algs="…"`).
    pub extra: Option<&'a str>,
}

/// The fixed, safe description of each error code.
pub fn description(error: &str) -> Option<&'static str> {
    Some(match error {
        "invalid_token" => "The access token is missing, invalid, expired or revoked",
        "insufficient_scope" => "The access token does not grant what this resource requires",
        "insufficient_user_authentication" => {
            "A different or more recent user authentication is required"
        }
        "invalid_request" => "The request is malformed",
        "invalid_dpop_proof" => "The DPoP proof is invalid",
        "use_dpop_nonce" => "The DPoP proof must carry the server's nonce",
        _ => return None,
    })
}

/// A quoted-string's content (RFC 9110 §5.6.4): `"` and `\` escaped, control characters left out.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c.is_control() {
            continue;
        }
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

impl Style {
    /// `scheme` with its parameters: realm, error, description, scope, step-up, then `extra`.
    pub fn write(&self, scheme: &str, params: Params) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let (true, Some(realm)) = (self.full, &self.realm) {
            parts.push(format!("realm={}", quote(realm)));
        }
        if let Some(error) = params.error {
            parts.push(format!("error=\"{error}\""));
            if let (true, true, Some(text)) = (self.full, self.describe, description(error)) {
                parts.push(format!("error_description=\"{text}\""));
            }
        }
        if let (true, Some("insufficient_scope"), Some(scopes)) =
            (self.full, params.error, params.scopes)
            && !scopes.is_empty()
        {
            parts.push(format!("scope={}", quote(&scopes.join(" "))));
        }
        if let Some(acr) = params.acr_values.filter(|acr| !acr.is_empty()) {
            parts.push(format!("acr_values={}", quote(&acr.join(" "))));
        }
        if let Some(max_age) = params.max_age {
            parts.push(format!("max_age=\"{}\"", max_age.floor().max(0.0)));
        }
        if let Some(url) = &self.resource_metadata {
            parts.push(format!("resource_metadata={}", quote(url)));
        }
        if let Some(extra) = params.extra {
            parts.push(extra.to_owned());
        }
        if parts.is_empty() {
            scheme.to_owned()
        } else {
            format!("{scheme} {}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Without the option, the original's short forms, byte for byte.
    #[test]
    fn the_short_forms_stay_the_originals() {
        let short = Style::default();
        let read = scopes(&["read", "write"]);
        assert_eq!(short.write("Bearer", Params::default()), "Bearer");
        let error = |e| Params {
            error: Some(e),
            scopes: Some(&read),
            ..Params::default()
        };
        assert_eq!(
            short.write("Bearer", error("invalid_token")),
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(
            short.write("Bearer", error("insufficient_scope")),
            r#"Bearer error="insufficient_scope""#
        );
        let algs = r#"algs="ES256""#;
        assert_eq!(
            short.write(
                "DPoP",
                Params {
                    error: Some("invalid_dpop_proof"),
                    extra: Some(algs),
                    ..Params::default()
                }
            ),
            r#"DPoP error="invalid_dpop_proof", algs="ES256""#
        );
    }

    #[test]
    fn the_complete_forms() {
        let full = Style {
            full: true,
            realm: Some("api \"v2\"".into()),
            describe: true,
            resource_metadata: None,
        };
        let read = scopes(&["read:things", "write:things"]);
        assert_eq!(
            full.write("Bearer", Params::default()),
            r#"Bearer realm="api \"v2\"""#
        );
        assert_eq!(
            full.write(
                "Bearer",
                Params {
                    error: Some("insufficient_scope"),
                    scopes: Some(&read),
                    ..Params::default()
                }
            ),
            r#"Bearer realm="api \"v2\"", error="insufficient_scope", error_description="The access token does not grant what this resource requires", scope="read:things write:things""#
        );
        let bare = Style {
            full: true,
            realm: None,
            describe: false,
            resource_metadata: None,
        };
        assert_eq!(
            bare.write(
                "Bearer",
                Params {
                    error: Some("insufficient_user_authentication"),
                    acr_values: Some(&scopes(&["phr"])),
                    max_age: Some(300.0),
                    ..Params::default()
                }
            ),
            r#"Bearer error="insufficient_user_authentication", acr_values="phr", max_age="300""#
        );
        assert_eq!(quote("a\u{7}b\\"), r#""ab\\""#);
    }
}
