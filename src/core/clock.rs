//! Time: the caller's clock, the client's clock settings, and arithmetic that cannot panic.
//! Durations come from configuration (any number >= 0 is accepted, as upstream does), so
//! `1e300` seconds must mean "very long", not a crash.
//!
//! Every wall-clock decision (token times, cache expiries, stale windows) reads the caller's
//! clock, JavaScript's `Date.now()`, carried by each call: the original reads `Date.now()`, so
//! the fake timers of users' tests must move our decisions as they move the original's.
//! Monotonic time is kept for what no test clock should stretch (timeouts, cooldowns) and for
//! reclaiming memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::error::{Error, Result};

/// Longer than any cache or timeout needs; far enough from `Instant`'s limits.
const LONGEST: Duration = Duration::from_secs(100 * 365 * 86_400);

/// The caller's "now": milliseconds since the epoch, as `Date.now()` gives them, and when it was
/// read. A call that waits (for keys, for the issuer) judges the token at `later()`: the caller's
/// clock moved on by the real time waited, as the original reads `Date.now()` after its awaits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Now {
    ms: f64,
    read_at: Option<Instant>,
}

impl Now {
    /// The caller's clock at the start of a call that may wait; the system clock when the caller
    /// gave none (a direct native call) or gave something that is not a time.
    pub fn from_caller(ms: Option<f64>) -> Now {
        Now {
            read_at: Some(Instant::now()),
            ..Now::before_any_wait(ms)
        }
    }

    /// The caller's clock for a decision taken before anything is awaited (a cache hit), which
    /// needs no monotonic reading.
    pub fn before_any_wait(ms: Option<f64>) -> Now {
        match ms {
            Some(ms) if ms.is_finite() => Now { ms, read_at: None },
            _ => Now::system(),
        }
    }

    pub fn system() -> Now {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64);
        Now { ms, read_at: None }
    }

    /// This moment moved on by the real time since it was read.
    pub fn later(self) -> Now {
        match self.read_at {
            Some(at) => Now {
                ms: self.ms + at.elapsed().as_secs_f64() * 1000.0,
                read_at: Some(Instant::now()),
            },
            None => self,
        }
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> f64 {
        self.ms
    }

    /// Whole seconds since the epoch, as upstream's `floor(Date.now() / 1000)`.
    pub fn seconds(self) -> f64 {
        (self.ms / 1000.0).floor()
    }

    /// How long from now until `at_ms` (a moment on the same clock), zero if it is past: how
    /// long an entry that expires then may occupy memory.
    pub fn until(self, at_ms: f64) -> Duration {
        seconds((at_ms - self.ms) / 1000.0)
    }
}

/// Whole seconds since the epoch by the system clock.
pub fn now_seconds() -> f64 {
    Now::system().seconds()
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

/// `clockSkew` and `clockTolerance`: every validation reads them while `setClockSkew` and
/// `setClockTolerance` may change them, so each is an atomic rather than behind a lock.
pub struct ClockSettings {
    skew: AtomicF64,
    tolerance: AtomicF64,
}

impl ClockSettings {
    pub fn new(skew: f64, tolerance: f64) -> ClockSettings {
        ClockSettings {
            skew: AtomicF64::new(skew),
            tolerance: AtomicF64::new(tolerance),
        }
    }

    /// Seconds added to "now" (positive makes tokens look older).
    pub fn skew(&self) -> f64 {
        self.skew.load()
    }

    /// Seconds of grace on both `exp` and `nbf`.
    pub fn tolerance(&self) -> f64 {
        self.tolerance.load()
    }

    /// A setting that is not a finite number would make every token look current.
    pub fn set_skew(&self, seconds: f64) -> Result<()> {
        self.skew.store(finite("clockSkew", seconds)?);
        Ok(())
    }

    pub fn set_tolerance(&self, seconds: f64) -> Result<()> {
        self.tolerance.store(finite("clockTolerance", seconds)?);
        Ok(())
    }
}

fn finite(name: &str, seconds: f64) -> Result<f64> {
    if seconds.is_finite() {
        Ok(seconds)
    } else {
        Err(Error::validation(format!(
            "\"{name}\" must be a finite number"
        )))
    }
}

struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn new(v: f64) -> Self {
        AtomicF64(AtomicU64::new(v.to_bits()))
    }
    fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    fn store(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
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

    #[test]
    fn the_callers_clock_is_used_when_it_is_a_time() {
        let given = Now::from_caller(Some(1_700_000_000_999.0));
        assert_eq!(given.millis(), 1_700_000_000_999.0);
        assert_eq!(given.seconds(), 1_700_000_000.0, "floored, as upstream");
        let system = now_seconds();
        for missing in [None, Some(f64::NAN), Some(f64::INFINITY)] {
            let fallback = Now::from_caller(missing).seconds();
            assert!((fallback - system).abs() <= 1.0, "{missing:?}: {fallback}");
        }
        assert_eq!(given.until(1_700_000_002_999.0), Duration::from_secs(2));
        assert_eq!(given.until(0.0), Duration::ZERO);
    }

    /// A token that expires while its call waits for keys is judged when the wait is over.
    #[test]
    fn later_moves_the_callers_clock_by_the_real_time_waited() {
        let start = Now::from_caller(Some(1_000_000.0));
        std::thread::sleep(Duration::from_millis(30));
        let later = start.later();
        assert!(later.millis() >= 1_000_030.0, "{}", later.millis());
        assert!(later.millis() < 1_060_000.0, "{}", later.millis());
        assert!(later.later().millis() >= later.millis());
        let at_once = Now::before_any_wait(Some(1_000_000.0));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(at_once.later().millis(), 1_000_000.0, "no wait, no reading");
    }
}
