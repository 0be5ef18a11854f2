//! Cross-worker deduplication, flood folding and digests on a real Redis (testkit), with two
//! pipelines ("workers") sharing it. The pipelines read a `ManualClock`; Redis keeps its own
//! (server) time, which [`advance`] moves by the same step by ageing every telemon key on the
//! server (the testkit's `CoordinationClock::server_ttl`), so every window is exact.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{CoordinationStore, ManualClock, Timestamp};
use sentinel_storage_redis::RedisConfig;
use sentinel_testkit::conformance::CoordinationClock;
use sentinel_testkit::redis_server::RedisServer;
use telemon_alerts::transport::MemoryTransport;
use telemon_alerts::{Alert, Destination, Telemon};

const T0: u64 = 1_700_000_000;

fn redis_store(server: &RedisServer) -> Arc<dyn CoordinationStore> {
    Arc::new(RedisConfig::new(server.url()).build().unwrap())
}

/// Moves the workers' clock and the server's key lifetimes forward together.
async fn advance(clock: &ManualClock, server: &RedisServer, by: Duration) {
    clock.advance(by);
    CoordinationClock::server_ttl([server.url()])
        .advance(by, "telemon:")
        .await;
}

fn worker(
    store: Arc<dyn CoordinationStore>,
    clock: &ManualClock,
    sink: &MemoryTransport,
    budget: Option<(u32, Duration)>,
) -> Telemon {
    Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(-1001))
        .store(store)
        .clock(clock.clone())
        .service("api")
        .cooldown(Duration::from_secs(600))
        .digest_window(Duration::from_secs(60), Duration::from_secs(5))
        .immediate_budget(budget)
        .flood_interval(Duration::from_secs(60))
        .queue_capacity(8192)
        .tick(Duration::from_secs(3600))
        .build()
        .unwrap()
}

fn kinds(sink: &MemoryTransport, kind: &str) -> Vec<String> {
    sink.sent()
        .into_iter()
        .filter(|m| m.kind == kind)
        .map(|m| m.plain_fallback)
        .collect()
}

