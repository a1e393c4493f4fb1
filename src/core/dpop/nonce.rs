//! Server nonces (RFC 9449 §8–9) without server state: a nonce is the second it was issued
//! (on the caller's clock) and an HMAC of that second under `nonceSecret`. Every instance that
//! shares the secret accepts every other's nonces, and no instance has to remember any; a nonce
//! is accepted for `nonceLifetime` seconds after it was issued.

use aws_lc_rs::{constant_time, hmac};

use crate::core::jose::{b64url_decode, b64url_encode};

/// Bytes of the tag kept in a nonce: 128 bits are beyond guessing within a nonce's lifetime.
const TAG_BYTES: usize = 16;
/// Separates these MACs from any other use of the same secret.
const CONTEXT: &[u8] = b"monocloud dpop nonce v1";
/// A nonce issued by an instance whose clock runs this far ahead is still accepted.
const FUTURE_SECONDS: u64 = 5;

pub struct Nonces {
    key: hmac::Key,
    lifetime: f64,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl Nonces {
    pub fn new(secret: &[u8], lifetime: f64) -> Nonces {
        Nonces {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            lifetime,
        }
    }

    fn tag(&self, second: u64) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(CONTEXT);
        context.update(&second.to_be_bytes());
        context.sign()
    }

    /// A nonce for the second `now_seconds`.
    pub fn issue(&self, now_seconds: f64) -> String {
        let second = whole_seconds(now_seconds);
        let mut bytes = [0u8; 8 + TAG_BYTES];
        bytes[..8].copy_from_slice(&second.to_be_bytes());
        bytes[8..].copy_from_slice(&self.tag(second).as_ref()[..TAG_BYTES]);
        b64url_encode(&bytes)
    }

    /// Whether `nonce` was issued with this secret within the lifetime before `now_seconds`.
    pub fn accepts(&self, nonce: &str, now_seconds: f64) -> bool {
        let Some(bytes) = b64url_decode(nonce) else {
            return false;
        };
        if bytes.len() != 8 + TAG_BYTES {
            return false;
        }
        let mut second = [0u8; 8];
        second.copy_from_slice(&bytes[..8]);
        let second = u64::from_be_bytes(second);
        let expected = self.tag(second);
        if constant_time::verify_slices_are_equal(&expected.as_ref()[..TAG_BYTES], &bytes[8..])
            .is_err()
        {
            return false;
        }
        let now = whole_seconds(now_seconds);
        second <= now.saturating_add(FUTURE_SECONDS)
            && (now.saturating_sub(second) as f64) < self.lifetime
    }
}

fn whole_seconds(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        seconds.floor() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const T0: f64 = 1_700_000_000.0;

    #[test]
    fn a_nonce_is_accepted_for_its_lifetime_by_every_holder_of_the_secret() {
        let issuer = Nonces::new(SECRET, 300.0);
        let other_instance = Nonces::new(SECRET, 300.0);
        let nonce = issuer.issue(T0);
        assert!(other_instance.accepts(&nonce, T0));
        assert!(other_instance.accepts(&nonce, T0 + 299.0));
        assert!(!other_instance.accepts(&nonce, T0 + 300.0));
        assert!(other_instance.accepts(&nonce, T0 - 5.0));
        assert!(!other_instance.accepts(&nonce, T0 - 6.0));
    }

    #[test]
    fn forged_or_foreign_nonces_are_refused() {
        let nonces = Nonces::new(SECRET, 300.0);
        let foreign = Nonces::new(b"another secret of thirty-two bytes!!", 300.0).issue(T0);
        assert!(!nonces.accepts(&foreign, T0));
        let mut bytes = b64url_decode(&nonces.issue(T0)).unwrap();
        bytes[3] ^= 1;
        assert!(!nonces.accepts(&b64url_encode(&bytes), T0));
        for bad in ["", "abc", "!!!!", &"A".repeat(32)] {
            assert!(!nonces.accepts(bad, T0), "{bad}");
        }
    }
}
