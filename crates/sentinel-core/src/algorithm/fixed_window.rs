//! Fixed window: a counter per window aligned to multiples of the period.

use std::time::Duration;

use super::{clamp_u32, us};
use crate::{Decision, Quota, Timestamp};

/// State of [`Algorithm::FixedWindow`](super::Algorithm::FixedWindow).
///
/// # Arithmetic (reproduced by the Redis script)
///
/// ```text
/// start = now - now % period                       (windows aligned to the epoch)
/// used  = stored_used if stored_start == start else 0
/// if cost > limit           -> refused, never
/// if used + cost <= limit   -> granted, stored = (start, used + cost)
/// else                      -> refused, retry_after = start + period - now
/// remaining   = limit - used (after the step)
/// reset_after = start + period - now if used > 0 else 0
/// ```
///
/// Encoding: `start` and `used` as decimal integers; the key can expire at `start + period`.
/// (The Redis script keys each window separately, so `start` is implied by the key.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FixedWindowState {
    /// Start of the window `used` belongs to, in microseconds since the epoch.
    pub start: u64,
    /// Units granted in that window.
    pub used: u64,
}

impl FixedWindowState {
    /// See the type docs.
    pub fn step(&mut self, now: Timestamp, quota: &Quota, cost: u32) -> Decision {
        let now_us = now.as_micros();
        let period = quota.period_micros();
        let start = now_us - now_us % period;
        let end_in = us((start.saturating_add(period)).saturating_sub(now_us));
        let limit = u64::from(quota.limit());
        if self.start != start {
            self.start = start;
            self.used = 0;
        }
        let reset = |used: u64| if used > 0 { end_in } else { Duration::ZERO };
        let cost64 = u64::from(cost);
        if cost64 > limit {
            return Decision {
                allowed: false,
                limit: quota.limit(),
                remaining: clamp_u32(limit.saturating_sub(self.used)),
                retry_after: None,
                reset_after: reset(self.used),
            };
        }
        if self.used + cost64 <= limit {
            self.used += cost64;
            Decision {
                allowed: true,
                limit: quota.limit(),
                remaining: clamp_u32(limit - self.used),
                retry_after: Some(Duration::ZERO),
                reset_after: reset(self.used),
            }
        } else {
            Decision {
                allowed: false,
                limit: quota.limit(),
                remaining: clamp_u32(limit.saturating_sub(self.used)),
                retry_after: Some(end_in),
                reset_after: reset(self.used),
            }
        }
    }

    /// Time until the window with units in it ends.
    pub fn reset_after(&self, now: Timestamp, quota: &Quota) -> Duration {
        if self.used == 0 {
            return Duration::ZERO;
        }
        us(self
            .start
            .saturating_add(quota.period_micros())
            .saturating_sub(now.as_micros()))
    }
}
