//! Delivery under failure, in tokio paused time with the in-memory transport: outages,
//! 429 storms, markup rejections, permanent errors, bounded queues and shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use sentinel_core::{ManualClock, Timestamp};
use telemon_alerts::transport::{MemoryTransport, ParseMode};
use telemon_alerts::{
    Alert, DeliveryError, Destination, Level, RetryPolicy, Routes, Telemon, TelemonBuilder,
};

fn builder(sink: &MemoryTransport) -> TelemonBuilder {
    Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(-1007))
        .clock(ManualClock::new(Timestamp::from_secs(1_700_000_000)))
        .immediate_budget(None)
        .tick(Duration::from_secs(3600))
        .retry(RetryPolicy {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            deadline: Duration::from_secs(3600),
            ..RetryPolicy::default()
        })
}

fn distinct(i: usize) -> Alert {
    Alert::critical(format!("failure {i}")).fingerprint(format!("f{i}"))
}

#[tokio::test(start_paused = true)]
async fn outage_then_recovery_loses_nothing_within_the_queue_bound() {
    let sink = MemoryTransport::new();
    let t = builder(&sink).queue_capacity(64).build().unwrap();
    sink.down(DeliveryError::Transient("connection refused".into()));
    for i in 0..50 {
        t.report(distinct(i));
        tokio::task::yield_now().await;
    }
    // Telegram stays down for ten minutes of (paused) time.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(sink.sent().is_empty());
    let during = t.metrics();
    assert!(during.retried > 5, "retrying while down: {during:?}");
    sink.up();
    assert!(t.flush(Duration::from_secs(600)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 50, "every alert within the bound is delivered");
    let m = t.metrics();
    assert_eq!(m.dropped.total(), 0, "{m:?}");
    assert_eq!(m.sent_alerts, 50);
    for i in 0..50 {
        assert!(
            sent.iter()
                .any(|s| s.plain_fallback.contains(&format!("failure {i}\n"))),
            "{i}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn beyond_the_bound_alerts_are_dropped_and_counted_never_blocking() {
    let sink = MemoryTransport::new();
    let t = builder(&sink).queue_capacity(8).build().unwrap();
    sink.down(DeliveryError::Transient("down".into()));
    let started = tokio::time::Instant::now();
    for i in 0..1_000 {
        t.report(distinct(i)); // never awaits, never fails
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
    tokio::time::sleep(Duration::from_secs(60)).await;
    sink.up();
    assert!(t.flush(Duration::from_secs(600)).await);
    let m = t.metrics();
    let delivered = sink.sent().len() as u64;
    assert!(m.dropped.queue_full > 0, "{m:?}");
    assert_eq!(
        delivered + m.dropped.total(),
        1_000,
        "every alert is either delivered or counted as dropped: {m:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_429_storm_pauses_all_sends_for_retry_after() {
    let sink = MemoryTransport::new();
    let t = builder(&sink).build().unwrap();
    for _ in 0..3 {
        sink.fail_next(DeliveryError::RateLimited {
            retry_after: Duration::from_secs(7),
        });
    }
    for i in 0..5 {
        t.report(distinct(i));
    }
    assert!(t.flush(Duration::from_secs(600)).await);
    let attempts = sink.attempts();
    assert_eq!(attempts.len(), 8, "3 refused + 5 accepted");
    for w in attempts.windows(2).take(3) {
        let gap = w[1].0 - w[0].0;
        assert!(
            gap >= Duration::from_secs(7),
            "retry_after honoured: waited {gap:?}"
        );
    }
    assert_eq!(sink.sent().len(), 5);
    let m = t.metrics();
    assert_eq!(m.retried, 3);
    assert_eq!(m.dropped.total(), 0);
}

#[tokio::test(start_paused = true)]
async fn rejected_markup_is_resent_as_plain_text() {
    let sink = MemoryTransport::new();
    let t = builder(&sink).build().unwrap();
    sink.fail_next(DeliveryError::MarkupRejected("can't parse entities".into()));
    t.report(Alert::critical("<b>unbalanced & odd</b>").message("x < y"));
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].parse_mode, ParseMode::Plain);
    assert!(sent[0].text.contains("<b>unbalanced & odd</b>"));
    assert!(sent[0].text.contains("x < y"));
    assert_eq!(t.metrics().plain_fallbacks, 1);
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried_and_are_counted() {
    let sink = MemoryTransport::new();
    let t = builder(&sink).build().unwrap();
    sink.fail_next(DeliveryError::Permanent("chat not found".into()));
    t.report(distinct(1));
    t.report(distinct(2));
    assert!(t.flush(Duration::from_secs(60)).await);
    assert_eq!(sink.attempts().len(), 2);
    assert_eq!(sink.sent().len(), 1);
    let m = t.metrics();
    assert_eq!(m.dropped.rejected, 1);
    assert_eq!(m.retried, 0);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_delivery_deadline() {
    let sink = MemoryTransport::new();
    let t = builder(&sink)
        .retry(RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            deadline: Duration::from_secs(60),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    sink.down(DeliveryError::Transient("502".into()));
    let start = tokio::time::Instant::now();
    t.report(distinct(1));
    assert!(t.flush(Duration::from_secs(600)).await);
    assert!(start.elapsed() <= Duration::from_secs(61));
    let m = t.metrics();
    assert_eq!(m.dropped.retries_exhausted, 1);
    assert!(m.retried >= 5, "{m:?}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_what_is_queued_then_refuses() {
    let sink = MemoryTransport::new();
    let t = builder(&sink).build().unwrap();
    for i in 0..20 {
        t.report(distinct(i));
    }
    let r = t.shutdown(Duration::from_secs(2)).await;
    assert!(r.completed);
    assert_eq!(r.abandoned, 0);
    assert_eq!(sink.sent().len(), 20);
    t.report(distinct(99));
    assert_eq!(t.metrics().dropped.shutdown, 1);
    assert!(!t.is_enabled());
}

#[tokio::test(start_paused = true)]
async fn shutdown_returns_at_its_deadline_when_telegram_is_down() {
    let sink = MemoryTransport::new();
    let t = builder(&sink).build().unwrap();
    sink.down(DeliveryError::Transient("down".into()));
    for i in 0..10 {
        t.report(distinct(i));
    }
    let start = tokio::time::Instant::now();
    let r = t.shutdown(Duration::from_secs(2)).await;
    assert!(!r.completed);
    assert!(start.elapsed() <= Duration::from_secs(2));
    assert_eq!(
        r.abandoned, 10,
        "alerts, not the worker's internal requests"
    );
    assert_eq!(t.metrics().dropped.shutdown, r.abandoned);
    assert!(sink.sent().is_empty());
}

#[tokio::test(start_paused = true)]
async fn levels_go_to_their_destinations_and_info_is_silent() {
    let sink = MemoryTransport::new();
    let routes = Routes::new(Destination::chat(-1))
        .level(Level::Critical, Destination::chat(-1).thread(10))
        .level(Level::Info, Destination::chat(-2).thread(30));
    let t = builder(&sink).routes(routes).build().unwrap();
    t.report(Alert::critical("boom"));
    t.report(Alert::info("deployed v2"));
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = sink.sent();
    let boom = sent
        .iter()
        .find(|m| m.plain_fallback.contains("boom"))
        .unwrap();
    assert_eq!(boom.destination, Destination::chat(-1).thread(10));
    assert!(!boom.disable_notification);
    let info = sent
        .iter()
        .find(|m| m.plain_fallback.contains("deployed v2"))
        .unwrap();
    assert_eq!(info.destination, Destination::chat(-2).thread(30));
    assert!(info.disable_notification);
}

#[tokio::test(start_paused = true)]
async fn ignored_paths_statuses_and_error_types_are_never_sent() {
    let sink = MemoryTransport::new();
    let rules = telemon_alerts::IgnoreRules::default()
        .path("/docs")
        .status(503)
        .error_type("NotFound");
    let t = builder(&sink).ignore(rules).build().unwrap();
    t.report(Alert::critical("a").route("GET", "/docs/intro"));
    t.report(Alert::critical("b").route("GET", "/x").status(503));
    t.report(Alert::critical("c").error_type("app::NotFound"));
    t.report(Alert::critical("kept").route("GET", "/documents"));
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].plain_fallback.contains("kept"));
    assert_eq!(t.metrics().ignored, 3);
}

struct PanickingTransport(MemoryTransport, std::sync::atomic::AtomicBool);

#[async_trait::async_trait]
impl telemon_alerts::Transport for PanickingTransport {
    async fn send(&self, m: &telemon_alerts::OutgoingMessage) -> Result<(), DeliveryError> {
        if !self.1.swap(true, std::sync::atomic::Ordering::SeqCst) {
            panic!("transport bug");
        }
        self.0.send(m).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_transport_does_not_stop_the_worker() {
    let sink = MemoryTransport::new();
    let t = Telemon::builder()
        .transport(PanickingTransport(
            sink.clone(),
            std::sync::atomic::AtomicBool::new(false),
        ))
        .destination(Destination::chat(1))
        .immediate_budget(None)
        .build()
        .unwrap();
    t.report(distinct(1));
    t.report(distinct(2));
    assert!(t.flush(Duration::from_secs(10)).await);
    assert_eq!(sink.sent().len(), 1);
    assert_eq!(t.metrics().internal_errors, 1);
}
