//! The rate-limit algorithms as pure state transitions.
//!
//! Every store calls these (the memory store directly; the Redis Lua scripts reproduce the same
//! integer arithmetic), and the conformance suite proves both give identical decisions.
//!
//! | algorithm | guarantee | state |
//! |---|---|---|
//! | [`Algorithm::SlidingWindow`] (default) | exact: never more than `limit` units in any half-open window of length `period` | the log of granted `(timestamp, cost)` |
//! | [`Algorithm::Gcra`] | burst `limit`, then one unit per `period / limit` | one timestamp (TAT) |
//! | [`Algorithm::FixedWindow`] | at most `limit` per window aligned to multiples of `period` since the epoch; up to 2× across a boundary | `(window start, used)` |
//!
//! Refused calls are never recorded: a client that keeps hammering is not pushed further out.
//! A clock that steps backwards is treated as standing still.

mod fixed_window;
mod gcra;
mod sliding_window;

pub use fixed_window::FixedWindowState;
pub use gcra::GcraState;
pub use sliding_window::SlidingWindowState;

use std::time::Duration;

use crate::{Decision, Quota, Timestamp};

/// Which rate-limit algorithm a policy uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Algorithm {
    /// Exact sliding log: at most `limit` units in any window of length `period`. What a bot
    /// author means by "5 per minute". State grows with `limit`, so it is meant for limits up to
    /// [`SlidingWindowState::MAX_LIMIT`].
    #[default]
    SlidingWindow,
    /// Generic cell rate algorithm: O(1) state, smooth, for high limits.
    Gcra,
    /// Counter per aligned window: cheapest, approximate at window boundaries.
    FixedWindow,
}

impl Algorithm {
    /// A short stable name, used in store keys (`sw`, `gcra`, `fw`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SlidingWindow => "sw",
            Self::Gcra => "gcra",
            Self::FixedWindow => "fw",
        }
    }

    /// Every algorithm, for tests and tools.
    pub const ALL: [Self; 3] = [Self::SlidingWindow, Self::Gcra, Self::FixedWindow];
}

/// The state of one rate-limit key under one algorithm.
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::{Algorithm, Quota, RateLimitState, Timestamp};
///
/// let quota = Quota::per_minute(2)?;
/// let mut state = RateLimitState::new(Algorithm::SlidingWindow);
/// let t0 = Timestamp::from_secs(1_000);
/// assert!(state.step(t0, &quota, 1).allowed);
/// assert!(state.step(t0, &quota, 1).allowed);
/// let refused = state.step(t0, &quota, 1);
/// assert!(!refused.allowed);
/// assert_eq!(refused.retry_after, Some(Duration::from_secs(60)));
/// # Ok::<(), sentinel_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitState {
    /// State of [`Algorithm::SlidingWindow`].
    SlidingWindow(SlidingWindowState),
    /// State of [`Algorithm::Gcra`].
    Gcra(GcraState),
    /// State of [`Algorithm::FixedWindow`].
    FixedWindow(FixedWindowState),
}

impl RateLimitState {
    /// The empty state of `algorithm` (a key never seen).
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::SlidingWindow => Self::SlidingWindow(SlidingWindowState::default()),
            Algorithm::Gcra => Self::Gcra(GcraState::default()),
            Algorithm::FixedWindow => Self::FixedWindow(FixedWindowState::default()),
        }
    }

    /// The algorithm this state belongs to.
    pub const fn algorithm(&self) -> Algorithm {
        match self {
            Self::SlidingWindow(_) => Algorithm::SlidingWindow,
            Self::Gcra(_) => Algorithm::Gcra,
            Self::FixedWindow(_) => Algorithm::FixedWindow,
        }
    }

    /// Asks for `cost` units at `now`; records them only if granted.
    pub fn step(&mut self, now: Timestamp, quota: &Quota, cost: u32) -> Decision {
        match self {
            Self::SlidingWindow(s) => s.step(now, quota, cost),
            Self::Gcra(s) => s.step(now, quota, cost),
            Self::FixedWindow(s) => s.step(now, quota, cost),
        }
    }

    /// What one unit would get at `now`, without consuming anything. `remaining` is what is
    /// available now.
    pub fn peek(&self, now: Timestamp, quota: &Quota) -> Decision {
        let mut probe = self.clone();
        let mut d = probe.step(now, quota, 1);
        if d.allowed {
            d.remaining = d.remaining.saturating_add(1);
            d.reset_after = self.reset_after(now, quota);
        }
        d
    }

    /// Time until this key is back to full capacity (and can be forgotten).
    pub fn reset_after(&self, now: Timestamp, quota: &Quota) -> Duration {
        match self {
            Self::SlidingWindow(s) => s.reset_after(now, quota),
            Self::Gcra(s) => s.reset_after(now),
            Self::FixedWindow(s) => s.reset_after(now, quota),
        }
    }

    /// Whether this state can no longer change any decision at `now`: a store may drop it.
    pub fn is_idle(&self, now: Timestamp, quota: &Quota) -> bool {
        self.reset_after(now, quota).is_zero()
    }
}

/// Whole microseconds as a `Duration`.
pub(crate) const fn us(v: u64) -> Duration {
    Duration::from_micros(v)
}

/// `x` clamped into `u32`.
pub(crate) fn clamp_u32(x: u64) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}
