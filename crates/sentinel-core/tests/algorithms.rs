//! Each algorithm against an independent, naive reference model, on random sequences of
//! (advance time, cost) steps; plus the edge cases the anchors got wrong.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::time::Duration;

use proptest::prelude::*;
use sentinel_core::{Algorithm, Decision, Quota, RateLimitState, SlidingWindowState, Timestamp};

/// Sliding window, the naive way: keep every granted event, count those still in the window.
#[derive(Default)]
struct NaiveSliding {
    granted: Vec<(u128, u128)>,
}

impl NaiveSliding {
    fn step(&mut self, now: u128, limit: u128, period: u128, cost: u128) -> Decision {
        let now = self.granted.last().map_or(now, |&(t, _)| now.max(t));
        let used_at = |at: u128, g: &[(u128, u128)]| -> u128 {
            g.iter()
                .filter(|&&(t, _)| at < t + period)
                .map(|&(_, c)| c)
                .sum()
        };
        let used = used_at(now, &self.granted);
        let reset = |g: &[(u128, u128)]| {
            g.iter()
                .filter(|&&(t, _)| now < t + period)
                .map(|&(t, _)| t + period - now)
                .max()
                .unwrap_or(0)
        };
        let mk = |allowed, remaining: u128, retry: Option<u128>, reset: u128| Decision {
            allowed,
            limit: limit as u32,
            remaining: remaining as u32,
            retry_after: retry.map(|r| Duration::from_micros(r as u64)),
            reset_after: Duration::from_micros(reset as u64),
        };
        if cost > limit {
            return mk(false, limit - used, None, reset(&self.granted));
        }
        if used + cost <= limit {
            self.granted.push((now, cost));
            return mk(true, limit - used - cost, Some(0), reset(&self.granted));
        }
        // The smallest wait after which the same call passes: try every moment an event leaves.
        let mut waits: Vec<u128> = self
            .granted
            .iter()
            .filter(|&&(t, _)| now < t + period)
            .map(|&(t, _)| t + period - now)
            .collect();
        waits.sort_unstable();
        let wait = waits
            .into_iter()
            .find(|&w| used_at(now + w, &self.granted) + cost <= limit)
            .unwrap_or(0);
        mk(false, limit - used, Some(wait), reset(&self.granted))
    }
}

/// GCRA as a leaky bucket of time debt (continuous state), not as a TAT.
#[derive(Default)]
struct NaiveLeakyBucket {
    level: u128,
    last: u128,
}

impl NaiveLeakyBucket {
    fn step(&mut self, now: u128, limit: u128, t: u128, cost: u128) -> Decision {
        if now > self.last {
            self.level = self.level.saturating_sub(now - self.last);
            self.last = now;
        }
        // A clock that went back: the debt is measured from the later time.
        let level = self.level + (self.last - now);
        let tau = t * limit;
        let mk = |allowed, level: u128, retry: Option<u128>| Decision {
            allowed,
            limit: limit as u32,
            remaining: ((tau.saturating_sub(level)) / t) as u32,
            retry_after: retry.map(|r| Duration::from_micros(r as u64)),
            reset_after: Duration::from_micros(level as u64),
        };
        if cost > limit {
            return mk(false, level, None);
        }
        if level + cost * t <= tau {
            self.level += cost * t;
            return mk(true, level + cost * t, Some(0));
        }
        mk(false, level, Some(level + cost * t - tau))
    }
}

/// Fixed window, the naive way: a counter per window number.
#[derive(Default)]
struct NaiveFixed {
    counts: std::collections::HashMap<u128, u128>,
}

impl NaiveFixed {
    fn step(&mut self, now: u128, limit: u128, period: u128, cost: u128) -> Decision {
        let w = now / period;
        let end = (w + 1) * period - now;
        let used = *self.counts.get(&w).unwrap_or(&0);
        let mk = |allowed, used: u128, retry: Option<u128>| Decision {
            allowed,
            limit: limit as u32,
            remaining: (limit - used) as u32,
            retry_after: retry.map(|r| Duration::from_micros(r as u64)),
            reset_after: Duration::from_micros(if used > 0 { end as u64 } else { 0 }),
        };
        if cost > limit {
            return mk(false, used, None);
        }
        if used + cost <= limit {
            self.counts.insert(w, used + cost);
            return mk(true, used + cost, Some(0));
        }
        mk(false, used, Some(end))
    }
}

