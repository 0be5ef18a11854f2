//! The engine's synchronous path (a store with [`Store::as_sync`]: the plan built in a reused
//! per-thread buffer, no future) decides exactly as its general path (a plan built afresh and
//! awaited through [`Store::evaluate`]): verdict sequences on one memory store, seen directly
//! and through a wrapper that hides its synchronous form, are identical (property test).
//! Throttled verdicts carry the quota that refused.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, Decision, Error, Escalation, Event,
    FailMode, ManualClock, Plan, PlanOutcome, Policy, PolicyRegistry, Quota, RateLimitStore, Scope,
    Sentinel, Store, StoreError, Subject, Timestamp, Verdict, async_trait,
};
use sentinel_storage_memory::{MemoryConfig, MemoryStore};

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
                    Scope::UserInChat,
                )
                .escalation(
                    Escalation::new(2, Duration::from_secs(5), Some(Duration::from_secs(3)))
                        .unwrap(),
                ),
        )
        .policy(
            "deb",
            Policy::new()
                .rate_limit(
                    Quota::per_second(1).unwrap(),
                    Algorithm::Gcra,
                    Scope::Custom,
                )
                .debounce(Duration::from_secs(1), Scope::UserInChat),
        )
        .build()
        .unwrap()
}

/// The memory store without its synchronous form: the engine takes its general path.
#[derive(Debug)]
struct AsyncOnly(MemoryStore);

#[async_trait]
impl RateLimitStore for AsyncOnly {
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        self.0.hit(key, algorithm, quota, cost, now).await
    }
    async fn peek(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        self.0.peek(key, algorithm, quota, now).await
    }
    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.0.reset(key).await
    }
}

#[async_trait]
impl DebounceStore for AsyncOnly {
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.0.debounce(key, window, now).await
    }
}

#[async_trait]
impl BlocklistStore for AsyncOnly {
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        self.0.block(key, record).await
    }
    async fn unblock(&self, key: &str) -> Result<bool, StoreError> {
        self.0.unblock(key).await
    }
    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        self.0.blocked(key, now).await
    }
    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        self.0.list_blocked(prefix, now).await
    }
}

#[async_trait]
impl Store for AsyncOnly {
    async fn evaluate(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        self.0.evaluate(plan).await
    }
}

#[derive(Debug, Clone)]
enum Op {
    Check {
        user: Option<i64>,
        chat: Option<i64>,
        handler: Option<&'static str>,
        content: u8,
        custom: Option<&'static str>,
        cost: u32,
    },
    Block {
        user: i64,
        ms: u64,
    },
    Unblock {
        user: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let check = (
        prop_oneof![4 => (1..=2i64).prop_map(Some), 1 => Just(None)],
        prop_oneof![4 => (-2..=-1i64).prop_map(Some), 1 => Just(None)],
        prop_oneof![
            Just(None),
            Just(Some("esc")),
            Just(Some("deb")),
            Just(Some("other"))
        ],
        0..3u8,
        prop_oneof![
            Just(None),
            Just(Some("k1")),
            Just(Some("a long key: not plain, so hashed into the store key"))
        ],
        prop_oneof![4 => Just(1u32), 1 => Just(2u32)],
    )
        .prop_map(|(user, chat, handler, content, custom, cost)| Op::Check {
            user,
            chat,
            handler,
            content,
            custom,
            cost,
        });
    prop_oneof![
        20 => check,
        1 => (1..=2i64, 1..=5_000u64).prop_map(|(user, ms)| Op::Block { user, ms }),
        1 => (1..=2i64).prop_map(|user| Op::Unblock { user }),
    ]
}

fn advance() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => Just(0u64),
        4 => 1..=300_000u64,
        1 => prop_oneof![Just(1_000_000u64), Just(999_999), Just(3_000_000)],
    ]
}

fn engine(store: Arc<dyn Store>, clock: &ManualClock) -> Sentinel {
    Sentinel::builder()
        .store(store)
        .clock(clock.clone())
        .policies(registry())
        .build()
        .unwrap()
}

