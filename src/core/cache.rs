//! What the token caches share: entries whose memory is reclaimed each at its own moment, and
//! token keys. Whether an entry still serves is decided on the caller's clock by the cache that
//! holds it (`verified`, `introspection::store`); the deadline here only bounds how long it
//! occupies memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_128_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use moka::Expiry;

/// A cached value that knows when its memory may be reclaimed.
pub trait Deadline {
    fn deadline(&self) -> Instant;
}

impl<T: Deadline> Deadline for Arc<T> {
    fn deadline(&self) -> Instant {
        (**self).deadline()
    }
}

/// moka's per-entry expiry: each entry lives until its own deadline.
pub struct AtDeadline;

impl<K, V: Deadline> Expiry<K, V> for AtDeadline {
    fn expire_after_create(&self, _: &K, value: &V, now: Instant) -> Option<Duration> {
        Some(value.deadline().saturating_duration_since(now))
    }
}

/// The key the shared caches use for a token: its SHA-256, so no raw token is ever a key, and
/// every instance of a fleet computes the same one.
pub fn token_key(token: &str) -> [u8; 32] {
    let mut key = [0; 32];
    key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    key
}

/// The key of one process's own cache of verified tokens: a keyed hash of the token, five times
/// faster than its SHA-256 on tokens of this size (about 300 ns against 1,450 ns for 820 bytes
/// on the 2-core machine the benchmarks run on), which was a third of a cache hit.
///
/// The hash is the tag AES-128-GCM gives the token as associated data, with nothing encrypted,
/// under a key drawn at random for each cache: the token's GHASH under a secret hash key,
/// masked by a secret constant. An entry is only ever made for a token whose signature
/// verified, so the one thing the key must do is never let another token find it. For two
/// different tokens of at most `L` blocks of 16 bytes, the tags are equal for at most `L` of
/// the 2^128 hash keys; and nobody outside learns a tag (they never leave this process's
/// memory, and a lookup tells only hit or miss), so a forger guesses blind: with 10,000 entries
/// and tokens of at most 16 KiB (1,024 blocks), under 2^-100 per attempt. The fixed nonce that
/// would ruin GCM as encryption does no harm here, where nothing is encrypted and no tag is ever
/// shown.
pub struct LocalTokenKeys {
    key: LessSafeKey,
}

impl LocalTokenKeys {
    pub fn new() -> LocalTokenKeys {
        let mut secret = [0u8; 16];
        SystemRandom::new()
            .fill(&mut secret)
            .expect("the system random number generator failed");
        let key = UnboundKey::new(&AES_128_GCM, &secret).expect("a 16-byte AES-128 key");
        LocalTokenKeys {
            key: LessSafeKey::new(key),
        }
    }

    /// The key for `token` in this cache.
    pub fn of(&self, token: &str) -> [u8; 16] {
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([0; NONCE_LEN]),
                Aad::from(token.as_bytes()),
                &mut [],
            )
            .expect("AES-GCM accepts associated data of any token length we keep");
        let mut key = [0; 16];
        key.copy_from_slice(tag.as_ref());
        key
    }
}

impl Default for LocalTokenKeys {
    fn default() -> Self {
        Self::new()
    }
}
