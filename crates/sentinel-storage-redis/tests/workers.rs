//! Two "workers" (two stores with separate pools) hammering one key from many tasks never
//! allow more than `limit` per window together.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{Algorithm, Clock, Quota, RateLimitStore, SystemClock, Timestamp};
use sentinel_storage_redis::{ConnectionMode, RedisConfig, RedisStore, TimeSource};
use sentinel_testkit::redis_server::RedisServer;

const TASKS_PER_WORKER: usize = 24;
const HITS_PER_TASK: usize = 25;

/// Fires `TASKS_PER_WORKER × HITS_PER_TASK` hits from each store at once and counts grants.
async fn hammer(
    workers: &[RedisStore],
    key: &str,
    algorithm: Algorithm,
    quota: Quota,
    now: impl Fn() -> Timestamp + Clone + Send + Sync + 'static,
) -> u32 {
    let mut tasks = Vec::new();
    for store in workers {
        for _ in 0..TASKS_PER_WORKER {
            let store = store.clone();
            let key = key.to_owned();
            let now = now.clone();
            tasks.push(tokio::spawn(async move {
                let mut granted = 0u32;
                for _ in 0..HITS_PER_TASK {
                    let d = store.hit(&key, algorithm, &quota, 1, now()).await.unwrap();
                    granted += u32::from(d.allowed);
                }
                granted
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total
}

fn worker(url: &str, time: TimeSource, mode: ConnectionMode) -> RedisStore {
    RedisConfig::new(url)
        .time_source(time)
        .connection_mode(mode)
        .pool_size(8)
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Client clock standing still: all three algorithms grant exactly `limit` in total, across
/// two workers with separate pools (one multiplexed, one pooled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_exceed_the_limit_client_clock() {
    let server = RedisServer::spawn();
    let workers = [
        worker(
            &server.url(),
            TimeSource::Client,
            ConnectionMode::Multiplexed(2),
        ),
        worker(&server.url(), TimeSource::Client, ConnectionMode::Pooled),
    ];
    let quota = Quota::per_hour(37).unwrap();
    let fixed = Timestamp::from_secs(1_700_000_000);
    for algorithm in Algorithm::ALL {
        let key = format!("w:rl-{}:{{g}}:=h", algorithm.as_str());
        let granted = hammer(&workers, &key, algorithm, quota, move || fixed).await;
        assert_eq!(granted, 37, "{algorithm:?}");
    }
}

/// Server clock (Redis `TIME`), long period: sliding window and GCRA grant exactly `limit`
/// across the two workers, whatever their own clocks say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_never_exceed_the_limit_server_clock() {
    let server = RedisServer::spawn();
    let workers = [
        worker(
            &server.url(),
            TimeSource::Server,
            ConnectionMode::Multiplexed(1),
        ),
        worker(
            &server.url(),
            TimeSource::Server,
            ConnectionMode::Multiplexed(3),
        ),
    ];
    let quota = Quota::per_hour(50).unwrap();
    for algorithm in [Algorithm::SlidingWindow, Algorithm::Gcra] {
        let key = format!("w:rl-{}:{{g}}:=h", algorithm.as_str());
        // The `now` argument is ignored in server-clock mode: pass wildly skewed clocks.
        let skew = Arc::new(SystemClock);
        let granted = hammer(&workers, &key, algorithm, quota, move || {
            let t = skew.now();
            if t.as_micros().is_multiple_of(2) {
                t.saturating_add(Duration::from_secs(7200))
            } else {
                Timestamp::EPOCH
            }
        })
        .await;
        assert_eq!(granted, 50, "{algorithm:?}");
    }
}