#[derive(Debug, Clone)]
struct Case {
    limit: u32,
    period_us: u64,
    start: u64,
    steps: Vec<(u64, u32)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1u32..=12,
        prop_oneof![Just(1_000u64), 1_000u64..=5_000_000, Just(60_000_000)],
    )
        .prop_flat_map(|(limit, period_us)| {
            let advance = prop_oneof![
                4 => Just(0u64),
                6 => 0..=period_us / 2,
                3 => 0..=period_us * 2,
                2 => Just(period_us),
                2 => Just(period_us.saturating_sub(1)),
                1 => 0..=u64::from(u32::MAX) * 1_000,
            ];
            let cost = prop_oneof![8 => 1..=limit, 1 => Just(limit), 1 => Just(limit + 1)];
            (
                Just(limit),
                Just(period_us),
                prop_oneof![
                    Just(0u64),
                    1..=1u64 << 52,
                    Just((1u64 << 53) - (1u64 << 40))
                ],
                prop::collection::vec((advance, cost), 1..60),
            )
        })
        .prop_map(|(limit, period_us, start, steps)| Case {
            limit,
            period_us,
            start,
            steps,
        })
}

fn quota(c: &Case) -> Quota {
    Quota::new(c.limit, Duration::from_micros(c.period_us)).unwrap()
}

