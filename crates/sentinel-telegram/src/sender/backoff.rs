//! [`Backoff`]: jittered exponential backoff — the one jitter helper of the workspace, used by
//! [`BotApi`](super::BotApi)'s retry loop and by callers that own their retries (telemon's
//! delivery worker).

use std::time::Duration;

use rand::Rng as _;

/// Exponential backoff with jitter: the `n`-th delay is `min(cap, base·2ⁿ)`, drawn uniformly from
/// its upper half, so retries of many clients spread out but never wait less than half the
/// nominal delay or more than `cap`.
///
/// ```
/// use std::time::Duration;
/// use sentinel_telegram::sender::Backoff;
/// let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
/// let d = b.delay(3); // nominal 4 s
/// assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(4));
/// assert!(b.delay(40) <= Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// Delays starting at `base`, doubling, at most `cap`.
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The nominal (un-jittered) `n`-th delay: `min(cap, base·2ⁿ)`, saturating.
    pub fn nominal(&self, n: u32) -> Duration {
        self.base
            .saturating_mul(1_u32.checked_shl(n.min(31)).unwrap_or(u32::MAX))
            .min(self.cap)
    }

    /// The `n`-th delay (0-based), jittered uniformly into `[nominal/2, nominal]`.
    pub fn delay(&self, n: u32) -> Duration {
        let full = self.nominal(n);
        let full_us = u64::try_from(full.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::rng().random_range(full_us / 2..=full_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_is_capped_and_stays_in_the_upper_half() {
        let b = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
        for n in 0..40 {
            let d = b.delay(n);
            let full = Duration::from_millis(500)
                .saturating_mul(1 << n.min(16))
                .min(Duration::from_secs(10));
            assert_eq!(b.nominal(n), full, "{n}");
            assert!(d >= full / 2 && d <= full, "{n}: {d:?}");
        }
        let huge = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(huge.nominal(3), Duration::MAX);
        let _ = huge.delay(3);
    }
}
