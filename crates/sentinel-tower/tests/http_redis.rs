//! The layer over real HTTP on a real `redis-server` (testkit): replicas share one limit, the
//! window is exact on Redis too, API keys never reach Redis, and the fail modes answer.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{START, client, header, serve_layer};
use http::HeaderName;
use sentinel_core::{
    Algorithm, FailMode, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel,
};
use sentinel_storage_redis::{RedisConfig, TimeSource};
use sentinel_testkit::redis_server::RedisServer;
use sentinel_tower::{Key, RateLimitLayer};

fn policies(limit: u32, algorithm: Algorithm) -> PolicyRegistry {
    PolicyRegistry::single(Policy::new().rate_limit(
        Quota::per_minute(limit).unwrap(),
        algorithm,
        Scope::Custom,
    ))
    .unwrap()
}

/// One replica's engine: its own Redis connection pool, the shared manual clock.
fn replica(server: &RedisServer, clock: &ManualClock, limit: u32, fail_mode: FailMode) -> Sentinel {
    let store = RedisConfig::new(server.url())
        .time_source(TimeSource::Client)
        .connect_timeout(Duration::from_millis(500))
        .command_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    Sentinel::builder()
        .store(Arc::new(store))
        .clock(clock.clone())
        .policies(policies(limit, Algorithm::SlidingWindow))
        .fail_mode(fail_mode)
        .build()
        .unwrap()
}

fn layer(sentinel: Sentinel) -> RateLimitLayer {
    RateLimitLayer::builder(sentinel)
        .key(Key::header(HeaderName::from_static("x-api-key")))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_app_instances_on_one_redis_share_the_limit_with_exact_headers() {
    let server = RedisServer::spawn();
    let clock = ManualClock::new(START);
    let (a, hits_a) = serve_layer(layer(replica(&server, &clock, 4, FailMode::Closed))).await;
    let (b, hits_b) = serve_layer(layer(replica(&server, &clock, 4, FailMode::Closed))).await;
    let http = client();
    let send = |addr: std::net::SocketAddr, key: &'static str| {
        http.get(format!("http://{addr}/"))
            .header("x-api-key", key)
            .send()
    };
    // Alternating replicas: one budget of four, counted down across both.
    for (i, r) in [3, 2, 1, 0].into_iter().enumerate() {
        let addr = if i % 2 == 0 { a } else { b };
        let res = send(addr, "shared").await.unwrap();
        assert_eq!(res.status(), 200, "request {i}");
        assert_eq!(header(&res, "ratelimit"), format!("\"default\";r={r};t=60"));
        clock.advance(Duration::from_secs(5));
    }
    for addr in [a, b] {
        let res = send(addr, "shared").await.unwrap();
        assert_eq!(res.status(), 429);
        assert_eq!(header(&res, "retry-after"), "40");
    }
    assert_eq!(hits_a.get() + hits_b.get(), 4);
    assert_eq!((hits_a.get(), hits_b.get()), (2, 2));
    // Another key is counted apart, on either replica.
    assert_eq!(send(b, "other").await.unwrap().status(), 200);
    // The first request leaves the window 60 s after it was made: one more passes, on b.
    clock.advance(Duration::from_secs(40));
    assert_eq!(send(b, "shared").await.unwrap().status(), 200);
    assert_eq!(send(a, "shared").await.unwrap().status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_never_reach_redis_as_they_are() {
    let server = RedisServer::spawn();
    let clock = ManualClock::new(START);
    let (addr, _) = serve_layer(layer(replica(&server, &clock, 1, FailMode::Closed))).await;
    let secret = "sk_live_TOPSECRET4242";
    for _ in 0..2 {
        client()
            .get(format!("http://{addr}/"))
            .header("x-api-key", secret)
            .send()
            .await
            .unwrap();
    }
    let mut conn = server.connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the limit was stored");
    let mut everything = keys.join("\n");
    for key in &keys {
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        everything.push_str(&kind);
        everything.push_str(&String::from_utf8_lossy(&dump));
    }
    assert!(!everything.contains("TOPSECRET"), "{everything}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failure_is_503_when_closed_and_passes_without_headers_when_open() {
    let server = RedisServer::spawn();
    let clock = ManualClock::new(START);
    let (closed, closed_hits) =
        serve_layer(layer(replica(&server, &clock, 5, FailMode::Closed))).await;
    let (open, open_hits) = serve_layer(layer(replica(&server, &clock, 5, FailMode::Open))).await;
    let send = |addr: std::net::SocketAddr| {
        client()
            .get(format!("http://{addr}/"))
            .header("x-api-key", "k")
            .send()
    };
    assert_eq!(send(closed).await.unwrap().status(), 200);
    server.stop();
    let res = send(closed).await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(header(&res, "ratelimit"), "");
    assert_eq!(closed_hits.get(), 1);
    let res = send(open).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "ratelimit"), "", "no decision, no counts");
    assert_eq!(open_hits.get(), 1);
}
