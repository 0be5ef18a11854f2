//! In server-time mode (the default, no grace), every rate-limit key lives exactly as long as
//! its state can change a decision: a sliding-window key one period after its newest entry, a
//! fixed-window key until its window ends, a GCRA key until its bucket is full again. (Debounce
//! and block keys: `keys.rs`, `ttls_match_the_state_lifetime`.) A key that expires early
//! forgets usage; one that lives longer wastes memory: both fail here.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use sentinel_core::{Algorithm, Decision, Quota, RateLimitStore, Timestamp};
use sentinel_testkit::redis_server::RedisServer;

/// `PTTL` (ms) must be the lifetime rounded up to the ms plus 1 (Redis truncates its expiry
/// clock), less the little server time between the script and `PTTL`.
fn assert_lifetime(ttl: i64, lifetime: Duration, what: &str) {
    let expected = i64::try_from(lifetime.as_micros().div_ceil(1000)).unwrap() + 1;
    assert!(
        ttl <= expected && ttl > expected - 1_000,
        "{what}: PTTL {ttl} ms, but its state matters for {lifetime:?} (expected {expected} ms)"
    );
}

async fn hit(
    store: &impl RateLimitStore,
    key: &str,
    algorithm: Algorithm,
    q: &Quota,
    cost: u32,
) -> Decision {
    // Server-time mode ignores this `now`.
    let d = store
        .hit(key, algorithm, q, cost, Timestamp::from_secs(1))
        .await
        .unwrap();
    assert!(d.allowed, "{key}: {d:?}");
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rate_limit_key_lives_exactly_as_long_as_its_state_matters() {
    let server = RedisServer::spawn();
    let mut con = server.connection().await;
    let store = common::server_clock_store(&server.url());
    for (period, limit) in [
        (Duration::from_secs(3600), 10),
        (Duration::from_secs(90), 7),
    ] {
        let q = Quota::new(limit, period).unwrap();
        let p = period.as_secs();

        // Sliding window: one period after the newest entry, after every hit.
        let key = format!("t:rl-sw:{{a{p}}}:=h");
        for cost in [1, 2] {
            hit(&store, &key, Algorithm::SlidingWindow, &q, cost).await;
            let ttl = common::pttl(&mut con, &key).await;
            assert_lifetime(ttl, period, "sliding window");
        }

        // Fixed window: until the current window ends (`reset_after` of a used window).
        let key = format!("t:rl-fw:{{a{p}}}:=h");
        for cost in [1, 3] {
            let d = hit(&store, &key, Algorithm::FixedWindow, &q, cost).await;
            assert!(d.reset_after <= period && !d.reset_after.is_zero(), "{d:?}");
            let ttl = common::pttl(&mut con, &key).await;
            assert_lifetime(ttl, d.reset_after, "fixed window");
        }

        // GCRA: until the bucket is full again (`reset_after`).
        let key = format!("t:rl-gcra:{{a{p}}}:=h");
        for cost in [1, 4] {
            let d = hit(&store, &key, Algorithm::Gcra, &q, cost).await;
            let ttl = common::pttl(&mut con, &key).await;
            assert_lifetime(ttl, d.reset_after, "gcra");
        }
    }
}
