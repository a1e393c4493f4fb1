//! Time arithmetic that cannot panic. Durations come from configuration (any number >= 0 is
//! accepted, as upstream does), so `1e300` seconds must mean "very long", not a crash.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longer than any cache or timeout needs; far enough from `Instant`'s limits.
const LONGEST: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Whole seconds since the epoch, as upstream's `floor(Date.now() / 1000)`.
pub fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs() as f64)
}

/// `seconds` as a duration: negative or NaN is zero, anything huge is [`LONGEST`].
pub fn seconds(seconds: f64) -> Duration {
    if seconds.is_nan() || seconds <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(seconds).map_or(LONGEST, |d| d.min(LONGEST))
}

/// `from + duration`, saturating.
pub fn after(from: Instant, duration: Duration) -> Instant {
    from.checked_add(duration.min(LONGEST)).unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_values_do_not_panic() {
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
        assert_eq!(seconds(-5.0), Duration::ZERO);
        assert_eq!(seconds(1.5), Duration::from_millis(1500));
        assert_eq!(seconds(1e300), LONGEST);
        assert_eq!(seconds(f64::INFINITY), LONGEST);
        let now = Instant::now();
        assert!(after(now, Duration::MAX) > now);
    }
}
