//! The plan operation ([`Store::evaluate`]) against a model composed of the naive models:
//! blocklist → debounce → rate limits (all must pass; a refusal consumes none) → strike →
//! block, on random sequences of plans mixed with admin blocks and unblocks.

use std::collections::HashMap;
use std::time::Duration;

use proptest::prelude::*;
use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStep, Decision, LimitStep, ManualClock, Plan,
    PlanOutcome, Quota, Store, StrikeStep, Timestamp,
};

use super::model::{BlocklistModel, DebounceModel, Q, RateModel};
use super::properties::{Advance, advance, check, resolve_start, start, time_cap};
use super::{ConformanceConfig, StoreFactory, namespace};

const S: u64 = 1_000_000;

/// The limits a plan picks from: (algorithm, limit, period µs).
const LIMITS: [(Algorithm, u32, u64); 3] = [
    (Algorithm::SlidingWindow, 3, S),
    (Algorithm::Gcra, 5, 2 * S),
    (Algorithm::FixedWindow, 4, S),
];
/// Strikes: 2 within 5 s block for 3 s.
const STRIKES: (u32, u64, u64) = (2, 5 * S, 3 * S);

#[derive(Debug, Clone)]
enum PlanOp {
    Evaluate {
        /// Which block keys (0 = user, 1 = chat), in order.
        blocks: Vec<usize>,
        /// Debounce fingerprint 0 or 1, or none.
        debounce: Option<usize>,
        /// Indices into LIMITS, in order (no repeats).
        limits: Vec<usize>,
        cost: u32,
        strike: bool,
    },
    Block {
        key: usize,
        ms: u64,
    },
    Unblock {
        key: usize,
    },
}

#[derive(Debug, Clone)]
struct PlanCase {
    start: (u64, bool),
    /// Keys carry one hash tag (one Redis Cluster slot), or none.
    tagged: bool,
    steps: Vec<(Advance, PlanOp)>,
}

fn plan_op() -> impl Strategy<Value = PlanOp> {
    let limits = proptest::sample::subsequence(vec![0usize, 1, 2], 0..=3)
        .prop_shuffle()
        .boxed();
    let evaluate = (
        proptest::sample::subsequence(vec![0usize, 1], 0..=2),
        proptest::option::of(0..2usize),
        limits,
        prop_oneof![6 => Just(1u32), 2 => 2..=3u32, 1 => Just(6u32)],
        any::<bool>(),
    )
        .prop_map(
            |(blocks, debounce, limits, cost, strike)| PlanOp::Evaluate {
                blocks,
                debounce,
                limits,
                cost,
                strike,
            },
        );
    prop_oneof![
        12 => evaluate,
        1 => (0..2usize, 1..=4_000u64).prop_map(|(key, ms)| PlanOp::Block { key, ms }),
        1 => (0..2usize).prop_map(|key| PlanOp::Unblock { key }),
    ]
}

fn plan_case(config: &ConformanceConfig) -> impl Strategy<Value = PlanCase> {
    (
        start(config),
        any::<bool>(),
        proptest::collection::vec((advance(), plan_op()), 1..=config.max_steps),
    )
        .prop_map(|(start, tagged, steps)| PlanCase {
            start,
            tagged,
            steps,
        })
}

/// The plan semantics, composed from the naive models.
#[derive(Default)]
struct PlanModel {
    blocks: BlocklistModel,
    debounce: DebounceModel,
    rates: HashMap<String, RateModel>,
}

fn q(quota: &Quota) -> Q {
    Q {
        limit: quota.limit(),
        period: quota.period_micros(),
    }
}

fn waits_longer(a: &Decision, b: &Decision) -> bool {
    match (a.retry_after, b.retry_after) {
        (None, Some(_)) => true,
        (Some(x), Some(y)) => x > y,
        _ => false,
    }
}

impl PlanModel {
    fn rate(&mut self, key: &str, algorithm: Algorithm) -> &mut RateModel {
        self.rates
            .entry(key.to_owned())
            .or_insert_with(|| RateModel::new(algorithm))
    }

