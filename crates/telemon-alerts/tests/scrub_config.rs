//! The scrubber's own rules, end to end to the fake Bot API: `extra_patterns`, the closure hook,
//! and the last pass over the rendered message (which also runs both).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::borrow::Cow;
use std::time::Duration;

use regex::Regex;
use sentinel_testkit::fake_bot_api::FakeBotApi;
use telemon_alerts::scrub::ScrubConfig;
use telemon_alerts::transport::TelegramTransport;
use telemon_alerts::{Alert, Destination, Telemon, TelemonBuilder};

fn builder(api: &FakeBotApi) -> TelemonBuilder {
    Telemon::builder()
        .transport(TelegramTransport::with_api_url(api.token(), api.url().as_str()).unwrap())
        .destination(Destination::chat(9))
        .immediate_budget(None)
}

/// Sends one alert carrying `EMP-204863` in its message and a detail, returns what arrived.
async fn send_badge(config: Option<ScrubConfig>, service: &str) -> String {
    let api = FakeBotApi::start().await;
    let mut b = builder(&api).service(service);
    if let Some(c) = config {
        b = b.scrub(c);
    }
    let t = b.build().unwrap();
    t.report(
        Alert::critical("badge reader failed")
            .message("reader rejected badge EMP-204863")
            .detail("badge", "EMP-204863"),
    );
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = api.sent();
    assert_eq!(sent.len(), 1);
    sent[0].visible_text.clone()
}

#[tokio::test(start_paused = true)]
async fn without_a_rule_the_badge_goes_through() {
    // The control: the built-in rules do not know this shape.
    let text = send_badge(None, "doors").await;
    assert_eq!(text.matches("EMP-204863").count(), 2, "{text}");
}

#[tokio::test(start_paused = true)]
async fn extra_patterns_filter_every_field() {
    let config = ScrubConfig {
        extra_patterns: vec![Regex::new(r"EMP-\d{6}").unwrap()],
        ..ScrubConfig::default()
    };
    let text = send_badge(Some(config), "doors").await;
    assert!(!text.contains("204863"), "{text}");
    assert!(text.contains("reader rejected badge [Filtered]"), "{text}");
    assert!(text.contains("badge: [Filtered]"), "{text}");
}

/// Idempotent, as hooks must be: it runs on each field and again on the whole message.
fn badge_hook(text: &str) -> Cow<'_, str> {
    if text.contains("EMP-204863") {
        Cow::Owned(text.replace("EMP-204863", "EMP-[Filtered]"))
    } else {
        Cow::Borrowed(text)
    }
}

#[tokio::test(start_paused = true)]
async fn the_hook_runs_on_every_field() {
    let text = send_badge(Some(ScrubConfig::default().hook(badge_hook)), "doors").await;
    assert!(
        text.contains("reader rejected badge EMP-[Filtered]"),
        "{text}"
    );
    assert!(text.contains("badge: EMP-[Filtered]"), "{text}");
    assert!(!text.contains("204863"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn the_last_pass_catches_what_only_formatting_assembled() {
    // The service name is not an alert field: only the pass over the rendered message sees it.
    let leaky = "billing redis://:Svc-Pw-998877@cache:6379";
    let text = send_badge(None, leaky).await;
    assert!(!text.contains("Svc-Pw-998877"), "{text}");
    assert!(text.contains("redis://[Filtered]@cache:6379"), "{text}");
    // ... and it runs the user's rules too.
    let text = send_badge(
        Some(ScrubConfig::default().hook(|t: &str| {
            if t.contains("ops-team-7") {
                Cow::Owned(t.replace("ops-team-7", "[Filtered]"))
            } else {
                Cow::Borrowed(t)
            }
        })),
        "ops-team-7",
    )
    .await;
    assert!(!text.contains("ops-team-7"), "{text}");
    assert!(text.contains("EMP-204863"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_message_the_last_pass_leaves_alone_keeps_its_formatting() {
    // A look-alike that a rule visits but keeps (a card number failing Luhn, a lower-case
    // "basic authentication") must not turn the message into plain text.
    let api = FakeBotApi::start().await;
    let t = builder(&api).service("shop").build().unwrap();
    t.report(
        Alert::critical("order 4111111111111112 failed")
            .message("basic authentication required")
            .detail("payment", "declined"),
    );
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = api.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("<b>"), "{}", sent[0].text);
    assert!(
        sent[0]
            .visible_text
            .contains("basic authentication required"),
        "{}",
        sent[0].visible_text
    );
}
