//! Many threads on one key never get more than the quota allows, and many keys in parallel
//! stay independent. Time comes from a `ManualClock` advanced between rounds; within a round
//! eight tasks on a multi-threaded runtime hammer the store at the same instant.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sentinel_core::{Algorithm, Clock, ManualClock, Quota, RateLimitStore, Timestamp};
use sentinel_storage_memory::MemoryStore;
use tokio::sync::Barrier;

const TASKS: usize = 8;
/// A multiple of 60 s, so fixed windows start here.
const W: Timestamp = Timestamp::from_secs(1_700_000_040);

/// Runs `rounds` rounds; in each, `TASKS` tasks send `per_task` unit hits on one key at the
/// clock's time; then the clock moves by `step`. Returns (time, units granted) per round.
async fn hammer(
    algorithm: Algorithm,
    quota: Quota,
    rounds: usize,
    step: Duration,
    per_task: usize,
) -> Vec<(u64, u32)> {
    let clock = ManualClock::new(W);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let mut timeline = Vec::new();
    for _ in 0..rounds {
        let barrier = Arc::new(Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let (store, clock, barrier) = (store.clone(), clock.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let mut granted = 0u32;
                    for _ in 0..per_task {
                        let d = store
                            .hit("hot", algorithm, &quota, 1, clock.now())
                            .await
                            .unwrap();
                        granted += u32::from(d.allowed);
                    }
                    granted
                })
            })
            .collect();
        let mut granted = 0;
        for t in tasks {
            granted += t.await.unwrap();
        }
        timeline.push((clock.now().as_micros(), granted));
        clock.advance(step);
    }
    timeline
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sliding_window_one_key_eight_tasks_never_exceed_the_limit() {
    let quota = Quota::per_second(100).unwrap();
    let period = quota.period_micros();
    // Demand (8 × 50 per round) always exceeds the limit; rounds a quarter period apart.
    let timeline = hammer(
        Algorithm::SlidingWindow,
        quota,
        16,
        Duration::from_millis(250),
        50,
    )
    .await;
    for &(t, _) in &timeline {
        // Every window of length `period` ending at a grant time.
        let in_window: u32 = timeline
            .iter()
            .filter(|&&(s, _)| s <= t && s + period > t)
            .map(|&(_, n)| n)
            .sum();
        assert!(
            in_window <= 100,
            "{in_window} granted in the window ending at {t}: {timeline:?}"
        );
    }
    // Exact, not merely bounded: the whole budget is granted each time the window has rolled
    // over, nothing in between.
    let granted: Vec<u32> = timeline.iter().map(|&(_, n)| n).collect();
    let expected: Vec<u32> = (0..16).map(|i| if i % 4 == 0 { 100 } else { 0 }).collect();
    assert_eq!(granted, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn gcra_one_key_eight_tasks_grants_exactly_the_rate() {
    // Burst 100, then one unit every 10 ms: 25 per 250 ms round. Every grant is a CAS on the
    // key's word; a lost update would grant more.
    let quota = Quota::per_second(100).unwrap();
    let timeline = hammer(Algorithm::Gcra, quota, 12, Duration::from_millis(250), 50).await;
    let granted: Vec<u32> = timeline.iter().map(|&(_, n)| n).collect();
    let mut expected = vec![25; 12];
    expected[0] = 100;
    assert_eq!(granted, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fixed_window_one_key_eight_tasks_grants_exactly_the_limit() {
    let quota = Quota::per_minute(100).unwrap();
    let timeline = hammer(
        Algorithm::FixedWindow,
        quota,
        8,
        Duration::from_secs(15),
        50,
    )
    .await;
    let granted: Vec<u32> = timeline.iter().map(|&(_, n)| n).collect();
    assert_eq!(granted, [100, 0, 0, 0, 100, 0, 0, 0]);
}

/// 8 tasks hit 2,000 keys (all three algorithms) `limit` times each, in different orders:
/// every key grants exactly `limit`, whatever the other keys do.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn many_keys_in_parallel_stay_independent() {
    const KEYS: usize = 2_000;
    const LIMIT: u32 = 5;
    let clock = ManualClock::new(W);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let quota = Quota::per_minute(LIMIT).unwrap();
    let granted: Arc<Vec<AtomicU32>> = Arc::new((0..KEYS).map(|_| AtomicU32::new(0)).collect());
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, granted, barrier) = (store.clone(), granted.clone(), barrier.clone());
            let now = clock.now();
            tokio::spawn(async move {
                barrier.wait().await;
                for round in 0..LIMIT as usize {
                    for j in 0..KEYS {
                        // Each task walks the keys from its own offset.
                        let k = (j + task * KEYS / TASKS + round) % KEYS;
                        let algorithm = Algorithm::ALL[k % 3];
                        let d = store
                            .hit(&format!("user:{k}"), algorithm, &quota, 1, now)
                            .await
                            .unwrap();
                        if d.allowed {
                            granted[k].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for (k, g) in granted.iter().enumerate() {
        assert_eq!(g.load(Ordering::Relaxed), LIMIT, "key user:{k}");
    }
    assert_eq!(store.len(), KEYS);
}

/// Eight OS threads contend on one key's word (governor's `stresstest_collisions`): every
/// granted cell is recorded exactly once, so exactly `limit` of the 200,000 attempts pass.
#[test]
fn compare_and_swap_under_contention_loses_no_update() {
    for (algorithm, limit) in [
        (Algorithm::Gcra, 150_000),
        (Algorithm::SlidingWindow, 10_000),
    ] {
        let store = MemoryStore::new(ManualClock::new(W));
        let quota = Quota::new(limit, Duration::from_secs(86_400)).unwrap();
        let granted = AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..TASKS {
                s.spawn(|| {
                    for _ in 0..25_000 {
                        if store
                            .hit_sync("hot", algorithm, &quota, 1, W)
                            .unwrap()
                            .allowed
                        {
                            granted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(granted.into_inner(), limit, "{algorithm:?}");
        assert_eq!(store.peek_sync("hot", algorithm, &quota, W).remaining, 0);
    }
}
