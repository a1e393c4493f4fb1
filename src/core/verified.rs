//! Verified JWT claims, kept so a token seen again costs a hash and a few comparisons instead
//! of a signature check: what is kept, for how long, and what a hit is checked for again. An
//! entry lives until the earlier of the token's expiry and the expiry of the key set that
//! verified it, so it adds no exposure a cached key set does not already have. Both are read on
//! the caller's clock: moving `Date.now()` past a token's `exp` ends its entry's use, and moving
//! it back serves the entry again, as a revalidation would. The key is a keyed hash of the token
//! (see `LocalTokenKeys`): raw tokens are never kept as keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{Map, Value};

use super::cache::{AtDeadline, Deadline, LocalTokenKeys, token_key};
use super::cert_binding;
use super::claims::{self, Granted, Lifetime, Requirements};
use super::clock::{ClockSettings, Now, after};
use super::config::Config;
use super::dpop;
use super::error::{Error, Result};
use super::jwt::Claims;
use super::keys::KeySet;

#[derive(Clone)]
pub struct VerifiedTokens {
    entries: moka::sync::Cache<[u8; 16], Arc<Verified>>,
    keys: Arc<LocalTokenKeys>,
    /// Seconds a key set is kept (`jwksCacheDuration`): what it verified is kept no longer.
    keys_ttl: f64,
}

/// What a hit hands JavaScript: `<entry>:<claims JSON>`. The entry number is never given to
/// other claims in this process (numbers stay exact in JavaScript up to 2^53), so JavaScript
/// can keep the parsed claims under it instead of hashing the claims text on every hit.
pub struct Answer {
    text: Arc<str>,
    json_at: usize,
}

static NEXT_ENTRY: AtomicU64 = AtomicU64::new(1);

impl Answer {
    pub fn new(json: &str) -> Answer {
        let entry = NEXT_ENTRY.fetch_add(1, Ordering::Relaxed);
        let text = format!("{entry}:{json}");
        let json_at = text.len() - json.len();
        Answer {
            text: text.into(),
            json_at,
        }
    }

    /// The whole answer, shared with every hit.
    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    /// The claims JSON alone.
    pub fn json(&self) -> &str {
        &self.text[self.json_at..]
    }
}

pub struct Verified {
    /// What JavaScript receives. The parsed claims are not kept (they are several times
    /// larger); a hit that needs them (groups, certificate binding, step-up) parses the JSON
    /// again. What every DPoP request needs is read once, below.
    pub answer: Answer,
    pub lifetime: Lifetime,
    pub scopes: Granted,
    /// Whether the token's `cnf` names a certificate (so `when_present` binding applies).
    pub certificate_bound: bool,
    /// The DPoP key the token is bound to (`cnf.jkt`), so a proof must come with it.
    pub jkt: dpop::KeptBoundKey,
    /// The position of the token's issuer among the client's (0: the tenant).
    pub issuer: usize,
    /// The generation of the key set that verified the token: its issuer's.
    pub generation: u64,
    /// When the entry stops being served (caller's clock, ms).
    pub until_ms: f64,
    /// When the entry's memory is reclaimed: as long after its insertion as `until_ms` was,
    /// on the monotonic clock.
    pub evict_at: Instant,
    /// The token's SHA-256, the key revocations name it by (set when the entry is kept).
    pub token_sha: [u8; 32],
}

impl Deadline for Verified {
    fn deadline(&self) -> Instant {
        self.evict_at
    }
}

impl Verified {
    /// Reads what the entry keeps of the claims' bindings.
    pub fn bindings_of(claims: &Map<String, Value>) -> (bool, dpop::KeptBoundKey) {
        let jkt = dpop::bound_key(claims, false).map(|key| key.map(Box::from));
        (cert_binding::is_certificate_bound(claims), jkt)
    }

