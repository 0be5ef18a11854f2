//! Time: [`Timestamp`], the [`Clock`] trait, [`SystemClock`] and [`ManualClock`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since the UNIX epoch.
///
/// Wall-clock time rather than [`std::time::Instant`], because rate-limit state is shared
/// between processes (through Redis) and must mean the same thing in all of them.
/// All arithmetic saturates: no timestamp operation can overflow or panic.
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::Timestamp;
///
/// let t = Timestamp::from_secs(10);
/// assert_eq!(t.as_micros(), 10_000_000);
/// assert_eq!(t.saturating_add(Duration::from_millis(1)).as_micros(), 10_001_000);
/// assert_eq!(t.saturating_since(Timestamp::from_secs(11)), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The UNIX epoch itself.
    pub const EPOCH: Self = Self(0);
    /// The largest representable timestamp.
    pub const MAX: Self = Self(u64::MAX);

    /// A timestamp from microseconds since the UNIX epoch.
    pub const fn from_micros(us: u64) -> Self {
        Self(us)
    }

    /// A timestamp from milliseconds since the UNIX epoch (saturating).
    pub const fn from_millis(ms: u64) -> Self {
        Self(ms.saturating_mul(1_000))
    }

    /// A timestamp from seconds since the UNIX epoch (saturating).
    pub const fn from_secs(s: u64) -> Self {
        Self(s.saturating_mul(1_000_000))
    }

    /// Microseconds since the UNIX epoch.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole seconds since the UNIX epoch (rounded down).
    pub const fn as_secs(self) -> u64 {
        self.0 / 1_000_000
    }

    /// This timestamp moved forward by `d` (saturating at [`Timestamp::MAX`]).
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(duration_to_micros(d)))
    }

    /// This timestamp moved back by `d` (saturating at the epoch).
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(duration_to_micros(d)))
    }

    /// Time elapsed since `earlier`; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Self) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

/// RFC 3339 in UTC: `2023-11-14T22:13:20Z`, with `.ffffff` when there is a fraction of a
/// second.
///
/// ```
/// use sentinel_core::Timestamp;
/// assert_eq!(Timestamp::from_secs(1_700_000_000).to_string(), "2023-11-14T22:13:20Z");
/// assert_eq!(Timestamp::from_micros(1_500_000).to_string(), "1970-01-01T00:00:01.500000Z");
/// ```
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::human::write_rfc3339(*self, f)
    }
}

/// A duration in whole microseconds, saturating at `u64::MAX`.
pub(crate) fn duration_to_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A source of "now" for every time-dependent decision.
///
/// No algorithm in sentinel reads the system time itself; stores and the engine ask a `Clock`.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The real wall clock. A system clock set before 1970 reads as the epoch, never a panic.
///
/// ```
/// use sentinel_core::{Clock, SystemClock, Timestamp};
/// assert!(SystemClock.now() > Timestamp::from_secs(1_600_000_000));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(duration_to_micros(since))
    }
}

/// A clock that only moves when told to. Clones share one time, so a test keeps a clone and
/// advances it while the code under test reads another.
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::{Clock, ManualClock, Timestamp};
///
/// let clock = ManualClock::new(Timestamp::from_secs(100));
/// let seen_by_store = clock.clone();
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(seen_by_store.now(), Timestamp::from_secs(105));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock that reads `start` until advanced.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Arc::new(AtomicU64::new(start.0)),
        }
    }

    /// Moves time forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let by = duration_to_micros(by);
        let _ = self
            .now
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_add(by))
            });
    }

    /// Sets the time, forwards or backwards (to simulate a clock step).
    pub fn set(&self, to: Timestamp) {
        self.now.store(to.0, Ordering::Release);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::Acquire))
    }
}
