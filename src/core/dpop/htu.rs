//! The `htu` comparison (RFC 9449 §4.3 point 9): the proof's URI and the request's, both
//! without query and fragment, compared after the syntax- and scheme-based normalisation of
//! RFC 3986 §6.2.2–6.2.3 — scheme and host in lower case, the default port dropped, an empty
//! path as `/`, percent-encodings of unreserved characters decoded and the others in upper
//! case, dot segments removed. Anything that is not an absolute `http`/`https` URI with an
//! authority (or that carries user information) normalises to nothing, and so never matches.

/// The normalised form of `uri` without its query and fragment.
pub fn normalise(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let rest = rest.strip_prefix("//")?;
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = &rest[..end];
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let authority = authority_of(authority, default_port)?;
    let path = path_of(path)?;
    Some(format!("{scheme}://{authority}{path}"))
}

/// The path of a request target or URL (no query, no fragment), as the app received it: what a
/// configured public URL is joined with.
pub fn request_path(target: &str) -> &str {
    let after_authority = match target.find("://") {
        Some(at) => {
            let rest = &target[at + 3..];
            match rest.find(['/', '?', '#']) {
                Some(slash) => &rest[slash..],
                None => "",
            }
        }
        None => target,
    };
    let end = after_authority
        .find(['?', '#'])
        .unwrap_or(after_authority.len());
    &after_authority[..end]
}

fn authority_of(authority: &str, default_port: u16) -> Option<String> {
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = if let Some(literal) = authority.strip_prefix('[') {
        let close = literal.find(']')?;
        let host = &authority[..close + 2];
        (host, literal[close + 1..].strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || !host.bytes().all(is_host_byte) {
        return None;
    }
    let host = host.to_ascii_lowercase();
    match port {
        None | Some("") => Some(host),
        Some(port) if port.bytes().all(|b| b.is_ascii_digit()) && port.len() <= 5 => {
            let number: u32 = port.parse().ok()?;
            if number > u32::from(u16::MAX) {
                None
            } else if number == u32::from(default_port) {
                Some(host)
            } else {
                Some(format!("{host}:{number}"))
            }
        }
        Some(_) => None,
    }
}

/// Host characters: registered names, IPv4, and IPv6 literals with their brackets.
fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'[' | b']' | b':' | b'%')
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters a path may carry as they are (RFC 3986 `pchar` and `/`), less `%`.
fn is_path_byte(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
        )
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn path_of(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len() + 1);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let high = hex_value(*bytes.get(i + 1)?)?;
            let low = hex_value(*bytes.get(i + 2)?)?;
            let decoded = high << 4 | low;
            if is_unreserved(decoded) {
                out.push(decoded as char);
            } else {
                push_encoded(&mut out, decoded);
            }
            i += 3;
        } else if is_path_byte(b) {
            out.push(b as char);
            i += 1;
        } else {
            // Anything else (non-ASCII, spaces, quotes) as its percent-encoded UTF-8 bytes.
            push_encoded(&mut out, b);
            i += 1;
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(remove_dot_segments(&out))
}

fn push_encoded(out: &mut String, byte: u8) {
    out.push('%');
    out.push(HEX[usize::from(byte >> 4)] as char);
    out.push(HEX[usize::from(byte & 15)] as char);
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 §5.2.4, on an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (index, segment) in segments.iter().enumerate() {
        match *segment {
            "." => trailing_slash = index == last,
            ".." => {
                output.pop();
                trailing_slash = index == last;
            }
            other => {
                output.push(other);
                trailing_slash = false;
            }
        }
    }
    let mut result = String::with_capacity(path.len());
    for segment in &output {
        result.push('/');
        result.push_str(segment);
    }
    if trailing_slash || result.is_empty() {
        result.push('/');
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equivalent_uris_normalise_alike() {
        let base = normalise("https://api.example.com/a/b").unwrap();
        for same in [
            "HTTPS://API.Example.COM/a/b",
            "https://api.example.com:443/a/b",
            "https://api.example.com/a/b?x=1#f",
            "https://api.example.com/%61/b",
            "https://api.example.com/a/./c/../b",
            "https://api.example.com/a/b#frag",
        ] {
            assert_eq!(normalise(same).as_deref(), Some(base.as_str()), "{same}");
        }
        assert_eq!(normalise("http://h:80").as_deref(), Some("http://h/"));
        assert_eq!(
            normalise("http://h:8080/").as_deref(),
            Some("http://h:8080/")
        );
        assert_eq!(normalise("http://h/%2f").as_deref(), Some("http://h/%2F"));
        assert_eq!(
            normalise("http://h/caf%C3%A9").as_deref(),
            normalise("http://h/café").as_deref()
        );
        assert_eq!(
            normalise("http://[::1]:3000/x").as_deref(),
            Some("http://[::1]:3000/x")
        );
    }

    #[test]
    fn different_uris_stay_different() {
        let base = normalise("https://api.example.com/a/b").unwrap();
        for other in [
            "http://api.example.com/a/b",
            "https://api.example.com:8443/a/b",
            "https://evil.example.com/a/b",
            "https://api.example.com/a/B",
            "https://api.example.com/a/b/",
            "https://api.example.com/a%2Fb",
        ] {
            assert_ne!(normalise(other).as_deref(), Some(base.as_str()), "{other}");
        }
    }

    #[test]
    fn what_is_not_an_http_uri_normalises_to_nothing() {
        for bad in [
            "",
            "/a/b",
            "ftp://h/a",
            "https:/h/a",
            "https://user@h/a",
            "https:///a",
            "https://h:99999/a",
            "https://h:8x/a",
            "https://h/%zz",
            "https://h/%4",
            "https://h o/a",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_request_path_is_what_follows_the_authority() {
        assert_eq!(request_path("https://h:1/a/b?q#f"), "/a/b");
        assert_eq!(request_path("/a/b?q"), "/a/b");
        assert_eq!(request_path("https://h?q"), "");
    }
}
