//! The coordination contract on Redis: the testkit's coordination section passes unchanged
//! against one real `redis-server` in the default server-clock mode (the suite ages keys on
//! the server), and every key written carries a TTL.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use sentinel_core::CoordinationStore;
use sentinel_storage_redis::RedisStore;
use sentinel_testkit::conformance::{self, ConformanceConfig, CoordinationClock};
use sentinel_testkit::redis_server::RedisServer;

fn server() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(RedisServer::spawn)
}

async fn store() -> (RedisStore, CoordinationClock) {
    (
        common::server_clock_store(&server().url()),
        CoordinationClock::server_ttl([server().url()]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordination_conformance() {
    conformance::coordination(&store, &ConformanceConfig::default().cases(150)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_primitive_writes_a_ttl_in_milliseconds_rounded_up() {
    let (store, _) = store().await;
    let p = common::unique("ttl-check:");
    store
        .add(&format!("{p}:c"), 1, Duration::from_micros(30_000_001))
        .await
        .unwrap();
    store
        .claim(&format!("{p}:l"), Duration::from_secs(30))
        .await
        .unwrap();
    store
        .put(&format!("{p}:v"), b"x", Duration::from_secs(30))
        .await
        .unwrap();
    let mut con = server().connection().await;
    for key in ["c", "l", "v"] {
        let pttl = common::pttl(&mut con, &format!("{p}:{key}")).await;
        assert!(
            (29_000..=30_001).contains(&pttl),
            "{key}: PTTL {pttl} must be the TTL (30 s, rounded up to the ms)"
        );
    }
}
