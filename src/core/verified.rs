//! Verified JWT claims, kept so a token seen again costs a hash and a few comparisons instead
//! of a signature check: what is kept, for how long, and what a hit is checked for again. An
//! entry lives until the earlier of the token's expiry and the expiry of the key set that
//! verified it, so it adds no exposure a cached key set does not already have. The key is a
//! SHA-256 of the token: raw tokens are never kept as keys.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value};

use super::cache::{AtDeadline, Deadline, token_key};
use super::cert_binding::{self, BindingMode};
use super::claims::{self, Granted, Lifetime, Requirements};
use super::clock::{ClockSettings, after, now_seconds, seconds};
use super::config::Config;
use super::error::{Error, Result};
use super::jwt::Claims;
use super::keys::KeySet;

pub struct VerifiedTokens {
    entries: moka::sync::Cache<[u8; 32], Arc<Verified>>,
}

pub struct Verified {
    /// Shared with every hit: what JavaScript receives. The parsed claims are not kept (they
    /// are several times larger); a hit that needs them (groups, binding) parses this again.
    pub json: Arc<str>,
    pub lifetime: Lifetime,
    pub scopes: Granted,
    /// Whether the token carries a `cnf` claim (so binding may apply).
    pub has_cnf: bool,
    /// The generation of the key set that verified the token.
    pub generation: u64,
    /// When the entry stops being served.
    pub until: Instant,
}

impl Deadline for Verified {
    fn deadline(&self) -> Instant {
        self.until
    }
}

impl Verified {
    /// What can change between two uses of a verified token: the clock, and what the call
    /// asks for. Issuer, audience and subject were checked when it was verified.
    pub fn check(
        &self,
        requirements: &Requirements,
        config: &Config,
        clock: &ClockSettings,
    ) -> Result<()> {
        self.lifetime
            .check(now_seconds(), clock.skew(), clock.tolerance())?;
        if let Some(scopes) = &requirements.scopes {
            self.scopes.require(scopes)?;
        }
        let binding = config.certificate_binding;
        let binding_applies = self.has_cnf || binding == Some(BindingMode::Required);
        if requirements.groups.is_none() && !binding_applies {
            return Ok(());
        }
        let map: Map<String, Value> = serde_json::from_str(&self.json)
            .map_err(|_| Error::token("Failed to parse JWT Payload"))?;
        if let Some(groups) = &requirements.groups {
            claims::check_groups(&map, groups, &config.groups_claim, config.groups_match_all)?;
        }
        if binding_applies {
            cert_binding::check(&map, binding, requirements.client_certificate.as_deref())?;
        }
        Ok(())
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

    /// The entry for `token`; moka does not return expired entries.
    pub fn get(&self, token: &str) -> Option<Arc<Verified>> {
        self.entries.get(&token_key(token))
    }

    /// Keeps `verified` until its `until` (nothing is kept for a moment already past).
    pub fn insert(&self, token: &str, verified: Verified) {
        if verified.until > Instant::now() {
            self.entries.insert(token_key(token), Arc::new(verified));
        }
    }

    /// Keeps verified claims until the token expires or the key set that verified it would
    /// have been refetched (after `keys_ttl` seconds), whichever comes first.
    pub fn remember(
        &self,
        token: &str,
        claims: &Claims,
        lifetime: Lifetime,
        keys: &KeySet,
        clock: &ClockSettings,
        keys_ttl: f64,
    ) {
        let Some(exp) = lifetime.exp else {
            return;
        };
        let remaining = exp + clock.tolerance() - now_seconds();
        if remaining <= 0.0 || keys_ttl <= 0.0 {
            return;
        }
        let token_end = after(Instant::now(), seconds(remaining));
        let keys_end = after(keys.fetched_at, seconds(keys_ttl));
        self.insert(
            token,
            Verified {
                json: claims.json.as_str().into(),
                scopes: Granted::of(&claims.map),
                has_cnf: claims.map.get("cnf").is_some_and(|cnf| !cnf.is_null()),
                lifetime,
                generation: keys.generation,
                until: token_end.min(keys_end),
            },
        );
    }

    pub fn entry_count(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn verified(until: Instant) -> Verified {
        Verified {
            json: "{}".into(),
            lifetime: Lifetime {
                exp: None,
                nbf: None,
            },
            scopes: Granted::Scopes(vec![]),
            has_cnf: false,
            generation: 1,
            until,
        }
    }

    #[test]
    fn entries_expire_and_stay_bounded() {
        let cache = VerifiedTokens::new(100);
        let later = Instant::now() + Duration::from_secs(60);
        cache.insert("a", verified(later));
        cache.insert("gone", verified(Instant::now() - Duration::from_secs(1)));
        assert!(cache.get("a").is_some());
        assert!(cache.get("gone").is_none());
        assert!(cache.get("b").is_none());
        for i in 0..10_000 {
            cache.insert(&format!("t{i}"), verified(later));
        }
        assert!(cache.entry_count() <= 100, "{}", cache.entry_count());
    }

    #[test]
    fn an_entry_is_not_served_past_its_time() {
        let cache = VerifiedTokens::new(10);
        cache.insert("soon", verified(Instant::now() + Duration::from_millis(30)));
        assert!(cache.get("soon").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("soon").is_none());
    }
}
