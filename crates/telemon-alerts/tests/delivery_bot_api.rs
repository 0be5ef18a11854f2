//! Delivery against the fake Bot API (real HTTP, tokio paused time): shutdown in a paced
//! group (Critical first, the rest folded into one summary, exact counts), a long flood wait
//! (held, then reported by one notice), and one retry loop with one classifier (the number of
//! HTTP requests is the worker's policy, exactly).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use sentinel_core::{ManualClock, Timestamp};
use sentinel_testkit::fake_bot_api::{FakeBotApi, Fault};
use telemon_alerts::transport::TelegramTransport;
use telemon_alerts::{Alert, Destination, RetryPolicy, Telemon, TelemonBuilder};

/// A supergroup: paced at one message every 3 s (20 per minute).
const GROUP: i64 = -1_001_234_567_890;
/// `TELEMON_SHUTDOWN_TIMEOUT_SECS`'s default.
const DEFAULT_SHUTDOWN: Duration = Duration::from_secs(5);

fn builder(api: &FakeBotApi) -> TelemonBuilder {
    Telemon::builder()
        .transport(TelegramTransport::with_api_url(api.token(), api.url().as_str()).unwrap())
        .destination(Destination::chat(GROUP))
        .service("billing")
        .clock(ManualClock::new(Timestamp::from_secs(1_700_000_000)))
        .immediate_budget(None)
        .tick(Duration::from_secs(3600))
}

