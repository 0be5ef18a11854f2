//! ERROR events → alerts, with fields and spans; the crate's own events are ignored.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use telemon_alerts::capture::tracing::TelemonTracingLayer;
use telemon_alerts::transport::MemoryTransport;
use telemon_alerts::{Destination, Telemon};
use tracing_subscriber::layer::SubscriberExt as _;

#[derive(Debug)]
struct DbError;
impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset (password=hunter2)")
    }
}
impl std::error::Error for DbError {}

#[tokio::test]
async fn error_events_become_alerts_with_fields_and_spans() {
    let sink = MemoryTransport::new();
    let t = Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(5))
        .immediate_budget(None)
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(TelemonTracingLayer::new(t.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("checkout", order = 17);
        let _g = span.enter();
        let inner = tracing::info_span!("charge_card");
        let _g2 = inner.enter();
        let err = DbError;
        tracing::error!(
            user_id = 42,
            api_token = "tok-SECRET-123",
            error = &err as &dyn std::error::Error,
            "payment failed"
        );
        tracing::warn!("not an error: ignored");
        tracing::info!("ignored too");
        tracing::error!(target: "telemon_alerts::worker", "our own event: ignored");
        tracing::error!(target: "sentinel_telegram::sender", "sender event: ignored");
    });
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = &sent[0].plain_fallback;
    assert!(text.contains("payment failed"), "{text}");
    assert_eq!(
        text.matches("payment failed").count(),
        1,
        "the message is the title, not repeated as the body: {text}"
    );
    assert!(text.contains("spans: checkout > charge_card"), "{text}");
    assert!(text.contains("user_id: 42"), "{text}");
    assert!(text.contains("target: tracing_layer"), "{text}");
    assert!(text.contains("api_token: [Filtered]"), "{text}");
    assert!(!text.contains("tok-SECRET-123"));
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn extra_ignored_targets() {
    let sink = MemoryTransport::new();
    let t = Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(5))
        .build()
        .unwrap();
    let layer = TelemonTracingLayer::new(t.clone()).ignore_target("noisy_dep");
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!(target: "noisy_dep::pool", "flaky");
        tracing::error!(target: "app", "real");
    });
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].plain_fallback.contains("real"));
}

#[tokio::test]
async fn a_secret_cut_by_the_title_limit_does_not_leak_in_part() {
    let sink = MemoryTransport::new();
    let t = Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(5))
        .immediate_budget(None)
        .build()
        .unwrap();
    let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
    let subscriber = tracing_subscriber::registry().with(TelemonTracingLayer::new(t.clone()));
    tracing::subscriber::with_default(subscriber, || {
        // The 120-character title cut falls inside the bot token.
        let pad = "x".repeat(100);
        tracing::error!("{pad} {token} rejected");
    });
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    for text in [&sent[0].text, &sent[0].plain_fallback] {
        assert!(!text.contains("AAHdqTcv"), "{text}");
        assert!(!text.contains("123456789"), "{text}");
    }
}

#[tokio::test]
async fn a_multi_line_message_is_titled_by_its_first_line_and_shown_once_in_full() {
    let sink = MemoryTransport::new();
    let t = Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(5))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(TelemonTracingLayer::new(t.clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!("import failed\nrow 17: bad date\nrow 18: bad amount");
        tracing::error!("cache miss storm");
    });
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let multi = &sent[0].plain_fallback;
    assert_eq!(
        multi.matches("import failed").count(),
        2,
        "title + full body: {multi}"
    );
    assert!(multi.contains("row 18: bad amount"), "{multi}");
    let single = &sent[1].plain_fallback;
    assert_eq!(single.matches("cache miss storm").count(), 1, "{single}");
}
