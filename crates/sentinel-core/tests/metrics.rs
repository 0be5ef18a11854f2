//! Feature `metrics`: exact values recorded through the `metrics` facade after scripted floods,
//! read from a local debugging recorder (no global state, so tests cannot interfere).

#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::metrics::{
    DENY_CACHE_HITS_TOTAL, ESCALATIONS_TOTAL, FAIL_MODE_TOTAL, STORE_CALL_DURATION_SECONDS,
    STORE_ERRORS_TOTAL, VERDICTS_TOTAL,
};
use sentinel_core::{
    Algorithm, Escalation, Event, FailMode, ManualClock, Policy, PolicyRegistry, Quota, Scope,
    Sentinel, Timestamp, Verdict,
};
use sentinel_testkit::metrics::{MetricsRecorder, MetricsSnapshot};
use support::TestStore;

fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_secs(1_700_000_000))
}

fn per_minute(n: u32) -> Policy {
    Policy::new().rate_limit(
        Quota::per_minute(n).unwrap(),
        Algorithm::SlidingWindow,
        Scope::User,
    )
}

/// `_`: 3 a minute per user (deny-cacheable throttles). `search`: 5 a minute, repeats
/// debounced for 10 s, two throttles within a minute block for an hour.
fn policies() -> PolicyRegistry {
    PolicyRegistry::builder()
        .default_policy(per_minute(3))
        .policy(
            "search",
            per_minute(5)
                .debounce(Duration::from_secs(10), Scope::UserInChat)
                .escalation(
                    Escalation::new(2, Duration::from_secs(60), Some(Duration::from_secs(3600)))
                        .unwrap(),
                ),
        )
        .build()
        .unwrap()
}

fn verdicts(snap: &MetricsSnapshot, policy: &str, verdict: &str) -> u64 {
    snap.counter(VERDICTS_TOTAL, &[("policy", policy), ("verdict", verdict)])
}

#[tokio::test]
async fn a_scripted_flood_records_exact_verdicts_store_calls_and_cache_hits() {
    let rec = MetricsRecorder::new();
    let clock = clock();
    let store = Arc::new(TestStore::new());
    let s = rec.scoped(|| {
        Sentinel::builder()
            .store(store.clone())
            .clock(clock.clone())
            .policies(policies())
            .build()
            .unwrap()
    });

    // Default policy: user 1 sends 6 → 3 allowed, 3 throttled; the first throttle asks the
    // store, the next two are answered by the deny cache.
    for _ in 0..6 {
        s.check(&Event::new().with_user(1).with_chat(1))
            .await
            .unwrap();
    }
    // `search` (also reached through a handler without its own policy → `_`): user 2.
    let search = |text: &str| {
        Event::new()
            .with_user(2)
            .with_chat(2)
            .with_handler("search")
            .with_content(text)
    };
    let script = [
        ("x", "allowed"),
        ("x", "debounced"),
        ("a", "allowed"),
        ("b", "allowed"),
        ("c", "allowed"),
        ("d", "allowed"),
        ("e", "throttled"),
        ("f", "throttled"), // second strike: escalated to a block
        ("g", "blocked"),   // from the store, then cached
        ("h", "blocked"),   // from the deny cache
    ];
    for (text, want) in script {
        assert_eq!(
            s.check(&search(text)).await.unwrap().as_str(),
            want,
            "{text}"
        );
    }
    // A handler with no policy of its own counts under the default policy's name.
    assert!(
        s.check(&Event::new().with_user(3).with_handler("unknown"))
            .await
            .unwrap()
            .is_allowed()
    );

    let snap = rec.snapshot();
    assert_eq!(verdicts(&snap, "_", "allowed"), 4);
    assert_eq!(verdicts(&snap, "_", "throttled"), 3);
    assert_eq!(verdicts(&snap, "_", "blocked"), 0);
    assert_eq!(verdicts(&snap, "_", "debounced"), 0);
    assert_eq!(verdicts(&snap, "search", "allowed"), 5);
    assert_eq!(verdicts(&snap, "search", "debounced"), 1);
    assert_eq!(verdicts(&snap, "search", "throttled"), 2);
    assert_eq!(verdicts(&snap, "search", "blocked"), 2);
    assert_eq!(snap.counter(ESCALATIONS_TOTAL, &[("policy", "search")]), 1);
    assert_eq!(snap.counter(ESCALATIONS_TOTAL, &[("policy", "_")]), 0);
    assert_eq!(
        snap.counter(DENY_CACHE_HITS_TOTAL, &[("verdict", "throttled")]),
        2
    );
    assert_eq!(
        snap.counter(DENY_CACHE_HITS_TOTAL, &[("verdict", "blocked")]),
        1
    );
    // 17 checks, 3 answered from the cache: 14 plan evaluations, each timed once.
    assert_eq!(
        snap.histogram(STORE_CALL_DURATION_SECONDS, &[("store", "primary")])
            .len(),
        14
    );
    // No fallback store, no fallback series.
    assert!(!snap.series().iter().any(|s| s.contains("store=fallback")));
    for kind in ["unavailable", "timeout", "protocol", "capacity", "invalid"] {
        assert_eq!(
            snap.counter(STORE_ERRORS_TOTAL, &[("store", "primary"), ("kind", kind)]),
            0
        );
    }
    for mode in ["open", "closed", "fallback"] {
        assert_eq!(snap.counter(FAIL_MODE_TOTAL, &[("mode", mode)]), 0);
    }
    // Label values stay bounded: policy names and fixed kinds, never an id.
    assert_eq!(snap.label_values("policy"), ["_", "search"]);
    assert_eq!(
        snap.label_values("verdict"),
        ["allowed", "blocked", "debounced", "throttled"]
    );
    assert!(
        snap.series()
            .iter()
            .all(|s| !s.contains("=2") && !s.contains("=1}"))
    );
}

