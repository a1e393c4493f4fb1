//! A protected resource (RFC 9728): its identifier, its metadata document and where that is
//! served, and the audience check it adds (RFC 8707). Everything is resolved once, with the
//! configuration; requests only compare strings.

use serde_json::{Map, Value, json};

use super::dpop::htu;

/// The `protectedResource` option, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtectedResource {
    /// The identifier as configured: the document's `resource` member, byte for byte.
    pub resource: String,
    /// The identifier after RFC 3986 normalisation, what a token's `aud` is compared with.
    pub normalised: String,
    /// `origin + /.well-known/oauth-protected-resource + path` (RFC 9728 §3.1).
    pub metadata_url: String,
    /// The path part of `metadata_url`, which requests for the document arrive at.
    pub metadata_path: String,
    /// The document, as JSON text.
    pub document: String,
}

pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The members of the document, in the order RFC 9728 §2 lists them.
#[derive(Debug, Default)]
pub struct Members {
    pub resource: String,
    pub authorization_servers: Vec<String>,
    pub scopes_supported: Option<Vec<String>>,
    pub bearer_methods_supported: Vec<String>,
    pub resource_name: Option<String>,
    pub resource_documentation: Option<String>,
    pub resource_policy_uri: Option<String>,
    pub resource_tos_uri: Option<String>,
    pub certificate_bound: bool,
    /// DPoP's algorithms and whether it is required, when DPoP is not disabled.
    pub dpop: Option<(Vec<String>, bool)>,
}

impl ProtectedResource {
    /// `None` when `members.resource` is not a valid identifier (checked by the caller first).
    pub fn new(members: Members) -> Option<ProtectedResource> {
        let normalised = htu::normalise(&members.resource)?;
        let (origin, path) = split_origin(&members.resource)?;
        let suffix = if path == "/" { "" } else { path };
        let metadata_path = format!("{WELL_KNOWN}{suffix}");
        let mut document = Map::new();
        document.insert("resource".into(), json!(members.resource));
        document.insert(
            "authorization_servers".into(),
            json!(members.authorization_servers),
        );
        if let Some(scopes) = &members.scopes_supported {
            document.insert("scopes_supported".into(), json!(scopes));
        }
        document.insert(
            "bearer_methods_supported".into(),
            json!(members.bearer_methods_supported),
        );
        for (name, value) in [
            ("resource_name", &members.resource_name),
            ("resource_documentation", &members.resource_documentation),
            ("resource_policy_uri", &members.resource_policy_uri),
            ("resource_tos_uri", &members.resource_tos_uri),
        ] {
            if let Some(value) = value {
                document.insert(name.into(), json!(value));
            }
        }
        if members.certificate_bound {
            document.insert(
                "tls_client_certificate_bound_access_tokens".into(),
                Value::Bool(true),
            );
        }
        if let Some((algs, required)) = &members.dpop {
            document.insert("dpop_signing_alg_values_supported".into(), json!(algs));
            document.insert(
                "dpop_bound_access_tokens_required".into(),
                Value::Bool(*required),
            );
        }
        Some(ProtectedResource {
            metadata_url: format!("{origin}{metadata_path}"),
            metadata_path,
            normalised,
            resource: members.resource,
            document: Value::Object(document).to_string(),
        })
    }

    /// Whether a token's `aud` (a string or an array) names this resource.
    pub fn is_audience_of(&self, aud: Option<&Value>) -> bool {
        let names = |value: &Value| {
            value
                .as_str()
                .and_then(htu::normalise)
                .is_some_and(|n| n == self.normalised)
        };
        match aud {
            Some(Value::Array(auds)) => auds.iter().any(names),
            Some(one) => names(one),
            None => false,
        }
    }
}

/// `scheme://authority` and the path (at least `/`) of an absolute URL without query or
/// fragment.
fn split_origin(url: &str) -> Option<(&str, &str)> {
    let after_scheme = url.find("://")? + 3;
    let path_at = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |at| after_scheme + at);
    let path = &url[path_at..];
    Some((&url[..path_at], if path.is_empty() { "/" } else { path }))
}

/// Whether `url` can identify a protected resource: absolute `https` (or `http` on a loopback
/// host), with a host, no user information, no query and no fragment.
pub fn is_resource_identifier(url: &str) -> bool {
    if url.contains(['#', '?']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    let secure = lower.starts_with("https://");
    let loopback =
        lower.starts_with("http://") && super::config::tenant_is_loopback(&url["http://".len()..]);
    (secure || loopback) && htu::normalise(url).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(resource: &str) -> ProtectedResource {
        ProtectedResource::new(Members {
            resource: resource.into(),
            authorization_servers: vec!["https://tenant.example.com".into()],
            bearer_methods_supported: vec!["header".into()],
            ..Members::default()
        })
        .unwrap()
    }

    /// RFC 9728 §3.1: the well-known segment goes between the origin and the path; a root
    /// resource has no suffix.
    #[test]
    fn where_the_document_is_served() {
        let root = with("https://api.example.com");
        assert_eq!(
            root.metadata_url,
            "https://api.example.com/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            with("https://api.example.com/").metadata_url,
            root.metadata_url
        );
        let mcp = with("https://API.example.com:8443/tenants/mcp");
        assert_eq!(
            mcp.metadata_url,
            "https://API.example.com:8443/.well-known/oauth-protected-resource/tenants/mcp"
        );
        assert_eq!(
            mcp.metadata_path,
            "/.well-known/oauth-protected-resource/tenants/mcp"
        );
        assert_eq!(
            mcp.document,
            r#"{"resource":"https://API.example.com:8443/tenants/mcp","authorization_servers":["https://tenant.example.com"],"bearer_methods_supported":["header"]}"#
        );
    }

    #[test]
    fn the_audience_is_compared_after_normalisation() {
        let mcp = with("https://api.example.com/mcp");
        for aud in [
            json!("https://api.example.com/mcp"),
            json!("HTTPS://API.EXAMPLE.COM:443/mcp"),
            json!(["https://other.example.com", "https://api.example.com/%6Dcp"]),
        ] {
            assert!(mcp.is_audience_of(Some(&aud)), "{aud}");
        }
        for aud in [
            json!("https://api.example.com/mcp/"),
            json!("https://api.example.com/MCP"),
            json!("https://api.example.com"),
            json!(["https://other.example.com"]),
            json!(1),
        ] {
            assert!(!mcp.is_audience_of(Some(&aud)), "{aud}");
        }
        assert!(!mcp.is_audience_of(None));
        let root = with("https://api.example.com");
        assert!(root.is_audience_of(Some(&json!("https://api.example.com/"))));
    }

    #[test]
    fn identifiers() {
        for good in [
            "https://api.example.com",
            "https://api.example.com/mcp",
            "http://127.0.0.1:3000/mcp",
            "http://localhost:3000",
        ] {
            assert!(is_resource_identifier(good), "{good}");
        }
        for bad in [
            "http://api.example.com",
            "https://api.example.com/mcp#x",
            "https://api.example.com/mcp?x=1",
            "https://user@api.example.com",
            "api.example.com",
            "ftp://api.example.com",
            "https://",
            "https://api.example.com/a b",
        ] {
            assert!(!is_resource_identifier(bad), "{bad}");
        }
    }
}
