//! [`Plan`]: everything one update asks of the store, decided in one store operation.
//!
//! The engine resolves the policy once and turns an event into a plan; the store evaluates
//! the whole plan ([`Store::evaluate`](crate::Store::evaluate)) in this order and stops at the
//! first step that decides:
//!
//! 1. **blocklist**: the first key of [`Plan::blocks`] holding a record in force at `now`
//!    → [`PlanOutcome::Blocked`];
//! 2. **debounce**: a repeat inside the open window of [`Plan::debounce`] →
//!    [`PlanOutcome::Debounced`] (a first sighting opens the window and goes on);
//! 3. **rate limits**: every limit of [`Plan::limits`] must grant its cost. When one refuses,
//!    **none is consumed** and the outcome is [`PlanOutcome::Throttled`] with the refusal that
//!    waits longest; otherwise all are consumed → [`PlanOutcome::Allowed`];
//! 4. **strike** (throttled only, when [`Plan::strike`] is set): one strike is counted
//!    (a sliding window of `strikes` per `within`); the strike that fills it
//!    5. **blocks** the offender with [`StrikeStep::record`] and clears the strikes.
//!
//! [`evaluate_stepwise`] is that order written with the single-purpose store calls: the
//! reference the conformance suite compares stores with, and the default for stores that have
//! no single-operation form.

use std::time::Duration;

use crate::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, Decision, Quota, RateLimitStore,
    StoreError, Timestamp,
};

/// One rate limit of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitStep {
    /// The state key.
    pub key: String,
    /// How it is counted.
    pub algorithm: Algorithm,
    /// How much.
    pub quota: Quota,
    /// Units this update costs.
    pub cost: u32,
}

/// The debounce step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebounceStep {
    /// The debounce key (subject, policy and fingerprint).
    pub key: String,
    /// How long a first sighting suppresses repeats.
    pub window: Duration,
}

/// The strike-and-escalation step of a plan, taken only when a limit refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrikeStep {
    /// The strikes key (sliding window).
    pub key: String,
    /// `strikes` per `within`: the strike that leaves no room blocks.
    pub quota: Quota,
    /// The offender's blocklist key.
    pub block_key: String,
    /// The record stored when the strikes are full.
    pub record: BlockRecord,
}

/// Everything one update asks of the store. See the [module docs](self) for the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The time of the decision (stores on a server clock may use their own).
    pub now: Timestamp,
    /// Blocklist keys, checked in order.
    pub blocks: Vec<String>,
    /// The debounce step, if the policy debounces and the event has a fingerprint.
    pub debounce: Option<DebounceStep>,
    /// The rate limits; all must pass.
    pub limits: Vec<LimitStep>,
    /// What a refusal counts, if the policy escalates.
    pub strike: Option<StrikeStep>,
}

impl Plan {
    /// An empty plan at `now` (allows everything).
    pub const fn new(now: Timestamp) -> Self {
        Self {
            now,
            blocks: Vec::new(),
            debounce: None,
            limits: Vec::new(),
            strike: None,
        }
    }

    /// Every key the plan may touch, in plan order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let blocks = self.blocks.iter().map(String::as_str);
        let debounce = self.debounce.iter().map(|d| d.key.as_str());
        let limits = self.limits.iter().map(|l| l.key.as_str());
        let strike = self
            .strike
            .iter()
            .flat_map(|s| [s.key.as_str(), s.block_key.as_str()]);
        blocks.chain(debounce).chain(limits).chain(strike)
    }
}

/// The facts of a plan's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanOutcome {
    /// `blocks[index]` holds `record`, in force.
    Blocked {
        /// Which block key.
        index: usize,
        /// The record.
        record: BlockRecord,
    },
    /// A repeat inside the debounce window.
    Debounced,
    /// Every limit granted its cost.
    Allowed {
        /// Of the limits' decisions, the one with the fewest units left ([`tightest`]);
        /// `None` when the plan has no limit.
        decision: Option<Decision>,
    },
    /// `limits[index]` refused (the refusal that waits longest); nothing was consumed.
    Throttled {
        /// Which limit.
        index: usize,
        /// Its refusal.
        decision: Decision,
        /// The block the strike caused, if it filled the strikes.
        escalated: Option<BlockRecord>,
    },
}

