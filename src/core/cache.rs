//! What every cache of the client shares: entries that each expire at their own moment, and
//! token keys. The caches themselves live with what they keep (`remote`, `verified`,
//! `introspection::store`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use moka::Expiry;

/// A cached value that knows when it stops being valid.
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

/// A value and the moment it stops being served: an `Instant`, so that a wall-clock jump
/// can neither revive nor kill it.
#[derive(Clone)]
pub struct Expiring<T> {
    pub value: T,
    pub until: Instant,
}

impl<T> Deadline for Expiring<T> {
    fn deadline(&self) -> Instant {
        self.until
    }
}

/// The key our caches use for a token: its SHA-256, so no raw token is ever a key.
pub fn token_key(token: &str) -> [u8; 32] {
    let mut key = [0; 32];
    key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    key
}