/// 3 Critical, 3 Warning (one digest at shutdown), 3 Info: 7 messages for one group.
fn report_nine(t: &Telemon) {
    for i in 0..3 {
        t.report(Alert::info(format!("cache warmed {i}")).fingerprint(format!("i{i}")));
        t.report(Alert::warning(format!("slow query {i}")).fingerprint(format!("w{i}")));
        t.report(Alert::critical(format!("postgres is down {i}")).fingerprint(format!("c{i}")));
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_in_a_group_sends_critical_first_and_summarises_the_rest() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    let start = tokio::time::Instant::now();
    report_nine(&t);
    let r = t.shutdown(DEFAULT_SHUTDOWN).await;

    let sent = api.sent_to(GROUP);
    // 5 s in a group: room for 2 messages (t = 0 s and t = 3 s).
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert!(sent.iter().all(|m| m.at - start < DEFAULT_SHUTDOWN));
    assert!(sent[0].visible_text.contains("postgres is down 0"));
    assert!(!sent[0].disable_notification);
    let summary = &sent[1].visible_text;
    assert!(summary.starts_with("+6 more alerts"), "{summary}");
    assert!(
        !sent[1].disable_notification,
        "a Critical is folded in: it notifies"
    );
    // Every Critical reached the chat, and the folded ones are listed before the rest.
    let pos = |needle: &str| {
        summary
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing from {summary}"))
    };
    for i in 1..3 {
        assert!(pos(&format!("postgres is down {i}")) < pos("WARNING DIGEST"));
    }
    for i in 0..3 {
        assert!(pos("WARNING DIGEST") < pos(&format!("cache warmed {i}")));
    }
    // Exact counts: 7 messages = 1 sent + 6 summarised, nothing abandoned or lost.
    assert_eq!(
        (r.completed, r.summarised, r.abandoned),
        (true, 6, 0),
        "{r:?}"
    );
    let m = t.metrics();
    assert_eq!(m.sent, 2);
    assert_eq!(m.summarised, 6);
    assert_eq!(m.dropped.total(), 0, "{m:?}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_with_time_to_spare_sends_one_by_one_loudest_first() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    report_nine(&t);
    let r = t.shutdown(Duration::from_secs(30)).await;
    let sent = api.sent_to(GROUP);
    let order: Vec<&str> = sent
        .iter()
        .map(|m| {
            if m.visible_text.contains("postgres") {
                "critical"
            } else if m.visible_text.contains("WARNING DIGEST") {
                "digest"
            } else {
                "info"
            }
        })
        .collect();
    assert_eq!(
        order,
        [
            "critical", "critical", "critical", "digest", "info", "info", "info"
        ]
    );
    for w in sent.windows(2) {
        assert!(
            w[1].at - w[0].at >= Duration::from_secs(3),
            "group pacing kept"
        );
    }
    assert_eq!((r.completed, r.summarised, r.abandoned), (true, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_group_under_a_flood_wait_past_the_deadline_is_abandoned_and_counted() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 30 });
    report_nine(&t);
    api.wait_for_calls("sendMessage", 1, Duration::from_secs(30))
        .await;
    // Telegram asked to wait 30 s: nothing can reach the group within 5 s.
    let r = t.shutdown(DEFAULT_SHUTDOWN).await;
    assert!(api.sent().is_empty());
    assert_eq!(
        api.calls_of("sendMessage").len(),
        1,
        "no request during the pause"
    );
    assert_eq!(
        (r.completed, r.summarised, r.abandoned),
        (false, 0, 7),
        "{r:?}"
    );
    assert_eq!(t.metrics().dropped.shutdown, 7);
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_after_holds_alerts_then_one_notice_reports_it() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).queue_capacity(2).build().unwrap();
    api.fail_next(
        "sendMessage",
        Fault::TooManyRequests {
            retry_after: 1_000_000_000,
        },
    );
    t.report(Alert::critical("postgres is down").fingerprint("a"));
    api.wait_for_calls("sendMessage", 1, Duration::from_secs(30))
        .await;
    // During the wait: two more fit the outbox, three are dropped (counted).
    for i in 0..5 {
        t.report(Alert::critical(format!("later {i}")).fingerprint(format!("l{i}")));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let m = t.metrics();
    assert_eq!(m.dropped.outbox_full, 3, "{m:?}");
    assert_eq!(
        api.calls_of("sendMessage").len(),
        1,
        "nothing sent while paused"
    );
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(t.flush(Duration::from_secs(60)).await);

    let sent = api.sent_to(GROUP);
    assert_eq!(sent.len(), 4, "{sent:#?}");
    let notice = &sent[0].visible_text;
    assert!(
        notice.contains("held for 1h 0m by Telegram flood control"),
        "{notice}"
    );
    assert!(notice.contains("wait 3600 s in all"), "{notice}");
    assert!(notice.contains("3 message(s) were held"), "{notice}");
    assert!(
        notice.contains("3 alert(s) or message(s) were dropped"),
        "{notice}"
    );
    assert!(sent[1].visible_text.contains("postgres is down"));
    assert!(sent[2].visible_text.contains("later 0"));
    assert!(sent[3].visible_text.contains("later 1"));
    let m = t.metrics();
    assert_eq!((m.sent_alerts, m.dropped.total()), (3, 3));
}

#[tokio::test(start_paused = true)]
async fn a_refused_notice_is_replaced_so_one_notice_covers_the_whole_wait() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    let flood = Fault::TooManyRequests {
        retry_after: 1_000_000_000,
    };
    // The alert, then its notice, are refused: two waits of an hour (the cap) each.
    api.fail_next("sendMessage", flood.clone());
    api.fail_next("sendMessage", flood);
    t.report(Alert::critical("postgres is down"));
    api.wait_for_calls("sendMessage", 2, Duration::from_secs(3700))
        .await;
    tokio::time::sleep(Duration::from_secs(3601)).await;
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = api.sent_to(GROUP);
    assert_eq!(sent.len(), 2, "one notice, then the alert: {sent:#?}");
    assert!(
        sent[0].visible_text.contains("held for 2h 0m"),
        "{}",
        sent[0].visible_text
    );
    assert!(sent[0].visible_text.contains("1 message(s) were held"));
    assert!(sent[1].visible_text.contains("postgres is down"));
}

#[tokio::test(start_paused = true)]
async fn one_retry_loop_requests_equal_the_worker_policy() {
    let api = FakeBotApi::start().await;
    let t = builder(&api)
        .retry(RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    api.set_fault("sendMessage", Fault::ServerError(502));
    t.report(Alert::critical("postgres is down"));
    assert!(t.flush(Duration::from_secs(600)).await);
    // No retry loop inside the sender: each worker attempt is exactly one request.
    assert_eq!(api.calls_of("sendMessage").len(), 4);
    let m = t.metrics();
    assert_eq!((m.retried, m.dropped.retries_exhausted), (3, 1), "{m:?}");
}

#[tokio::test(start_paused = true)]
async fn a_408_is_classified_once_as_retryable() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    let timeout = Fault::Raw {
        status: 408,
        body: r#"{"ok":false,"error_code":408,"description":"Request Timeout"}"#.into(),
    };
    api.fail_next("sendMessage", timeout.clone());
    api.fail_next("sendMessage", timeout);
    t.report(Alert::critical("postgres is down"));
    assert!(t.flush(Duration::from_secs(600)).await);
    assert_eq!(api.calls_of("sendMessage").len(), 3);
    assert_eq!(api.sent().len(), 1);
    let m = t.metrics();
    assert_eq!((m.retried, m.dropped.total()), (2, 0), "{m:?}");
}
