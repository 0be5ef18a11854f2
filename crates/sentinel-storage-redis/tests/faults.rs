//! Redis going away: every call returns a typed error within its timeout (no hang, no panic),
//! the engine's fail modes do what they promise, and the store recovers by itself when Redis
//! comes back empty (scripts reloaded through EVALSHA → NOSCRIPT → SCRIPT LOAD).
//!
//! These tests run on tokio's real clock (Redis is real) but never assert a duration: a
//! generous `tokio::time::timeout` only detects a hang.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, Error, Event, FailMode, ManualClock,
    Policy, PolicyRegistry, Quota, RateLimitStore, Scope, Sentinel, StoreError, Timestamp, Verdict,
};
use sentinel_storage_memory::MemoryStore;
use sentinel_storage_redis::{ConnectionMode, RedisConfig, RedisStore};
use sentinel_testkit::redis_server::RedisServer;

const COMMAND_TIMEOUT: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(200);
/// Far above both timeouts: a call still pending after this has hung.
const HANG: Duration = Duration::from_secs(10);

fn fault_store(url: &str, mode: ConnectionMode) -> RedisStore {
    RedisConfig::new(url)
        .connect_timeout(CONNECT_TIMEOUT)
        .command_timeout(COMMAND_TIMEOUT)
        .connection_mode(mode)
        .build()
        .unwrap()
}

/// Awaits `f`, failing the test if it hangs.
async fn no_hang<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG, f)
        .await
        .expect("store call hung")
}

fn assert_transient(e: &StoreError) {
    assert!(
        matches!(e, StoreError::Unavailable(_) | StoreError::Timeout(_)),
        "expected Unavailable or Timeout, got {e:?}"
    );
}

/// Every operation of the store, once; each error must be transient.
async fn every_call_fails_typed(store: &RedisStore) {
    let q = Quota::per_minute(5).unwrap();
    let now = Timestamp::from_secs(1_700_000_000);
    for a in Algorithm::ALL {
        assert_transient(
            &no_hang(store.hit("f:rl:{u1}:=h", a, &q, 1, now))
                .await
                .unwrap_err(),
        );
        assert_transient(
            &no_hang(store.peek("f:rl:{u1}:=h", a, &q, now))
                .await
                .unwrap_err(),
        );
    }
    assert_transient(&no_hang(store.reset("f:rl:{u1}:=h")).await.unwrap_err());
    assert_transient(
        &no_hang(store.debounce("f:db:{u1}:=h:x", Duration::from_secs(1), now))
            .await
            .unwrap_err(),
    );
    let r = BlockRecord::new("r", "t", now, Some(Duration::from_secs(9)));
    assert_transient(
        &no_hang(store.block("f:bl:{u1}:=all", &r))
            .await
            .unwrap_err(),
    );
    assert_transient(&no_hang(store.unblock("f:bl:{u1}:=all")).await.unwrap_err());
    assert_transient(
        &no_hang(store.blocked("f:bl:{u1}:=all", now))
            .await
            .unwrap_err(),
    );
    assert_transient(&no_hang(store.list_blocked("f:bl:", now)).await.unwrap_err());
    assert_transient(&no_hang(store.ping()).await.unwrap_err());
    assert_transient(&no_hang(store.load_scripts()).await.unwrap_err());
}

async fn script_loaded(server: &RedisServer, algorithm: Algorithm) -> bool {
    let mut con = server.connection().await;
    let sha = RedisStore::script_sha(algorithm).unwrap();
    let exists: Vec<bool> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(sha)
        .query_async(&mut con)
        .await
        .unwrap();
    exists == [true]
}

