//! The Lua scripts against the reference: random sequences of (advance, cost, peek, reset,
//! clock step back) give exactly the decisions of `sentinel_core::RateLimitState`, for all
//! three algorithms, in client-clock mode against a real Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sentinel_core::{
    Algorithm, DebounceStore, Quota, RateLimitState, RateLimitStore, SlidingWindowState, Timestamp,
};
use sentinel_storage_redis::RedisStore;
use sentinel_testkit::redis_server::RedisServer;

#[derive(Debug, Clone)]
enum Op {
    /// Move the clock forward by this many µs, then hit with this cost.
    Hit { advance: u64, cost: u32 },
    /// Move the clock forward, then peek.
    Peek { advance: u64 },
    /// Step the clock back by this many µs (a clock that jumps backwards).
    Back { by: u64 },
    /// Forget the key.
    Reset,
    /// Move the clock to exactly where the last decision said something changes (its
    /// `retry_after` or its `reset_after`), give or take a microsecond, then hit.
    Follow { retry: bool, delta: i8, cost: u32 },
}

fn quota_strategy() -> impl Strategy<Value = Quota> {
    let periods_us = prop_oneof![
        Just(1_000u64),
        Just(7_000),
        Just(1_000_000),
        Just(60_000_000),
        Just(3_600_000_000),
        Just(366 * 24 * 3_600_000_000),
        1_000u64..5_000_000,
    ];
    (1u32..=12, periods_us)
        .prop_map(|(limit, period)| Quota::new(limit, Duration::from_micros(period)).unwrap())
}

fn ops_strategy(period_us: u64, limit: u32) -> impl Strategy<Value = Vec<Op>> {
    // Mostly steps well inside one period (so limits bite), sometimes across it.
    let small = (period_us / u64::from(limit)).max(1);
    let advance = prop_oneof![
        4 => Just(0u64),
        6 => 0..=small,
        2 => 0..=period_us,
        1 => period_us..=period_us.saturating_mul(3),
    ];
    let op = prop_oneof![
        12 => (advance.clone(), 1..=limit.saturating_add(1)).prop_map(|(advance, cost)| Op::Hit { advance, cost }),
        4 => advance.clone().prop_map(|advance| Op::Hit { advance, cost: 1 }),
        3 => advance.prop_map(|advance| Op::Peek { advance }),
        1 => (0..=period_us).prop_map(|by| Op::Back { by }),
        1 => Just(Op::Reset),
        6 => (any::<bool>(), -1i8..=1, 1..=limit).prop_map(|(retry, delta, cost)| Op::Follow { retry, delta, cost }),
    ];
    prop::collection::vec(op, 1..40)
}

fn case_strategy() -> impl Strategy<Value = (Algorithm, Quota, u64, Vec<Op>)> {
    let algorithm = prop_oneof![
        Just(Algorithm::SlidingWindow),
        Just(Algorithm::Gcra),
        Just(Algorithm::FixedWindow),
    ];
    // Realistic wall-clock starts, small ones (a ManualClock near the epoch), around 2^53
    // (where Lua's doubles stop being exact) and far beyond it.
    let start = prop_oneof![
        6 => 1_600_000_000_000_000u64..1_900_000_000_000_000,
        2 => 0u64..10_000_000_000,
        1 => (1u64 << 53) - (1 << 40)..=(1u64 << 53) + (1 << 40),
        1 => u64::MAX / 2 - (1 << 50)..=u64::MAX / 2,
    ];
    (algorithm, quota_strategy(), start).prop_flat_map(|(algorithm, quota, start)| {
        (
            Just(algorithm),
            Just(quota),
            Just(start),
            ops_strategy(quota.period_micros(), quota.limit()),
        )
    })
}

