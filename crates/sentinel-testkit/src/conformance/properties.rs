//! Property tests: random sequences through the store and the naive models, with identical
//! results required at every step.
//!
//! proptest's runner is synchronous and a store's futures may need the caller's runtime (a
//! Redis connection is bound to it), so the cases are generated with proptest strategies and
//! run with `.await` here; on a failure the value tree is shrunk the same way, by hand.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, MAX_PERIOD, ManualClock, Quota,
    RateLimitStore, Timestamp,
};

use super::model::{BlocklistModel, DebounceModel, Q, RateModel, RecordState};
use super::{ConformanceConfig, MAX_TIMESTAMP_US, StoreFactory, namespace};

const MS: u64 = 1_000;
const S: u64 = 1_000_000;
const YEAR: u64 = 365 * 86_400 * S;
/// Most shrink runs after a failure.
const MAX_SHRINK_RUNS: u32 = 2_000;

/// Runs `cases` cases of `strategy` through `run`; on the first failure, shrinks and panics
/// with the smallest failing input.
pub(crate) async fn check<St, Run, Fut>(
    name: &str,
    salt: u64,
    config: &ConformanceConfig,
    strategy: St,
    run: Run,
) where
    St: Strategy,
    St::Value: Debug,
    Run: Fn(St::Value) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut runner = config.runner(salt);
    for case in 0..config.cases {
        let mut tree = strategy
            .new_tree(&mut runner)
            .unwrap_or_else(|e| panic!("conformance `{name}`: cannot generate a case: {e}"));
        let Err(first) = run(tree.current()).await else {
            continue;
        };
        let mut failure = (format!("{:#?}", tree.current()), first);
        let mut last_failed = true;
        for _ in 0..MAX_SHRINK_RUNS {
            let moved = if last_failed {
                tree.simplify()
            } else {
                tree.complicate()
            };
            if !moved {
                break;
            }
            match run(tree.current()).await {
                Err(e) => {
                    failure = (format!("{:#?}", tree.current()), e);
                    last_failed = true;
                }
                Ok(()) => last_failed = false,
            }
        }
        panic!(
            "conformance property `{name}` failed (case {case}, seed {:#x}): {}\nminimal input: {}",
            config.seed, failure.1, failure.0
        );
    }
}

/// A time step, resolved against the case's quota or window.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Advance {
    Zero,
    Micros(u64),
    /// The GCRA emission interval plus -1, 0 or +1 µs.
    Emission(i8),
    /// The period (or debounce window) plus -1, 0 or +1 µs.
    Period(i8),
    /// `n / 1000` of the period, `n` in 0..=2000.
    Fraction(u16),
    /// Up to a year.
    Huge(u64),
}

impl Advance {
    pub(crate) fn resolve(self, period: u64, emission: u64) -> u64 {
        let nudge = |base: u64, d: i8| base.saturating_add_signed(i64::from(d));
        match self {
            Self::Zero => 0,
            Self::Micros(n) | Self::Huge(n) => n,
            Self::Emission(d) => nudge(emission, d),
            Self::Period(d) => nudge(period, d),
            Self::Fraction(n) => period / 1000 * u64::from(n),
        }
    }
}

pub(crate) fn advance() -> impl Strategy<Value = Advance> + Clone {
    prop_oneof![
        4 => Just(Advance::Zero),
        2 => (1..=1_000u64).prop_map(Advance::Micros),
        2 => (-1i8..=1).prop_map(Advance::Emission),
        3 => (-1i8..=1).prop_map(Advance::Period),
        4 => (0..=2_000u16).prop_map(Advance::Fraction),
        1 => (0..=YEAR).prop_map(Advance::Huge),
    ]
}

/// A start time: typical, anywhere up to 2^52 µs, the epoch, just below 2^52, or (optionally)
/// near `u64::MAX / 2`; optionally aligned to the period.
pub(crate) fn start(config: &ConformanceConfig) -> BoxedStrategy<(u64, bool)> {
    let typical = 1_600_000_000 * S..=1_900_000_000 * S;
    let mut choices = vec![
        (6, typical.boxed()),
        (2, (0..=1u64 << 52).boxed()),
        (1, Just(0u64).boxed()),
        (1, ((1u64 << 52) - (1 << 40)..=1u64 << 52).boxed()),
    ];
    if config.full_u64_time {
        choices.push((2, (u64::MAX / 2 - (1 << 50)..=u64::MAX / 2).boxed()));
    }
    (
        proptest::strategy::Union::new_weighted(choices),
        any::<bool>(),
    )
        .boxed()
}