/// Redis stops while many tasks are hitting it: each call ends with a typed, transient error
/// (none hangs, none panics); every kind of call fails the same way while it is down; after a
/// restart with no scripts loaded, the very next calls succeed with the same store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_mid_run_then_recover_without_restarting_the_app() {
    for mode in [ConnectionMode::Multiplexed(2), ConnectionMode::Pooled] {
        let server = Arc::new(RedisServer::spawn());
        let store = fault_store(&server.url(), mode);
        let q = Quota::per_hour(1_000_000).unwrap();
        assert!(
            store
                .hit("f:rl-gcra:{g}:=h", Algorithm::Gcra, &q, 1, Timestamp::EPOCH)
                .await
                .unwrap()
                .allowed
        );

        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for t in 0..16 {
            let (store, ok, failed, stop) =
                (store.clone(), ok.clone(), failed.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let key = format!("f:rl-gcra:{{u{t}}}:=h");
                while !stop.load(Ordering::Acquire) {
                    match no_hang(store.hit(&key, Algorithm::Gcra, &q, 1, Timestamp::EPOCH)).await {
                        Ok(d) => {
                            assert!(d.allowed);
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            assert_transient(&e);
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    tokio::task::yield_now().await;
                }
            }));
        }
        // Let the tasks get going, then pull the plug under them.
        while ok.load(Ordering::Relaxed) < 200 {
            tokio::task::yield_now().await;
        }
        let s = server.clone();
        tokio::task::spawn_blocking(move || s.stop()).await.unwrap();
        let before = failed.load(Ordering::Relaxed);
        while failed.load(Ordering::Relaxed) < before + 100 {
            tokio::task::yield_now().await;
        }
        stop.store(true, Ordering::Release);
        for t in tasks {
            t.await.expect("a task panicked");
        }

        // Down: every kind of call fails typed.
        every_call_fails_typed(&store).await;

        // Back, empty, without the scripts: the same store recovers on its own.
        let s = server.clone();
        tokio::task::spawn_blocking(move || s.restart())
            .await
            .unwrap();
        assert!(
            !script_loaded(&server, Algorithm::Gcra).await,
            "a restarted server starts without scripts"
        );
        let d = no_hang(store.hit("f:rl-gcra:{g}:=h", Algorithm::Gcra, &q, 1, Timestamp::EPOCH))
            .await
            .unwrap();
        assert!(d.allowed);
        assert!(
            script_loaded(&server, Algorithm::Gcra).await,
            "EVALSHA reloaded the script"
        );
        store.ping().await.unwrap();
        for i in 0..50 {
            let key = format!("f:rl-sw:{{u{i}}}:=h");
            no_hang(store.hit(&key, Algorithm::SlidingWindow, &q, 1, Timestamp::EPOCH))
                .await
                .unwrap();
        }
    }
}

/// A restart with no call in between: connections the store kept are dead, so at most one
/// call per kept connection fails (typed) before every call succeeds again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_between_calls_heals_within_one_call_per_connection() {
    let server = RedisServer::spawn();
    let store = fault_store(&server.url(), ConnectionMode::Multiplexed(2));
    let q = Quota::per_hour(1_000).unwrap();
    for _ in 0..4 {
        store
            .hit(
                "f:rl-fw:{g}:=h",
                Algorithm::FixedWindow,
                &q,
                1,
                Timestamp::EPOCH,
            )
            .await
            .unwrap();
    }
    tokio::task::block_in_place(|| server.restart());
    let mut failures = 0;
    for _ in 0..20 {
        match no_hang(store.hit(
            "f:rl-fw:{g}:=h",
            Algorithm::FixedWindow,
            &q,
            1,
            Timestamp::EPOCH,
        ))
        .await
        {
            Ok(d) => assert!(d.allowed),
            Err(e) => {
                assert_transient(&e);
                failures += 1;
            }
        }
    }
    assert!(failures <= 2, "{failures} calls failed after the restart");
    assert!(script_loaded(&server, Algorithm::FixedWindow).await);
}

/// A server that stops answering (CLIENT PAUSE): the call ends as `Timeout`, not a hang; once
/// the server answers again, so does the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresponsive_server_is_a_timeout() {
    let server = RedisServer::spawn();
    let store = fault_store(&server.url(), ConnectionMode::Multiplexed(1));
    let q = Quota::per_minute(10).unwrap();
    store
        .hit(
            "f:rl-sw:{p}:=h",
            Algorithm::SlidingWindow,
            &q,
            1,
            Timestamp::EPOCH,
        )
        .await
        .unwrap();
    let mut con = server.connection().await;
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1_500)
        .arg("ALL")
        .query_async::<()>(&mut con)
        .await
        .unwrap();
    let e = no_hang(store.hit(
        "f:rl-sw:{p}:=h",
        Algorithm::SlidingWindow,
        &q,
        1,
        Timestamp::EPOCH,
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(e, StoreError::Timeout(t) if t == COMMAND_TIMEOUT),
        "{e:?}"
    );
    // Wait for the server (not for time): PING is answered once the pause ends.
    while redis::cmd("PING")
        .query_async::<()>(&mut con)
        .await
        .is_err()
    {}
    let d = no_hang(store.hit(
        "f:rl-sw:{p}:=h",
        Algorithm::SlidingWindow,
        &q,
        1,
        Timestamp::EPOCH,
    ))
    .await
    .unwrap();
    // The timed-out call may or may not have run on the server after the pause.
    assert!(d.allowed && d.remaining >= 7, "{d:?}");
}

/// A peer that accepts connections and never answers: getting a connection times out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_hole_is_a_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accept = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let store = fault_store(
        &format!("redis://127.0.0.1:{port}"),
        ConnectionMode::Multiplexed(1),
    );
    let e = no_hang(store.hit(
        "f:x:{u}",
        Algorithm::Gcra,
        &Quota::per_second(1).unwrap(),
        1,
        Timestamp::EPOCH,
    ))
    .await
    .unwrap_err();
    assert!(matches!(e, StoreError::Timeout(_)), "{e:?}");
    let e = no_hang(store.ping()).await.unwrap_err();
    assert!(matches!(e, StoreError::Timeout(_)), "{e:?}");
    accept.abort();
}

