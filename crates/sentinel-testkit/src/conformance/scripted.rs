//! Scripted rate-limit sequences with exact expected decisions.

use std::time::Duration;

use sentinel_core::{
    Algorithm, Decision, MAX_PERIOD, ManualClock, Quota, RateLimitStore, Timestamp,
};

use super::{ConformanceConfig, MAX_TIMESTAMP_US, StoreFactory, namespace};

const MS: u64 = 1_000;
const S: u64 = 1_000_000;
/// 2023-11-14T22:13:20Z, a typical "now".
const T0: u64 = 1_700_000_000 * S;
/// A multiple of 60 s, so fixed windows of a minute start here.
const W: u64 = 1_700_000_040 * S;

/// What a script does at one instant.
#[derive(Debug, Clone, Copy)]
enum Op {
    Hit(u32),
    Peek,
    Reset,
}

/// `(offset from the start in µs, operation, expected (allowed, remaining, retry_after µs or
/// None for never, reset_after µs))`. For [`Op::Reset`] the expectation is ignored.
type Line = (u64, Op, (bool, u32, Option<u64>, u64));

const GONE: (bool, u32, Option<u64>, u64) = (true, 0, None, 0);

fn want(q: &Quota, (allowed, remaining, retry, reset): (bool, u32, Option<u64>, u64)) -> Decision {
    Decision {
        allowed,
        limit: q.limit(),
        remaining,
        retry_after: retry.map(Duration::from_micros),
        reset_after: Duration::from_micros(reset),
    }
}

fn quota(limit: u32, period: Duration) -> Quota {
    Quota::new(limit, period).unwrap()
}

/// Plays `lines` on a fresh store and key, setting the clock to each line's time first.
async fn play<F: StoreFactory>(
    factory: &F,
    name: &str,
    algorithm: Algorithm,
    q: &Quota,
    start: u64,
    lines: &[Line],
) {
    let clock = ManualClock::new(Timestamp::from_micros(start));
    let store = factory.make(clock.clone()).await;
    let key = namespace(name);
    for (i, &(offset, op, expected)) in lines.iter().enumerate() {
        let now = Timestamp::from_micros(start + offset);
        clock.set(now);
        let got = match op {
            Op::Hit(cost) => store.hit(&key, algorithm, q, cost, now).await,
            Op::Peek => store.peek(&key, algorithm, q, now).await,
            Op::Reset => {
                store
                    .reset(&key)
                    .await
                    .unwrap_or_else(|e| panic!("conformance `{name}` line {i}: reset failed: {e}"));
                continue;
            }
        };
        let got = got.unwrap_or_else(|e| {
            panic!("conformance `{name}` line {i}: {op:?} at +{offset}µs failed: {e}")
        });
        assert_eq!(
            got,
            want(q, expected),
            "conformance `{name}` ({algorithm:?}, {q:?}, start {start}) line {i}: {op:?} at +{offset}µs"
        );
    }
}

/// Every scripted rate-limit sequence.
///
/// # Panics
/// When the store's decision differs from the expected one.
pub async fn rate_limit_scripts<F: StoreFactory>(factory: &F, config: &ConformanceConfig) {
    sliding_window(factory).await;
    gcra(factory).await;
    fixed_window(factory).await;
    clock_steps_back(factory).await;
    extreme_quotas(factory).await;
    for algorithm in Algorithm::ALL {
        never_on_fresh_key(factory, algorithm).await;
        peek_consumes_nothing(factory, algorithm).await;
        reset_forgets(factory, algorithm).await;
        burst_then_refuse_across_time(factory, algorithm, config).await;
    }
}