    pub fn bound_key(&self) -> dpop::BoundKey<'_> {
        self.jkt
            .as_ref()
            .map(|key| key.as_deref())
            .map_err(|message| *message)
    }

    /// Whether the token names a DPoP key, well or badly: either way a proof is involved.
    pub fn is_dpop_bound(&self) -> bool {
        !matches!(self.jkt, Ok(None))
    }

    /// What can change between two uses of a verified token: the clock, and what the call
    /// asks for. Issuer, audience and subject were checked when it was verified.
    pub fn check(
        &self,
        requirements: &Requirements,
        config: &Config,
        clock: &ClockSettings,
        now: Now,
    ) -> Result<()> {
        self.lifetime
            .check(now.seconds(), clock.skew(), clock.tolerance())?;
        if let Some(scopes) = &requirements.scopes {
            self.scopes.require(scopes)?;
        }
        let binding = config.certificate_binding;
        let binding_applies = cert_binding::applies(binding, || self.certificate_bound);
        if requirements.groups.is_none() && !binding_applies && !requirements.steps_up() {
            return Ok(());
        }
        let map: Map<String, Value> = serde_json::from_str(self.answer.json())
            .map_err(|_| Error::token("Failed to parse JWT Payload"))?;
        if let Some(groups) = &requirements.groups {
            claims::check_groups(&map, groups, &config.groups_claim, config.groups_match_all)?;
        }
        if binding_applies {
            cert_binding::check(&map, binding, requirements.client_certificate.as_deref())?;
        }
        if requirements.steps_up() {
            claims::check_authentication(
                &map,
                requirements,
                now.seconds() + clock.skew(),
                clock.tolerance(),
            )?;
        }
        Ok(())
    }
}

impl VerifiedTokens {
    pub fn new(max_entries: u64, keys_ttl: f64) -> VerifiedTokens {
        VerifiedTokens {
            keys_ttl,
            keys: Arc::new(LocalTokenKeys::new()),
            entries: moka::sync::Cache::builder()
                .max_capacity(max_entries)
                .expire_after(AtDeadline)
                // Revocations name a token by its SHA-256, not by this cache's key.
                .support_invalidation_closures()
                .build(),
        }
    }

    /// The entry for `token` while it serves at `now`. One past its time stays until moka
    /// reclaims it, so that a clock moved back finds it again.
    pub fn get(&self, token: &str, now: Now) -> Option<Arc<Verified>> {
        self.entries
            .get(&self.keys.of(token))
            .filter(|entry| now.millis() < entry.until_ms)
    }

    /// Drops the entry of the token whose SHA-256 is `key`: the token was revoked.
    pub fn forget(&self, key: &[u8; 32]) {
        let key = *key;
        // Only fails when invalidation closures are off, which `new` turns on.
        let _ = self
            .entries
            .invalidate_entries_if(move |_, entry| entry.token_sha == key);
    }

    /// Keeps `verified` until its `until_ms` (nothing is kept for a moment already past).
    pub fn insert(&self, token: &str, mut verified: Verified, now: Now) {
        if verified.until_ms > now.millis() {
            verified.token_sha = token_key(token);
            self.entries.insert(self.keys.of(token), Arc::new(verified));
        }
    }

