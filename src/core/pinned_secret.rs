//! The pinned symmetric mode: JWTs signed with one shared secret and one HMAC algorithm
//! (HS256/384/512), for issuers that sign this way (express-oauth2-jwt-bearer's `secret` with
//! `tokenSigningAlg`). It is a separate path on purpose: the public-key verifier's algorithms
//! (`jose::Alg`) have no HMAC member, so a secret can never be used as a public key there, and
//! in this mode no key set is fetched and a token naming any other algorithm is refused.

use aws_lc_rs::{constant_time, hmac};

use super::config::Redacted;
use super::error::{Error, Result};
use super::jwt::{self, Claims, TokenType};

/// The HMAC algorithms of the pinned mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlg {
    HS256,
    HS384,
    HS512,
}

impl HmacAlg {
    pub const NAMES: [&'static str; 3] = ["HS256", "HS384", "HS512"];

    pub fn parse(name: &str) -> Option<HmacAlg> {
        match name {
            "HS256" => Some(HmacAlg::HS256),
            "HS384" => Some(HmacAlg::HS384),
            "HS512" => Some(HmacAlg::HS512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn algorithm(self) -> hmac::Algorithm {
        match self {
            HmacAlg::HS256 => hmac::HMAC_SHA256,
            HmacAlg::HS384 => hmac::HMAC_SHA384,
            HmacAlg::HS512 => hmac::HMAC_SHA512,
        }
    }
}

/// The secret and the one algorithm tokens must name.
pub struct PinnedSecret {
    alg: HmacAlg,
    key: hmac::Key,
}

impl std::fmt::Debug for PinnedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedSecret")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PinnedSecret {
    pub fn new(alg: HmacAlg, secret: &Redacted<Vec<u8>>) -> PinnedSecret {
        PinnedSecret {
            alg,
            key: hmac::Key::new(alg.algorithm(), &secret.0),
        }
    }

    /// The header read by the public-key verifier's rules (`crit`, `typ`, in its order) with
    /// `alg` exactly the pinned one, then the signature, then the payload. The token's type
    /// comes back so the caller applies `requireTokenType` as for any other JWT.
    pub fn verify(&self, token: &str) -> Result<(TokenType, Claims)> {
        let jws = jwt::parse_with(token, |name| (name == self.alg.name()).then_some(self.alg))?;
        let expected = hmac::sign(&self.key, jws.signing_input.as_bytes());
        constant_time::verify_slices_are_equal(expected.as_ref(), &jws.signature)
            .map_err(|_| Error::token("JWT signature verification failed"))?;
        Ok((jws.typ, jws.claims()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::jose::b64url_encode;

    fn sign(alg: &str, secret: &[u8], header_alg: &str, payload: &str) -> String {
        sign_typed(alg, secret, header_alg, "JWT", payload)
    }

    fn sign_typed(alg: &str, secret: &[u8], header_alg: &str, typ: &str, payload: &str) -> String {
        let header = b64url_encode(format!(r#"{{"alg":"{header_alg}","typ":"{typ}"}}"#).as_bytes());
        let body = b64url_encode(payload.as_bytes());
        let input = format!("{header}.{body}");
        let key = hmac::Key::new(HmacAlg::parse(alg).unwrap().algorithm(), secret);
        format!(
            "{input}.{}",
            b64url_encode(hmac::sign(&key, input.as_bytes()).as_ref())
        )
    }

    fn pin(alg: &str, secret: &[u8]) -> PinnedSecret {
        PinnedSecret::new(HmacAlg::parse(alg).unwrap(), &Redacted(secret.to_vec()))
    }

    #[test]
    fn the_pinned_algorithm_and_secret_verify() {
        for alg in HmacAlg::NAMES {
            let token = sign(alg, b"shared-secret", alg, r#"{"sub":"a"}"#);
            let (typ, claims) = pin(alg, b"shared-secret").verify(&token).unwrap();
            assert_eq!(claims.json, r#"{"sub":"a"}"#);
            assert_eq!(typ, TokenType::Generic);
        }
    }

    #[test]
    fn another_secret_algorithm_or_shape_is_refused() {
        let token = sign("HS256", b"shared-secret", "HS256", r#"{"sub":"a"}"#);
        assert!(pin("HS256", b"other-secret").verify(&token).is_err());
        // Pinned HS384: an HS256 token is refused before its signature is looked at.
        assert!(pin("HS384", b"shared-secret").verify(&token).is_err());
        // A public-key algorithm in the header never reaches the HMAC check.
        let rs = sign("HS256", b"shared-secret", "RS256", r#"{"sub":"a"}"#);
        assert!(pin("HS256", b"shared-secret").verify(&rs).is_err());
        let none = sign("HS256", b"shared-secret", "none", r#"{"sub":"a"}"#);
        assert!(pin("HS256", b"shared-secret").verify(&none).is_err());
        assert!(pin("HS256", b"shared-secret").verify("a.b").is_err());
        let tampered = format!("{}x", &token[..token.len() - 1]);
        assert!(pin("HS256", b"shared-secret").verify(&tampered).is_err());
    }

    /// DECISION 35 holds here as on the public-key path: another kind of token (a logout
    /// token, an ID token with a typ, a DPoP proof) is refused, signed correctly or not; the
    /// access-token types pass and are reported, for `requireTokenType`.
    #[test]
    fn the_typ_rules_are_those_of_every_jwt() {
        let pinned = pin("HS256", b"shared-secret");
        for typ in ["logout+jwt", "dpop+jwt", "secevent+jwt", "JOSE"] {
            let token = sign_typed("HS256", b"shared-secret", "HS256", typ, r#"{"sub":"a"}"#);
            match pinned.verify(&token) {
                Err(Error::Token { message, .. }) => assert_eq!(message, jwt::UNEXPECTED_TYP),
                other => panic!("{typ}: {other:?}"),
            }
        }
        for (typ, kind) in [
            ("at+jwt", TokenType::AccessToken),
            ("application/AT+JWT", TokenType::AccessToken),
            ("jwt", TokenType::Generic),
        ] {
            let token = sign_typed("HS256", b"shared-secret", "HS256", typ, r#"{"sub":"a"}"#);
            assert_eq!(pinned.verify(&token).unwrap().0, kind, "{typ}");
        }
    }

    #[test]
    fn the_public_key_verifier_knows_no_hmac() {
        for name in HmacAlg::NAMES {
            assert!(crate::core::jose::Alg::parse(name).is_none());
        }
    }
}
