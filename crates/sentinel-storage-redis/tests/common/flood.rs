//! Traffic through the engine while Redis fails over: [`Flood`] runs tasks that check events
//! of fresh users as fast as they can and sorts every verdict into "the store decided" or
//! "the fail mode decided"; anything else (a panic, a hang, another error, a verdict the
//! fail mode cannot give) fails the test.

#![allow(dead_code, unreachable_pub)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sentinel_core::{
    Algorithm, Error, Event, FailMode, Policy, PolicyRegistry, Quota, Scope, Sentinel, Verdict,
};
use sentinel_storage_redis::RedisStore;

/// A check still pending after this has hung (far above every timeout of the stores here).
pub const HANG: Duration = Duration::from_secs(10);
/// The per-user limit of [`engine`]: 3 per minute.
pub const LIMIT: u32 = 3;

/// An engine over `store` with one policy, [`LIMIT`] per minute per user.
pub fn engine(store: RedisStore, mode: FailMode, prefix: &str) -> Arc<Sentinel> {
    Arc::new(
        Sentinel::builder()
            .store(Arc::new(store))
            .prefix(prefix)
            .fail_mode(mode)
            .policies(
                PolicyRegistry::single(Policy::new().rate_limit(
                    Quota::per_minute(LIMIT).unwrap(),
                    Algorithm::SlidingWindow,
                    Scope::User,
                ))
                .unwrap(),
            )
            .build()
            .unwrap(),
    )
}

/// What the flood saw.
#[derive(Debug, Default)]
pub struct Counts {
    /// Verdicts the store decided (an allowed event carrying the store's decision).
    pub decided: AtomicU64,
    /// Verdicts the fail mode gave: a degraded pass (`Open`) or a transient store error
    /// (`Closed`).
    pub fail_mode: AtomicU64,
}

impl Counts {
    pub fn decided(&self) -> u64 {
        self.decided.load(Ordering::Relaxed)
    }
    pub fn fail_mode(&self) -> u64 {
        self.fail_mode.load(Ordering::Relaxed)
    }
}

/// Tasks checking fresh users (one check each, so every check reaches the store).
pub struct Flood {
    pub counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Fresh user ids for every flood of the process.
static NEXT_USER: AtomicI64 = AtomicI64::new(1_000_000);

/// A user id no check of this process used.
pub fn fresh_user() -> i64 {
    NEXT_USER.fetch_add(1, Ordering::Relaxed)
}

impl Flood {
    /// Starts `tasks` tasks checking through `engine`, whose fail mode is `mode`.
    pub fn start(engine: &Arc<Sentinel>, mode: FailMode, tasks: usize) -> Self {
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..tasks)
            .map(|_| {
                let (engine, counts, stop) = (engine.clone(), counts.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Acquire) {
                        let event = Event::new().with_user(fresh_user());
                        let outcome = tokio::time::timeout(HANG, engine.check(&event))
                            .await
                            .expect("a check hung during the failover");
                        classify(mode, outcome, &counts);
                    }
                })
            })
            .collect();
        Self {
            counts,
            stop,
            tasks,
        }
    }

    /// Polls until `ready(counts)` holds; fails the test after `deadline` (a bound, not a
    /// measurement) saying `what` it waited for.
    pub async fn wait_until(
        &self,
        what: &str,
        deadline: Duration,
        ready: impl Fn(&Counts) -> bool,
    ) {
        let end = Instant::now() + deadline;
        while !ready(&self.counts) {
            assert!(
                Instant::now() < end,
                "waited {deadline:?} for {what}; saw {:?}",
                self.counts
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops the tasks; a task that panicked fails the test here.
    pub async fn stop(self) -> Arc<Counts> {
        self.stop.store(true, Ordering::Release);
        for t in self.tasks {
            t.await.expect("a flood task panicked");
        }
        self.counts
    }
}

/// Sorts one outcome; panics on anything neither the store nor the fail mode can give.
fn classify(mode: FailMode, outcome: Result<Verdict, Error>, counts: &Counts) {
    match (mode, outcome) {
        // A fresh user's first event: the store allows it, with its decision.
        (_, Ok(Verdict::Allowed(a))) if !a.degraded => {
            let d = a.decision.expect("a store decision");
            assert_eq!(d.remaining, LIMIT - 1, "{d:?}");
            counts.decided.fetch_add(1, Ordering::Relaxed);
        }
        (FailMode::Open, Ok(Verdict::Allowed(a))) => {
            assert!(
                a.decision.is_none(),
                "a degraded pass has no decision: {a:?}"
            );
            counts.fail_mode.fetch_add(1, Ordering::Relaxed);
        }
        (FailMode::Closed, Err(Error::Store(e))) if e.is_transient() => {
            counts.fail_mode.fetch_add(1, Ordering::Relaxed);
        }
        (mode, other) => panic!("{mode:?}: not a store decision nor the fail mode's: {other:?}"),
    }
}

/// A fresh user gets [`LIMIT`] events through, decided by the store, then is throttled: the
/// store (not the fail mode) decides again. Retries while the store still fails (bounded).
pub async fn store_decides_again(engine: &Sentinel, deadline: Duration) {
    let end = Instant::now() + deadline;
    'user: loop {
        assert!(
            Instant::now() < end,
            "the store did not decide again within {deadline:?}"
        );
        let event = Event::new().with_user(fresh_user());
        for n in 1..=LIMIT {
            match tokio::time::timeout(HANG, engine.check(&event))
                .await
                .expect("hung")
            {
                Ok(Verdict::Allowed(a)) if !a.degraded => {
                    assert_eq!(a.decision.unwrap().remaining, LIMIT - n);
                }
                // Still switching: try again with another user.
                Ok(Verdict::Allowed(_)) | Err(Error::Store(_)) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue 'user;
                }
                other => panic!("event {n} of a fresh user: {other:?}"),
            }
        }
        let v = tokio::time::timeout(HANG, engine.check(&event))
            .await
            .expect("hung");
        match v {
            Ok(Verdict::Throttled(_)) => return,
            // Still switching (a slot moved between the two checks): another user.
            Ok(Verdict::Allowed(ref a)) if a.degraded => {}
            Err(Error::Store(_)) => {}
            other => panic!("over the limit: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