async fn sliding_window<F: StoreFactory>(factory: &F) {
    use Op::{Hit, Peek};
    let q = quota(3, Duration::from_secs(60));
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Hit(1), (true, 2, Some(0), 60 * S)),
        (10 * S, Hit(1), (true, 1, Some(0), 60 * S)),
        (20 * S, Hit(1), (true, 0, Some(0), 60 * S)),
        // The oldest grant (at 0) leaves the window at 60 s.
        (30 * S, Hit(1), (false, 0, Some(30 * S), 50 * S)),
        (30 * S, Peek, (false, 0, Some(30 * S), 50 * S)),
        (60 * S - 1, Hit(1), (false, 0, Some(1), 20 * S + 1)),
        // Exactly at the window end the grant at 0 no longer counts (half-open windows).
        (60 * S, Hit(1), (true, 0, Some(0), 60 * S)),
        // cost = limit must wait until all three grants (10 s, 20 s, 60 s) have left.
        (60 * S, Hit(3), (false, 0, Some(60 * S), 60 * S)),
        // cost > limit can never succeed.
        (60 * S, Hit(4), (false, 0, None, 60 * S)),
        (65 * S, Peek, (false, 0, Some(5 * S), 55 * S)),
        (70 * S, Hit(1), (true, 0, Some(0), 60 * S)),
        // A long gap: everything has left the window; cost = limit fits exactly.
        (200 * S, Hit(3), (true, 0, Some(0), 60 * S)),
        (200 * S, Peek, (false, 0, Some(60 * S), 60 * S)),
    ];
    play(
        factory,
        "sw-boundaries",
        Algorithm::SlidingWindow,
        &q,
        T0,
        lines,
    )
    .await;

    let q = quota(5, Duration::from_secs(1));
    #[rustfmt::skip]
    let weighted: &[Line] = &[
        (0, Hit(2), (true, 3, Some(0), S)),
        (500 * MS, Hit(2), (true, 1, Some(0), S)),
        // 4 used; freeing the 2 granted at 0 is enough: wait until 1 s.
        (600 * MS, Hit(2), (false, 1, Some(400 * MS), 900 * MS)),
        (600 * MS, Hit(1), (true, 0, Some(0), S)),
        (S, Hit(2), (true, 0, Some(0), S)),
        (S, Hit(1), (false, 0, Some(500 * MS), S)),
    ];
    play(
        factory,
        "sw-weighted",
        Algorithm::SlidingWindow,
        &q,
        T0,
        weighted,
    )
    .await;
}

async fn gcra<F: StoreFactory>(factory: &F) {
    use Op::{Hit, Peek};
    // Burst 4, one unit every 250 ms.
    let q = quota(4, Duration::from_secs(1));
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Hit(1), (true, 3, Some(0), 250 * MS)),
        (0, Hit(1), (true, 2, Some(0), 500 * MS)),
        (0, Hit(1), (true, 1, Some(0), 750 * MS)),
        (0, Hit(1), (true, 0, Some(0), S)),
        (0, Hit(1), (false, 0, Some(250 * MS), S)),
        (0, Peek, (false, 0, Some(250 * MS), S)),
        (250 * MS - 1, Hit(1), (false, 0, Some(1), 750 * MS + 1)),
        (250 * MS, Hit(1), (true, 0, Some(0), S)),
        (250 * MS, Hit(5), (false, 0, None, S)),
        (500 * MS, Hit(2), (false, 1, Some(250 * MS), 750 * MS)),
        (500 * MS, Hit(1), (true, 0, Some(0), S)),
        // After a long idle period exactly `limit` pass at once (governor#107), then one more
        // is refused.
        (10 * S, Hit(4), (true, 0, Some(0), S)),
        (20 * S, Hit(1), (true, 3, Some(0), 250 * MS)),
        (20 * S, Hit(1), (true, 2, Some(0), 500 * MS)),
        (20 * S, Hit(1), (true, 1, Some(0), 750 * MS)),
        (20 * S, Hit(1), (true, 0, Some(0), S)),
        (20 * S, Hit(1), (false, 0, Some(250 * MS), S)),
        (30 * S, Peek, (true, 4, Some(0), 0)),
    ];
    play(factory, "gcra-burst", Algorithm::Gcra, &q, T0, lines).await;

    // 3 per second: the emission interval rounds up to 333 334 µs, tau = 1 000 002 µs.
    let q = quota(3, Duration::from_secs(1));
    #[rustfmt::skip]
    let rounding: &[Line] = &[
        (0, Hit(1), (true, 2, Some(0), 333_334)),
        (0, Hit(1), (true, 1, Some(0), 666_668)),
        (0, Hit(1), (true, 0, Some(0), 1_000_002)),
        (0, Hit(1), (false, 0, Some(333_334), 1_000_002)),
        (333_333, Hit(1), (false, 0, Some(1), 666_669)),
        (333_334, Hit(1), (true, 0, Some(0), 1_000_002)),
    ];
    play(factory, "gcra-rounding", Algorithm::Gcra, &q, T0, rounding).await;
}

async fn fixed_window<F: StoreFactory>(factory: &F) {
    use Op::{Hit, Peek};
    let q = quota(2, Duration::from_secs(60));
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (50 * S, Hit(1), (true, 1, Some(0), 10 * S)),
        (60 * S - 1, Hit(1), (true, 0, Some(0), 1)),
        (60 * S - 1, Hit(1), (false, 0, Some(1), 1)),
        (60 * S - 1, Peek, (false, 0, Some(1), 1)),
        // A new window starts exactly at the boundary: 2 more right away.
        (60 * S, Hit(1), (true, 1, Some(0), 60 * S)),
        (60 * S, Hit(1), (true, 0, Some(0), 60 * S)),
        (60 * S, Hit(1), (false, 0, Some(60 * S), 60 * S)),
        (60 * S, Hit(3), (false, 0, None, 60 * S)),
        (90 * S, Hit(2), (false, 0, Some(30 * S), 30 * S)),
        (120 * S, Peek, (true, 2, Some(0), 0)),
        (120 * S, Hit(2), (true, 0, Some(0), 60 * S)),
        (180 * S, Hit(3), (false, 2, None, 0)),
    ];
    play(
        factory,
        "fw-boundaries",
        Algorithm::FixedWindow,
        &q,
        W,
        lines,
    )
    .await;
}