/// Runs the case's steps through `algorithm` and through `model` (given `now` and `cost`),
/// requiring identical decisions at every step.
fn agrees_with_model(
    c: &Case,
    algorithm: Algorithm,
    mut model: impl FnMut(u128, u128) -> Decision,
) -> Result<(), TestCaseError> {
    let q = quota(c);
    let mut state = RateLimitState::new(algorithm);
    let mut now = c.start;
    for &(adv, cost) in &c.steps {
        now = now.saturating_add(adv);
        let got = state.step(Timestamp::from_micros(now), &q, cost);
        let want = model(u128::from(now), u128::from(cost));
        prop_assert_eq!(got, want, "at {} cost {}", now, cost);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn sliding_window_equals_naive_model(c in case()) {
        let mut model = NaiveSliding::default();
        let (limit, period) = (u128::from(c.limit), u128::from(c.period_us));
        agrees_with_model(&c, Algorithm::SlidingWindow, |now, cost| model.step(now, limit, period, cost))?;
    }

    #[test]
    fn gcra_equals_leaky_bucket_model(c in case()) {
        let mut model = NaiveLeakyBucket { level: 0, last: u128::from(c.start) };
        // The emission interval from the case's raw numbers, not from `Quota` (the code under
        // test): one unit every `period / limit` µs, rounded up (never faster than the quota),
        // and at least 1 µs.
        let limit = u128::from(c.limit);
        let t = u128::from(c.period_us).div_ceil(limit).max(1);
        agrees_with_model(&c, Algorithm::Gcra, |now, cost| model.step(now, limit, t, cost))?;
    }

    #[test]
    fn fixed_window_equals_naive_model(c in case()) {
        let mut model = NaiveFixed::default();
        let (limit, period) = (u128::from(c.limit), u128::from(c.period_us));
        agrees_with_model(&c, Algorithm::FixedWindow, |now, cost| model.step(now, limit, period, cost))?;
    }

    /// `SlidingWindowState::decide` (the trial stores make before consuming several limits) is
    /// the decision `step` makes, at every point of a random run, and records nothing.
    #[test]
    fn sliding_window_decide_is_step_without_recording(c in case()) {
        let q = quota(&c);
        let mut state = SlidingWindowState::default();
        let mut now = c.start;
        for (adv, cost) in c.steps {
            now = now.saturating_add(adv);
            let at = Timestamp::from_micros(now);
            let before = state.clone();
            let tried = SlidingWindowState::decide(state.log.iter().copied(), at, &q, cost);
            prop_assert_eq!(&state, &before);
            prop_assert_eq!(tried, state.step(at, &q, cost), "at {} cost {}", now, cost);
        }
    }

    /// `retry_after` is exact for every algorithm: waiting it succeeds, waiting 1 µs less fails.
    #[test]
    fn retry_after_is_exact(c in case(), alg in prop::sample::select(Algorithm::ALL.to_vec())) {
        let q = quota(&c);
        let mut state = RateLimitState::new(alg);
        let mut now = c.start;
        for (adv, cost) in c.steps {
            now = now.saturating_add(adv);
            let before = state.clone();
            let d = state.step(Timestamp::from_micros(now), &q, cost);
            if d.allowed { continue; }
            match d.retry_after {
                None => prop_assert!(cost > c.limit),
                Some(wait) => {
                    let wait = u64::try_from(wait.as_micros()).unwrap();
                    prop_assert!(wait > 0);
                    let mut later = before.clone();
                    prop_assert!(later.step(Timestamp::from_micros(now + wait), &q, cost).allowed);
                    let mut early = before.clone();
                    prop_assert!(!early.step(Timestamp::from_micros(now + wait - 1), &q, cost).allowed);
                }
            }
        }
    }

    /// The sliding window's promise, checked directly: no half-open window of length `period`
    /// ever holds more than `limit` granted units.
    #[test]
    fn sliding_window_never_exceeds_limit_in_any_window(c in case()) {
        let q = quota(&c);
        let mut state = RateLimitState::new(Algorithm::SlidingWindow);
        let mut now = c.start;
        let mut granted: Vec<(u64, u32)> = Vec::new();
        for (adv, cost) in c.steps {
            now = now.saturating_add(adv);
            if state.step(Timestamp::from_micros(now), &q, cost).allowed {
                granted.push((now, cost));
            }
        }
        for &(s, _) in &granted {
            let in_window: u64 = granted
                .iter()
                .filter(|&&(t, _)| t >= s && t - s < c.period_us)
                .map(|&(_, c)| u64::from(c))
                .sum();
            prop_assert!(in_window <= u64::from(c.limit));
        }
    }

    /// Peek never changes the state and agrees with a real step of cost 1.
    #[test]
    fn peek_does_not_consume(c in case(), alg in prop::sample::select(Algorithm::ALL.to_vec())) {
        let q = quota(&c);
        let mut state = RateLimitState::new(alg);
        let mut now = c.start;
        for (adv, cost) in c.steps {
            now = now.saturating_add(adv);
            let t = Timestamp::from_micros(now);
            let before = state.clone();
            let p = state.peek(t, &q);
            prop_assert_eq!(&before, &state);
            let real = state.clone().step(t, &q, 1);
            prop_assert_eq!(p.allowed, real.allowed);
            state.step(t, &q, cost);
        }
    }
}

#[test]
fn exact_burst_after_long_idle() {
    // governor#107: after a long idle period, exactly `limit` cells pass, not limit + 1.
    for alg in Algorithm::ALL {
        let q = Quota::per_second(5).unwrap();
        let mut s = RateLimitState::new(alg);
        let t0 = Timestamp::from_secs(10);
        for _ in 0..5 {
            assert!(s.step(t0, &q, 1).allowed, "{alg:?}");
        }
        let later = Timestamp::from_secs(1_000_000);
        let granted = (0..10).filter(|_| s.step(later, &q, 1).allowed).count();
        assert_eq!(granted, 5, "{alg:?}");
    }
}

#[test]
fn cost_equal_to_limit_passes_and_cost_above_never_does() {
    for alg in Algorithm::ALL {
        let q = Quota::per_minute(4).unwrap();
        let mut s = RateLimitState::new(alg);
        let now = Timestamp::from_secs(120);
        let d = s.step(now, &q, 5);
        assert!(d.is_never() && d.retry_after_secs().is_none(), "{alg:?}");
        let d = s.step(now, &q, 4);
        assert!(d.allowed, "{alg:?}");
        assert_eq!(d.remaining, 0);
        let d = s.step(now, &q, 1);
        assert!(!d.allowed && !d.is_never(), "{alg:?}");
    }
}

#[test]
fn window_boundary_is_half_open() {
    let q = Quota::per_second(1).unwrap();
    let mut s = RateLimitState::new(Algorithm::SlidingWindow);
    let t0 = Timestamp::from_secs(5);
    assert!(s.step(t0, &q, 1).allowed);
    let just_before = Timestamp::from_micros(t0.as_micros() + 999_999);
    let d = s.step(just_before, &q, 1);
    assert!(!d.allowed);
    assert_eq!(d.retry_after, Some(Duration::from_micros(1)));
    assert!(s.step(Timestamp::from_secs(6), &q, 1).allowed);
}

#[test]
fn fixed_window_is_aligned_to_the_epoch() {
    let q = Quota::per_minute(2).unwrap();
    let mut s = RateLimitState::new(Algorithm::FixedWindow);
    let t = Timestamp::from_secs(60 * 10 + 59);
    assert!(s.step(t, &q, 2).allowed);
    let d = s.step(t, &q, 1);
    assert_eq!(d.retry_after, Some(Duration::from_secs(1)));
    assert!(s.step(Timestamp::from_secs(60 * 11), &q, 2).allowed);
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    let q = Quota::per_second(1).unwrap();
    let mut s = RateLimitState::new(Algorithm::Gcra);
    let t0 = Timestamp::from_secs(5);
    assert!(s.step(t0, &q, 1).allowed);
    let d = s.step(Timestamp::from_micros(t0.as_micros() + 999_999), &q, 1);
    assert_eq!(d.retry_after, Some(Duration::from_micros(1)));
    assert_eq!(d.retry_after_secs(), Some(1), "never rounded down to 0");
}

#[test]
fn no_panic_at_u64_extremes_and_backwards_clocks() {
    for alg in Algorithm::ALL {
        let q = Quota::new(3, Duration::from_secs(366 * 24 * 3600)).unwrap();
        let mut s = RateLimitState::new(alg);
        for now in [
            u64::MAX,
            u64::MAX - 1,
            0,
            u64::MAX / 2,
            u64::MAX,
            1,
            u64::MAX,
        ] {
            let d = s.step(Timestamp::from_micros(now), &q, 1);
            assert!(d.remaining <= 3);
            let _ = s.peek(Timestamp::from_micros(now), &q);
            let _ = s.is_idle(Timestamp::from_micros(now), &q);
        }
        let q = Quota::new(u32::MAX, Duration::from_millis(1)).unwrap();
        let mut s = RateLimitState::new(alg);
        let d = s.step(Timestamp::MAX, &q, u32::MAX);
        assert!(d.allowed || d.retry_after.is_some(), "{alg:?}");
    }
}

#[test]
fn time_not_advancing_does_not_refill() {
    for alg in Algorithm::ALL {
        let q = Quota::per_second(3).unwrap();
        let mut s = RateLimitState::new(alg);
        let t = Timestamp::from_secs(42);
        let granted = (0..100).filter(|_| s.step(t, &q, 1).allowed).count();
        assert_eq!(granted, 3, "{alg:?}");
    }
}

#[test]
fn very_high_and_very_low_rates() {
    // 10^6 per second: the emission interval is 1 µs.
    let q = Quota::per_second(1_000_000).unwrap();
    assert_eq!(q.emission_interval_micros(), 1);
    let mut s = RateLimitState::new(Algorithm::Gcra);
    let t = Timestamp::from_secs(1);
    assert!(s.step(t, &q, 1_000_000).allowed);
    assert!(!s.step(t, &q, 1).allowed);
    // One per day.
    let q = Quota::new(1, Duration::from_secs(86_400)).unwrap();
    let mut s = RateLimitState::new(Algorithm::Gcra);
    assert!(s.step(t, &q, 1).allowed);
    assert_eq!(
        s.step(t, &q, 1).retry_after,
        Some(Duration::from_secs(86_400))
    );
}

#[test]
fn idle_state_is_reported_once_it_cannot_matter() {
    for alg in Algorithm::ALL {
        let q = Quota::per_second(2).unwrap();
        let mut s = RateLimitState::new(alg);
        let t = Timestamp::from_secs(100);
        s.step(t, &q, 1);
        assert!(!s.is_idle(t, &q), "{alg:?}");
        assert!(s.is_idle(Timestamp::from_secs(101), &q), "{alg:?}");
    }
}