    /// Keeps verified claims until the token expires or the key set that verified it would
    /// have been refetched, whichever comes first, both on the caller's clock.
    #[allow(clippy::too_many_arguments)]
    pub fn remember(
        &self,
        token: &str,
        issuer: usize,
        claims: &Claims,
        lifetime: Lifetime,
        keys: &KeySet,
        clock: &ClockSettings,
        now: Now,
    ) {
        let Some(exp) = lifetime.exp else {
            return;
        };
        let keys_ttl = self.keys_ttl;
        if keys_ttl <= 0.0 {
            return;
        }
        // Past this second, the lifetime check refuses the token (with no skew).
        let token_end_ms = (exp + clock.tolerance()) * 1000.0;
        let keys_end_ms = keys.fetched_at_ms + keys_ttl * 1000.0;
        let until_ms = token_end_ms.min(keys_end_ms);
        if until_ms.is_nan() {
            return;
        }
        let (certificate_bound, jkt) = Verified::bindings_of(&claims.map);
        self.insert(
            token,
            Verified {
                answer: Answer::new(&claims.json),
                scopes: Granted::of(&claims.map),
                certificate_bound,
                jkt,
                lifetime,
                issuer,
                generation: keys.generation,
                until_ms,
                evict_at: after(Instant::now(), now.until(until_ms)),
                token_sha: [0; 32],
            },
            now,
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
    use crate::core::testkit;
    use std::time::Duration;

    const T0: f64 = 1_700_000_000_000.0;

    fn at(ms: f64) -> Now {
        Now::from_caller(Some(ms))
    }

    fn verified(until_ms: f64, evict_in: Duration) -> Verified {
        Verified {
            answer: Answer::new("{}"),
            lifetime: Lifetime {
                exp: None,
                nbf: None,
                too_old_after: None,
            },
            scopes: Granted::Scopes(vec![]),
            certificate_bound: false,
            jkt: Ok(None),
            issuer: 0,
            generation: 1,
            until_ms,
            evict_at: Instant::now() + evict_in,
            token_sha: [0; 32],
        }
    }

    #[test]
    fn answers_number_their_entries_once() {
        let first = Answer::new(r#"{"sub":"a"}"#);
        let second = Answer::new(r#"{"sub":"a"}"#);
        assert_eq!(first.json(), r#"{"sub":"a"}"#);
        let number = |answer: &Answer| -> u64 {
            let (entry, json) = answer.text().split_once(':').unwrap();
            assert_eq!(json, answer.json());
            entry.parse().unwrap()
        };
        assert!(number(&first) >= 1);
        assert_ne!(number(&first), number(&second));
    }

    /// The key is the cache's own: the same token finds its entry, another token and another
    /// cache's keys do not; revoking by the token's SHA-256 still finds it.
    #[test]
    fn keys_are_keyed_hashes_and_revocations_find_entries_by_sha256() {
        let keys = LocalTokenKeys::new();
        assert_eq!(keys.of("token"), keys.of("token"));
        assert_ne!(keys.of("token"), keys.of("token."));
        assert_ne!(keys.of("token"), LocalTokenKeys::new().of("token"));
        let cache = VerifiedTokens::new(10, 3_600.0);
        let minute = Duration::from_secs(60);
        cache.insert("a.b.c", verified(T0 + 60_000.0, minute), at(T0));
        cache.insert("d.e.f", verified(T0 + 60_000.0, minute), at(T0));
        assert!(cache.get("a.b.c", at(T0)).is_some());
        cache.forget(&token_key("a.b.c"));
        assert!(cache.get("a.b.c", at(T0)).is_none());
        assert!(cache.get("d.e.f", at(T0)).is_some());
    }

    #[test]
    fn entries_expire_and_stay_bounded() {
        let cache = VerifiedTokens::new(100, 300.0);
        let minute = Duration::from_secs(60);
        cache.insert("a", verified(T0 + 60_000.0, minute), at(T0));
        cache.insert("gone", verified(T0 - 1_000.0, minute), at(T0));
        assert!(cache.get("a", at(T0)).is_some());
        assert!(cache.get("gone", at(T0)).is_none());
        assert!(cache.get("b", at(T0)).is_none());
        for i in 0..10_000 {
            cache.insert(&format!("t{i}"), verified(T0 + 60_000.0, minute), at(T0));
        }
        assert!(cache.entry_count() <= 100, "{}", cache.entry_count());
    }

    /// Its memory is reclaimed on the monotonic clock, whatever the caller's clock says.
    #[test]
    fn an_entry_is_reclaimed_past_its_time() {
        let cache = VerifiedTokens::new(10, 3_600.0);
        cache.insert(
            "soon",
            verified(T0 + 60_000.0, Duration::from_millis(30)),
            at(T0),
        );
        assert!(cache.get("soon", at(T0)).is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("soon", at(T0)).is_none());
    }

    /// Serving follows the caller's clock: past `exp` + tolerance the entry does not serve,
    /// back before it, it serves again.
    #[test]
    fn an_entry_serves_by_the_callers_clock() {
        let cache = VerifiedTokens::new(10, 3_600.0);
        let exp = T0 / 1000.0 + 120.0;
        let mut keys = testkit::key_set(&[]);
        keys.fetched_at_ms = T0;
        let claims = Claims {
            json: format!("{{\"exp\":{exp}}}"),
            map: Map::new(),
        };
        let lifetime = Lifetime {
            exp: Some(exp),
            nbf: None,
            too_old_after: None,
        };
        let clock = ClockSettings::new(0.0, 60.0);
        cache.remember("t", 0, &claims, lifetime, &keys, &clock, at(T0));
        let entry = cache.get("t", at(T0)).expect("kept");
        assert_eq!(entry.until_ms, (exp + 60.0) * 1000.0);
        let config_check = |now: f64| {
            cache.get("t", at(now)).map(|e| {
                e.lifetime
                    .check(at(now).seconds(), clock.skew(), clock.tolerance())
                    .is_ok()
            })
        };
        assert_eq!(config_check(T0 + 179_000.0), Some(true));
        assert_eq!(config_check(T0 + 180_000.0), None, "past exp + tolerance");
        assert_eq!(
            config_check(T0 + 10_000.0),
            Some(true),
            "the clock moved back"
        );
        // The key set's expiry bounds it too, on the same clock.
        let short = VerifiedTokens::new(10, 30.0);
        short.remember("k", 0, &claims, lifetime, &keys, &clock, at(T0));
        assert!(short.get("k", at(T0 + 29_999.0)).is_some());
        assert!(short.get("k", at(T0 + 30_000.0)).is_none());
        // Nothing is kept for a token already past its time by the caller's clock.
        cache.remember(
            "late",
            0,
            &claims,
            lifetime,
            &keys,
            &clock,
            at(T0 + 200_000.0),
        );
        assert!(cache.get("late", at(T0)).is_none());
    }
}