fn next_key(algorithm: Algorithm) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "eq:rl-{}:{{u{}}}:=h",
        algorithm.as_str(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn run_case(
    store: &RedisStore,
    algorithm: Algorithm,
    quota: Quota,
    start: u64,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let key = next_key(algorithm);
    let mut reference = RateLimitState::new(algorithm);
    let mut now = start;
    let mut last: Option<sentinel_core::Decision> = None;
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Hit { advance, cost } => {
                now += advance;
                let t = Timestamp::from_micros(now);
                let expected = reference.step(t, &quota, cost);
                let got = store.hit(&key, algorithm, &quota, cost, t).await.unwrap();
                prop_assert_eq!(got, expected, "op {} {:?} at {}", i, op, now);
                last = Some(got);
            }
            Op::Follow { retry, delta, cost } => {
                let Some(d) = last else { continue };
                let wait = if retry {
                    d.retry_after.unwrap_or_default()
                } else {
                    d.reset_after
                };
                let wait = u64::try_from(wait.as_micros()).unwrap();
                now = (now + wait).saturating_add_signed(i64::from(delta));
                let t = Timestamp::from_micros(now);
                let expected = reference.step(t, &quota, cost);
                let got = store.hit(&key, algorithm, &quota, cost, t).await.unwrap();
                prop_assert_eq!(got, expected, "op {} {:?} at {}", i, op, now);
                last = Some(got);
            }
            Op::Peek { advance } => {
                now += advance;
                let t = Timestamp::from_micros(now);
                let expected = reference.peek(t, &quota);
                let got = store.peek(&key, algorithm, &quota, t).await.unwrap();
                prop_assert_eq!(got, expected, "op {} {:?} at {}", i, op, now);
                last = Some(got);
            }
            Op::Back { by } => now = now.saturating_sub(by),
            Op::Reset => {
                store.reset(&key).await.unwrap();
                reference = RateLimitState::new(algorithm);
            }
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Random (advance, cost) sequences: Redis decisions == `RateLimitState::step` decisions.
#[test]
fn scripts_match_core_decision_for_decision() {
    let server = RedisServer::spawn();
    let rt = runtime();
    let store = common::client_clock_store(&server.url());
    let mut runner = TestRunner::new(Config {
        cases: 600,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case_strategy(), |(algorithm, quota, start, ops)| {
            rt.block_on(run_case(&store, algorithm, quota, start, &ops))
        })
        .unwrap();
}

/// Edge quotas: sub-microsecond emission intervals (a million per second), the longest
/// period, the largest sliding-window limit, and costs above the limit.
#[test]
fn edge_quotas_match_core() {
    let server = RedisServer::spawn();
    let rt = runtime();
    let store = common::client_clock_store(&server.url());
    let start = 1_700_000_000_123_456u64;
    let quotas = [
        Quota::new(1_000_000, Duration::from_secs(1)).unwrap(),
        Quota::new(3, Duration::from_millis(1)).unwrap(),
        Quota::new(1, Duration::from_secs(366 * 24 * 3600)).unwrap(),
        Quota::new(u32::MAX, Duration::from_secs(366 * 24 * 3600)).unwrap(),
        Quota::new(7, Duration::from_micros(1_001)).unwrap(),
    ];
    rt.block_on(async {
        for quota in quotas {
            for algorithm in Algorithm::ALL {
                let ops: Vec<Op> = (0..30)
                    .map(|i| match i % 5 {
                        0 => Op::Hit {
                            advance: 0,
                            cost: 2,
                        },
                        1 => Op::Hit {
                            advance: 1,
                            cost: 1,
                        },
                        2 => Op::Peek { advance: 333 },
                        3 => Op::Hit {
                            advance: 17,
                            cost: quota.limit().saturating_add(1).max(2),
                        },
                        _ => Op::Hit {
                            advance: quota.period_micros() / 3,
                            cost: quota.limit().min(5),
                        },
                    })
                    .collect();
                run_case(&store, algorithm, quota, start, &ops)
                    .await
                    .unwrap();
            }
        }
    });
}

/// The sliding window at its largest limit (10,000): filling the log, refusing, and
/// sliding past its oldest entries agree with the reference.
#[test]
fn sliding_window_at_max_limit_matches_core() {
    let server = RedisServer::spawn();
    let rt = runtime();
    let store = common::client_clock_store(&server.url());
    let limit = SlidingWindowState::MAX_LIMIT;
    let quota = Quota::new(limit, Duration::from_secs(10)).unwrap();
    let key = next_key(Algorithm::SlidingWindow);
    rt.block_on(async {
        let mut reference = RateLimitState::new(Algorithm::SlidingWindow);
        let mut now = 1_700_000_000_000_000u64;
        // Distinct timestamps: one log entry per unit.
        for i in 0..u64::from(limit) + 50 {
            now += 700 + i % 3;
            let t = Timestamp::from_micros(now);
            let cost = if i % 97 == 0 { 3 } else { 1 };
            let expected = reference.step(t, &quota, cost);
            let got = store
                .hit(&key, Algorithm::SlidingWindow, &quota, cost, t)
                .await
                .unwrap();
            assert_eq!(got, expected, "step {i}");
        }
        // Jump to where half the log has expired, then refill.
        now += 3_500_000;
        for i in 0..200 {
            let t = Timestamp::from_micros(now + i);
            let expected = reference.step(t, &quota, 40);
            let got = store
                .hit(&key, Algorithm::SlidingWindow, &quota, 40, t)
                .await
                .unwrap();
            assert_eq!(got, expected, "refill {i}");
        }
    });
}

/// Client-clock debounce: first sighting opens a window; repeats inside it are refused and do
/// not extend it; it reopens exactly at its end.
#[test]
fn client_clock_debounce_follows_the_client_clock() {
    let server = RedisServer::spawn();
    let rt = runtime();
    let store = common::client_clock_store(&server.url());
    rt.block_on(async {
        let key = "eq:db:{u1}:=h:fp";
        let w = Duration::from_secs(2);
        let t0 = Timestamp::from_secs(1_700_000_000);
        assert!(store.debounce(key, w, t0).await.unwrap());
        assert!(!store.debounce(key, w, t0).await.unwrap());
        let almost = t0
            .saturating_add(w)
            .saturating_sub(Duration::from_micros(1));
        assert!(!store.debounce(key, w, almost).await.unwrap());
        assert!(store.debounce(key, w, t0.saturating_add(w)).await.unwrap());
        // The reopened window runs from its own start.
        assert!(
            !store
                .debounce(
                    key,
                    w,
                    t0.saturating_add(w * 2)
                        .saturating_sub(Duration::from_micros(1))
                )
                .await
                .unwrap()
        );
        assert!(
            store
                .debounce(key, w, t0.saturating_add(w * 2))
                .await
                .unwrap()
        );
    });
}
