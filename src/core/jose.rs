//! The JOSE building blocks shared by key sets, tokens and client assertions: the algorithms
//! (how each one verifies and signs) and strict base64url.

use aws_lc_rs::signature::{self, RsaEncoding, RsaParameters, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The JWS algorithms a token may be signed with. `none` and every HMAC algorithm are
/// deliberately absent: a public-key verifier must never accept them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
}

pub const ALG_COUNT: usize = Alg::ALL.len();

impl Alg {
    /// Every algorithm we verify, in index order.
    pub const ALL: [Alg; 10] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
    ];

    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|alg| alg.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// A dense index, for per-algorithm slots.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn key_type(self) -> &'static str {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512 => "RSA",
            Alg::ES256 | Alg::ES384 | Alg::ES512 => "EC",
            Alg::EdDSA => "OKP",
        }
    }

    /// The curve a key must declare for this algorithm, where there is one.
    pub fn curve(self) -> Option<&'static str> {
        match self {
            Alg::ES256 => Some("P-256"),
            Alg::ES384 => Some("P-384"),
            Alg::ES512 => Some("P-521"),
            Alg::EdDSA => Some("Ed25519"),
            _ => None,
        }
    }

    /// RSA: the verification parameters, and the padding to sign with (client assertions,
    /// test tokens). PSS uses a salt as long as the hash, as RFC 7518 §3.5 requires.
    fn rsa(self) -> Option<(&'static RsaParameters, &'static dyn RsaEncoding)> {
        Some(match self {
            Alg::RS256 => (
                &signature::RSA_PKCS1_2048_8192_SHA256,
                &signature::RSA_PKCS1_SHA256,
            ),
            Alg::RS384 => (
                &signature::RSA_PKCS1_2048_8192_SHA384,
                &signature::RSA_PKCS1_SHA384,
            ),
            Alg::RS512 => (
                &signature::RSA_PKCS1_2048_8192_SHA512,
                &signature::RSA_PKCS1_SHA512,
            ),
            Alg::PS256 => (
                &signature::RSA_PSS_2048_8192_SHA256,
                &signature::RSA_PSS_SHA256,
            ),
            Alg::PS384 => (
                &signature::RSA_PSS_2048_8192_SHA384,
                &signature::RSA_PSS_SHA384,
            ),
            Alg::PS512 => (
                &signature::RSA_PSS_2048_8192_SHA512,
                &signature::RSA_PSS_SHA512,
            ),
            _ => return None,
        })
    }

    pub fn rsa_parameters(self) -> Option<&'static RsaParameters> {
        self.rsa().map(|(verify, _)| verify)
    }

    pub fn rsa_signing(self) -> Option<&'static dyn RsaEncoding> {
        self.rsa().map(|(_, sign)| sign)
    }

    /// ECDSA: the verification algorithm over the raw public key, and the one to sign with
    /// (client assertions, test tokens). JOSE signatures are the fixed-size `r || s` form.
    fn ecdsa(
        self,
    ) -> Option<(
        &'static signature::EcdsaVerificationAlgorithm,
        &'static signature::EcdsaSigningAlgorithm,
    )> {
        Some(match self {
            Alg::ES256 => (
                &signature::ECDSA_P256_SHA256_FIXED,
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            ),
            Alg::ES384 => (
                &signature::ECDSA_P384_SHA384_FIXED,
                &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            ),
            Alg::ES512 => (
                &signature::ECDSA_P521_SHA512_FIXED,
                &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
            ),
            _ => return None,
        })
    }

    /// For EC and OKP keys: the algorithm over the raw public key bytes.
    pub fn raw_key_algorithm(self) -> Option<&'static dyn VerificationAlgorithm> {
        match self {
            Alg::EdDSA => Some(&signature::ED25519),
            _ => self
                .ecdsa()
                .map(|(verify, _)| verify as &'static dyn VerificationAlgorithm),
        }
    }

    pub fn ecdsa_signing(self) -> Option<&'static signature::EcdsaSigningAlgorithm> {
        self.ecdsa().map(|(_, sign)| sign)
    }

    pub fn is_pss(self) -> bool {
        matches!(self, Alg::PS256 | Alg::PS384 | Alg::PS512)
    }
}

/// Strict base64url: the URL-safe alphabet only, no padding, no whitespace, no stray bits.
pub fn b64url_decode(segment: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(segment).ok()
}

pub fn b64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64url_decode("eyJhIjoxfQ").unwrap(), br#"{"a":1}"#);
        assert_eq!(b64url_decode("").unwrap(), b"");
        for bad in [
            "eyJhIjoxfQ==",
            "ey+h",
            "ey/h",
            "eyJh Ijox",
            "eyJh\nIjox",
            "eyJhIjoxfR",
        ] {
            assert!(b64url_decode(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn algorithm_names_round_trip_and_refuse_the_dangerous_ones() {
        for name in ["RS256", "PS384", "ES512", "EdDSA"] {
            assert_eq!(Alg::parse(name).unwrap().name(), name);
        }
        for (index, alg) in Alg::ALL.into_iter().enumerate() {
            assert_eq!((alg.index(), Alg::parse(alg.name())), (index, Some(alg)));
        }
        for name in [
            "none", "None", "NONE", "HS256", "HS512", "rs256", "ES256K", "",
        ] {
            assert!(Alg::parse(name).is_none(), "{name}");
        }
    }
}