/// Whether refusal `a` waits longer than `b` (`retry_after: None`, never, waits longest).
pub fn waits_longer(a: &Decision, b: &Decision) -> bool {
    match (a.retry_after, b.retry_after) {
        (None, Some(_)) => true,
        (Some(x), Some(y)) => x > y,
        _ => false,
    }
}

/// The index of the refusal that waits longest among `decisions` (first on ties).
pub fn longest_refusal(decisions: &[Decision]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, d) in decisions.iter().enumerate() {
        if d.allowed {
            continue;
        }
        match best.and_then(|b| decisions.get(b)) {
            Some(b) if !waits_longer(d, b) => {}
            _ => best = Some(i),
        }
    }
    best
}

/// Of several decisions, the one a caller should report: a refusal if there is one (the one
/// that waits longest), else the one with the fewest units left (then the longest
/// `reset_after`).
pub fn tightest(decisions: &[Decision]) -> Option<Decision> {
    if let Some(i) = longest_refusal(decisions) {
        return decisions.get(i).copied();
    }
    decisions
        .iter()
        .min_by_key(|d| (d.remaining, std::cmp::Reverse(d.reset_after)))
        .copied()
}

/// Evaluates `plan` with the single-purpose store calls, in the plan order.
///
/// Each call is atomic on its own key; the plan as a whole is not: several limits are first
/// peeked (a limit refuses when fewer than `cost` units are available) and only then consumed,
/// so a concurrent update between the two may still make a later limit refuse after earlier
/// ones were consumed. Stores that can do better override
/// [`Store::evaluate`](crate::Store::evaluate).
///
/// # Errors
/// The first store error.
pub async fn evaluate_stepwise<S>(store: &S, plan: &Plan) -> Result<PlanOutcome, StoreError>
where
    S: RateLimitStore + DebounceStore + BlocklistStore + ?Sized,
{
    let now = plan.now;
    for (index, key) in plan.blocks.iter().enumerate() {
        if let Some(record) = store.blocked(key, now).await? {
            return Ok(PlanOutcome::Blocked { index, record });
        }
    }
    if let Some(d) = &plan.debounce
        && !store.debounce(&d.key, d.window, now).await?
    {
        return Ok(PlanOutcome::Debounced);
    }
    let refusal = if plan.limits.len() > 1 {
        let mut short = None;
        for (i, l) in plan.limits.iter().enumerate() {
            let p = store.peek(&l.key, l.algorithm, &l.quota, now).await?;
            if !p.allowed || p.remaining < l.cost {
                // A refusal changes nothing: this is the decision itself.
                let d = store
                    .hit(&l.key, l.algorithm, &l.quota, l.cost, now)
                    .await?;
                if !d.allowed
                    && short
                        .as_ref()
                        .is_none_or(|(_, s): &(usize, Decision)| waits_longer(&d, s))
                {
                    short = Some((i, d));
                }
            }
        }
        short
    } else {
        None
    };
    let refusal = match refusal {
        Some(r) => Some(r),
        None => {
            let mut decisions = Vec::with_capacity(plan.limits.len());
            let mut refused = None;
            for (i, l) in plan.limits.iter().enumerate() {
                let d = store
                    .hit(&l.key, l.algorithm, &l.quota, l.cost, now)
                    .await?;
                if !d.allowed {
                    refused = Some((i, d));
                    break;
                }
                decisions.push(d);
            }
            match refused {
                None => {
                    return Ok(PlanOutcome::Allowed {
                        decision: tightest(&decisions),
                    });
                }
                Some(r) => Some(r),
            }
        }
    };
    let Some((index, decision)) = refusal else {
        return Ok(PlanOutcome::Allowed { decision: None });
    };
    let mut escalated = None;
    if let Some(s) = &plan.strike {
        let strike = store
            .hit(&s.key, Algorithm::SlidingWindow, &s.quota, 1, now)
            .await?;
        if !strike.allowed || strike.remaining == 0 {
            store.block(&s.block_key, &s.record).await?;
            store.reset(&s.key).await?;
            escalated = Some(s.record.clone());
        }
    }
    Ok(PlanOutcome::Throttled {
        index,
        decision,
        escalated,
    })
}
