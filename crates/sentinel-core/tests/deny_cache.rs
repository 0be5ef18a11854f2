//! The deny cache: in one process, verdict sequences with and without it are identical
//! (property test), and a flood from one user costs a bounded number of store calls while
//! escalation still fires.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, Decision, Escalation, Event,
    ManualClock, Plan, PlanOutcome, Policy, PolicyRegistry, Quota, RateLimitStore, Scope, Sentinel,
    Store, StoreError, Subject, Timestamp, async_trait,
};
use sentinel_storage_memory::MemoryStore;

fn registry() -> PolicyRegistry {
    PolicyRegistry::builder()
        .default_policy(
            Policy::new()
                .rate_limit(
                    Quota::per_second(3).unwrap(),
                    Algorithm::SlidingWindow,
                    Scope::User,
                )
                .rate_limit(
                    Quota::new(5, Duration::from_secs(2)).unwrap(),
                    Algorithm::Gcra,
                    Scope::Chat,
                ),
        )
        .policy(
            "esc",
            Policy::new()
                .rate_limit(
                    Quota::per_second(2).unwrap(),
                    Algorithm::FixedWindow,
                    Scope::User,
                )
                .escalation(
                    Escalation::new(2, Duration::from_secs(5), Some(Duration::from_secs(3)))
                        .unwrap(),
                ),
        )
        .policy(
            "deb",
            Policy::new()
                .rate_limit(Quota::per_second(1).unwrap(), Algorithm::Gcra, Scope::User)
                .debounce(Duration::from_secs(1), Scope::User),
        )
        .build()
        .unwrap()
}

#[derive(Debug, Clone)]
enum Op {
    Check {
        user: i64,
        chat: i64,
        handler: Option<&'static str>,
        content: u8,
        cost: u32,
    },
    Block {
        user: i64,
        ms: u64,
    },
    Unblock {
        user: i64,
    },
    Reset {
        user: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let check = (
        1..=2i64,
        -2..=-1i64,
        prop_oneof![Just(None), Just(Some("esc")), Just(Some("deb"))],
        0..4u8,
        prop_oneof![4 => Just(1u32), 1 => Just(2u32)],
    )
        .prop_map(|(user, chat, handler, content, cost)| Op::Check {
            user,
            chat,
            handler,
            content,
            cost,
        });
    prop_oneof![
        20 => check,
        1 => (1..=2i64, 1..=5_000u64).prop_map(|(user, ms)| Op::Block { user, ms }),
        1 => (1..=2i64).prop_map(|user| Op::Unblock { user }),
        1 => (1..=2i64).prop_map(|user| Op::Reset { user }),
    ]
}

fn advance() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => Just(0u64),
        4 => 1..=300_000u64,
        1 => prop_oneof![Just(1_000_000u64), Just(999_999), Just(1_000_001), Just(3_000_000)],
    ]
}

fn engine(ttl: Duration, clock: &ManualClock) -> Sentinel {
    Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock.clone())
        .policies(registry())
        .deny_cache_ttl(ttl)
        .build()
        .unwrap()
}

async fn run(ops: &[(u64, Op)]) -> Result<(), String> {
    let start = Timestamp::from_secs(1_700_000_000);
    let (ca, cb) = (ManualClock::new(start), ManualClock::new(start));
    let cached = engine(Duration::from_secs(1), &ca);
    let plain = engine(Duration::ZERO, &cb);
    let mut now = start;
    for (i, (adv, op)) in ops.iter().enumerate() {
        now = now.saturating_add(Duration::from_micros(*adv));
        ca.set(now);
        cb.set(now);
        match op {
            Op::Check {
                user,
                chat,
                handler,
                content,
                cost,
            } => {
                let mut e = Event::new()
                    .with_user(*user)
                    .with_chat(*chat)
                    .with_content([*content])
                    .with_cost(*cost);
                if let Some(h) = handler {
                    e = e.with_handler(*h);
                }
                let (a, b) = (cached.check(&e).await, plain.check(&e).await);
                let (a, b) = (a.map_err(|e| e.to_string())?, b.map_err(|e| e.to_string())?);
                if a != b {
                    return Err(format!(
                        "step {i}: {op:?}\n  cached: {a:?}\n  plain:  {b:?}"
                    ));
                }
            }
            Op::Block { user, ms } => {
                for s in [&cached, &plain] {
                    s.block(
                        &Subject::User(*user),
                        Some(Duration::from_millis(*ms)),
                        "x",
                        "t",
                    )
                    .await
                    .unwrap();
                }
            }
            Op::Unblock { user } => {
                for s in [&cached, &plain] {
                    s.unblock(&Subject::User(*user)).await.unwrap();
                }
            }
            Op::Reset { user } => {
                for s in [&cached, &plain] {
                    s.reset(&Subject::User(*user), None).await.unwrap();
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn verdicts_are_identical_with_and_without_the_cache(
        ops in proptest::collection::vec((advance(), op()), 1..80)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        if let Err(e) = rt.block_on(run(&ops)) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// Counts the store operations the engine makes.
#[derive(Debug)]
struct Counting {
    inner: MemoryStore,
    evaluations: AtomicUsize,
}

#[async_trait]
impl RateLimitStore for Counting {
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        self.inner.hit(key, algorithm, quota, cost, now).await
    }
    async fn peek(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        self.inner.peek(key, algorithm, quota, now).await
    }
    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.inner.reset(key).await
    }
}

#[async_trait]
impl DebounceStore for Counting {
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.inner.debounce(key, window, now).await
    }
}

#[async_trait]
impl BlocklistStore for Counting {
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        self.inner.block(key, record).await
    }
    async fn unblock(&self, key: &str) -> Result<bool, StoreError> {
        self.inner.unblock(key).await
    }
    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        self.inner.blocked(key, now).await
    }
    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        self.inner.list_blocked(prefix, now).await
    }
}

#[async_trait]
impl Store for Counting {
    async fn evaluate(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        self.inner.evaluate(plan).await
    }
}

/// 10,000 updates from one user, 1 ms apart: at most 100 store operations, and escalation
/// still blocks the user.
#[tokio::test]
async fn a_flood_from_one_user_costs_few_store_calls_and_still_escalates() {
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let store = Arc::new(Counting {
        inner: MemoryStore::new(clock.clone()),
        evaluations: AtomicUsize::new(0),
    });
    let policy = Policy::new()
        .rate_limit(
            Quota::per_minute(5).unwrap(),
            Algorithm::SlidingWindow,
            Scope::User,
        )
        .escalation(
            Escalation::new(3, Duration::from_secs(60), Some(Duration::from_secs(600))).unwrap(),
        );
    let sentinel = Sentinel::builder()
        .store(store.clone())
        .clock(clock.clone())
        .policies(PolicyRegistry::single(policy).unwrap())
        .build()
        .unwrap();
    let event = Event::new().with_user(9).with_chat(9).with_content("spam");
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for _ in 0..10_000 {
        let v = sentinel.check(&event).await.unwrap();
        *kinds.entry(v.as_str()).or_default() += 1;
        clock.advance(Duration::from_millis(1));
    }
    let evaluations = store.evaluations.load(Ordering::Relaxed);
    assert!(
        evaluations <= 100,
        "{evaluations} store operations for the flood"
    );
    assert_eq!(kinds.get("allowed"), Some(&5));
    assert_eq!(kinds.get("throttled"), Some(&3), "{kinds:?}");
    assert_eq!(sentinel.stats().escalations, 1);
    assert_eq!(kinds.get("blocked"), Some(&(10_000 - 8)));
}
