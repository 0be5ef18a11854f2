//! GCRA: the generic cell rate algorithm.

use std::time::Duration;

use super::{clamp_u32, us};
use crate::{Decision, Quota, Timestamp};

/// State of [`Algorithm::Gcra`](super::Algorithm::Gcra): the theoretical arrival time (TAT).
///
/// # Arithmetic (reproduced by the Redis script)
///
/// All values are integer microseconds. With `T = quota.emission_interval_micros()`
/// (`ceil(period / limit)`) and `tau = T * limit`:
///
/// ```text
/// tat      = max(stored_tat, now)
/// if cost > limit           -> refused, retry_after = never
/// new_tat  = tat + cost * T
/// allow_at = new_tat - tau            (saturating at 0)
/// if now < allow_at         -> refused, retry_after = allow_at - now, state unchanged
/// else                      -> granted, stored_tat = new_tat
/// remaining   = (tau - (tat' - now)) / T   where tat' is the TAT after the step (floor)
/// reset_after = tat' - now
/// ```
///
/// Encoding: the TAT as a decimal integer; an absent key is TAT 0. The key can expire after
/// `reset_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GcraState {
    /// Theoretical arrival time in microseconds since the epoch (0 = empty).
    pub tat: u64,
}

impl GcraState {
    /// See the type docs.
    pub fn step(&mut self, now: Timestamp, quota: &Quota, cost: u32) -> Decision {
        let now = now.as_micros();
        let t = quota.emission_interval_micros();
        let tau = t.saturating_mul(u64::from(quota.limit()));
        let tat = self.tat.max(now);
        let remaining_at = |tat: u64| clamp_u32(tau.saturating_sub(tat - now) / t);
        if cost > quota.limit() {
            return Decision {
                allowed: false,
                limit: quota.limit(),
                remaining: remaining_at(tat),
                retry_after: None,
                reset_after: us(tat - now),
            };
        }
        let new_tat = tat.saturating_add(t.saturating_mul(u64::from(cost)));
        let allow_at = new_tat.saturating_sub(tau);
        if now < allow_at {
            return Decision {
                allowed: false,
                limit: quota.limit(),
                remaining: remaining_at(tat),
                retry_after: Some(us(allow_at - now)),
                reset_after: us(tat - now),
            };
        }
        self.tat = new_tat;
        Decision {
            allowed: true,
            limit: quota.limit(),
            remaining: remaining_at(new_tat),
            retry_after: Some(Duration::ZERO),
            reset_after: us(new_tat - now),
        }
    }

    /// Time until the bucket is full again.
    pub fn reset_after(&self, now: Timestamp) -> Duration {
        us(self.tat.saturating_sub(now.as_micros()))
    }
}
