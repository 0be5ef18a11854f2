//! [`Stats`]: counters for every outcome.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::thread_counts::{ThreadCounts, VerdictCount};

/// A snapshot of the engine's counters: every check made through one [`Sentinel`](crate::Sentinel)
/// (by any adapter: the Telegram guard, the tower layer, direct calls).
///
/// Every check ends in exactly one of `allowed`, `throttled`, `debounced`, `blocked` or
/// `failed_closed`, so those five add up to `checks`. Its `Display` is one line for logs:
///
/// ```
/// use sentinel_core::Stats;
///
/// let mut s = Stats::default();
/// (s.checks, s.allowed, s.throttled, s.debounced, s.blocked, s.escalations) = (10, 6, 2, 1, 1, 1);
/// assert_eq!(
///     s.to_string(),
///     "10 checks: 6 allowed, 2 throttled, 1 debounced, 1 blocked, 0 failed closed; \
///      1 escalations; store: 0 errors, 0 failed open, 0 by fallback; 0 hook failures"
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Checks finished: the sum of `allowed`, `throttled`, `debounced`, `blocked` and
    /// `failed_closed` (a check still running is not in it yet).
    pub checks: u64,
    /// Verdicts `Allowed` (including degraded ones).
    pub allowed: u64,
    /// Verdicts `Blocked`.
    pub blocked: u64,
    /// Verdicts `Debounced`.
    pub debounced: u64,
    /// Verdicts `Throttled`.
    pub throttled: u64,
    /// Blocks created by escalation.
    pub escalations: u64,
    /// Store calls that failed.
    pub store_errors: u64,
    /// Events let through because the store failed (`FailMode::Open`).
    pub failed_open: u64,
    /// Events refused because the store failed (`FailMode::Closed`, or the fallback store
    /// failed too).
    pub failed_closed: u64,
    /// Events decided by the fallback store (`FailMode::Fallback`).
    pub fallback_used: u64,
    /// Hooks that returned an error or panicked.
    pub hook_failures: u64,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} checks: {} allowed, {} throttled, {} debounced, {} blocked, {} failed closed; \
             {} escalations; store: {} errors, {} failed open, {} by fallback; {} hook failures",
            self.checks,
            self.allowed,
            self.throttled,
            self.debounced,
            self.blocked,
            self.failed_closed,
            self.escalations,
            self.store_errors,
            self.failed_open,
            self.fallback_used,
            self.hook_failures,
        )
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// One per check: kept per thread (see [`ThreadCounts`]).
    pub(crate) verdicts: ThreadCounts,
    // The rest count rarer events (errors, escalations): shared atomics.
    pub(crate) escalations: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    pub(crate) failed_open: AtomicU64,
    pub(crate) failed_closed: AtomicU64,
    pub(crate) fallback_used: AtomicU64,
    pub(crate) hook_failures: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> Stats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let v = |kind| self.verdicts.get(kind);
        let (allowed, blocked) = (v(VerdictCount::Allowed), v(VerdictCount::Blocked));
        let (debounced, throttled) = (v(VerdictCount::Debounced), v(VerdictCount::Throttled));
        let failed_closed = r(&self.failed_closed);
        Stats {
            // Not a counter of its own: every check ends in exactly one of these five, so a
            // check counts once (the sum counts finished checks).
            checks: allowed + blocked + debounced + throttled + failed_closed,
            allowed,
            blocked,
            debounced,
            throttled,
            escalations: r(&self.escalations),
            store_errors: r(&self.store_errors),
            failed_open: r(&self.failed_open),
            failed_closed,
            fallback_used: r(&self.fallback_used),
            hook_failures: r(&self.hook_failures),
        }
    }
}