    fn evaluate(&mut self, plan: &Plan) -> PlanOutcome {
        let now = plan.now.as_micros();
        for (index, key) in plan.blocks.iter().enumerate() {
            if let Some(record) = self.blocks.blocked(key, now) {
                return PlanOutcome::Blocked { index, record };
            }
        }
        if let Some(d) = &plan.debounce
            && !self.debounce.sighting(&d.key, d.window, now)
        {
            return PlanOutcome::Debounced;
        }
        let mut refused: Option<(usize, Decision)> = None;
        for (i, l) in plan.limits.iter().enumerate() {
            let d = self
                .rate(&l.key, l.algorithm)
                .clone()
                .hit(q(&l.quota), now, l.cost);
            if !d.allowed && refused.as_ref().is_none_or(|(_, r)| waits_longer(&d, r)) {
                refused = Some((i, d));
            }
        }
        let Some((index, decision)) = refused else {
            let decisions: Vec<Decision> = plan
                .limits
                .iter()
                .map(|l| self.rate(&l.key, l.algorithm).hit(q(&l.quota), now, l.cost))
                .collect();
            let decision = decisions
                .iter()
                .min_by_key(|d| (d.remaining, std::cmp::Reverse(d.reset_after)))
                .copied();
            return PlanOutcome::Allowed { decision };
        };
        let mut escalated = None;
        if let Some(s) = &plan.strike {
            let d = self
                .rate(&s.key, Algorithm::SlidingWindow)
                .hit(q(&s.quota), now, 1);
            if !d.allowed || d.remaining == 0 {
                self.blocks.block(&s.block_key, s.record.clone());
                self.rates.remove(&s.key);
                escalated = Some(s.record.clone());
            }
        }
        PlanOutcome::Throttled {
            index,
            decision,
            escalated,
        }
    }
}

async fn run_plan_case<F: StoreFactory>(factory: &F, case: PlanCase) -> Result<(), String> {
    let mut now = resolve_start(case.start, S);
    let cap = time_cap(now);
    let clock = ManualClock::new(Timestamp::from_micros(now));
    let store = factory.make(clock.clone()).await;
    let ns = namespace("plan-prop");
    let key = |name: &str| {
        if case.tagged {
            format!("p:{{{ns}}}:{name}")
        } else {
            format!("{ns}:{name}")
        }
    };
    let block_keys = [key("bl-u"), key("bl-c")];
    let mut model = PlanModel::default();
    for (i, (adv, op)) in case.steps.iter().enumerate() {
        now = now.saturating_add(adv.resolve(S, S / 5)).min(cap);
        let ts = Timestamp::from_micros(now);
        clock.set(ts);
        let err = |e| format!("step {i}: {op:?} at t={now}: store error: {e}");
        match op {
            PlanOp::Block { key: k, ms } => {
                let record =
                    BlockRecord::new("admin", "admin:1", ts, Some(Duration::from_millis(*ms)));
                store.block(&block_keys[*k], &record).await.map_err(err)?;
                model.blocks.block(&block_keys[*k], record);
            }
            PlanOp::Unblock { key: k } => {
                store.unblock(&block_keys[*k]).await.map_err(err)?;
                model.blocks.unblock(&block_keys[*k], now);
            }
            PlanOp::Evaluate {
                blocks,
                debounce,
                limits,
                cost,
                strike,
            } => {
                let mut plan = Plan::new(ts);
                plan.blocks = blocks.iter().map(|&b| block_keys[b].clone()).collect();
                plan.debounce = debounce.map(|fp| DebounceStep {
                    key: key(&format!("db:{fp}")),
                    window: Duration::from_secs(1),
                });
                plan.limits = limits
                    .iter()
                    .filter_map(|&l| {
                        let (algorithm, limit, period) = LIMITS[l];
                        let quota = Quota::new(limit, Duration::from_micros(period)).ok()?;
                        Some(LimitStep {
                            key: key(&format!("rl:{l}")),
                            algorithm,
                            quota,
                            cost: *cost,
                        })
                    })
                    .collect();
                if *strike && !plan.limits.is_empty() {
                    let (n, within, block_for) = STRIKES;
                    plan.strike = Some(StrikeStep {
                        key: key("st"),
                        quota: Quota::new(n, Duration::from_micros(within))
                            .map_err(|e| e.to_string())?,
                        block_key: block_keys[0].clone(),
                        record: BlockRecord::new(
                            "escalated",
                            "sentinel:escalation",
                            ts,
                            Some(Duration::from_micros(block_for)),
                        ),
                    });
                }
                let got = store.evaluate(&plan).await.map_err(err)?;
                let want = model.evaluate(&plan);
                if got != want {
                    return Err(format!(
                        "step {i}: evaluate at t={now}:\n  plan:  {plan:?}\n  store: {got:?}\n  model: {want:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Random sequences of plans (any blocks, debounce, up to three limits of different
/// algorithms, escalation), admin blocks and unblocks, against the composed model. Keys carry
/// one hash tag in half the cases (one Redis Cluster slot) and none in the others.
///
/// # Panics
/// On the first difference, with the shrunk sequence.
pub async fn plan_properties<F: StoreFactory>(factory: &F, config: &ConformanceConfig) {
    check("plan = model", 31, config, plan_case(config), |case| {
        run_plan_case(factory, case)
    })
    .await;
}
