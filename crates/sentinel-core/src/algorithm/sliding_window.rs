//! Sliding window log: exact.

use std::collections::VecDeque;
use std::time::Duration;

use super::{clamp_u32, us};
use crate::{Decision, Quota, Timestamp};

/// State of [`Algorithm::SlidingWindow`](super::Algorithm::SlidingWindow): the log of granted
/// units, oldest first, as `(timestamp_us, cost)` pairs (grants at the same microsecond merged).
///
/// # Arithmetic (reproduced by the Redis script)
///
/// An entry at `ts` counts while `now < ts + period` (half-open windows).
///
/// ```text
/// now  = max(now, newest ts)                  (a clock stepping back stands still)
/// drop entries with ts + period <= now
/// used = sum of remaining costs
/// if cost > limit           -> refused, never
/// if used + cost <= limit   -> granted, append (now, cost)
/// else                      -> refused; walk the log oldest first, freeing costs, until
///                              used - freed + cost <= limit at entry k:
///                              retry_after = ts_k + period - now
/// remaining   = limit - used (after the step)
/// reset_after = newest ts + period - now (0 if empty)
/// ```
///
/// This grants exactly what the rule "at most `limit` units in any window of length `period`"
/// allows, and `retry_after` is the exact (shortest) wait.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SlidingWindowState {
    /// Granted `(timestamp_us, cost)` pairs, oldest first.
    pub log: VecDeque<(u64, u32)>,
}

impl SlidingWindowState {
    /// The largest limit a sliding-window policy accepts (the log holds up to `limit` entries).
    pub const MAX_LIMIT: u32 = 10_000;

    /// See the type docs.
    pub fn step(&mut self, now: Timestamp, quota: &Quota, cost: u32) -> Decision {
        let period = quota.period_micros();
        let now = self
            .log
            .back()
            .map_or(now.as_micros(), |&(ts, _)| ts.max(now.as_micros()));
        while let Some(&(ts, _)) = self.log.front() {
            if ts.saturating_add(period) <= now {
                self.log.pop_front();
            } else {
                break;
            }
        }
        let used: u64 = self.log.iter().map(|&(_, c)| u64::from(c)).sum();
        let limit = u64::from(quota.limit());
        let cost64 = u64::from(cost);
        let reset = |log: &VecDeque<(u64, u32)>| {
            log.back().map_or(Duration::ZERO, |&(ts, _)| {
                us(ts.saturating_add(period) - now)
            })
        };
        if used + cost64 <= limit {
            match self.log.back_mut() {
                Some((ts, c)) if *ts == now => *c = c.saturating_add(cost),
                _ => self.log.push_back((now, cost)),
            }
            return Decision {
                allowed: true,
                limit: quota.limit(),
                remaining: clamp_u32(limit - used - cost64),
                retry_after: Some(Duration::ZERO),
                reset_after: reset(&self.log),
            };
        }
        refusal(
            self.log.iter().copied(),
            used,
            now,
            quota,
            cost,
            reset(&self.log),
        )
    }

    /// The decision [`step`](Self::step) would make on a state holding `log` (oldest first,
    /// as [`SlidingWindowState::log`] keeps it), computed in place: nothing is recorded and
    /// nothing allocated. Stores that try several limits before consuming any use it on
    /// their own log representation.
    ///
    /// ```
    /// use sentinel_core::{Quota, SlidingWindowState, Timestamp};
    /// let quota = Quota::per_second(3)?;
    /// let now = Timestamp::from_secs(10);
    /// let mut state = SlidingWindowState::default();
    /// state.step(now, &quota, 2);
    /// let tried = SlidingWindowState::decide(state.log.iter().copied(), now, &quota, 2);
    /// assert!(!tried.allowed); // 2 + 2 > 3
    /// assert_eq!(tried, state.clone().step(now, &quota, 2));
    /// assert_eq!(state.log.len(), 1); // nothing recorded
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decide<I>(log: I, now: Timestamp, quota: &Quota, cost: u32) -> Decision
    where
        I: DoubleEndedIterator<Item = (u64, u32)> + Clone,
    {
        let period = quota.period_micros();
        let newest = log.clone().next_back();
        let now = newest.map_or(now.as_micros(), |(ts, _)| ts.max(now.as_micros()));
        // `step` drops the entries that left the window from the front (the log is in time
        // order, so they are a prefix).
        let live = log.skip_while(move |&(ts, _)| ts.saturating_add(period) <= now);
        let used: u64 = live.clone().map(|(_, c)| u64::from(c)).sum();
        // What `step` reads at the back of the log once the prefix is dropped.
        let reset = match newest {
            Some((ts, _)) if live.clone().next().is_some() => {
                us(ts.saturating_add(period).saturating_sub(now))
            }
            _ => Duration::ZERO,
        };
        let (limit, cost64) = (u64::from(quota.limit()), u64::from(cost));
        if used + cost64 <= limit {
            return Decision {
                allowed: true,
                limit: quota.limit(),
                remaining: clamp_u32(limit - used - cost64),
                retry_after: Some(Duration::ZERO),
                // The grant is recorded at `now`: it is the newest entry.
                reset_after: us(period),
            };
        }
        refusal(live, used, now, quota, cost, reset)
    }

    /// Time until the newest entry leaves the window.
    pub fn reset_after(&self, now: Timestamp, quota: &Quota) -> Duration {
        self.log.back().map_or(Duration::ZERO, |&(ts, _)| {
            us(ts
                .saturating_add(quota.period_micros())
                .saturating_sub(now.as_micros()))
        })
    }
}

/// A refusal of `cost` units when the `live` entries (oldest first, `used` units in all) are
/// in the window at `now` (µs): never when `cost` is above the limit, else after the oldest
/// entries have freed enough room.
fn refusal(
    live: impl Iterator<Item = (u64, u32)>,
    used: u64,
    now: u64,
    quota: &Quota,
    cost: u32,
    reset_after: Duration,
) -> Decision {
    let (limit, cost64) = (u64::from(quota.limit()), u64::from(cost));
    let retry_after = if cost64 > limit {
        None
    } else {
        let period = quota.period_micros();
        let mut left = used;
        let mut retry = Duration::ZERO;
        for (ts, c) in live {
            left -= u64::from(c);
            if left + cost64 <= limit {
                retry = us(ts.saturating_add(period) - now);
                break;
            }
        }
        Some(retry)
    };
    Decision {
        allowed: false,
        limit: quota.limit(),
        remaining: clamp_u32(limit.saturating_sub(used)),
        retry_after,
        reset_after,
    }
}
