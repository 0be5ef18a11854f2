//! End to end against the fake Bot API (sentinel-testkit): the axum layer, the real
//! `TelegramTransport`, markup validated by the fake, outages and 429 storms.
#![cfg(feature = "axum")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err,
    reason = "tests fail loudly; figment::Jail's error type is large"
)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use sentinel_testkit::fake_bot_api::{FakeBotApi, Fault};
use tower::ServiceExt as _;

use telemon_alerts::capture::axum::{OCCURRENCE_HEADER, TelemonLayer};
use telemon_alerts::transport::TelegramTransport;
use telemon_alerts::{Alert, Destination, RetryPolicy, Telemon, TelemonBuilder};

const CHAT: i64 = -1_001_234_567_890;

fn builder(api: &FakeBotApi) -> TelemonBuilder {
    Telemon::builder()
        .transport(TelegramTransport::with_api_url(api.token(), api.url().as_str()).unwrap())
        .destination(Destination::chat(CHAT).thread(3))
        .service("users-api")
        .environment("test")
        .immediate_budget(None)
        .retry(RetryPolicy {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            deadline: Duration::from_secs(600),
            ..RetryPolicy::default()
        })
}

async fn panicking(axum::extract::Path(id): axum::extract::Path<u64>) -> &'static str {
    panic!("user {id}: login with password=PanicPass-777 failed");
}

fn app(t: &Telemon) -> Router {
    Router::new()
        .route("/users/{id}", get(panicking))
        .route("/ok", get(|| async { "fine" }))
        .layer(TelemonLayer::new(t).capture_headers(true))
}

#[tokio::test(start_paused = true)]
async fn panicking_route_alert_reaches_the_fake_bot_api_without_secrets() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    let app = app(&t);
    let req = Request::get("/users/42?token=QueryTok-555&password=QueryPass-666&page=3")
        .header("Authorization", "Bearer HeaderBearer-111")
        .header("Cookie", "session=CookieSess-222")
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = res.headers()[OCCURRENCE_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    let ok = app
        .clone()
        .oneshot(Request::get("/ok").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    assert!(t.flush(Duration::from_secs(30)).await);
    let sent = api.sent();
    assert_eq!(sent.len(), 1, "one alert");
    let m = &sent[0];
    assert_eq!(m.chat_id, CHAT);
    assert_eq!(m.message_thread_id, Some(3));
    assert_eq!(
        m.parse_mode.as_deref(),
        Some("HTML"),
        "the fake accepted our HTML"
    );
    assert!(
        m.visible_text.contains("panic in GET /users/{id}"),
        "{}",
        m.visible_text
    );
    assert!(m.visible_text.contains(&id));
    assert!(m.visible_text.contains("page=3"));
    let everything = format!("{:?}", api.calls());
    for secret in [
        "HeaderBearer-111",
        "CookieSess-222",
        "QueryTok-555",
        "QueryPass-666",
        "PanicPass-777",
    ] {
        assert!(!everything.contains(secret), "{secret} reached the Bot API");
    }
    t.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn outage_then_recovery_delivers_everything_and_the_service_keeps_serving() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).queue_capacity(64).build().unwrap();
    let app = app(&t);
    api.down();
    for i in 0..30 {
        t.report(Alert::critical(format!("job {i} failed")).fingerprint(format!("job-{i}")));
        // The service answers normally while Telegram is unreachable.
        let res = app
            .clone()
            .oneshot(Request::get("/ok").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert!(api.sent().is_empty());
    assert!(t.metrics().retried > 0);
    api.up();
    assert!(t.flush(Duration::from_secs(120)).await);
    let sent = api.sent();
    assert_eq!(sent.len(), 30, "nothing within the queue bound is lost");
    for i in 0..30 {
        assert!(
            sent.iter()
                .any(|m| m.visible_text.contains(&format!("job {i} failed")))
        );
    }
    assert_eq!(t.metrics().dropped.total(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_429_storm_is_honoured() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    for _ in 0..3 {
        api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 5 });
    }
    for i in 0..4 {
        t.report(Alert::critical(format!("alert {i}")).fingerprint(format!("a{i}")));
    }
    assert!(t.flush(Duration::from_secs(120)).await);
    let calls = api.calls_of("sendMessage");
    assert_eq!(calls.len(), 7, "3 refused + 4 accepted");
    for w in calls.windows(2).take(3) {
        assert!(
            w[1].at - w[0].at >= Duration::from_secs(5),
            "waited {:?}",
            w[1].at - w[0].at
        );
    }
    assert_eq!(api.sent().len(), 4);
    assert_eq!(t.metrics().dropped.total(), 0);
}

#[tokio::test(start_paused = true)]
async fn markup_the_fake_rejects_falls_back_to_plain_text() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    api.fail_next(
        "sendMessage",
        Fault::BadRequest("can't parse entities: unexpected end tag".into()),
    );
    t.report(Alert::critical("<odd> & markup").message("if a < b && c > d {}"));
    assert!(t.flush(Duration::from_secs(30)).await);
    let sent = api.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].parse_mode, None);
    assert!(sent[0].text.contains("<odd> & markup"));
    assert_eq!(t.metrics().plain_fallbacks, 1);
}