pub(crate) fn resolve_start((t, aligned): (u64, bool), period: u64) -> u64 {
    if aligned { t - t % period } else { t }
}

/// The latest time a case may reach.
pub(crate) fn time_cap(start: u64) -> u64 {
    if start > MAX_TIMESTAMP_US {
        u64::MAX / 2 + (1 << 60)
    } else {
        MAX_TIMESTAMP_US
    }
}

/// A cost, resolved against the limit.
#[derive(Debug, Clone, Copy)]
enum Cost {
    One,
    Small(u32),
    Limit,
    LimitMinusOne,
    OverLimit(u32),
    Any(u32),
}

impl Cost {
    fn resolve(self, limit: u32) -> u32 {
        match self {
            Self::One => 1,
            Self::Small(n) => n,
            Self::Limit => limit,
            Self::LimitMinusOne => (limit - 1).max(1),
            Self::OverLimit(n) => limit + n,
            Self::Any(n) => 1 + n % (limit + 2),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum RateOp {
    Hit { key: usize, cost: Cost },
    Peek { key: usize },
    Reset { key: usize },
}

fn rate_op() -> impl Strategy<Value = RateOp> {
    let key = 0..2usize;
    let cost = prop_oneof![
        8 => Just(Cost::One),
        3 => (1..=4u32).prop_map(Cost::Small),
        1 => Just(Cost::Limit),
        1 => Just(Cost::LimitMinusOne),
        1 => (1..=3u32).prop_map(Cost::OverLimit),
        2 => any::<u32>().prop_map(Cost::Any),
    ];
    prop_oneof![
        10 => (key.clone(), cost).prop_map(|(key, cost)| RateOp::Hit { key, cost }),
        3 => key.clone().prop_map(|key| RateOp::Peek { key }),
        1 => key.prop_map(|key| RateOp::Reset { key }),
    ]
}

#[derive(Debug, Clone)]
struct RateCase {
    limit: u32,
    period: u64,
    start: (u64, bool),
    steps: Vec<(Advance, RateOp)>,
}

fn rate_case(config: &ConformanceConfig) -> impl Strategy<Value = RateCase> {
    let limit = prop_oneof![6 => 1..=5u32, 3 => 6..=20u32, 1 => 21..=64u32];
    let period = prop_oneof![
        2 => Just(MS),
        3 => Just(S),
        3 => Just(60 * S),
        1 => Just(3_600 * S),
        1 => Just(86_400 * S),
        1 => Just(MAX_PERIOD.as_micros() as u64),
        4 => MS..=10 * S,
    ];
    let steps = proptest::collection::vec((advance(), rate_op()), 1..=config.max_steps);
    (limit, period, start(config), steps).prop_map(|(limit, period, start, steps)| RateCase {
        limit,
        period,
        start,
        steps,
    })
}

async fn run_rate_case<F: StoreFactory>(
    factory: &F,
    algorithm: Algorithm,
    case: RateCase,
) -> Result<(), String> {
    let quota = Quota::new(case.limit, Duration::from_micros(case.period))
        .map_err(|e| format!("invalid generated quota: {e}"))?;
    let q = Q {
        limit: case.limit,
        period: case.period,
    };
    let mut now = resolve_start(case.start, case.period);
    let cap = time_cap(now);
    let clock = ManualClock::new(Timestamp::from_micros(now));
    let store = factory.make(clock.clone()).await;
    let ns = namespace("rl-prop");
    let keys = [format!("{ns}:a"), format!("{ns}:b")];
    let mut models = [RateModel::new(algorithm), RateModel::new(algorithm)];
    let emission = quota.emission_interval_micros();
    for (i, &(adv, op)) in case.steps.iter().enumerate() {
        now = now
            .saturating_add(adv.resolve(case.period, emission))
            .min(cap);
        let ts = Timestamp::from_micros(now);
        clock.set(ts);
        let (what, got, want) = match op {
            RateOp::Hit { key, cost } => {
                let cost = cost.resolve(case.limit);
                let got = store.hit(&keys[key], algorithm, &quota, cost, ts).await;
                (
                    format!("hit(key {key}, cost {cost})"),
                    got,
                    models[key].hit(q, now, cost),
                )
            }
            RateOp::Peek { key } => {
                let got = store.peek(&keys[key], algorithm, &quota, ts).await;
                (format!("peek(key {key})"), got, models[key].peek(q, now))
            }
            RateOp::Reset { key } => {
                store
                    .reset(&keys[key])
                    .await
                    .map_err(|e| format!("step {i}: reset failed: {e}"))?;
                models[key] = RateModel::new(algorithm);
                continue;
            }
        };
        let got = got.map_err(|e| format!("step {i}: {what} at t={now}: store error: {e}"))?;
        if got != want {
            return Err(format!(
                "step {i}: {what} at t={now} ({algorithm:?}, {quota:?}):\n  store: {got:?}\n  model: {want:?}"
            ));
        }
    }
    Ok(())
}

/// Random (advance, hit/peek/reset) sequences on two keys, for every algorithm, against the
/// naive models.
///
/// # Panics
/// On the first difference, with the shrunk sequence.
pub async fn rate_limit_properties<F: StoreFactory>(factory: &F, config: &ConformanceConfig) {
    for (salt, algorithm) in (1u64..).zip(Algorithm::ALL) {
        let name = format!("rate limit {algorithm:?} = model");
        check(&name, salt, config, rate_case(config), |case| {
            run_rate_case(factory, algorithm, case)
        })
        .await;
    }
}

/// Debounce windows used by the properties, in µs.
const WINDOWS: [u64; 4] = [MS, S, 2 * S, 60 * S];

#[derive(Debug, Clone)]
struct DebounceCase {
    start: (u64, bool),
    steps: Vec<(Advance, usize, usize)>,
}

fn debounce_case(config: &ConformanceConfig) -> impl Strategy<Value = DebounceCase> {
    let step = (advance(), 0..3usize, 0..WINDOWS.len());
    (
        start(config),
        proptest::collection::vec(step, 1..=config.max_steps),
    )
        .prop_map(|(start, steps)| DebounceCase { start, steps })
}

async fn run_debounce_case<F: StoreFactory>(factory: &F, case: DebounceCase) -> Result<(), String> {
    let mut now = resolve_start(case.start, S);
    let cap = time_cap(now);
    let clock = ManualClock::new(Timestamp::from_micros(now));
    let store = factory.make(clock.clone()).await;
    let ns = namespace("db-prop");
    let keys = [format!("{ns}:a"), format!("{ns}:b"), format!("{ns}:ab")];
    let mut model = DebounceModel::default();
    for (i, &(adv, key, w)) in case.steps.iter().enumerate() {
        let window = WINDOWS[w];
        // Periods and emission intervals both mean "a window" here.
        now = now.saturating_add(adv.resolve(window, window / 2)).min(cap);
        let ts = Timestamp::from_micros(now);
        clock.set(ts);
        let window = Duration::from_micros(window);
        let got = store
            .debounce(&keys[key], window, ts)
            .await
            .map_err(|e| format!("step {i}: debounce failed: {e}"))?;
        let want = model.sighting(&keys[key], window, now);
        if got != want {
            return Err(format!(
                "step {i}: debounce(key {key}, {window:?}) at t={now}: store {got}, model {want}"
            ));
        }
    }
    Ok(())
}

/// Random debounce sequences on three keys with varying windows, against the model.
///
/// # Panics
/// On the first difference, with the shrunk sequence.
pub async fn debounce_properties<F: StoreFactory>(factory: &F, config: &ConformanceConfig) {
    check(
        "debounce = model",
        11,
        config,
        debounce_case(config),
        |case| run_debounce_case(factory, case),
    )
    .await;
}

/// Blocklist keys and list prefixes (under the case's namespace).
const BL_KEYS: [&str; 4] = ["a", "ab", "b:1", "b:2"];
const BL_PREFIXES: [&str; 5] = ["", "a", "ab", "b:", "c"];

#[derive(Debug, Clone, Copy)]
enum BlockOp {
    /// Block for `Some(ms)` or permanently.
    Block {
        key: usize,
        ms: Option<u64>,
        reason: usize,
    },
    Unblock {
        key: usize,
    },
    Blocked {
        key: usize,
    },
    List {
        prefix: usize,
    },
}

#[derive(Debug, Clone)]
struct BlockCase {
    start: (u64, bool),
    steps: Vec<(Advance, BlockOp)>,
}

fn block_case(config: &ConformanceConfig) -> impl Strategy<Value = BlockCase> {
    let key = 0..BL_KEYS.len();
    let ms = prop_oneof![
        1 => Just(None),
        1 => Just(Some(1)),
        2 => Just(Some(1_000)),
        2 => (1..=10_000u64).prop_map(Some),
    ];
    let op = prop_oneof![
        3 => (key.clone(), ms, 0..3usize).prop_map(|(key, ms, reason)| BlockOp::Block { key, ms, reason }),
        1 => key.clone().prop_map(|key| BlockOp::Unblock { key }),
        3 => key.prop_map(|key| BlockOp::Blocked { key }),
        2 => (0..BL_PREFIXES.len()).prop_map(|prefix| BlockOp::List { prefix }),
    ];
    (
        start(config),
        proptest::collection::vec((advance(), op), 1..=config.max_steps),
    )
        .prop_map(|(start, steps)| BlockCase { start, steps })
}

async fn run_block_case<F: StoreFactory>(factory: &F, case: BlockCase) -> Result<(), String> {
    const REASONS: [&str; 3] = ["spam", "flood 🌊", ""];
    let mut now = resolve_start(case.start, S);
    let cap = time_cap(now);
    let clock = ManualClock::new(Timestamp::from_micros(now));
    let store = factory.make(clock.clone()).await;
    let ns = namespace("bl-prop");
    let key = |k: usize| format!("{ns}:{}", BL_KEYS[k]);
    let mut model = BlocklistModel::default();
    for (i, &(adv, op)) in case.steps.iter().enumerate() {
        now = now.saturating_add(adv.resolve(S, MS)).min(cap);
        let ts = Timestamp::from_micros(now);
        clock.set(ts);
        let err = |e| format!("step {i}: {op:?} at t={now}: store error: {e}");
        match op {
            BlockOp::Block { key: k, ms, reason } => {
                let record = BlockRecord::new(
                    REASONS[reason],
                    format!("admin:{reason}"),
                    ts,
                    ms.map(Duration::from_millis),
                );
                store.block(&key(k), &record).await.map_err(err)?;
                model.block(&key(k), record);
            }
            BlockOp::Unblock { key: k } => {
                let got = store.unblock(&key(k)).await.map_err(err)?;
                // Whether an expired record still "was there" is the store's business.
                let state = model.unblock(&key(k), now);
                if state != RecordState::Expired && got != (state == RecordState::Active) {
                    return Err(format!(
                        "step {i}: unblock(key {k}) at t={now}: store {got}, model {state:?}"
                    ));
                }
            }
            BlockOp::Blocked { key: k } => {
                let got = store.blocked(&key(k), ts).await.map_err(err)?;
                let want = model.blocked(&key(k), now);
                if got != want {
                    return Err(format!(
                        "step {i}: blocked(key {k}) at t={now}:\n  store: {got:?}\n  model: {want:?}"
                    ));
                }
            }
            BlockOp::List { prefix } => {
                let prefix = format!("{ns}:{}", BL_PREFIXES[prefix]);
                let mut got = store.list_blocked(&prefix, ts).await.map_err(err)?;
                got.sort_by(|a, b| a.0.cmp(&b.0));
                let want = model.list(&prefix, now);
                if got != want {
                    return Err(format!(
                        "step {i}: list_blocked({prefix:?}) at t={now}:\n  store: {got:?}\n  model: {want:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Random block / unblock / blocked / list sequences against the model.
///
/// # Panics
/// On the first difference, with the shrunk sequence.
pub async fn blocklist_properties<F: StoreFactory>(factory: &F, config: &ConformanceConfig) {
    check(
        "blocklist = model",
        21,
        config,
        block_case(config),
        |case| run_block_case(factory, case),
    )
    .await;
}