/// Nothing listening: `Unavailable`, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_is_unavailable() {
    let server = RedisServer::spawn();
    let url = server.url();
    drop(server);
    let store = fault_store(&url, ConnectionMode::Multiplexed(2));
    let e = no_hang(store.ping()).await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    assert!(e.is_transient());
}

fn engine(
    store: RedisStore,
    mode: FailMode,
    clock: &ManualClock,
    fallback: Option<Arc<MemoryStore>>,
) -> Sentinel {
    let mut b = Sentinel::builder()
        .store(Arc::new(store))
        .clock(clock.clone())
        .prefix("fm")
        .fail_mode(mode)
        .fallback_probe_interval(Duration::from_secs(5))
        .policies(
            PolicyRegistry::single(Policy::new().rate_limit(
                Quota::per_minute(2).unwrap(),
                Algorithm::SlidingWindow,
                Scope::User,
            ))
            .unwrap(),
        );
    if let Some(f) = fallback {
        b = b.fallback_store(f);
    }
    b.build().unwrap()
}

/// With Redis down, `FailMode::Open` lets events through marked degraded, `Closed` refuses with
/// the typed store error, and `Fallback` decides with the memory store (limits still apply)
/// and goes back to Redis by itself once it is up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_modes_do_what_they_promise() {
    let server = RedisServer::spawn();
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let event = Event::new().with_user(7).with_chat(7);
    let open = engine(
        fault_store(&server.url(), ConnectionMode::Multiplexed(2)),
        FailMode::Open,
        &clock,
        None,
    );
    let closed = engine(
        fault_store(&server.url(), ConnectionMode::Multiplexed(2)),
        FailMode::Closed,
        &clock,
        None,
    );
    let memory = Arc::new(MemoryStore::new(clock.clone()));
    let fallback = engine(
        fault_store(&server.url(), ConnectionMode::Multiplexed(2)),
        FailMode::Fallback,
        &clock,
        Some(memory.clone()),
    );
    // Up: Redis decides for all three.
    for (user, s) in [&open, &closed, &fallback].into_iter().enumerate() {
        let v = s
            .check(&Event::new().with_user(100 + user as i64))
            .await
            .unwrap();
        assert!(
            matches!(&v, Verdict::Allowed(a) if !a.degraded && a.decision.is_some()),
            "{v:?}"
        );
    }

    tokio::task::block_in_place(|| server.stop());

    for _ in 0..3 {
        let v = no_hang(open.check(&event)).await.unwrap();
        assert!(
            matches!(&v, Verdict::Allowed(a) if a.degraded && a.decision.is_none()),
            "{v:?}"
        );
    }
    assert_eq!(open.stats().failed_open, 3);

    let e = no_hang(closed.check(&event)).await.unwrap_err();
    assert!(matches!(&e, Error::Store(s) if s.is_transient()), "{e:?}");
    assert_eq!(closed.stats().failed_closed, 1);

    let verdicts: Vec<bool> = [
        no_hang(fallback.check(&event)).await.unwrap().is_allowed(),
        no_hang(fallback.check(&event)).await.unwrap().is_allowed(),
        no_hang(fallback.check(&event)).await.unwrap().is_allowed(),
    ]
    .into();
    assert_eq!(
        verdicts,
        [true, true, false],
        "the fallback store enforces the limit"
    );
    assert_eq!(fallback.stats().fallback_used, 3);
    assert!(!memory.is_empty(), "the memory store decided");

    tokio::task::block_in_place(|| server.restart());
    // Still inside the probe interval: the fallback keeps deciding.
    assert!(!no_hang(fallback.check(&event)).await.unwrap().is_allowed());
    // After it, Redis (fresh, empty) decides again, for every fail mode.
    clock.advance(Duration::from_secs(6));
    let mut recovered = false;
    for _ in 0..3 {
        if let Verdict::Allowed(a) = no_hang(fallback.check(&event)).await.unwrap()
            && a.decision.is_some_and(|d| d.remaining == 1)
        {
            recovered = true;
            break;
        }
        clock.advance(Duration::from_secs(6));
    }
    assert!(recovered, "the engine went back to Redis");
    let errors = fallback.stats().store_errors;
    let v = no_hang(fallback.check(&Event::new().with_user(99)))
        .await
        .unwrap();
    assert!(v.is_allowed());
    assert_eq!(fallback.stats().store_errors, errors, "Redis answers again");
    let mut healed = false;
    for _ in 0..3 {
        if let Ok(Verdict::Allowed(a)) = no_hang(closed.check(&Event::new().with_user(5))).await {
            assert!(!a.degraded);
            healed = true;
            break;
        }
    }
    assert!(
        healed,
        "fail-closed engine decides again once Redis is back"
    );
    let mut healed = false;
    for _ in 0..3 {
        if let Verdict::Allowed(a) = no_hang(open.check(&Event::new().with_user(6)))
            .await
            .unwrap()
            && !a.degraded
        {
            healed = true;
            break;
        }
    }
    assert!(
        healed,
        "fail-open engine is no longer degraded once Redis is back"
    );
}
