//! Verified JWT claims, kept so a token seen again costs a hash and a few comparisons instead
//! of a signature check. An entry lives until the earlier of the token's expiry and the expiry
//! of the key set that verified it, so it adds no exposure a cached key set does not already
//! have. The key is a SHA-256 of the token: raw tokens are never kept as keys.

use std::sync::Arc;
use std::time::Instant;

use super::cache::{AtDeadline, Deadline, token_key};
use super::jwt::Claims;

pub struct VerifiedTokens {
    entries: moka::sync::Cache<[u8; 32], Arc<Verified>>,
}

pub struct Verified {
    /// Shared with every hit: what JavaScript receives.
    pub json: Arc<str>,
    pub map: serde_json::Map<String, serde_json::Value>,
    /// The generation of the key set that verified the token.
    pub generation: u64,
    until: Instant,
}

impl Deadline for Verified {
    fn deadline(&self) -> Instant {
        self.until
    }
}

impl VerifiedTokens {
    pub fn new(max_entries: u64) -> VerifiedTokens {
        VerifiedTokens {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(AtDeadline)
                .build(),
        }
    }

    pub fn get(&self, token: &str) -> Option<Arc<Verified>> {
        let entry = self.entries.get(&token_key(token))?;
        (entry.until > Instant::now()).then_some(entry)
    }

    /// Keeps `claims` until `until` (nothing is kept for a moment already past).
    pub fn insert(&self, token: &str, claims: Claims, generation: u64, until: Instant) {
        if until > Instant::now() {
            let verified = Verified {
                json: claims.json.into(),
                map: claims.map,
                generation,
                until,
            };
            self.entries.insert(token_key(token), Arc::new(verified));
        }
    }

    pub fn entry_count(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;
    use std::time::Duration;

    fn claims() -> Claims {
        Claims {
            json: "{}".into(),
            map: Map::new(),
        }
    }

    #[test]
    fn entries_expire_and_stay_bounded() {
        let cache = VerifiedTokens::new(100);
        let later = Instant::now() + Duration::from_secs(60);
        cache.insert("a", claims(), 1, later);
        cache.insert("gone", claims(), 1, Instant::now() - Duration::from_secs(1));
        assert!(cache.get("a").is_some());
        assert!(cache.get("gone").is_none());
        assert!(cache.get("b").is_none());
        for i in 0..10_000 {
            cache.insert(&format!("t{i}"), claims(), 1, later);
        }
        assert!(cache.entry_count() <= 100, "{}", cache.entry_count());
    }
}
