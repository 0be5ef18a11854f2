//! Feature `metrics`: a scripted alert storm (real HTTP to the fake Bot API, tokio paused
//! time, a manual clock for the pipeline) records exact counts in a local debugging recorder:
//! reported, suppressed, folded, digested, sent by kind, dropped by reason, queue depths and
//! one delivery-latency sample per message sent.
#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use sentinel_core::{ManualClock, Timestamp};
use sentinel_testkit::fake_bot_api::{FakeBotApi, Fault};
use sentinel_testkit::metrics::MetricsRecorder;
use telemon_alerts::metrics::{
    ALERTS_DELIVERY_DURATION_SECONDS, ALERTS_DELIVERY_QUEUE_DEPTH, ALERTS_DIGESTED_TOTAL,
    ALERTS_DROPPED_TOTAL, ALERTS_FOLDED_TOTAL, ALERTS_IGNORED_TOTAL, ALERTS_INTAKE_QUEUE_DEPTH,
    ALERTS_INTERNAL_ERRORS_TOTAL, ALERTS_REPORTED_TOTAL, ALERTS_RETRIED_TOTAL, ALERTS_SENT_TOTAL,
    ALERTS_SUPPRESSED_TOTAL,
};
use telemon_alerts::transport::TelegramTransport;
use telemon_alerts::{Alert, Destination, Telemon};

/// A private chat (paced at one message a second).
const CHAT: i64 = 4242;
const WAIT: Duration = Duration::from_secs(120);

#[tokio::test(start_paused = true)]
async fn a_scripted_alert_storm_records_exact_counts() {
    let rec = MetricsRecorder::new();
    let api = FakeBotApi::start().await;
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let t = rec.scoped(|| {
        Telemon::builder()
            .transport(TelegramTransport::with_api_url(api.token(), api.url().as_str()).unwrap())
            .destination(Destination::chat(CHAT))
            .service("billing")
            .clock(clock.clone())
            .cooldown(Duration::from_secs(300))
            .immediate_budget(Some((4, Duration::from_secs(60))))
            .flood_interval(Duration::from_secs(60))
            .queue_capacity(16)
            .tick(Duration::from_secs(3600))
            .build()
            .unwrap()
    });

    // Phase 1: Telegram refuses one alert for good (rejected), and one 429 is retried.
    api.fail_next("sendMessage", Fault::Forbidden("bot was kicked".into()));
    t.report(Alert::critical("boom").fingerprint("boom"));
    assert!(t.flush(WAIT).await);
    api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 2 });
    t.report(Alert::critical("queue stuck").fingerprint("queue"));
    assert!(t.flush(WAIT).await);

    // Phase 2: 18 reports while the worker waits (the queue holds 16, so the last two are
    // lost as queue_full): one incident ten times (1 sent, 9 suppressed); five distinct ones,
    // of which the immediate budget (4 a minute: "boom", "queue" and "db" took 3) sends one
    // and folds four; one Warning (digested).
    for _ in 0..10 {
        t.report(Alert::critical("db down").fingerprint("db"));
    }
    for i in 0..5 {
        t.report(Alert::critical(format!("job {i} failed")).fingerprint(format!("job-{i}")));
    }
    t.report(Alert::warning("disk 91% full").fingerprint("disk"));
    t.report(Alert::critical("lost 1").fingerprint("lost-1"));
    t.report(Alert::critical("lost 2").fingerprint("lost-2"));
    // Nothing taken yet: the intake queue holds 16 (the worker has not run since).
    let mid = rec.snapshot();
    assert_eq!(mid.gauge(ALERTS_INTAKE_QUEUE_DEPTH, &[]), 16.0);
    assert_eq!(
        mid.counter(ALERTS_DROPPED_TOTAL, &[("reason", "queue_full")]),
        2
    );
    assert!(t.flush(WAIT).await);

    // Phase 3: a minute later the timers send the flood digest and the warning digest.
    clock.advance(Duration::from_secs(61));
    assert!(t.flush(WAIT).await);
    // Phase 4: after the cooldown "db" again is a new alert (carrying the 9 repeats).
    clock.advance(Duration::from_secs(300));
    t.report(Alert::critical("db down").fingerprint("db"));
    assert!(t.flush(WAIT).await);

    let report = t.shutdown(WAIT).await;
    assert!(report.completed);
    t.report(Alert::critical("too late"));

    let m = t.metrics();
    let snap = rec.snapshot();
    let counter = |name| snap.counter(name, &[]);
    let sent = |kind| snap.counter(ALERTS_SENT_TOTAL, &[("kind", kind)]);
    let dropped = |reason| snap.counter(ALERTS_DROPPED_TOTAL, &[("reason", reason)]);

    assert_eq!(counter(ALERTS_REPORTED_TOTAL), 2 + 16 + 1);
    assert_eq!(counter(ALERTS_IGNORED_TOTAL), 0);
    assert_eq!(counter(ALERTS_SUPPRESSED_TOTAL), 9);
    assert_eq!(counter(ALERTS_FOLDED_TOTAL), 4);
    assert_eq!(counter(ALERTS_DIGESTED_TOTAL), 1);
    assert_eq!(counter(ALERTS_RETRIED_TOTAL), 1);
    assert_eq!(counter(ALERTS_INTERNAL_ERRORS_TOTAL), 0);
    // "queue" (after its 429), "db", "job-0", "db" after the cooldown.
    assert_eq!(sent("alert"), 4);
    assert_eq!(sent("followup"), 0);
    assert_eq!(sent("digest"), 2);
    assert_eq!(sent("other"), 0);
    assert_eq!(dropped("rejected"), 1);
    assert_eq!(dropped("queue_full"), 2);
    assert_eq!(dropped("shutdown"), 1);
    assert_eq!(dropped("outbox_full"), 0);
    assert_eq!(dropped("retries_exhausted"), 0);
    // Every message Telegram accepted has one latency sample.
    let messages = api.sent_to(CHAT).len();
    assert_eq!(
        snap.histogram(ALERTS_DELIVERY_DURATION_SECONDS, &[]).len(),
        messages
    );
    // Both queues drained: the gauges moved up and down by exactly the same amounts.
    assert_eq!(snap.gauge(ALERTS_INTAKE_QUEUE_DEPTH, &[]), 0.0);
    assert_eq!(snap.gauge(ALERTS_DELIVERY_QUEUE_DEPTH, &[]), 0.0);
    // The exported series are the in-process metrics.
    assert_eq!(m.sent as usize, messages);
    assert_eq!(
        (m.reported, m.suppressed, m.folded, m.dropped.total()),
        (19, 9, 4, 4)
    );
}
