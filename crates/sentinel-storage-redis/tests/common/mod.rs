//! Helpers shared by the integration tests (each test file spawns its own Redis).
#![allow(dead_code, unreachable_pub)]
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use sentinel_storage_redis::{RedisConfig, RedisStore, TimeSource};

/// A store in client-clock mode (decisions follow the `now` each call passes).
pub fn client_clock_store(url: &str) -> RedisStore {
    RedisConfig::new(url)
        .time_source(TimeSource::Client)
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A store in the default server-clock mode.
pub fn server_clock_store(url: &str) -> RedisStore {
    RedisConfig::new(url)
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A key prefix no other test in this process uses.
pub fn unique(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{name}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Every key in the database (SCAN, never KEYS).
pub async fn all_keys(con: &mut MultiplexedConnection) -> Vec<String> {
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(con)
            .await
            .unwrap();
        keys.extend(page);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The key's PTTL (-1 = no TTL, -2 = no key).
pub async fn pttl(con: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(con).await.unwrap()
}
