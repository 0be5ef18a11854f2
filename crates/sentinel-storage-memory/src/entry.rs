//! One key's state, and the calls into `sentinel-core`'s algorithms.
//!
//! Every decision is made by the core's pure state transitions ([`GcraState::step`],
//! [`FixedWindowState::step`], [`SlidingWindowState::step`], [`RateLimitState::peek`]) on a
//! compact copy of the stored state. The one exception is a sliding-window log of at most one
//! entry, which is stored inline (no allocation) and stepped by [`sliding_inline`], a
//! line-by-line specialisation of [`SlidingWindowState::step`] for logs of length ≤ 1; any step
//! that would make the log longer is handed to the core. `tests/core_equivalence.rs` checks the
//! store against the core on random sequences (clock steps back included).

use std::collections::VecDeque;
use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::debounce_group::{Grouped, Members, Sight, group_head};
use sentinel_core::{
    Algorithm, Decision, FixedWindowState, GcraState, Quota, RateLimitState, SlidingWindowState,
    Timestamp,
};

/// A stored key: its name, when it stops mattering, and its state (80 bytes).
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) key: Key,
    /// From this time (µs) on the entry can no longer change a decision. Unused for GCRA,
    /// whose TAT is its expiry.
    expires: u64,
    state: State,
}

/// Longest key stored inline in its entry; longer ones go to the heap.
pub(crate) const INLINE_KEY: usize = 54;

