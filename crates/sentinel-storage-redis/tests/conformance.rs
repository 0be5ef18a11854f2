//! The Redis store passes the testkit's store conformance suite unchanged, in client-clock
//! mode, against one real `redis-server` (each case uses its own keys). The suite's
//! `full_u64_time` option is on: the scripts compute on offsets from `now`, so timestamps far
//! beyond 2^53 µs are exact too.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use sentinel_core::ManualClock;
use sentinel_storage_redis::{RedisConfig, RedisStore, TimeSource};
use sentinel_testkit::conformance::{self, ConformanceConfig};
use sentinel_testkit::redis_server::RedisServer;

/// One server for the whole file (tests run in parallel on it; keys never collide).
fn server() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(RedisServer::spawn)
}

fn config() -> ConformanceConfig {
    ConformanceConfig::default().cases(250).full_u64_time(true)
}

/// A fresh client-clock store; the suite passes the clock's time as `now` on every call.
async fn store(_clock: ManualClock) -> RedisStore {
    common::client_clock_store(&server().url())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_scripts() {
    conformance::rate_limit_scripts(&store, &config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_properties() {
    conformance::rate_limit_properties(&store, &config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debounce() {
    conformance::debounce_scripts(&store).await;
    conformance::debounce_properties(&store, &config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocklist() {
    conformance::blocklist_scripts(&store).await;
    conformance::blocklist_properties(&store, &config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_isolation() {
    conformance::key_isolation(&store).await;
}

/// `Scope::Global` (one budget for everyone) and `Scope::User` through the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes() {
    conformance::scopes(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan() {
    conformance::plan_properties(&store, &config()).await;
}

/// The plan as `EVALSHA` of the plan script (what a server before Redis 7 gets) passes too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_with_functions_off() {
    let store = |_clock: ManualClock| async {
        RedisConfig::new(server().url())
            .time_source(TimeSource::Client)
            .command_timeout(Duration::from_secs(5))
            .functions(false)
            .build()
            .unwrap()
    };
    conformance::plan_properties(&store, &config()).await;
}

/// `forget(subject)`: afterwards a plain `SCAN` of the server (what `redis-cli --scan` does)
/// finds no key of the forgotten user or chat, and every other key is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget() {
    conformance::forget(&store, |_store, prefix| async move {
        let mut con = server().connection().await;
        common::all_keys(&mut con)
            .await
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .collect()
    })
    .await;
}
