//! What the token caches share: entries whose memory is reclaimed each at its own moment, and
//! token keys. Whether an entry still serves is decided on the caller's clock by the cache that
//! holds it (`verified`, `introspection::store`); the deadline here only bounds how long it
//! occupies memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
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

/// The key our caches use for a token: its SHA-256, so no raw token is ever a key.
pub fn token_key(token: &str) -> [u8; 32] {
    let mut key = [0; 32];
    key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    key
}
