//! One round trip per update: whatever the policy (blocklist, debounce, two rate limits,
//! escalation), the engine sends Redis exactly one command per check — one `FCALL` of the plan
//! library on Redis 7+, one `EVALSHA` of the plan script when functions are off — counted with
//! `MONITOR` (commands a script or function runs show up as `lua`, and are not round trips).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, Escalation, Event, Policy, PolicyRegistry, Quota, Scope, Sentinel, Verdict,
};
use sentinel_storage_redis::RedisConfig;
use sentinel_testkit::redis_server::RedisServer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const MARKER: &str = "round-trips-end-marker";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_is_one_fcall_whatever_the_policy() {
    every_check_is_one(true, "\"FCALL\"").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_is_one_evalsha_with_functions_off() {
    every_check_is_one(false, "\"EVALSHA\"").await;
}

/// Twelve checks through a store with `functions` on or off are twelve commands, each
/// containing `verb`.
async fn every_check_is_one(functions: bool, verb: &str) {
    let server = RedisServer::spawn();
    let store = RedisConfig::new(server.url())
        .command_timeout(Duration::from_secs(5))
        .functions(functions)
        .build()
        .unwrap();
    store.load_scripts().await.unwrap();
    let policy = Policy::new()
        .rate_limit(
            Quota::per_minute(3).unwrap(),
            Algorithm::SlidingWindow,
            Scope::User,
        )
        .rate_limit(Quota::per_minute(50).unwrap(), Algorithm::Gcra, Scope::Chat)
        .debounce(Duration::from_secs(30), Scope::UserInChat)
        .escalation(
            Escalation::new(2, Duration::from_secs(60), Some(Duration::from_secs(60))).unwrap(),
        );
    let sentinel = Sentinel::builder()
        .store(Arc::new(store))
        .prefix(common::unique("rt"))
        .policies(PolicyRegistry::single(policy).unwrap())
        // Every update goes to the store here (the deny cache would answer the blocked ones
        // locally, with no round trip at all).
        .deny_cache_ttl(Duration::ZERO)
        .build()
        .unwrap();

    let mut monitor = TcpStream::connect(server.addr()).await.unwrap();
    monitor.write_all(b"MONITOR\r\n").await.unwrap();
    let mut lines = BufReader::new(monitor).lines();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("+OK"));

    let mut seen = Vec::new();
    let checks = 12;
    for i in 0..checks {
        // Every third update repeats the previous content (debounced).
        let content = if i % 3 == 2 { i - 1 } else { i };
        let event = Event::new()
            .with_user(7)
            .with_chat(-100)
            .with_content(content.to_string());
        seen.push(sentinel.check(&event).await.unwrap());
    }
    let name = |v: &Verdict| v.as_str().to_owned();
    let kinds: Vec<String> = seen.iter().map(name).collect();
    for kind in ["allowed", "debounced", "throttled", "blocked"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} verdict in {kinds:?}"
        );
    }
    assert!(
        seen.iter()
            .any(|v| matches!(v, Verdict::Throttled(t) if t.escalated.is_some())),
        "escalation never fired: {kinds:?}"
    );

    let mut client = server
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: String = redis::cmd("ECHO")
        .arg(MARKER)
        .query_async(&mut client)
        .await
        .unwrap();
    let mut round_trips = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        if line.contains(MARKER) {
            break;
        }
        if !line.contains(" lua]") {
            round_trips.push(line);
        }
    }
    assert_eq!(round_trips.len(), checks, "{round_trips:#?}");
    assert!(
        round_trips.iter().all(|l| l.contains(verb)),
        "{round_trips:#?}"
    );
}
