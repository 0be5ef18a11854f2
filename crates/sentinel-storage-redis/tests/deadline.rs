//! The whole-check deadline (`RedisStore::with_check_timeout`): behind a latency-injecting
//! proxy, every check under a slow Redis ends with the fail mode's verdict, and the error is
//! the check deadline's, not a per-command timeout's. Time is tokio's paused clock, so the
//! proxy's delay is virtual; the tests assert outcomes only.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, Error, Event, FailMode, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel,
    StoreError, Verdict,
};
use sentinel_storage_memory::MemoryStore;
use sentinel_storage_redis::{RedisConfig, RedisStore};
use sentinel_testkit::latency_proxy::LatencyProxy;
use sentinel_testkit::redis_server::RedisServer;

const CHECK_TIMEOUT: Duration = Duration::from_millis(200);

fn store_behind(proxy: &LatencyProxy) -> RedisStore {
    RedisConfig::new(format!("redis://{}", proxy.addr()))
        .command_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .with_check_timeout(CHECK_TIMEOUT)
        .unwrap()
}

fn sentinel(store: RedisStore, mode: FailMode) -> Sentinel {
    let policy = Policy::new()
        .rate_limit(
            Quota::per_minute(2).unwrap(),
            Algorithm::SlidingWindow,
            Scope::User,
        )
        .debounce(Duration::from_secs(5), Scope::User);
    let mut b = Sentinel::builder()
        .store(Arc::new(store))
        .policies(PolicyRegistry::single(policy).unwrap())
        .fail_mode(mode);
    if mode == FailMode::Fallback {
        b = b.fallback_store(Arc::new(MemoryStore::new(ManualClock::default())));
    }
    b.build().unwrap()
}

fn event(i: u32) -> Event {
    Event::new()
        .with_user(5)
        .with_chat(5)
        .with_content(i.to_string())
}

/// Without delay the proxy is transparent: real verdicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_delay_the_proxy_passes_real_verdicts() {
    let server = RedisServer::spawn();
    let proxy = LatencyProxy::start(server.addr()).await.unwrap();
    let s = sentinel(store_behind(&proxy), FailMode::Closed);
    let verdicts: Vec<&str> = [
        s.check(&event(1)).await.unwrap(),
        s.check(&event(1)).await.unwrap(),
        s.check(&event(2)).await.unwrap(),
        s.check(&event(3)).await.unwrap(),
    ]
    .iter()
    .map(Verdict::as_str)
    .collect();
    assert_eq!(verdicts, ["allowed", "debounced", "allowed", "throttled"]);
}

#[tokio::test(start_paused = true)]
async fn fail_open_lets_every_slow_check_through_degraded() {
    let server = RedisServer::spawn();
    let proxy = LatencyProxy::start(server.addr()).await.unwrap();
    proxy.set_delay(Duration::from_secs(3));
    let s = sentinel(store_behind(&proxy), FailMode::Open);
    for i in 0..5 {
        match s.check(&event(i)).await.unwrap() {
            Verdict::Allowed(a) => assert!(a.degraded, "check {i} was not degraded"),
            other => panic!("check {i}: expected the fail-open verdict, got {other:?}"),
        }
    }
    assert_eq!(s.stats().failed_open, 5);
}

#[tokio::test(start_paused = true)]
async fn fail_closed_refuses_every_slow_check_with_the_check_deadline() {
    let server = RedisServer::spawn();
    let proxy = LatencyProxy::start(server.addr()).await.unwrap();
    proxy.set_delay(Duration::from_secs(3));
    let s = sentinel(store_behind(&proxy), FailMode::Closed);
    for i in 0..5 {
        match s.check(&event(i)).await {
            // The whole-check deadline, not the 5 s command or connect timeout.
            Err(Error::Store(StoreError::Timeout(d))) => assert_eq!(d, CHECK_TIMEOUT),
            other => panic!("check {i}: expected the check deadline, got {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn fallback_decides_every_slow_check_with_the_fallback_store() {
    let server = RedisServer::spawn();
    let proxy = LatencyProxy::start(server.addr()).await.unwrap();
    proxy.set_delay(Duration::from_secs(3));
    let s = sentinel(store_behind(&proxy), FailMode::Fallback);
    let verdicts: Vec<String> = {
        let mut v = Vec::new();
        for i in [1, 1, 2, 3] {
            v.push(s.check(&event(i)).await.unwrap().as_str().to_owned());
        }
        v
    };
    assert_eq!(verdicts, ["allowed", "debounced", "allowed", "throttled"]);
    assert!(s.stats().fallback_used >= 4);
}
