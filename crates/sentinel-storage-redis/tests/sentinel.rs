//! Redis Sentinel (feature `sentinel`): a real master, its replica and three sentinels
//! (testkit `SentinelGroup`). The store finds the master through the sentinels; when the
//! master is killed mid-flood nothing panics or hangs, the engine's fail mode decides while
//! the sentinels switch, and the store decides again on the promoted replica without the
//! application restarting.
//!
//! Real clock, real processes, but no assertion on a duration: every wait polls a condition
//! with a generous bound.
#![cfg(feature = "sentinel")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "common/flood.rs"]
mod flood;

use std::sync::Arc;
use std::time::Duration;

use flood::{Flood, engine, store_decides_again};
use sentinel_core::{FailMode, StoreError};
use sentinel_storage_redis::{ConnectionMode, RedisConfig, RedisStore};
use sentinel_testkit::redis_sentinel::{MASTER_NAME, SentinelGroup};

/// The master's password: it has the characters that used to leak through URL redaction.
const PASSWORD: &str = "m4ster/pw#?@x";
/// Bound on each wait (far above a normal failover of a few seconds).
const WAIT: Duration = Duration::from_secs(45);

fn store(group: &SentinelGroup, mode: ConnectionMode) -> RedisStore {
    RedisConfig::sentinel(MASTER_NAME, group.sentinel_urls())
        .master_password(PASSWORD)
        .connection_mode(mode)
        .connect_timeout(Duration::from_millis(500))
        .command_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

/// Kill the master under two floods — fail-open over kept multiplexed connections, fail-closed
/// over pooled ones: every verdict is the store's decision or the fail mode's, the fail
/// mode does decide during the switch, and afterwards the store decides again, on the
/// promoted replica, with the same engines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_killed_mid_flood_then_the_promoted_replica_decides() {
    let group = Arc::new(
        tokio::task::spawn_blocking(|| SentinelGroup::spawn_with_password(PASSWORD))
            .await
            .unwrap(),
    );
    let old = group.master_addr().unwrap();
    let open = engine(
        store(&group, ConnectionMode::Multiplexed(2)),
        FailMode::Open,
        "ha-open",
    );
    let closed = engine(
        store(&group, ConnectionMode::Pooled),
        FailMode::Closed,
        "ha-closed",
    );
    store_decides_again(&open, WAIT).await;
    store_decides_again(&closed, WAIT).await;

    let floods = [
        Flood::start(&open, FailMode::Open, 4),
        Flood::start(&closed, FailMode::Closed, 4),
    ];
    for f in &floods {
        f.wait_until("decisions before the kill", WAIT, |c| c.decided() >= 100)
            .await;
    }

    let g = group.clone();
    tokio::task::spawn_blocking(move || g.servers()[0].stop())
        .await
        .unwrap();
    for f in &floods {
        f.wait_until(
            "the fail mode to decide while the master is down",
            WAIT,
            |c| c.fail_mode() >= 1,
        )
        .await;
    }
    let g = group.clone();
    let new = tokio::task::spawn_blocking(move || g.wait_for_new_master(old, WAIT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new, group.servers()[1].addr(), "the replica was promoted");

    // Decisions resume under the same floods, through the same engines and stores.
    for f in &floods {
        let before = f.counts.decided();
        f.wait_until("decisions on the promoted replica", WAIT, |c| {
            c.decided() >= before + 100
        })
        .await;
    }
    for f in floods {
        let counts = f.stop().await;
        eprintln!("flood: {counts:?}");
        assert!(
            counts.decided() >= 200 && counts.fail_mode() >= 1,
            "{counts:?}"
        );
    }
    store_decides_again(&open, WAIT).await;
    store_decides_again(&closed, WAIT).await;

    // And the state is on the promoted replica.
    let mut con = group.servers()[1]
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("AUTH")
        .arg(PASSWORD)
        .query_async(&mut con)
        .await
        .unwrap();
    let (_, keys): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("MATCH")
        .arg("ha-open:*")
        .arg("COUNT")
        .arg(100_000)
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(
        !keys.is_empty(),
        "the promoted replica holds the engine's keys"
    );
}

/// The master password is what the store logs in with: without it the master refuses the
/// store (`Unavailable`, the password never in the error); with it, `ping` passes; on
/// another database (`master_db`), the keys land there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_credentials_and_db_are_used() {
    let group = tokio::task::spawn_blocking(|| SentinelGroup::spawn_with_password(PASSWORD))
        .await
        .unwrap();
    let without = RedisConfig::sentinel(MASTER_NAME, group.sentinel_urls())
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let e = without.ping().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    let wrong = RedisConfig::sentinel(MASTER_NAME, group.sentinel_urls())
        .master_password("wrong/pw#1")
        .build()
        .unwrap();
    let e = wrong.ping().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    assert!(!format!("{e:?} {e}").contains("wrong/pw#1"), "{e:?}");

    let on_db3 = RedisConfig::sentinel(MASTER_NAME, group.sentinel_urls())
        .master_password(PASSWORD)
        .master_db(3)
        .build()
        .unwrap();
    on_db3.ping().await.unwrap();
    let engine = engine(on_db3, FailMode::Closed, "ha-db");
    store_decides_again(&engine, WAIT).await;
    let mut con = group.servers()[0]
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("AUTH")
        .arg(PASSWORD)
        .query_async(&mut con)
        .await
        .unwrap();
    let on = |db: i64| redis::cmd("SELECT").arg(db).to_owned();
    let () = on(3).query_async(&mut con).await.unwrap();
    let in3: u64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
    let () = on(0).query_async(&mut con).await.unwrap();
    let in0: u64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
    assert!(in3 > 0 && in0 == 0, "db3 {in3} keys, db0 {in0}");
}

