//! The plan as a Redis 7 function (`FCALL` of the plan library) and its fallbacks: the library
//! is reloaded when the server lost it (`FUNCTION FLUSH`, a restart), and the plan goes as
//! `EVALSHA` of the plan script when functions are off, unknown to the server (before Redis 7,
//! simulated by renaming `FCALL` away) or forbidden by the ACL; the decisions are the same.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use sentinel_core::{Algorithm, Event, Policy, PolicyRegistry, Quota, Scope, Sentinel, Verdict};
use sentinel_storage_redis::{RedisConfig, RedisStore};
use sentinel_testkit::redis_server::RedisServer;

/// A store on `url` with functions on or off.
fn store(url: &str, functions: bool) -> RedisStore {
    RedisConfig::new(url)
        .command_timeout(Duration::from_secs(5))
        .functions(functions)
        .build()
        .unwrap()
}

/// An engine over `store` whose policy has a blocklist, a debounce and a limit of 3 per hour.
fn engine(store: RedisStore) -> Sentinel {
    let policy = Policy::new()
        .rate_limit(Quota::per_hour(3).unwrap(), Algorithm::Gcra, Scope::User)
        .debounce(Duration::from_secs(60), Scope::User);
    Sentinel::builder()
        .store(Arc::new(store))
        .prefix(common::unique("fn"))
        .policies(PolicyRegistry::single(policy).unwrap())
        .deny_cache_ttl(Duration::ZERO)
        .build()
        .unwrap()
}

fn event(n: u32) -> Event {
    Event::new()
        .with_user(42)
        .with_chat(-100)
        .with_content(n.to_string())
}

/// How many times the server ran `command` (`INFO commandstats`; 0 when never).
async fn calls(con: &mut MultiplexedConnection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(con)
        .await
        .unwrap();
    let field = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&field))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// The names of the function libraries the server holds.
async fn libraries(con: &mut MultiplexedConnection) -> Vec<String> {
    let list: Vec<redis::Value> = redis::cmd("FUNCTION")
        .arg("LIST")
        .query_async(con)
        .await
        .unwrap();
    list.iter()
        .filter_map(|lib| {
            let redis::Value::Array(fields) = lib else {
                return None;
            };
            fields.chunks(2).find_map(|kv| match kv {
                [redis::Value::BulkString(k), redis::Value::BulkString(v)]
                    if k.as_slice() == b"library_name" =>
                {
                    Some(String::from_utf8(v.clone()).unwrap())
                }
                _ => None,
            })
        })
        .collect()
}

/// Four updates with new content under a limit of 3: allowed three times (by the store, not
/// by the fail mode), then throttled; and a repeat is debounced.
async fn four_updates(sentinel: &Sentinel, mut between: impl AsyncFnMut()) {
    for n in 0..3 {
        between().await;
        let v = sentinel.check(&event(n)).await.unwrap();
        // Decided by the store (a failed call would be a degraded allow: fail-open).
        assert!(
            matches!(&v, Verdict::Allowed(a) if !a.degraded && a.decision.is_some()),
            "update {n}: {v:?}"
        );
    }
    between().await;
    let v = sentinel.check(&event(3)).await.unwrap();
    assert!(matches!(v, Verdict::Throttled(_)), "{v:?}");
    let v = sentinel.check(&event(2)).await.unwrap();
    assert!(matches!(v, Verdict::Debounced(_)), "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_is_an_fcall_and_survives_function_flush() {
    let server = RedisServer::spawn();
    let mut con = server.connection().await;
    let store = store(&server.url(), true);
    store.load_scripts().await.unwrap();
    let libs = libraries(&mut con).await;
    assert!(
        libs.len() == 1 && libs[0].starts_with("sentinel_"),
        "{libs:?}"
    );
    let loads = calls(&mut con, "function|load").await;
    let sentinel = engine(store);
    // The library disappears before every update but the first; each update still answers,
    // with the state the previous ones left.
    let mut first = true;
    four_updates(&sentinel, async || {
        if !std::mem::take(&mut first) {
            let () = redis::cmd("FUNCTION")
                .arg("FLUSH")
                .query_async(&mut con)
                .await
                .unwrap();
        }
    })
    .await;
    let mut con = server.connection().await;
    assert_eq!(libraries(&mut con).await.len(), 1);
    // 5 updates, 3 of them after a flush: each of those is an FCALL that finds no function,
    // a FUNCTION LOAD, and the FCALL again.
    assert_eq!(calls(&mut con, "fcall").await, 5 + 3);
    assert_eq!(calls(&mut con, "function|load").await, loads + 3);
    assert_eq!(calls(&mut con, "evalsha").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_off_send_evalsha() {
    let server = RedisServer::spawn();
    let store = store(&server.url(), false);
    store.load_scripts().await.unwrap();
    four_updates(&engine(store), async || {}).await;
    let mut con = server.connection().await;
    assert!(libraries(&mut con).await.is_empty());
    assert_eq!(calls(&mut con, "fcall").await, 0);
    assert_eq!(calls(&mut con, "function|load").await, 0);
    assert_eq!(calls(&mut con, "evalsha").await, 5);
}

/// A server that does not know `FCALL` (as before Redis 7): the first update falls back to
/// `EVALSHA`, and every later one goes straight there (one round trip each).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_fcall_gets_evalsha() {
    let server = RedisServer::spawn_with_args(["--rename-command", "FCALL", ""]);
    let store = store(&server.url(), true);
    four_updates(&engine(store), async || {}).await;
    let mut con = server.connection().await;
    assert_eq!(calls(&mut con, "fcall").await, 0);
    // The first update: NOSCRIPT, SCRIPT LOAD, EVALSHA again; then one each.
    assert_eq!(calls(&mut con, "evalsha").await, 5 + 1);
    assert_eq!(calls(&mut con, "script|load").await, 1);
}

/// The ACL this crate documented before it used functions (scripts, no `FCALL`, no
/// `FUNCTION LOAD`): `load_scripts` succeeds and every update goes as `EVALSHA`, which uses no
/// command outside that list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acl_documented_for_scripts_gets_evalsha() {
    let server = RedisServer::spawn();
    let mut con = server.connection().await;
    let mut setuser = redis::cmd("ACL");
    setuser
        .arg("SETUSER")
        .arg("scripts")
        .arg("on")
        .arg(">scripts-secret")
        .arg("~*");
    for command in "+evalsha +eval +script|load +time +get +set +del +mget +hmget +hget +hset \
         +hdel +pexpire +scan +ping"
        .split_whitespace()
    {
        setuser.arg(command);
    }
    let () = setuser.query_async(&mut con).await.unwrap();
    let url = format!("redis://scripts:scripts-secret@127.0.0.1:{}", server.port());
    let store = store(&url, true);
    store.load_scripts().await.unwrap();
    four_updates(&engine(store), async || {}).await;
    assert!(libraries(&mut con).await.is_empty());
    assert_eq!(calls(&mut con, "evalsha").await, 5);
}
