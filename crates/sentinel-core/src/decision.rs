//! [`Decision`]: the outcome of one rate-limit step.

use std::time::Duration;

/// The outcome of one rate-limit step: the fields of redis-cell's `CL.THROTTLE` and of the
/// HTTP `RateLimit` headers.
///
/// A refusal is a normal outcome, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// Whether the units were granted (and recorded).
    pub allowed: bool,
    /// The quota's limit.
    pub limit: u32,
    /// Units still available right after this step.
    pub remaining: u32,
    /// `Some(Duration::ZERO)` when allowed. When refused, `Some(wait)`: the exact time after
    /// which the same call would be allowed (rounded up, never down). `None` when the call can
    /// **never** succeed because its cost exceeds the limit.
    pub retry_after: Option<Duration>,
    /// Time until the key is back to full capacity.
    pub reset_after: Duration,
}

impl Decision {
    /// Whether this refusal is permanent: the cost exceeds what the quota can ever grant.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, Quota, RateLimitState, Timestamp};
    /// let q = Quota::per_second(3)?;
    /// let mut s = RateLimitState::new(Algorithm::Gcra);
    /// let d = s.step(Timestamp::from_secs(1), &q, 4);
    /// assert!(!d.allowed && d.is_never());
    /// # Ok::<(), sentinel_core::ConfigError>(())
    /// ```
    pub const fn is_never(&self) -> bool {
        !self.allowed && self.retry_after.is_none()
    }

    /// `retry_after` rounded up to whole seconds, as the `Retry-After` header and a
    /// "try again in N s" reply want it. `None` for a permanent refusal.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(ceil_secs)
    }
}

/// A duration rounded up to whole seconds.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