async fn flush_all(workers: &[&Telemon]) {
    for w in workers {
        assert!(w.flush(Duration::from_secs(30)).await, "flush timed out");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_identical_errors_on_two_workers_make_one_alert_and_one_followup() {
    let server = RedisServer::spawn();
    let store = redis_store(&server);
    let clock = ManualClock::new(Timestamp::from_secs(T0));
    let sink = MemoryTransport::new();
    let a = worker(
        store.clone(),
        &clock,
        &sink,
        Some((20, Duration::from_secs(60))),
    );
    let b = worker(store, &clock, &sink, Some((20, Duration::from_secs(60))));

    for i in 0..10_000u32 {
        // Same incident: only the ids differ, and ids are normalised away.
        let alert = Alert::critical("database error")
            .message(format!("row {i} locked by session 10.0.0.{}", i % 250))
            .error_type("sqlx::Error")
            .route("POST", "/orders/{id}");
        if i % 2 == 0 {
            a.report(alert)
        } else {
            b.report(alert)
        }
    }
    flush_all(&[&a, &b]).await;

    let alerts = kinds(&sink, "alert");
    assert_eq!(alerts.len(), 1, "exactly one immediate alert: {alerts:?}");
    assert!(alerts[0].contains("database error"));
    assert!(
        kinds(&sink, "followup").is_empty(),
        "no follow-up inside the cooldown"
    );
    let m = a.metrics();
    let n = b.metrics();
    assert_eq!(m.reported + n.reported, 10_000);
    assert_eq!(m.suppressed + n.suppressed, 9_999);

    // Cooldown over, no new error: the per-worker timers claim the follow-up; one wins.
    advance(&clock, &server, Duration::from_secs(601)).await;
    flush_all(&[&a, &b, &a, &b]).await;
    let followups = kinds(&sink, "followup");
    assert_eq!(followups.len(), 1, "{followups:?}");
    assert!(
        followups[0].contains("+9,999 since last"),
        "{}",
        followups[0]
    );
    assert!(followups[0].contains("over 10m 1s"), "{}", followups[0]);

    // Nothing more, ever, for this burst.
    advance(&clock, &server, Duration::from_secs(3600)).await;
    flush_all(&[&a, &b]).await;
    assert_eq!(kinds(&sink, "followup").len(), 1);
    assert_eq!(kinds(&sink, "alert").len(), 1);

    // A new occurrence long after: alerts at once, with nothing pending to report.
    a.report(
        Alert::critical("database error")
            .message("row 1 locked by session 10.0.0.1")
            .error_type("sqlx::Error")
            .route("POST", "/orders/{id}"),
    );
    flush_all(&[&a]).await;
    let alerts = kinds(&sink, "alert");
    assert_eq!(alerts.len(), 2);
    assert!(!alerts[1].contains("since last"), "{}", alerts[1]);
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_occurrence_after_cooldown_carries_the_suppressed_count() {
    let server = RedisServer::spawn();
    let store = redis_store(&server);
    let clock = ManualClock::new(Timestamp::from_secs(T0));
    let sink = MemoryTransport::new();
    let a = worker(store.clone(), &clock, &sink, None);
    let b = worker(store, &clock, &sink, None);
    let err = || Alert::critical("cache miss storm").message("key user:42 missing");
    for _ in 0..50 {
        a.report(err());
        b.report(err());
    }
    flush_all(&[&a, &b]).await;
    advance(&clock, &server, Duration::from_secs(700)).await;
    // The next error arrives before any timer ran: it is the follow-up.
    b.report(err());
    flush_all(&[&b]).await;
    let alerts = kinds(&sink, "alert");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(
        alerts[1].contains("+99 since last (over 11m 40s)"),
        "{}",
        alerts[1]
    );
    // The timers find nothing left to report.
    flush_all(&[&a, &b]).await;
    assert!(kinds(&sink, "followup").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_distinct_fingerprints_in_a_second_are_folded_into_a_digest() {
    let server = RedisServer::spawn();
    let store = redis_store(&server);
    let clock = ManualClock::new(Timestamp::from_secs(T0));
    let sink = MemoryTransport::new();
    let budget = Some((20, Duration::from_secs(60)));
    let a = worker(store.clone(), &clock, &sink, budget);
    let b = worker(store, &clock, &sink, budget);
    for i in 0..1_000u32 {
        let alert = Alert::critical(format!("job failed #{i}")).fingerprint(format!("job-{i}"));
        if i % 2 == 0 {
            a.report(alert)
        } else {
            b.report(alert)
        }
        if i % 100 == 99 {
            advance(&clock, &server, Duration::from_millis(100)).await;
        }
    }
    flush_all(&[&a, &b]).await;
    assert_eq!(
        kinds(&sink, "alert").len(),
        20,
        "the shared budget allows 20 per minute"
    );
    assert!(
        kinds(&sink, "flood").is_empty(),
        "folded alerts wait for the flood interval"
    );

    advance(&clock, &server, Duration::from_secs(61)).await;
    flush_all(&[&a, &b]).await;
    let floods = kinds(&sink, "flood");
    assert!(
        !floods.is_empty() && floods.len() <= 2,
        "one flood digest per worker at most: {}",
        floods.len()
    );
    let folded: u64 = floods
        .iter()
        .map(|f| {
            let line = f.lines().nth(1).unwrap();
            line.split(' ')
                .next()
                .unwrap()
                .replace(',', "")
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(folded, 980, "{floods:?}");
    assert_eq!(a.metrics().folded + b.metrics().folded, 980);
    let total_sends = sink.sent().len();
    assert!(
        total_sends <= 22,
        "1,000 alerts became {total_sends} messages"
    );
    for f in &floods {
        assert!(f.chars().count() <= 4096);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warning_digest_is_merged_across_workers_and_sent_once() {
    let server = RedisServer::spawn();
    let store = redis_store(&server);
    // Start at a window boundary.
    let clock = ManualClock::new(Timestamp::from_secs(T0 - T0 % 60));
    let sink = MemoryTransport::new();
    let a = worker(store.clone(), &clock, &sink, None);
    let b = worker(store, &clock, &sink, None);
    let slow = |ms: u64| {
        Alert::warning("slow request")
            .route("GET", "/reports/{id}")
            .status(200)
            .latency(Duration::from_millis(ms))
    };
    for ms in 1..=100u64 {
        let w = if ms % 2 == 0 { &a } else { &b };
        w.report(slow(ms * 10));
    }
    a.report(Alert::warning("disk almost full").message("91% used on /var"));
    flush_all(&[&a, &b]).await;
    assert!(sink.sent().is_empty(), "warnings wait for the window");

    advance(&clock, &server, Duration::from_secs(60)).await; // window over: both publish
    flush_all(&[&a, &b]).await;
    advance(&clock, &server, Duration::from_secs(6)).await; // grace over: both try to claim
    flush_all(&[&a, &b, &a, &b]).await;
    let digests = kinds(&sink, "digest");
    assert_eq!(digests.len(), 1, "{digests:?}");
    let d = &digests[0];
    assert!(d.contains("GET /reports/{id} — 100×"), "{d}");
    assert!(d.contains("max 1.0 s"), "{d}");
    assert!(d.contains("p95 950 ms"), "{d}");
    assert!(d.contains("disk almost full — 1×"), "{d}");
    assert_eq!(sink.sent()[0].destination, Destination::chat(-1001));
}