/// A clock that steps back is treated as standing still (sliding window, GCRA).
async fn clock_steps_back<F: StoreFactory>(factory: &F) {
    use Op::Hit;
    let q = quota(2, Duration::from_secs(10));
    #[rustfmt::skip]
    let sliding: &[Line] = &[
        (0, Hit(1), (true, 1, Some(0), 10 * S)),
        (5 * S, Hit(1), (true, 0, Some(0), 10 * S)),
        // Back to 2 s: decided as at 5 s, the newest grant.
        (2 * S, Hit(1), (false, 0, Some(5 * S), 10 * S)),
        (10 * S, Hit(1), (true, 0, Some(0), 10 * S)),
    ];
    play(
        factory,
        "sw-clock-back",
        Algorithm::SlidingWindow,
        &q,
        T0,
        sliding,
    )
    .await;

    // Burst 2, one unit every 5 s.
    #[rustfmt::skip]
    let gcra: &[Line] = &[
        (5 * S, Hit(1), (true, 1, Some(0), 5 * S)),
        (0, Hit(1), (false, 0, Some(5 * S), 10 * S)),
        (5 * S, Hit(1), (true, 0, Some(0), 10 * S)),
    ];
    play(factory, "gcra-clock-back", Algorithm::Gcra, &q, T0, gcra).await;
}

/// Very high and very low rates, the largest sliding-window limit, the longest period.
async fn extreme_quotas<F: StoreFactory>(factory: &F) {
    use Op::Hit;
    let million = quota(1_000_000, Duration::from_secs(1));
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Hit(1_000_000), (true, 0, Some(0), S)),
        (0, Hit(1), (false, 0, Some(1), S)),
        (1, Hit(1), (true, 0, Some(0), S)),
    ];
    play(
        factory,
        "gcra-1e6-per-s",
        Algorithm::Gcra,
        &million,
        T0,
        lines,
    )
    .await;

    let q = quota(3, Duration::from_millis(1));
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Hit(3), (true, 0, Some(0), 1_002)),
        (0, Hit(1), (false, 0, Some(334), 1_002)),
    ];
    play(factory, "gcra-3-per-ms", Algorithm::Gcra, &q, T0, lines).await;

    let day = Duration::from_secs(86_400);
    let q = quota(sentinel_core::SlidingWindowState::MAX_LIMIT, day);
    let d = 86_400 * S;
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Hit(10_000), (true, 0, Some(0), d)),
        (0, Hit(1), (false, 0, Some(d), d)),
        (d, Hit(1), (true, 9_999, Some(0), d)),
    ];
    play(
        factory,
        "sw-max-limit",
        Algorithm::SlidingWindow,
        &q,
        T0,
        lines,
    )
    .await;

    let year = MAX_PERIOD.as_micros() as u64;
    let q = quota(1, MAX_PERIOD);
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Hit(1), (true, 0, Some(0), year)),
        (year - 1, Hit(1), (false, 0, Some(1), 1)),
        (year, Hit(1), (true, 0, Some(0), year)),
    ];
    play(
        factory,
        "sw-one-per-year",
        Algorithm::SlidingWindow,
        &q,
        T0,
        lines,
    )
    .await;
    play(factory, "gcra-one-per-year", Algorithm::Gcra, &q, T0, lines).await;
    // Fixed windows of a year are aligned to multiples of the period since the epoch.
    let aligned = T0 - T0 % year + 5;
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Hit(1), (true, 0, Some(0), year - 5)),
        (0, Hit(1), (false, 0, Some(year - 5), year - 5)),
        (year - 5, Hit(1), (true, 0, Some(0), year)),
    ];
    play(
        factory,
        "fw-one-per-year",
        Algorithm::FixedWindow,
        &q,
        aligned,
        lines,
    )
    .await;
}

/// A cost above the limit is refused as "never" and leaves no state behind.
async fn never_on_fresh_key<F: StoreFactory>(factory: &F, algorithm: Algorithm) {
    use Op::{Hit, Peek};
    let q = quota(3, Duration::from_secs(60));
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Hit(4), (false, 3, None, 0)),
        (0, Hit(u32::MAX), (false, 3, None, 0)),
        (0, Peek, (true, 3, Some(0), 0)),
    ];
    play(factory, "never-fresh", algorithm, &q, W, lines).await;
}

