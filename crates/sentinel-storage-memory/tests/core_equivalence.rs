//! The store's decisions are exactly the core's: random sequences through `MemoryStore` and
//! through `sentinel_core::RateLimitState` directly, compared field by field. Covers what the
//! conformance suite leaves to each store: a clock stepping back at any point, cost 0, one key
//! used with several algorithms, and idle-key sweeping being invisible.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use sentinel_core::{Algorithm, ManualClock, Quota, RateLimitState, Timestamp};
use sentinel_storage_memory::{MemoryConfig, MemoryStore};

#[derive(Debug, Clone)]
enum Op {
    Hit { key: u8, alg: u8, cost: u32 },
    Peek { key: u8, alg: u8 },
    Reset { key: u8 },
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0..3u8, 0..3u8, prop_oneof![4 => 1..=3u32, 1 => 0..=12u32]).prop_map(|(key, alg, cost)| Op::Hit { key, alg, cost }),
        3 => (0..3u8, 0..3u8).prop_map(|(key, alg)| Op::Peek { key, alg }),
        1 => (0..3u8).prop_map(|key| Op::Reset { key }),
        1 => Just(Op::Sweep),
    ]
}

/// A time step in µs: mostly forward; backwards only when `back` is allowed.
fn step(back: bool) -> BoxedStrategy<i64> {
    let forward = prop_oneof![
        3 => Just(0i64),
        3 => 0..2_000_000i64,
        1 => 0..400_000_000_000i64,
    ];
    if back {
        prop_oneof![5 => forward, 1 => -3_000_000..0i64].boxed()
    } else {
        forward.boxed()
    }
}

fn quota() -> impl Strategy<Value = Quota> {
    (
        1..=10u32,
        prop_oneof![Just(1u64), Just(1_000), 1..=120_000u64],
    )
        .prop_map(|(limit, ms)| Quota::new(limit, Duration::from_millis(ms)).unwrap())
}

/// Runs the sequence through both and compares every decision. Sweeps happen only when
/// `sweeps` (with monotonic time, where dropping idle state is invisible).
fn run(
    quota: Quota,
    start: u64,
    ops: &[(i64, Op)],
    store: &MemoryStore,
    clock: &ManualClock,
    sweeps: bool,
) {
    let mut core: HashMap<u8, RateLimitState> = HashMap::new();
    let mut now = start;
    for (i, (dt, op)) in ops.iter().enumerate() {
        now = now.saturating_add_signed(*dt);
        let ts = Timestamp::from_micros(now);
        clock.set(ts);
        match *op {
            Op::Hit { key, alg, cost } => {
                let alg = Algorithm::ALL[alg as usize];
                let state = core.entry(key).or_insert_with(|| RateLimitState::new(alg));
                if state.algorithm() != alg {
                    *state = RateLimitState::new(alg);
                }
                let want = state.step(ts, &quota, cost);
                let got = store
                    .hit_sync(&format!("k{key}"), alg, &quota, cost, ts)
                    .unwrap();
                assert_eq!(
                    got, want,
                    "step {i}: hit k{key} {alg:?} cost {cost} at {now}"
                );
            }
            Op::Peek { key, alg } => {
                let alg = Algorithm::ALL[alg as usize];
                let want = match core.get(&key) {
                    Some(s) if s.algorithm() == alg => s.peek(ts, &quota),
                    _ => RateLimitState::new(alg).peek(ts, &quota),
                };
                let got = store.peek_sync(&format!("k{key}"), alg, &quota, ts);
                assert_eq!(got, want, "step {i}: peek k{key} {alg:?} at {now}");
            }
            Op::Reset { key } => {
                core.remove(&key);
                futures_reset(store, &format!("k{key}"));
            }
            Op::Sweep if sweeps => {
                store.sweep(ts);
                // What the store may drop is exactly what the core calls idle.
                core.retain(|_, s| !s.is_idle(ts, &quota));
                assert!(store.len() <= core.len(), "step {i}: sweep kept idle keys");
            }
            Op::Sweep => {}
        }
    }
}

fn futures_reset(store: &MemoryStore, key: &str) {
    use sentinel_core::RateLimitStore;
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(store.reset(key))
        .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    /// Any time order (clock steps back included), no sweeping.
    #[test]
    fn store_equals_core_with_clock_steps(
        quota in quota(),
        start in 0u64..=1 << 52,
        ops in proptest::collection::vec((step(true), op()), 1..60),
    ) {
        let clock = ManualClock::new(Timestamp::from_micros(start));
        let store = MemoryStore::with_config(clock.clone(), MemoryConfig::default().sweep_per_insert(0));
        run(quota, start, &ops, &store, &clock, false);
    }

    /// Monotonic time, with full sweeps interleaved and sweeping on every insertion: removing
    /// idle keys never changes a decision.
    #[test]
    fn sweeping_is_invisible(
        quota in quota(),
        start in 0u64..=1 << 52,
        ops in proptest::collection::vec((step(false), op()), 1..60),
    ) {
        let clock = ManualClock::new(Timestamp::from_micros(start));
        let store = MemoryStore::with_config(clock.clone(), MemoryConfig::default().shards(1).sweep_per_insert(1_000));
        run(quota, start, &ops, &store, &clock, true);
    }
}