/// A key's bytes: inline when short (no allocation, no pointer to chase, and freed with the
/// slab chunk that holds it), boxed when longer.
#[derive(Debug)]
pub(crate) enum Key {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl Key {
    pub(crate) fn new(key: &str) -> Self {
        Self::from_bytes(key.as_bytes())
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Self {
        match u8::try_from(b.len()) {
            Ok(len) if b.len() <= INLINE_KEY => {
                let mut bytes = [0; INLINE_KEY];
                bytes[..b.len()].copy_from_slice(b);
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(b.into()),
        }
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Self::Heap(b) => b,
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Self::Inline { .. } => 0,
            Self::Heap(b) => alloc_size(b.len()),
        }
    }
}

/// The state of one key. Flat, so that it fits in 16 bytes.
#[derive(Debug)]
enum State {
    /// GCRA: the theoretical arrival time, updated by compare-and-swap.
    Gcra(AtomicU64),
    /// Fixed window: window start and units used in it.
    Fixed { start: u64, used: u32 },
    /// Sliding window with an empty log.
    SlidingEmpty,
    /// Sliding window with a log of exactly one `(ts, cost)` entry, inline.
    SlidingOne { ts: u64, cost: u32 },
    /// Sliding window with a longer log: the core's own state (a ring buffer).
    SlidingMany(Box<SlidingWindowState>),
    /// An open debounce window (ends at `expires`).
    Debounce,
    /// A group of debounce windows (see [`crate::debounce_group`]); `expires` is when the
    /// last one ends.
    DebounceGroup(Box<Members>),
}

/// glibc's `malloc` rounding: 8 bytes of header, 16-byte granules, 32 bytes at least.
pub(crate) const fn alloc_size(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        let c = (n + 8 + 15) & !15;
        if c < 32 { 32 } else { c }
    }
}

/// When a window of `window` opened at `now` (µs) ends (µs).
pub(crate) fn window_end(now: u64, window: Duration) -> u64 {
    now.saturating_add(u64::try_from(window.as_micros()).unwrap_or(u64::MAX))
}

impl Entry {
    /// A rate-limit entry for a key never seen (or forgotten): steps a fresh state and returns
    /// the decision, and the entry if the step recorded anything.
    pub(crate) fn first_hit(
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> (Decision, Option<Self>) {
        let mut entry = Self {
            key: Key::Inline {
                len: 0,
                bytes: [0; INLINE_KEY],
            },
            expires: 0,
            state: fresh(algorithm),
        };
        let d = entry.step_rate(quota, cost, now);
        if d.allowed {
            entry.key = Key::new(key);
            (d, Some(entry))
        } else {
            // Refused steps record nothing (the core never records a refusal).
            (d, None)
        }
    }

    /// A debounce entry whose window ends at `expires`.
    pub(crate) fn debounce(key: &str, expires: u64) -> Self {
        Self {
            key: Key::new(key),
            expires,
            state: State::Debounce,
        }
    }

    /// A group of debounce windows (key: [`Grouped::key`]) with one window, for `member`.
    pub(crate) fn debounce_group(group: &Grouped<'_>, window: Duration, now: u64) -> Self {
        let ends = window_end(now, window);
        Self {
            key: Key::from_bytes(group.key()),
            expires: ends,
            state: State::DebounceGroup(Box::new(Members::first(group.member, ends))),
        }
    }

    /// Records a sighting of `member` in this group entry (`Elsewhere` if it is not a group).
    pub(crate) fn sight_member(&mut self, member: &[u8], window: Duration, now: u64) -> Sight {
        let State::DebounceGroup(members) = &mut self.state else {
            return Sight::Elsewhere;
        };
        let sight = members.sight(member, window_end(now, window), now);
        self.expires = members.ends();
        sight
    }

    /// The keys this entry stands for: its own, or a group's `{head}:{member}` keys.
    pub(crate) fn keys(&self) -> Vec<String> {
        if let State::DebounceGroup(members) = &self.state {
            let Some(head) = group_head(self.key.as_bytes()) else {
                return Vec::new();
            };
            return members
                .members()
                .filter_map(|m| std::str::from_utf8(m).ok())
                .map(|m| format!("{head}:{m}"))
                .collect();
        }
        std::str::from_utf8(self.key.as_bytes())
            .map(|k| vec![k.to_owned()])
            .unwrap_or_default()
    }

    /// How many keys this entry stands for: 1, or a group's recorded members.
    pub(crate) fn key_count(&self) -> usize {
        match &self.state {
            State::DebounceGroup(members) => members.members().count(),
            _ => 1,
        }
    }

    /// The text subject matching sees: the key, or a group's head (which carries the
    /// subject's `{tag}` as every member's key does).
    pub(crate) fn key_text(&self) -> Option<&str> {
        let bytes = self.key.as_bytes();
        group_head(bytes).or_else(|| std::str::from_utf8(bytes).ok())
    }

    /// Whether this entry is a debounce window or group (not rate-limit state).
    pub(crate) fn is_debounce(&self) -> bool {
        matches!(self.state, State::Debounce | State::DebounceGroup(_))
    }

    /// The GCRA word, for the lock-free fast path.
    pub(crate) fn gcra(&self) -> Option<&AtomicU64> {
        match &self.state {
            State::Gcra(tat) => Some(tat),
            _ => None,
        }
    }

    /// Whether this entry holds rate-limit state of `algorithm`.
    pub(crate) fn is(&self, algorithm: Algorithm) -> bool {
        matches!(
            (&self.state, algorithm),
            (State::Gcra(_), Algorithm::Gcra)
                | (State::Fixed { .. }, Algorithm::FixedWindow)
                | (
                    State::SlidingEmpty | State::SlidingOne { .. } | State::SlidingMany(_),
                    Algorithm::SlidingWindow
                )
        )
    }

    /// Steps the entry's rate-limit state, replacing it with a fresh state of `algorithm` if
    /// it holds something else (another algorithm, a debounce window).
    pub(crate) fn hit(
        &mut self,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Decision {
        if !self.is(algorithm) {
            self.state = fresh(algorithm);
        }
        self.step_rate(quota, cost, now)
    }

    fn step_rate(&mut self, quota: &Quota, cost: u32, now: Timestamp) -> Decision {
        let period = quota.period_micros();
        match &mut self.state {
            State::Gcra(tat) => gcra_step(tat, quota, cost, now),
            State::Fixed { start, used } => {
                let mut s = FixedWindowState {
                    start: *start,
                    used: u64::from(*used),
                };
                let d = s.step(now, quota, cost);
                // `used` never exceeds the limit, a u32.
                *start = s.start;
                *used = u32::try_from(s.used).unwrap_or(u32::MAX);
                self.expires = if s.used > 0 {
                    s.start.saturating_add(period)
                } else {
                    0
                };
                d
            }
            State::SlidingEmpty => self.sliding(None, quota, cost, now),
            &mut State::SlidingOne { ts, cost: c } => self.sliding(Some((ts, c)), quota, cost, now),
            State::SlidingMany(s) => {
                let d = s.step(now, quota, cost);
                self.expires = s.log.back().map_or(0, |&(ts, _)| ts.saturating_add(period));
                d
            }
            State::Debounce | State::DebounceGroup(_) => {
                // Replaced by `hit` before stepping (and a group is never hit: no key a
                // caller passes names one); behave like an empty sliding log.
                self.state = State::SlidingEmpty;
                self.sliding(None, quota, cost, now)
            }
        }
    }

    fn sliding(
        &mut self,
        log: Option<(u64, u32)>,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Decision {
        let period = quota.period_micros();
        match sliding_inline(log, quota, cost, now) {
            Some((d, log)) => {
                (self.state, self.expires) = match log {
                    None => (State::SlidingEmpty, 0),
                    Some((ts, cost)) => (State::SlidingOne { ts, cost }, ts.saturating_add(period)),
                };
                d
            }
            None => {
                // The log grows past one entry: the core's own state from here on.
                let mut s = SlidingWindowState {
                    log: log.into_iter().collect::<VecDeque<_>>(),
                };
                let d = s.step(now, quota, cost);
                self.expires = s.log.back().map_or(0, |&(ts, _)| ts.saturating_add(period));
                self.state = State::SlidingMany(Box::new(s));
                d
            }
        }
    }

    /// What one unit would get at `now` (the core's [`RateLimitState::peek`]); `None` if the
    /// entry holds no state of `algorithm`.
    pub(crate) fn peek(
        &self,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Option<Decision> {
        self.core_state(algorithm).map(|s| s.peek(now, quota))
    }

    /// The decision `cost` units would get at `now`, on a copy: nothing is recorded. The same
    /// decision [`Entry::hit`] would make.
    pub(crate) fn trial(
        &self,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Decision {
        // A sliding log is tried where it lies (copying it would allocate on every update of
        // a multi-limit plan).
        if algorithm == Algorithm::SlidingWindow {
            return match &self.state {
                &State::SlidingOne { ts, cost: c } => {
                    SlidingWindowState::decide(std::iter::once((ts, c)), now, quota, cost)
                }
                State::SlidingMany(s) => {
                    SlidingWindowState::decide(s.log.iter().copied(), now, quota, cost)
                }
                // Empty, or another kind of state (`hit` would start a fresh log).
                _ => Self::trial_fresh(algorithm, quota, cost, now),
            };
        }
        self.core_state(algorithm).map_or_else(
            || Self::trial_fresh(algorithm, quota, cost, now),
            |mut state| state.step(now, quota, cost),
        )
    }

    /// [`Entry::trial`] for a key not stored yet: a fresh state's decision, recording nothing.
    pub(crate) fn trial_fresh(
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Decision {
        match algorithm {
            Algorithm::SlidingWindow => {
                SlidingWindowState::decide(std::iter::empty(), now, quota, cost)
            }
            _ => RateLimitState::new(algorithm).step(now, quota, cost),
        }
    }

    /// The entry's state as the core's, if it holds state of `algorithm`.
    fn core_state(&self, algorithm: Algorithm) -> Option<RateLimitState> {
        if !self.is(algorithm) {
            return None;
        }
        Some(match &self.state {
            State::Gcra(tat) => RateLimitState::Gcra(GcraState {
                tat: tat.load(Ordering::Acquire),
            }),
            &State::Fixed { start, used } => RateLimitState::FixedWindow(FixedWindowState {
                start,
                used: u64::from(used),
            }),
            State::SlidingEmpty | State::Debounce | State::DebounceGroup(_) => {
                RateLimitState::new(algorithm)
            }
            &State::SlidingOne { ts, cost } => RateLimitState::SlidingWindow(SlidingWindowState {
                log: VecDeque::from([(ts, cost)]),
            }),
            State::SlidingMany(s) => RateLimitState::SlidingWindow(SlidingWindowState::clone(s)),
        })
    }

    /// Records a debounce sighting at `now`: `true` (and a new window) unless a window is open.
    pub(crate) fn sight(&mut self, window: Duration, now: u64) -> bool {
        if matches!(self.state, State::Debounce) && now < self.expires {
            return false;
        }
        self.state = State::Debounce;
        self.expires = window_end(now, window);
        true
    }

    /// From this time (µs) on the entry cannot change any decision, so it may be dropped:
    /// the core's `reset_after` reaching zero ([`RateLimitState::is_idle`]), with the period
    /// of the latest call; the end of a debounce window.
    pub(crate) fn expiry(&self) -> u64 {
        match &self.state {
            State::Gcra(tat) => tat.load(Ordering::Acquire),
            _ => self.expires,
        }
    }

    /// Heap bytes this entry owns (key and log), as the allocator rounds them.
    pub(crate) fn heap_bytes(&self) -> usize {
        let log = match &self.state {
            State::SlidingMany(s) => {
                alloc_size(size_of::<SlidingWindowState>())
                    + alloc_size(s.log.capacity() * size_of::<(u64, u32)>())
            }
            State::DebounceGroup(_) => alloc_size(size_of::<Members>()),
            _ => 0,
        };
        self.key.heap_bytes() + log
    }
}

fn fresh(algorithm: Algorithm) -> State {
    match algorithm {
        Algorithm::Gcra => State::Gcra(AtomicU64::new(0)),
        Algorithm::FixedWindow => State::Fixed { start: 0, used: 0 },
        _ => State::SlidingEmpty,
    }
}

/// One GCRA step on the atomic TAT: the core's [`GcraState::step`] on a copy, then a
/// compare-and-swap of the new TAT, retried if another thread got there first. Refusals write
/// nothing.
pub(crate) fn gcra_step(tat: &AtomicU64, quota: &Quota, cost: u32, now: Timestamp) -> Decision {
    let mut current = tat.load(Ordering::Acquire);
    loop {
        let mut s = GcraState { tat: current };
        let d = s.step(now, quota, cost);
        if s.tat == current {
            return d;
        }
        match tat.compare_exchange_weak(current, s.tat, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return d,
            Err(actual) => current = actual,
        }
    }
}

/// [`SlidingWindowState::step`] specialised to a log of at most one entry, returning the
/// decision and the new log; `None` when the step would grow the log to two entries (a grant
/// at a different microsecond than the live entry's), which the caller hands to the core.
///
/// Mirrors the core line by line: a clock behind the newest entry stands still; entries with
/// `ts + period <= now` drop out; a cost above the limit is refused as never; a grant merges
/// into an entry at the same microsecond; a refusal waits for the entry to leave the window.
pub(crate) fn sliding_inline(
    log: Option<(u64, u32)>,
    quota: &Quota,
    cost: u32,
    now: Timestamp,
) -> Option<(Decision, Option<(u64, u32)>)> {
    let period = quota.period_micros();
    let now = log.map_or(now.as_micros(), |(ts, _)| ts.max(now.as_micros()));
    let live = log.filter(|&(ts, _)| ts.saturating_add(period) > now);
    let used = live.map_or(0, |(_, c)| u64::from(c));
    let limit = u64::from(quota.limit());
    let cost64 = u64::from(cost);
    let reset = |log: Option<(u64, u32)>| {
        log.map_or(Duration::ZERO, |(ts, _)| {
            Duration::from_micros(ts.saturating_add(period) - now)
        })
    };
    let clamp = |x: u64| u32::try_from(x).unwrap_or(u32::MAX);
    if cost64 > limit {
        let d = Decision {
            allowed: false,
            limit: quota.limit(),
            remaining: clamp(limit.saturating_sub(used)),
            retry_after: None,
            reset_after: reset(live),
        };
        return Some((d, live));
    }
    if used + cost64 <= limit {
        let log = match live {
            None => (now, cost),
            Some((ts, c)) if ts == now => (ts, c.saturating_add(cost)),
            Some(_) => return None,
        };
        let d = Decision {
            allowed: true,
            limit: quota.limit(),
            remaining: clamp(limit - used - cost64),
            retry_after: Some(Duration::ZERO),
            reset_after: reset(Some(log)),
        };
        return Some((d, Some(log)));
    }
    // Refused: freeing the one entry is enough, since cost <= limit.
    let retry = live.map_or(Duration::ZERO, |(ts, _)| {
        Duration::from_micros(ts.saturating_add(period) - now)
    });
    let d = Decision {
        allowed: false,
        limit: quota.limit(),
        remaining: clamp(limit.saturating_sub(used)),
        retry_after: Some(retry),
        reset_after: reset(live),
    };
    Some((d, live))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_is_80_bytes() {
        assert_eq!(size_of::<State>(), 16);
        assert_eq!(size_of::<Key>(), 56);
        assert_eq!(size_of::<Entry>(), 80);
    }

    #[test]
    fn keys_inline_up_to_the_limit() {
        let short = "k".repeat(INLINE_KEY);
        let long = "k".repeat(INLINE_KEY + 1);
        assert!(matches!(Key::new(&short), Key::Inline { .. }));
        assert_eq!(Key::new(&short).as_bytes(), short.as_bytes());
        assert_eq!(Key::new(&short).heap_bytes(), 0);
        assert!(matches!(Key::new(&long), Key::Heap(_)));
        assert_eq!(Key::new(&long).as_bytes(), long.as_bytes());
        assert_eq!(Key::new("").as_bytes(), b"");
        assert_eq!(
            Key::new(&"é".repeat(40)).as_bytes(),
            "é".repeat(40).as_bytes()
        );
    }

    #[test]
    fn alloc_size_rounds_like_glibc() {
        assert_eq!(alloc_size(0), 0);
        assert_eq!(alloc_size(1), 32);
        assert_eq!(alloc_size(24), 32);
        assert_eq!(alloc_size(25), 48);
        assert_eq!(alloc_size(36), 48);
        assert_eq!(alloc_size(41), 64);
    }
}
