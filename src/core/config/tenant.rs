//! The tenant URL: the discovery base and the expected `iss`.

use crate::core::error::{Error, Result};

/// Upstream prefixes `https://` unless present and drops one trailing slash. Plain `http` is
/// kept for loopback hosts only; anywhere else it is refused rather than mangled.
pub fn normalise_tenant(tenant: &str) -> Result<String> {
    let mut url = if tenant.starts_with("https://") {
        tenant.to_owned()
    } else if let Some(rest) = strip_prefix_ignore_case(tenant, "http://") {
        if !is_loopback_authority(rest) {
            return Err(Error::validation(
                "\"tenantDomain\" must use https; plain http is allowed only for loopback hosts \
                 (localhost, 127.0.0.0/8, [::1])",
            ));
        }
        tenant.to_owned()
    } else {
        format!("https://{tenant}")
    };
    if url.ends_with('/') {
        url.pop();
    }
    Ok(url)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

pub(crate) fn is_loopback_authority(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, port)) if port.is_empty() || port.starts_with(':') => addr,
            _ => return false,
        }
    } else {
        authority.split(':').next().unwrap_or("")
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}