/// Invalid Sentinel settings are refused at build with a message saying what to change;
/// Sentinel-only options on another target too. Neither password is ever shown.
#[test]
fn invalid_sentinel_config_is_refused() {
    use sentinel_storage_redis::RedisConfigError;
    let urls = ["redis://:s3nt%2Fpw@127.0.0.1:26379"];
    let invalid = |c: RedisConfig| match c.build().unwrap_err() {
        RedisConfigError::Invalid(m) => m,
        other => panic!("{other:?}"),
    };
    assert!(invalid(RedisConfig::sentinel("", urls)).contains("master's name"));
    assert!(
        invalid(RedisConfig::sentinel("m", Vec::<String>::new())).contains("at least one sentinel")
    );
    assert!(invalid(RedisConfig::sentinel("m", urls).master_db(-1)).contains("master_db"));
    let tls = invalid(RedisConfig::sentinel("m", ["rediss://:s3nt/pw@h:26379"]));
    assert!(
        tls.contains("not supported") && !tls.contains("s3nt/pw"),
        "{tls}"
    );
    for misapplied in [
        RedisConfig::new("redis://h/").master_password("p"),
        RedisConfig::new("redis://h/").master_username("u"),
        RedisConfig::new("redis://h/").master_db(1),
    ] {
        assert!(invalid(misapplied).contains("applies to RedisConfig::sentinel only"));
    }
    // A password with a raw `/` does not parse as a URL: the error says so, masked.
    let e = RedisConfig::sentinel("m", ["redis://:s3nt/pw@127.0.0.1:26379"])
        .build()
        .unwrap_err();
    assert!(matches!(e, RedisConfigError::InvalidUrl { .. }), "{e:?}");
    assert!(!format!("{e:?} {e}").contains("s3nt"), "{e:?}");
    let config = RedisConfig::sentinel("m", urls)
        .master_username("app")
        .master_password("m/pw#?x");
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("s3nt") && !shown.contains("m/pw#?x") && shown.contains("app"),
        "{shown}"
    );
    let store = config.build().unwrap();
    let shown = format!("{store:?}");
    assert!(
        !shown.contains("s3nt/pw") && !shown.contains("m/pw#?x"),
        "{shown}"
    );
    assert!(store.sentinel_pool().is_some() && store.pool().is_none());
}