async fn run(ops: &[(u64, Op)]) -> Result<(), String> {
    let start = Timestamp::from_secs(1_700_000_000);
    let (ca, cb) = (ManualClock::new(start), ManualClock::new(start));
    let sync = engine(Arc::new(MemoryStore::new(ca.clone())), &ca);
    let general = engine(Arc::new(AsyncOnly(MemoryStore::new(cb.clone()))), &cb);
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
                custom,
                cost,
            } => {
                let mut e = Event::new().with_content([*content]).with_cost(*cost);
                if let Some(u) = user {
                    e = e.with_user(*u);
                }
                if let Some(c) = chat {
                    e = e.with_chat(*c);
                }
                if let Some(h) = handler {
                    e = e.with_handler(*h);
                }
                if let Some(k) = custom {
                    e = e.with_custom_key(*k);
                }
                let (a, b) = (sync.check(&e).await, general.check(&e).await);
                let (a, b) = (a.map_err(|e| e.to_string())?, b.map_err(|e| e.to_string())?);
                if a != b {
                    return Err(format!(
                        "step {i}: {op:?}\n  sync:    {a:?}\n  general: {b:?}"
                    ));
                }
            }
            Op::Block { user, ms } => {
                for s in [&sync, &general] {
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
                for s in [&sync, &general] {
                    s.unblock(&Subject::User(*user)).await.unwrap();
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_synchronous_path_decides_as_the_general_path(
        ops in proptest::collection::vec((advance(), op()), 1..80)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        if let Err(e) = rt.block_on(run(&ops)) {
            prop_assert!(false, "{}", e);
        }
    }
}

/// A throttled verdict names the quota that refused: with two limits, the one whose refusal
/// waits longest, on both paths, from the store and from the deny cache alike.
#[tokio::test]
async fn throttled_verdicts_carry_the_refusing_quota() {
    let per_minute = Quota::per_minute(3).unwrap();
    let per_hour = Quota::per_hour(4).unwrap();
    let policy = Policy::new()
        .rate_limit(per_minute, Algorithm::SlidingWindow, Scope::User)
        .rate_limit(per_hour, Algorithm::SlidingWindow, Scope::User);
    for hide_sync in [false, true] {
        let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
        let memory = MemoryStore::new(clock.clone());
        let store: Arc<dyn Store> = if hide_sync {
            Arc::new(AsyncOnly(memory))
        } else {
            Arc::new(memory)
        };
        let s = Sentinel::builder()
            .store(store)
            .clock(clock.clone())
            .policies(PolicyRegistry::single(policy.clone()).unwrap())
            .build()
            .unwrap();
        let e = Event::new().with_user(1);
        let throttled = |v: Verdict| match v {
            Verdict::Throttled(t) => t,
            v => panic!("expected throttled, got {v:?}"),
        };
        for _ in 0..3 {
            assert!(s.check(&e).await.unwrap().is_allowed());
        }
        // The fourth in a minute: the per-minute limit refuses.
        let t = throttled(s.check(&e).await.unwrap());
        assert_eq!(t.quota, per_minute, "sync hidden: {hide_sync}");
        assert_eq!(
            (t.quota.limit(), t.quota.period()),
            (3, Duration::from_secs(60))
        );
        // Answered by the deny cache now: the same quota.
        let t = throttled(s.check(&e).await.unwrap());
        assert_eq!(t.quota, per_minute);
        // A minute later the fourth is granted, and the fifth in the hour is refused by the
        // per-hour limit (which waits longest).
        clock.advance(Duration::from_secs(61));
        assert!(s.check(&e).await.unwrap().is_allowed());
        let t = throttled(s.check(&e).await.unwrap());
        assert_eq!(t.quota, per_hour, "sync hidden: {hide_sync}");
        assert_eq!(&*t.policy, "_");
    }
}

/// While the memory store holds no block record, the plan leaves the block keys out
/// ([`SyncStore::may_hold_blocks`](sentinel_core::SyncStore::may_hold_blocks)); a block
/// stored meanwhile, by another engine on the same store, applies from the next check, and
/// lifting it lets the user through again.
#[tokio::test]
async fn a_block_stored_by_another_engine_applies_at_the_next_check() {
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let (a, admin) = (engine(store.clone(), &clock), engine(store.clone(), &clock));
    let e = Event::new().with_user(1).with_chat(7);
    assert!(a.check(&e).await.unwrap().is_allowed());
    admin
        .block(&Subject::Chat(7), None, "spam", "ops")
        .await
        .unwrap();
    match a.check(&e).await.unwrap() {
        Verdict::Blocked(b) => assert_eq!(b.subject, Subject::Chat(7)),
        other => panic!("expected the chat's block, got {other:?}"),
    }
    admin.unblock(&Subject::Chat(7)).await.unwrap();
    clock.advance(Duration::from_secs(2));
    assert!(a.check(&e).await.unwrap().is_allowed());
}

/// `check_now` decides exactly as `check` (verdicts and counters, on two engines fed the same
/// events), and declines — deciding nothing — where it cannot decide on this thread: a store
/// that waits, an engine with hooks. A store error meets the fail mode at once.
#[tokio::test]
async fn check_now_decides_as_check_and_declines_what_it_cannot() {
    let start = Timestamp::from_secs(1_700_000_000);
    let (ca, cb) = (ManualClock::new(start), ManualClock::new(start));
    let now_engine = engine(Arc::new(MemoryStore::new(ca.clone())), &ca);
    let async_engine = engine(Arc::new(MemoryStore::new(cb.clone())), &cb);
    let repeat = Event::new().with_user(1).with_chat(1).with_content("a");
    let debounced = Event::new()
        .with_user(2)
        .with_chat(2)
        .with_handler("deb")
        .with_custom_key("k")
        .with_content("x");
    let events = [
        repeat.clone(),
        repeat,
        Event::new().with_user(1).with_chat(1).with_handler("esc"),
        debounced.clone(),
        debounced,
    ];
    for round in 0..6 {
        for (i, e) in events.iter().enumerate() {
            let a = now_engine
                .check_now(e)
                .expect("memory decides at once")
                .unwrap();
            let b = async_engine.check(e).await.unwrap();
            assert_eq!(a, b, "round {round}, event {i}");
        }
        ca.advance(Duration::from_millis(150));
        cb.advance(Duration::from_millis(150));
    }
    let stats = now_engine.stats();
    assert_eq!(stats, async_engine.stats());
    assert!(
        stats.throttled > 0 && stats.debounced > 0 && stats.escalations > 0,
        "{stats:?}"
    );

    // Declined: nothing decided, nothing counted.
    let clock = ManualClock::new(start);
    let one = || {
        PolicyRegistry::single(Policy::new().rate_limit(
            Quota::per_minute(1).unwrap(),
            Algorithm::Gcra,
            Scope::User,
        ))
        .unwrap()
    };
    let waits = Sentinel::builder()
        .store(Arc::new(AsyncOnly(MemoryStore::new(clock.clone()))))
        .clock(clock.clone())
        .policies(one())
        .build()
        .unwrap();
    let hooked = Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock.clone())
        .policies(one())
        .on_throttled(|_| async { Ok(()) })
        .build()
        .unwrap();
    let e = Event::new().with_user(9);
    for s in [&waits, &hooked] {
        assert!(s.check_now(&e).is_none());
        assert_eq!(s.stats().checks, 0);
        // The one unit of the minute is still there.
        assert!(s.check(&e).await.unwrap().is_allowed());
    }

    // A store error (the key cap, no room): the fail mode answers at once.
    for (mode, degraded) in [(FailMode::Open, true), (FailMode::Closed, false)] {
        let full = Arc::new(MemoryStore::with_config(
            clock.clone(),
            MemoryConfig::default().max_keys(Some(1)),
        ));
        let s = Sentinel::builder()
            .store(full)
            .clock(clock.clone())
            .policies(one())
            .fail_mode(mode)
            .build()
            .unwrap();
        assert!(
            s.check_now(&Event::new().with_user(1))
                .unwrap()
                .unwrap()
                .is_allowed()
        );
        let second = s.check_now(&Event::new().with_user(2)).unwrap();
        match (second, degraded) {
            (Ok(Verdict::Allowed(a)), true) => assert!(a.degraded),
            (Err(Error::Store(StoreError::CapacityReached(_))), false) => {}
            (other, _) => panic!("{mode:?}: {other:?}"),
        }
        let stats = s.stats();
        assert_eq!(
            (stats.store_errors, stats.failed_open, stats.failed_closed),
            (1, u64::from(degraded), u64::from(!degraded))
        );
    }
}

/// A check made while its thread is being torn down (from another thread-local's destructor,
/// after the engine's per-thread plan buffer and counts may be gone) still decides exactly and
/// is counted: the engine falls back to a plan of its own and to shared counters.
#[test]
fn checks_during_thread_teardown_decide_and_count() {
    struct CheckOnDrop(Option<(Sentinel, std::sync::mpsc::Sender<Vec<bool>>)>);
    impl Drop for CheckOnDrop {
        fn drop(&mut self) {
            let Some((sentinel, report)) = self.0.take() else {
                return;
            };
            let event = Event::new().with_user(9);
            let allowed = (0..4)
                .map(|_| {
                    let check = sentinel.check(&event);
                    let mut check = std::pin::pin!(check);
                    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                    match check.as_mut().poll(&mut cx) {
                        std::task::Poll::Ready(v) => v.unwrap().is_allowed(),
                        std::task::Poll::Pending => panic!("the memory store never waits"),
                    }
                })
                .collect();
            report.send(allowed).unwrap();
        }
    }
    thread_local! {
        static GUARD: std::cell::RefCell<CheckOnDrop> = const { std::cell::RefCell::new(CheckOnDrop(None)) };
    }
    let clock = ManualClock::new(Timestamp::from_secs(1_000));
    let sentinel = Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock)
        .policies(
            PolicyRegistry::single(Policy::new().rate_limit(
                Quota::per_minute(3).unwrap(),
                Algorithm::Gcra,
                Scope::User,
            ))
            .unwrap(),
        )
        .build()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let engine = sentinel.clone();
    std::thread::spawn(move || {
        // The guard first, so its destructor is registered before the engine's thread-locals
        // (destructors run in reverse order: theirs may be gone when it runs).
        GUARD.with(|g| g.borrow_mut().0 = Some((engine.clone(), tx)));
        // One check on the thread, so the engine's thread-locals exist.
        assert!(
            engine
                .check_now(&Event::new().with_user(9))
                .unwrap()
                .unwrap()
                .is_allowed()
        );
    })
    .join()
    .unwrap();
    // 3 per minute: the check above and two more pass, the fourth is refused.
    assert_eq!(rx.recv().unwrap(), [true, true, false, false]);
    let stats = sentinel.stats();
    assert_eq!((stats.checks, stats.allowed, stats.throttled), (5, 3, 2));
}
