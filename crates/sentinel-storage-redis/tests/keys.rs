//! What the store leaves in Redis: after a mixed workload, every key of ours has a TTL (except
//! permanent blocks, the one documented exception), no key lies outside the prefix, and each
//! decision is a single command (one round trip).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, Escalation, Event, ManualClock, Policy,
    PolicyRegistry, Quota, RateLimitStore, Scope, Sentinel, Subject, Timestamp,
};
use sentinel_storage_redis::{RedisConfig, RedisStore, TimeSource};
use sentinel_testkit::redis_server::RedisServer;

fn policies() -> PolicyRegistry {
    let q = |n| Quota::per_minute(n).unwrap();
    PolicyRegistry::builder()
        .default_policy(
            Policy::new()
                .rate_limit(q(5), Algorithm::SlidingWindow, Scope::User)
                .debounce(Duration::from_secs(2), Scope::UserInChat)
                .escalation(
                    Escalation::new(2, Duration::from_secs(60), Some(Duration::from_secs(600)))
                        .unwrap(),
                ),
        )
        .policy(
            "gcra",
            Policy::new().rate_limit(q(3), Algorithm::Gcra, Scope::Chat),
        )
        .policy(
            "fw",
            Policy::new()
                .rate_limit(q(3), Algorithm::FixedWindow, Scope::UserInChat)
                .escalation(Escalation::new(1, Duration::from_secs(60), None).unwrap()),
        )
        .policy(
            "custom",
            Policy::new().rate_limit(q(2), Algorithm::Gcra, Scope::Custom),
        )
        .build()
        .unwrap()
}

async fn workload(store: RedisStore, prefix: &str, clock: &ManualClock) {
    let sentinel = Sentinel::builder()
        .store(Arc::new(store.clone()))
        .clock(clock.clone())
        .prefix(prefix)
        .policies(policies())
        .build()
        .unwrap();
    for i in 0..120i64 {
        let user = i % 7;
        let chat = -(i % 3);
        let handler = ["start", "gcra", "fw", "custom"][(i % 4) as usize];
        let event = Event::new()
            .with_user(user)
            .with_chat(chat)
            .with_handler(handler)
            .with_custom_key(format!("k:{} *{{}}", i % 5))
            .with_content(format!("msg {}", i % 4));
        sentinel.check(&event).await.unwrap();
        if i % 10 == 0 {
            sentinel.peek(&event).await.unwrap();
        }
        if i % 17 == 0 {
            sentinel
                .reset(&Subject::User(user), Some(handler))
                .await
                .unwrap();
        }
        clock.advance(Duration::from_millis(150));
    }
    // Admin blocks: one temporary, one permanent, one lifted.
    sentinel
        .block(
            &Subject::User(1_000),
            Some(Duration::from_secs(30)),
            "spam",
            "admin",
        )
        .await
        .unwrap();
    sentinel
        .block(&Subject::User(1_001), None, "abuse", "admin")
        .await
        .unwrap();
    sentinel
        .block(
            &Subject::Chat(-1_002),
            Some(Duration::from_secs(5)),
            "raid",
            "admin",
        )
        .await
        .unwrap();
    assert!(sentinel.unblock(&Subject::Chat(-1_002)).await.unwrap());
    assert!(!sentinel.list_blocked().await.unwrap().is_empty());
    // Direct store calls too: every algorithm, debounce, a zero-length block.
    let q = Quota::per_second(2).unwrap();
    for a in Algorithm::ALL {
        let k = format!("{prefix}:rl-{}:{{direct}}:=x", a.as_str());
        for _ in 0..4 {
            store.hit(&k, a, &q, 1, clock.now_ts()).await.unwrap();
        }
    }
    assert!(
        store
            .debounce(
                &format!("{prefix}:db:{{direct}}:=x:f"),
                Duration::from_micros(1500),
                clock.now_ts()
            )
            .await
            .unwrap()
    );
    let zero = BlockRecord::new("zero", "t", clock.now_ts(), Some(Duration::ZERO));
    store
        .block(&format!("{prefix}:bl:{{zero}}:=all"), &zero)
        .await
        .unwrap();
    assert!(
        store
            .blocked(&format!("{prefix}:bl:{{zero}}:=all"), clock.now_ts())
            .await
            .unwrap()
            .is_none()
    );
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}

impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        sentinel_core::Clock::now(self)
    }
}