/// Time until full for one unit granted at an aligned start, per algorithm (3 per 60 s).
fn after_one(algorithm: Algorithm) -> u64 {
    match algorithm {
        Algorithm::Gcra => 20 * S,
        _ => 60 * S,
    }
}

async fn peek_consumes_nothing<F: StoreFactory>(factory: &F, algorithm: Algorithm) {
    use Op::{Hit, Peek};
    let q = quota(3, Duration::from_secs(60));
    let one = after_one(algorithm);
    // After 3 units at W: sliding and fixed wait for the window (60 s); GCRA for one
    // emission interval (20 s), with the bucket full again after 60 s.
    let wait = if algorithm == Algorithm::Gcra {
        20 * S
    } else {
        60 * S
    };
    #[rustfmt::skip]
    let lines: &[Line] = &[
        (0, Peek, (true, 3, Some(0), 0)),
        (0, Peek, (true, 3, Some(0), 0)),
        (0, Peek, (true, 3, Some(0), 0)),
        (0, Hit(1), (true, 2, Some(0), one)),
        (0, Peek, (true, 2, Some(0), one)),
        (0, Peek, (true, 2, Some(0), one)),
        (0, Hit(2), (true, 0, Some(0), 60 * S)),
        (0, Peek, (false, 0, Some(wait), 60 * S)),
        (0, Peek, (false, 0, Some(wait), 60 * S)),
        (0, Hit(1), (false, 0, Some(wait), 60 * S)),
    ];
    play(factory, "peek", algorithm, &q, W, lines).await;
}

async fn reset_forgets<F: StoreFactory>(factory: &F, algorithm: Algorithm) {
    use Op::{Hit, Peek, Reset};
    let q = quota(3, Duration::from_secs(60));
    // Refused one second after 3 units at W, and the first unit of a fresh key at W + 1 s.
    let (refused, fresh) = match algorithm {
        Algorithm::Gcra => ((false, 0, Some(19 * S), 59 * S), (true, 2, Some(0), 20 * S)),
        Algorithm::SlidingWindow => ((false, 0, Some(59 * S), 59 * S), (true, 2, Some(0), 60 * S)),
        _ => ((false, 0, Some(59 * S), 59 * S), (true, 2, Some(0), 59 * S)),
    };
    #[rustfmt::skip]
    let lines: &[Line] = &[
        // Resetting a key never seen is fine.
        (0, Reset, GONE),
        (0, Hit(3), (true, 0, Some(0), 60 * S)),
        (S, Hit(1), refused),
        (S, Reset, GONE),
        (S, Peek, (true, 3, Some(0), 0)),
        (S, Hit(1), fresh),
    ];
    play(factory, "reset", algorithm, &q, W, lines).await;
}

/// `limit` units pass at one instant, the next is refused with the exact wait, and passes
/// after it; at the epoch, a typical time, 2^52 µs, just below [`MAX_TIMESTAMP_US`] and
/// (optionally) near `u64::MAX / 2`.
async fn burst_then_refuse_across_time<F: StoreFactory>(
    factory: &F,
    algorithm: Algorithm,
    config: &ConformanceConfig,
) {
    use Op::Hit;
    let year = MAX_PERIOD.as_micros() as u64;
    let mut starts = vec![0, T0 + 123_456, 1 << 52, MAX_TIMESTAMP_US - 3 * year];
    if config.full_u64_time {
        starts.push(u64::MAX / 2);
    }
    for q in [
        quota(3, Duration::from_secs(1)),
        quota(5, Duration::from_secs(60)),
        quota(2, MAX_PERIOD),
    ] {
        let limit = q.limit();
        let p = q.period_micros();
        let t = p.div_ceil(u64::from(limit));
        for &start in &starts {
            let end_in = p - start % p;
            let (reset_after, refused_retry, refused_reset) = match algorithm {
                Algorithm::SlidingWindow => (vec![p; limit as usize], p, p),
                Algorithm::Gcra => (
                    (1..=u64::from(limit)).map(|i| i * t).collect(),
                    t,
                    u64::from(limit) * t,
                ),
                _ => (vec![end_in; limit as usize], end_in, end_in),
            };
            let mut lines: Vec<Line> = reset_after
                .iter()
                .enumerate()
                .map(|(i, &reset)| (0, Hit(1), (true, limit - 1 - i as u32, Some(0), reset)))
                .collect();
            lines.push((0, Hit(1), (false, 0, Some(refused_retry), refused_reset)));
            let after = match algorithm {
                Algorithm::SlidingWindow => (true, limit - 1, Some(0), p),
                Algorithm::Gcra => (true, 0, Some(0), u64::from(limit) * t),
                _ => (true, limit - 1, Some(0), p),
            };
            lines.push((refused_retry, Hit(1), after));
            play(factory, "burst", algorithm, &q, start, &lines).await;
        }
    }
}