#[tokio::test]
async fn fail_modes_and_store_errors_are_counted_by_kind() {
    let rec = MetricsRecorder::new();
    let clock = clock();
    let open_store = Arc::new(TestStore::new());
    let closed_store = Arc::new(TestStore::new());
    let primary = Arc::new(TestStore::new());
    let fallback = Arc::new(TestStore::new());
    let (open, closed, with_fallback) = rec.scoped(|| {
        let build = |store: Arc<TestStore>, mode| {
            Sentinel::builder()
                .store(store)
                .clock(clock.clone())
                .policies(PolicyRegistry::single(per_minute(2)).unwrap())
                .fail_mode(mode)
        };
        (
            build(open_store.clone(), FailMode::Open).build().unwrap(),
            build(closed_store.clone(), FailMode::Closed)
                .build()
                .unwrap(),
            build(primary.clone(), FailMode::Fallback)
                .fallback_store(fallback.clone())
                .fallback_probe_interval(Duration::from_secs(5))
                .build()
                .unwrap(),
        )
    });
    let ev = Event::new().with_user(9).with_chat(9);

    open_store.set_failing(true);
    for _ in 0..3 {
        match open.check(&ev).await.unwrap() {
            Verdict::Allowed(a) => assert!(a.degraded),
            v => panic!("{v:?}"),
        }
    }
    closed_store.set_failing(true);
    for _ in 0..2 {
        closed.check(&ev).await.unwrap_err();
    }
    // Fallback: the primary fails once, then the fallback decides 3 events (2 allowed, 1
    // throttled) without the primary being asked until the probe interval passes.
    primary.set_failing(true);
    for want in ["allowed", "allowed", "throttled"] {
        assert_eq!(with_fallback.check(&ev).await.unwrap().as_str(), want);
    }
    primary.set_failing(false);
    clock.advance(Duration::from_secs(5));
    assert!(with_fallback.check(&ev).await.unwrap().is_allowed());

    let snap = rec.snapshot();
    assert_eq!(snap.counter(FAIL_MODE_TOTAL, &[("mode", "open")]), 3);
    assert_eq!(snap.counter(FAIL_MODE_TOTAL, &[("mode", "closed")]), 2);
    assert_eq!(snap.counter(FAIL_MODE_TOTAL, &[("mode", "fallback")]), 3);
    // 3 (open) + 2 (closed) + 1 (fallback's primary) unavailable errors, all on primaries.
    let errors =
        |store, kind| snap.counter(STORE_ERRORS_TOTAL, &[("store", store), ("kind", kind)]);
    assert_eq!(errors("primary", "unavailable"), 6);
    assert_eq!(errors("primary", "timeout"), 0);
    assert_eq!(errors("fallback", "unavailable"), 0);
    // Primary evaluations: 3 + 2 + 1 failed, 1 after recovery; fallback: 3.
    let calls = |store| {
        snap.histogram(STORE_CALL_DURATION_SECONDS, &[("store", store)])
            .len()
    };
    assert_eq!(calls("primary"), 7);
    assert_eq!(calls("fallback"), 3);
    // Fail closed yields no verdict; fail open counts as allowed. The three engines share
    // one policy name, so their series add up.
    assert_eq!(verdicts(&snap, "_", "allowed"), 3 + 2 + 1);
    assert_eq!(verdicts(&snap, "_", "throttled"), 1);
}