#[tokio::test(start_paused = true)]
async fn huge_and_hostile_alerts_are_valid_html_within_the_limit() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    t.report(
        Alert::critical("<script>alert('x')</script> & </b>")
            .message("é<>&\"🦀".repeat(5_000))
            .detail("payload", "<pre>".repeat(2_000))
            .backtrace("  at <frame> &amp;\n".repeat(500))
            .fingerprint("huge"),
    );
    assert!(t.flush(Duration::from_secs(30)).await);
    let sent = api.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].parse_mode.as_deref(),
        Some("HTML"),
        "accepted as HTML, no fallback"
    );
    assert!(sent[0].visible_text.chars().count() <= 4096);
    assert_eq!(t.metrics().plain_fallbacks, 0);
}

#[tokio::test(start_paused = true)]
async fn permanent_refusal_is_counted_not_retried() {
    let api = FakeBotApi::start().await;
    let t = builder(&api).build().unwrap();
    api.block_chat(CHAT);
    t.report(Alert::critical("x"));
    assert!(t.flush(Duration::from_secs(30)).await);
    assert_eq!(api.calls_of("sendMessage").len(), 1);
    assert_eq!(t.metrics().dropped.rejected, 1);
    let dbg = format!(
        "{:?}",
        TelegramTransport::with_api_url(api.token(), api.url().as_str()).unwrap()
    );
    assert!(!dbg.contains(api.token()));
}

#[tokio::test(start_paused = true)]
async fn configured_from_telemon_env_vars() {
    let api = FakeBotApi::start().await;
    let mut config = None;
    figment::Jail::expect_with(|jail| {
        jail.set_env("TELEMON_BOT_TOKEN", api.token());
        jail.set_env("TELEMON_API_URL", api.url().as_str());
        jail.set_env("TELEMON_CHAT_ID", "-1009");
        jail.set_env("TELEMON_INFO_THREAD_ID", "44");
        jail.set_env("TELEMON_SERVICE", "from-env");
        config = Some(telemon_alerts::Config::from_env().expect("valid"));
        Ok(())
    });
    let config = config.unwrap();
    assert!(!format!("{config:?}").contains(api.token()));
    let t = Telemon::builder().config(&config).build().unwrap();
    t.report(Alert::info("deployed"));
    assert!(t.flush(Duration::from_secs(30)).await);
    let sent = api.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].chat_id, -1009);
    assert_eq!(sent[0].message_thread_id, Some(44));
    assert!(sent[0].disable_notification);
    assert!(sent[0].visible_text.contains("from-env"));
}