/// After a mixed workload through the engine and the store, in both clock modes: every key
/// under the prefix has a TTL except permanent blocks (whose records say `expires_at: None`),
/// and nothing was written outside the prefixes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_has_a_ttl_and_stays_under_the_prefix() {
    let server = RedisServer::spawn();
    let url = server.url();
    let mut con = server.connection().await;
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let server_clock = RedisConfig::new(&url).build().unwrap();
    let client_clock = RedisConfig::new(&url)
        .time_source(TimeSource::Client)
        .build()
        .unwrap();
    workload(server_clock, "srv", &clock).await;
    workload(client_clock, "cli", &clock).await;

    let keys = common::all_keys(&mut con).await;
    assert!(keys.len() > 40, "the workload wrote keys: {keys:?}");
    let mut permanent = Vec::new();
    for key in &keys {
        assert!(
            key.starts_with("srv:") || key.starts_with("cli:"),
            "key outside the prefixes: {key:?}"
        );
        let ttl = common::pttl(&mut con, key).await;
        if ttl == -2 {
            continue; // expired between SCAN and PTTL
        }
        if ttl == -1 {
            // The documented exception: a permanent block.
            let raw: String = redis::cmd("GET")
                .arg(key)
                .query_async(&mut con)
                .await
                .unwrap();
            let record = BlockRecord::decode(&raw).unwrap();
            assert_eq!(
                record.expires_at, None,
                "{key} has no TTL but is not a permanent block"
            );
            assert!(key.contains(":bl:"), "{key}");
            permanent.push(key.clone());
        } else {
            assert!(ttl > 0, "{key}: {ttl}");
        }
    }
    // Exactly the permanent admin block in each prefix, plus permanent escalation blocks from
    // the "fw" policy (escalation without `block_for`).
    assert!(
        permanent.contains(&"srv:bl:{u1001}:=all".to_owned()),
        "{permanent:?}"
    );
    assert!(
        permanent.contains(&"cli:bl:{u1001}:=all".to_owned()),
        "{permanent:?}"
    );
}

/// Server-clock TTLs are the state's lifetime: a GCRA key lives `reset_after` (rounded up to
/// the millisecond, plus one), a debounce key its window, a block its length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttls_match_the_state_lifetime() {
    let server = RedisServer::spawn();
    let mut con = server.connection().await;
    let store = common::server_clock_store(&server.url());
    let now = Timestamp::from_secs(1);
    let q = Quota::per_hour(10).unwrap();
    let d = store
        .hit("t:rl-gcra:{a}:=h", Algorithm::Gcra, &q, 4, now)
        .await
        .unwrap();
    let ttl = common::pttl(&mut con, "t:rl-gcra:{a}:=h").await;
    let expected = i64::try_from(d.reset_after.as_millis()).unwrap() + 1;
    assert!(
        ttl <= expected + 1 && ttl > expected - 1_000,
        "ttl {ttl}, reset {:?}",
        d.reset_after
    );
    store
        .debounce("t:db:{a}:=h:f", Duration::from_secs(30), now)
        .await
        .unwrap();
    let ttl = common::pttl(&mut con, "t:db:{a}:=h:f").await;
    assert!(ttl <= 30_000 && ttl > 29_000, "{ttl}");
    let r = BlockRecord::new("x", "y", now, Some(Duration::from_secs(90)));
    store.block("t:bl:{a}:=all", &r).await.unwrap();
    let ttl = common::pttl(&mut con, "t:bl:{a}:=all").await;
    assert!(ttl <= 90_001 && ttl > 89_000, "{ttl}");
}

async fn command_calls(
    con: &mut redis::aio::MultiplexedConnection,
) -> std::collections::HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(con)
        .await
        .unwrap();
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .collect()
}

/// Commands the scripts themselves run (counted by Redis, but not round trips).
const SCRIPT_INTERNAL: [&str; 9] = [
    "time", "get", "set", "del", "hmget", "hget", "hset", "hdel", "pexpire",
];

