//! String rules that must behave exactly like their JavaScript counterparts, because the
//! original is written in terms of `String.prototype.trim` and `/\s+/`; among them, reading
//! the bearer token from an `Authorization` header, where every request starts.

/// ECMAScript WhiteSpace and LineTerminator code points (what `trim()` and `\s` match).
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{0009}'
            | '\u{000A}'
            | '\u{000B}'
            | '\u{000C}'
            | '\u{000D}'
            | '\u{0020}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// `String.prototype.trim`.
pub fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

/// `s.split(/\s+/).filter(Boolean)`.
pub fn split_js_whitespace(s: &str) -> impl Iterator<Item = &str> {
    s.split(is_js_whitespace).filter(|part| !part.is_empty())
}

/// The token of an `Authorization` header value, as the JavaScript `getBearerToken` reads it:
/// the value trimmed, split on runs of whitespace into exactly a scheme and a token, the scheme
/// `bearer` in any case. Anything else is no token.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = scheme_and_token(header)?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// An `Authorization` value trimmed and split on runs of whitespace into exactly two parts, the
/// scheme and the token. The common shape (printable ASCII, one space) is recognised without
/// splitting, which decodes the value a character at a time: no whitespace can hide in it, so
/// both readings agree.
pub fn scheme_and_token(header: &str) -> Option<(&str, &str)> {
    let bytes = header.as_bytes();
    let printable = |b: u8| (b > b' ') & (b < 0x7f);
    if let Some(space) = bytes.iter().take(16).position(|&b| b == b' ')
        && space > 0
        && space + 1 < bytes.len()
        && bytes[..space].iter().all(|&b| printable(b))
        // Without short-circuiting the scan vectorises; a token is hundreds of bytes.
        && bytes[space + 1..].iter().fold(true, |all, &b| all & printable(b))
    {
        return Some((&header[..space], &header[space + 1..]));
    }
    let mut parts = split_js_whitespace(js_trim(header));
    let (scheme, token) = (parts.next()?, parts.next()?);
    parts.next().is_none().then_some((scheme, token))
}

/// JavaScript `parseInt(s, 10)` on an already trimmed string; `None` where it gives `NaN`.
pub fn js_parse_int(s: &str) -> Option<f64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let value: f64 = digits[..end].parse().ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_matches_ecmascript() {
        assert_eq!(js_trim("\u{FEFF}\u{00A0} a b\t\n"), "a b");
        // U+0085 (NEL) is Unicode white space but not ECMAScript white space.
        assert_eq!(js_trim("\u{0085}a"), "\u{0085}a");
    }

    #[test]
    fn splits_on_whitespace_runs() {
        let parts: Vec<_> = split_js_whitespace("  read \t write\u{3000}admin ").collect();
        assert_eq!(parts, ["read", "write", "admin"]);
    }

    /// The token of a value with the `DPoP` scheme (RFC 9449 §7.1), as `core::request` reads it.
    fn dpop_token(header: &str) -> Option<&str> {
        let (scheme, token) = scheme_and_token(header)?;
        scheme.eq_ignore_ascii_case("dpop").then_some(token)
    }

    #[test]
    fn bearer_token_reads_headers_as_the_javascript_face_does() {
        let cases = [
            ("Bearer abc.def", Some("abc.def")),
            ("bEaReR abc", Some("abc")),
            ("  Bearer \t abc \u{3000}", Some("abc")),
            ("\u{FEFF}bearer\u{00A0}abc", Some("abc")),
            ("Bearer a b", None),
            ("Bearer a\u{2028}b", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearerabc", None),
            ("Basic abc", None),
            ("Bearer\u{0085}abc", None),
            ("Bearer abc\u{0085}", Some("abc\u{0085}")),
            ("B\u{0130}arer abc", None),
            ("", None),
        ];
        for (header, token) in cases {
            assert_eq!(bearer_token(header), token, "{header:?}");
            // The DPoP scheme is read by the same rules, on both paths (fast and split).
            let dpop = header
                .replacen("Bearer", "DPoP", 1)
                .replacen("bEaReR", "dPoP", 1)
                .replacen("bearer", "dpop", 1);
            let expected = token.filter(|_| !header.contains("Basic"));
            assert_eq!(dpop_token(&dpop), expected, "{dpop:?}");
            assert_eq!(bearer_token(&dpop), None, "{dpop:?}");
        }
        assert_eq!(dpop_token("Bearer abc"), None);
        assert_eq!(dpop_token("DPoPabc"), None);
        assert_eq!(dpop_token("DPoP\u{00A0}abc"), Some("abc"));
    }

    #[test]
    fn parse_int_follows_javascript() {
        assert_eq!(js_parse_int("10s"), Some(10.0));
        assert_eq!(js_parse_int("1.9"), Some(1.0));
        assert_eq!(js_parse_int("1e3"), Some(1.0));
        assert_eq!(js_parse_int("0x10"), Some(0.0));
        assert_eq!(js_parse_int("-5"), Some(-5.0));
        assert_eq!(js_parse_int("+7"), Some(7.0));
        assert_eq!(js_parse_int("abc"), None);
        assert_eq!(js_parse_int("-"), None);
        assert_eq!(js_parse_int(""), None);
    }
}