/// N decisions through `store` after a stats reset: the top-level commands Redis saw.
async fn top_level_calls(
    store: &RedisStore,
    con: &mut redis::aio::MultiplexedConnection,
) -> std::collections::HashMap<String, u64> {
    let q = Quota::per_minute(50).unwrap();
    // Warm up: connections made, scripts loaded.
    for a in Algorithm::ALL {
        store
            .hit(
                &format!("r:warm-{}:{{w}}", a.as_str()),
                a,
                &q,
                1,
                Timestamp::EPOCH,
            )
            .await
            .unwrap();
    }
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(con)
        .await
        .unwrap();
    for i in 0..300 {
        let a = Algorithm::ALL[i % 3];
        store
            .hit(
                &format!("r:{}:{{u{}}}", a.as_str(), i % 7),
                a,
                &q,
                1,
                Timestamp::EPOCH,
            )
            .await
            .unwrap();
    }
    let mut calls = command_calls(con).await;
    calls.retain(|k, _| {
        !SCRIPT_INTERNAL.contains(&k.as_str()) && k != "info" && k != "config|resetstat"
    });
    calls
}

/// One round trip per decision (default multiplexed mode): 300 decisions are 300 `EVALSHA`s
/// and no other top-level command (no PING, no GET before the script, no separate EXPIRE).
/// Pooled mode, by contrast, lets deadpool check each reused connection with a PING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_per_decision() {
    let server = RedisServer::spawn();
    let mut con = server.connection().await;
    let store = common::server_clock_store(&server.url());
    let calls = top_level_calls(&store, &mut con).await;
    assert_eq!(
        calls,
        [("evalsha".to_owned(), 300)].into_iter().collect(),
        "{calls:?}"
    );

    let pooled = RedisConfig::new(server.url())
        .connection_mode(sentinel_storage_redis::ConnectionMode::Pooled)
        .build()
        .unwrap();
    let calls = top_level_calls(&pooled, &mut con).await;
    assert_eq!(calls.get("evalsha"), Some(&300), "{calls:?}");
    assert_eq!(
        calls.get("ping"),
        Some(&300),
        "deadpool pings each reused connection: {calls:?}"
    );
}

/// State that is not what the scripts wrote (a foreign value, another type, a corrupt header)
/// is a `Protocol` error, never a panic or a wrong decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_state_is_a_protocol_error() {
    use sentinel_core::StoreError;
    let server = RedisServer::spawn();
    let mut con = server.connection().await;
    let store = common::client_clock_store(&server.url());
    let q = Quota::per_minute(5).unwrap();
    let now = Timestamp::from_secs(1_700_000_000);
    let set = |k: &'static str, v: &'static str| redis::cmd("SET").arg(k).arg(v).to_owned();
    let cmds = [
        set("m:gcra", "not a number"),
        set("m:fw", "12:x"),
        redis::cmd("RPUSH").arg("m:sw").arg("a").to_owned(),
        redis::cmd("HSET").arg("m:sw2").arg("h").arg("0").to_owned(),
        redis::cmd("HSET")
            .arg("m:sw3")
            .arg(&["h", "0", "n", "2", "u", "2", "l", "1", "c", "1", "o", "1"])
            .to_owned(),
        set("m:bl", "{\"not\": \"a record\"}"),
        set("m:bl2", "plain"),
    ];
    for cmd in cmds {
        cmd.query_async::<()>(&mut con).await.unwrap();
    }
    for (key, algorithm) in [
        ("m:gcra", Algorithm::Gcra),
        ("m:fw", Algorithm::FixedWindow),
        ("m:sw", Algorithm::SlidingWindow),
        ("m:sw2", Algorithm::SlidingWindow),
        ("m:sw3", Algorithm::SlidingWindow),
    ] {
        let e = store.hit(key, algorithm, &q, 1, now).await.unwrap_err();
        assert!(matches!(e, StoreError::Protocol(_)), "{key}: {e:?}");
        let e = store.peek(key, algorithm, &q, now).await.unwrap_err();
        assert!(matches!(e, StoreError::Protocol(_)), "{key}: {e:?}");
    }
    for key in ["m:bl", "m:bl2", "m:sw"] {
        let e = store.blocked(key, now).await.unwrap_err();
        assert!(matches!(e, StoreError::Protocol(_)), "{key}: {e:?}");
    }
    let e = store.list_blocked("m:", now).await.unwrap_err();
    assert!(matches!(e, StoreError::Protocol(_)), "{e:?}");
    // The store keeps working for everything else.
    assert!(
        store
            .hit("m:ok", Algorithm::Gcra, &q, 1, now)
            .await
            .unwrap()
            .allowed
    );
}
