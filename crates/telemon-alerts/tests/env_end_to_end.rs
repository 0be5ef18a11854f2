//! Every `TELEMON_*` variable, end to end: set it, build `Telemon` from the environment
//! against the fake Bot API, and check its effect on what reaches the fake (or on the error).
//! A variable added to `config::VARIABLES` without a row here fails
//! `every_variable_has_a_row`.
#![cfg(feature = "axum")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err,
    reason = "tests fail loudly; figment::Jail's error type is large"
)]

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use figment::Jail;
use sentinel_core::{CoordinationStore, ManualClock, Timestamp};
use sentinel_storage_memory::MemoryCoordinationStore;
use sentinel_testkit::fake_bot_api::{FakeBotApi, SentMessage, unreachable_url};
use tower::ServiceExt as _;

use telemon_alerts::capture::axum::TelemonLayer;
use telemon_alerts::config::VARIABLES;
use telemon_alerts::transport::TelegramTransport;
use telemon_alerts::{Alert, Config, ConfigEnvError, Telemon};

const CHAT: i64 = -1_001_000_000_001;
/// 2023-11-14 22:13:20 UTC.
const START: u64 = 1_700_000_000;

/// Reads `TELEMON_*` from exactly `vars` (nothing else of the environment leaks in).
fn config_from(vars: &[(&str, String)]) -> Result<Config, ConfigEnvError> {
    let mut out = None;
    Jail::expect_with(|jail| {
        jail.clear_env();
        for (k, v) in vars {
            jail.set_env(k, v);
        }
        out = Some(Config::from_env());
        Ok(())
    });
    out.unwrap()
}

/// One running case: the fake Bot API, the handle built from the environment, its clock.
struct Case {
    api: FakeBotApi,
    t: Telemon,
    clock: ManualClock,
}

impl Case {
    /// The fake plus `TELEMON_BOT_TOKEN`, `TELEMON_API_URL` and `TELEMON_CHAT_ID` pointing at
    /// it, then `vars` (which may override them).
    async fn start(vars: &[(&str, &str)]) -> Self {
        let api = FakeBotApi::start().await;
        let c = config_from(&env_for(&api, vars)).expect("valid configuration");
        let clock = ManualClock::new(Timestamp::from_secs(START));
        let store: Arc<dyn CoordinationStore> =
            Arc::new(MemoryCoordinationStore::new(clock.clone()));
        let t = Telemon::builder()
            .config(&c)
            .clock(clock.clone())
            .store(store)
            .build()
            .unwrap();
        Self { api, t, clock }
    }

    async fn flush(&self) -> Vec<SentMessage> {
        assert!(self.t.flush(Duration::from_secs(120)).await, "flush");
        self.api.sent()
    }

    /// Everything sent once the handle is shut down (digests are sent at shutdown).
    async fn finish(self) -> Vec<SentMessage> {
        let report = self.t.shutdown(Duration::from_secs(120)).await;
        assert!(report.completed, "{report:?}");
        self.api.sent()
    }

    /// The text of the only message sent so far.
    async fn only_text(&self) -> String {
        let sent = self.flush().await;
        assert_eq!(sent.len(), 1, "{:#?}", texts(&sent));
        sent[0].visible_text.clone()
    }

    async fn get(&self, app: &Router, path: &str) -> StatusCode {
        app.clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap()
            .status()
    }
}

fn env_for(api: &FakeBotApi, vars: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("TELEMON_BOT_TOKEN", api.token().to_owned()),
        ("TELEMON_API_URL", api.url().to_string()),
        ("TELEMON_CHAT_ID", CHAT.to_string()),
    ];
    for (k, v) in vars {
        let k: &'static str = VARIABLES
            .iter()
            .find(|known| *known == k)
            .unwrap_or_else(|| panic!("{k} is not a known variable"));
        env.retain(|(e, _)| *e != k);
        env.push((k, (*v).to_owned()));
    }
    env
}

fn texts(sent: &[SentMessage]) -> Vec<&str> {
    sent.iter().map(|m| m.visible_text.as_str()).collect()
}

fn critical(title: &str) -> Alert {
    Alert::critical(title).fingerprint(title.to_owned())
}

/// A router with the routes the HTTP rows use, behind the layer of `t`.
fn router(t: &Telemon) -> Router {
    Router::new()
        .route("/boom", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route("/busy", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/health/db",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "late"
            }),
        )
        .layer(TelemonLayer::new(t))
}

type Check = fn() -> Pin<Box<dyn Future<Output = ()>>>;

/// One row per variable.
const ROWS: &[(&str, Check)] = &[
    ("TELEMON_ENABLED", || Box::pin(enabled())),
    ("TELEMON_BOT_TOKEN", || Box::pin(bot_token())),
    ("TELEMON_API_URL", || Box::pin(api_url())),
    ("TELEMON_CHAT_ID", || Box::pin(chat_id())),
    ("TELEMON_THREAD_ID", || Box::pin(thread_id())),
    ("TELEMON_CRITICAL_CHAT_ID", || Box::pin(per_level_chats())),
    ("TELEMON_WARNING_CHAT_ID", || Box::pin(per_level_chats())),
    ("TELEMON_INFO_CHAT_ID", || Box::pin(per_level_chats())),
    ("TELEMON_CRITICAL_THREAD_ID", || {
        Box::pin(per_level_threads())
    }),
    (
        "TELEMON_WARNING_THREAD_ID",
        || Box::pin(per_level_threads()),
    ),
    ("TELEMON_INFO_THREAD_ID", || Box::pin(per_level_threads())),
    ("TELEMON_SERVICE", || Box::pin(origin())),
    ("TELEMON_ENVIRONMENT", || Box::pin(origin())),
    ("TELEMON_INSTANCE", || Box::pin(origin())),
    ("TELEMON_RELEASE", || Box::pin(origin())),
    ("TELEMON_COOLDOWN_SECS", || Box::pin(cooldown())),
    ("TELEMON_DIGEST_WINDOW_SECS", || Box::pin(digest_window())),
    ("TELEMON_MAX_ALERTS_PER_MINUTE", || {
        Box::pin(max_alerts_per_minute())
    }),
    ("TELEMON_QUEUE_CAPACITY", || Box::pin(queue_capacity())),
    ("TELEMON_SLOW_REQUEST_MS", || Box::pin(slow_request())),
    ("TELEMON_REPORT_STATUSES", || Box::pin(report_statuses())),
    ("TELEMON_IGNORE_PATHS", || Box::pin(ignore_paths())),
    ("TELEMON_IGNORE_STATUSES", || Box::pin(ignore_statuses())),
    ("TELEMON_IGNORE_ERROR_TYPES", || {
        Box::pin(ignore_error_types())
    }),
    ("TELEMON_CAPTURE_HEADERS", || Box::pin(capture_headers())),
    ("TELEMON_SEND_PII", || Box::pin(send_pii())),
    (
        "TELEMON_MAX_STRING_LENGTH",
        || Box::pin(max_string_length()),
    ),
    ("TELEMON_MAX_BACKTRACE_LINES", || {
        Box::pin(max_backtrace_lines())
    }),
    ("TELEMON_DAILY_REPORT_UTC", || Box::pin(daily_report())),
    ("TELEMON_REDIS_URL", || Box::pin(redis_url())),
    ("TELEMON_KEY_PREFIX", || Box::pin(key_prefix())),
    ("TELEMON_SHUTDOWN_TIMEOUT_SECS", || {
        Box::pin(shutdown_timeout())
    }),
];

#[test]
fn every_variable_has_a_row() {
    let rows: BTreeSet<&str> = ROWS.iter().map(|(v, _)| *v).collect();
    let known: BTreeSet<&str> = VARIABLES.iter().copied().collect();
    assert_eq!(rows, known);
}

#[test]
fn every_variable_reaches_the_fake_bot_api() {
    for (var, check) in ROWS {
        eprintln!("row {var}");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(check());
    }
}

async fn enabled() {
    let c = Case::start(&[("TELEMON_ENABLED", "false")]).await;
    assert!(!c.t.is_enabled());
    c.t.report(critical("db down"));
    c.flush().await;
    assert!(c.api.calls().is_empty(), "disabled sends nothing");
    // And enabled (the default) does send.
    let c = Case::start(&[]).await;
    c.t.report(critical("db down"));
    assert_eq!(c.flush().await.len(), 1);
}

async fn bot_token() {
    let c = Case::start(&[(
        "TELEMON_BOT_TOKEN",
        "987654321:AAOtherBotOtherBotOtherBot000000",
    )])
    .await;
    c.t.report(critical("db down"));
    let _ = c.t.flush(Duration::from_secs(5)).await;
    assert!(c.api.sent().is_empty());
    assert!(
        c.api.unauthorized_requests() >= 1,
        "the configured token was used"
    );
}

async fn api_url() {
    let api = FakeBotApi::start().await;
    let c = config_from(&env_for(
        &api,
        &[("TELEMON_API_URL", unreachable_url().as_str())],
    ))
    .unwrap();
    let t = Telemon::builder().config(&c).build().unwrap();
    t.report(critical("db down"));
    let _ = t.flush(Duration::from_secs(5)).await;
    assert!(api.calls().is_empty(), "the configured API URL was used");
}

async fn chat_id() {
    let c = Case::start(&[("TELEMON_CHAT_ID", "-1001000000777")]).await;
    c.t.report(critical("db down"));
    let sent = c.flush().await;
    assert_eq!(sent[0].chat_id, -1_001_000_000_777);
    // 0 is refused, saying what to set.
    let api = FakeBotApi::start().await;
    let e = config_from(&env_for(&api, &[("TELEMON_CHAT_ID", "0")])).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("TELEMON_CHAT_ID must not be 0: set the chat's id"),
        "{e}"
    );
    // And in the builder, for any level.
    let e = Telemon::builder()
        .transport(telemon_alerts::transport::MemoryTransport::new())
        .routes(
            telemon_alerts::Routes::new(telemon_alerts::Destination::chat(CHAT)).level(
                telemon_alerts::Level::Info,
                telemon_alerts::Destination::chat(0),
            ),
        )
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("the info destination has chat id 0"),
        "{e}"
    );
}

async fn thread_id() {
    let c = Case::start(&[("TELEMON_THREAD_ID", "5")]).await;
    c.t.report(critical("db down"));
    assert_eq!(c.flush().await[0].message_thread_id, Some(5));
}

async fn per_level_chats() {
    let c = Case::start(&[
        ("TELEMON_CRITICAL_CHAT_ID", "-1001000000011"),
        ("TELEMON_WARNING_CHAT_ID", "-1001000000022"),
        ("TELEMON_INFO_CHAT_ID", "-1001000000033"),
    ])
    .await;
    c.t.report(critical("db down"));
    c.t.report(Alert::warning("disk 91%").fingerprint("disk"));
    c.t.report(Alert::info("deployed").fingerprint("deploy"));
    let sent = c.finish().await;
    let to = |needle: &str| {
        sent.iter()
            .find(|m| m.visible_text.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {:#?}", texts(&sent)))
            .chat_id
    };
    assert_eq!(to("db down"), -1_001_000_000_011);
    assert_eq!(to("WARNING DIGEST"), -1_001_000_000_022);
    assert_eq!(to("deployed"), -1_001_000_000_033);
    let api = FakeBotApi::start().await;
    let e = config_from(&env_for(&api, &[("TELEMON_INFO_CHAT_ID", "0")])).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("TELEMON_INFO_CHAT_ID must not be 0"),
        "{e}"
    );
}

async fn per_level_threads() {
    let c = Case::start(&[
        ("TELEMON_THREAD_ID", "4"),
        ("TELEMON_CRITICAL_THREAD_ID", "11"),
        ("TELEMON_WARNING_THREAD_ID", "22"),
        ("TELEMON_INFO_THREAD_ID", "33"),
    ])
    .await;
    c.t.report(critical("db down"));
    c.t.report(Alert::warning("disk 91%").fingerprint("disk"));
    c.t.report(Alert::info("deployed").fingerprint("deploy"));
    let sent = c.finish().await;
    let thread = |needle: &str| {
        let m = sent
            .iter()
            .find(|m| m.visible_text.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {:#?}", texts(&sent)));
        (m.chat_id, m.message_thread_id)
    };
    assert_eq!(thread("db down"), (CHAT, Some(11)));
    assert_eq!(thread("WARNING DIGEST"), (CHAT, Some(22)));
    assert_eq!(thread("deployed"), (CHAT, Some(33)));
}

async fn origin() {
    let c = Case::start(&[
        ("TELEMON_SERVICE", "billing"),
        ("TELEMON_ENVIRONMENT", "staging"),
        ("TELEMON_INSTANCE", "web-7"),
        ("TELEMON_RELEASE", "2.3.4"),
    ])
    .await;
    c.t.report(critical("db down"));
    let text = c.only_text().await;
    assert!(
        text.starts_with("🔴 CRITICAL · billing [staging] · on web-7 · release 2.3.4\n"),
        "{text}"
    );
    // Defaults: the host name, and the release the service passes to the builder (which
    // TELEMON_RELEASE overrides, as above).
    let api = FakeBotApi::start().await;
    let c = config_from(&env_for(&api, &[])).unwrap();
    let t = Telemon::builder()
        .release("9.9.9")
        .config(&c)
        .build()
        .unwrap();
    t.report(critical("db down"));
    assert!(t.flush(Duration::from_secs(60)).await);
    let text = api.sent()[0].visible_text.clone();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap();
    assert!(
        text.starts_with(&format!(
            "🔴 CRITICAL · on {} · release 9.9.9\n",
            host.trim()
        )),
        "{text}"
    );
}

async fn cooldown() {
    // The cooldown is exact: a repeat one tick (1 µs) before its end is counted, not sent;
    // at the end it is sent again.
    for (value, cooldown) in [(Some("120"), 120), (None, 600)] {
        let vars: Vec<(&str, &str)> = value
            .map(|v| ("TELEMON_COOLDOWN_SECS", v))
            .into_iter()
            .collect();
        let c = Case::start(&vars).await;
        c.t.report(critical("db down"));
        assert_eq!(c.flush().await.len(), 1);
        c.clock
            .advance(Duration::from_secs(cooldown) - Duration::from_micros(1));
        c.t.report(critical("db down"));
        assert_eq!(
            c.flush().await.len(),
            1,
            "cooldown {cooldown}s: a repeat 1 µs before its end is suppressed"
        );
        assert_eq!(c.t.metrics().suppressed, 1);
        c.clock.advance(Duration::from_micros(1));
        c.t.report(critical("db down"));
        let sent = c.flush().await;
        assert!(
            sent.len() >= 2 && sent.last().unwrap().visible_text.contains("db down"),
            "cooldown {cooldown}s: at its end the incident is sent again: {:#?}",
            texts(&sent)
        );
    }
}

async fn digest_window() {
    for (value, label) in [(Some("60"), "22:13–22:14 UTC"), (None, "22:10–22:15 UTC")] {
        let vars: Vec<(&str, &str)> = value
            .map(|v| ("TELEMON_DIGEST_WINDOW_SECS", v))
            .into_iter()
            .collect();
        let c = Case::start(&vars).await;
        c.t.report(Alert::warning("disk 91%").fingerprint("disk"));
        let sent = c.finish().await;
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].visible_text.contains(label),
            "{label}: {}",
            sent[0].visible_text
        );
    }
}

async fn max_alerts_per_minute() {
    for (value, immediate) in [(Some("2"), 2), (None, 20), (Some("0"), 25)] {
        let vars: Vec<(&str, &str)> = value
            .map(|v| ("TELEMON_MAX_ALERTS_PER_MINUTE", v))
            .into_iter()
            .collect();
        let c = Case::start(&vars).await;
        for i in 0..25 {
            c.t.report(critical(&format!("job {i} failed")));
        }
        let sent = c.flush().await;
        let one_by_one = sent
            .iter()
            .filter(|m| m.visible_text.contains("failed") && !m.visible_text.contains("FLOOD"))
            .count();
        assert_eq!(one_by_one, immediate, "{value:?}");
    }
}

async fn queue_capacity() {
    let c = Case::start(&[
        ("TELEMON_QUEUE_CAPACITY", "3"),
        ("TELEMON_MAX_ALERTS_PER_MINUTE", "0"),
    ])
    .await;
    // No await in between: the worker cannot drain the queue while we report.
    for i in 0..10 {
        c.t.report(critical(&format!("job {i} failed")));
    }
    assert_eq!(c.t.metrics().dropped.queue_full, 7);
    assert_eq!(c.flush().await.len(), 3);
}

async fn slow_request() {
    let c = Case::start(&[("TELEMON_SLOW_REQUEST_MS", "1000")]).await;
    let app = router(&c.t);
    assert_eq!(c.get(&app, "/slow").await, StatusCode::OK);
    let sent = c.finish().await;
    assert_eq!(sent.len(), 1, "{:#?}", texts(&sent));
    assert!(sent[0].visible_text.contains("GET /slow — 1× · max 1.5 s"));
    // Off by default.
    let c = Case::start(&[]).await;
    let app = router(&c.t);
    assert_eq!(c.get(&app, "/slow").await, StatusCode::OK);
    assert!(c.finish().await.is_empty());
}

async fn report_statuses() {
    let c = Case::start(&[("TELEMON_REPORT_STATUSES", "404")]).await;
    let app = router(&c.t);
    c.get(&app, "/missing").await;
    c.get(&app, "/boom").await;
    let text = c.only_text().await;
    assert!(text.contains("404 in GET /missing"), "{text}");
}

async fn ignore_paths() {
    let c = Case::start(&[("TELEMON_IGNORE_PATHS", "/health")]).await;
    let app = router(&c.t);
    c.get(&app, "/health/db").await;
    c.get(&app, "/boom").await;
    let text = c.only_text().await;
    assert!(text.contains("500 in GET /boom"), "{text}");
    // Without it, /health/db is reported.
    let c = Case::start(&[]).await;
    let app = router(&c.t);
    c.get(&app, "/health/db").await;
    assert!(c.only_text().await.contains("500 in GET /health/db"));
}

async fn ignore_statuses() {
    let c = Case::start(&[("TELEMON_IGNORE_STATUSES", "503")]).await;
    let app = router(&c.t);
    c.get(&app, "/busy").await;
    c.get(&app, "/boom").await;
    assert!(c.only_text().await.contains("500 in GET /boom"));
}

async fn ignore_error_types() {
    let c = Case::start(&[("TELEMON_IGNORE_ERROR_TYPES", "io::Error")]).await;
    c.t.report(critical("disk").error(std::io::Error::other("disk full")));
    c.t.report(critical("parse").error("x".parse::<u8>().unwrap_err()));
    let text = c.only_text().await;
    assert!(text.contains("parse"), "{text}");
}

async fn capture_headers() {
    for (value, shown) in [(Some("true"), true), (None, false)] {
        let vars: Vec<(&str, &str)> = value
            .map(|v| ("TELEMON_CAPTURE_HEADERS", v))
            .into_iter()
            .collect();
        let c = Case::start(&vars).await;
        let app = router(&c.t);
        app.clone()
            .oneshot(
                Request::get("/boom")
                    .header("x-request-id", "req-4711")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let text = c.only_text().await;
        assert_eq!(text.contains("x-request-id: req-4711"), shown, "{text}");
    }
}

async fn send_pii() {
    for (value, kept) in [(Some("true"), true), (None, false)] {
        let vars: Vec<(&str, &str)> = value.map(|v| ("TELEMON_SEND_PII", v)).into_iter().collect();
        let c = Case::start(&vars).await;
        c.t.report(critical("login failed").detail("client_ip", "203.0.113.9"));
        let text = c.only_text().await;
        assert_eq!(text.contains("203.0.113.9"), kept, "{text}");
    }
}

async fn max_string_length() {
    // 600 words of 5 characters ("w000 w001 …"): 3,000 characters.
    let long: String = (0..600).map(|i| format!("w{i:03} ")).collect();
    for (value, last_kept) in [(Some("100"), 18), (None, 408)] {
        let vars: Vec<(&str, &str)> = value
            .map(|v| ("TELEMON_MAX_STRING_LENGTH", v))
            .into_iter()
            .collect();
        let c = Case::start(&vars).await;
        c.t.report(critical("big").message(long.clone()));
        let text = c.only_text().await;
        let word = |i: u32| format!("w{i:03}");
        assert!(text.contains(&word(last_kept)), "{value:?}: {text}");
        assert!(!text.contains(&word(last_kept + 2)), "{value:?}: {text}");
    }
}

async fn max_backtrace_lines() {
    let backtrace: String = (0..40).map(|i| format!("frame_{i:02}\n")).collect();
    for (value, lines) in [(Some("3"), 3), (None, 30)] {
        let vars: Vec<(&str, &str)> = value
            .map(|v| ("TELEMON_MAX_BACKTRACE_LINES", v))
            .into_iter()
            .collect();
        let c = Case::start(&vars).await;
        c.t.report(critical("panic").backtrace(backtrace.clone()));
        let text = c.only_text().await;
        let frames = (0..40)
            .filter(|i| text.contains(&format!("frame_{i:02}")))
            .count();
        assert_eq!(frames, lines, "{value:?}: {text}");
    }
}

async fn daily_report() {
    let c = Case::start(&[("TELEMON_DAILY_REPORT_UTC", "22:15")]).await;
    assert!(c.flush().await.is_empty());
    c.clock.advance(Duration::from_secs(100)); // 22:15:00
    tokio::time::sleep(Duration::from_secs(2)).await; // the worker's timer tick
    let sent = c.flush().await;
    assert_eq!(sent.len(), 1, "{:#?}", texts(&sent));
    assert!(
        sent[0].visible_text.contains("UTC day 2023-11-13"),
        "{}",
        sent[0].visible_text
    );
}

async fn redis_url() {
    // Wiring to a Redis store is tested with a real redis-server in `dedup_redis.rs`; here:
    // a bad value is refused naming the variable, and the password is never echoed.
    let api = FakeBotApi::start().await;
    let e = config_from(&env_for(
        &api,
        &[("TELEMON_REDIS_URL", "http://:hunter2@cache:6379")],
    ))
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("TELEMON_REDIS_URL must start with redis://"),
        "{e}"
    );
    assert!(!e.to_string().contains("hunter2"));
}

async fn key_prefix() {
    // Two workers sharing one store: with the same prefix an incident is sent once; with
    // different prefixes each sends it.
    for (a, b, expected) in [("svc-a", "svc-a", 1), ("svc-a", "svc-b", 2)] {
        let api = FakeBotApi::start().await;
        let clock = ManualClock::new(Timestamp::from_secs(START));
        let store: Arc<dyn CoordinationStore> =
            Arc::new(MemoryCoordinationStore::new(clock.clone()));
        let mut workers = Vec::new();
        for prefix in [a, b] {
            let c = config_from(&env_for(&api, &[("TELEMON_KEY_PREFIX", prefix)])).unwrap();
            let t = Telemon::builder()
                .config(&c)
                .clock(clock.clone())
                .store(store.clone())
                .build()
                .unwrap();
            t.report(critical("db down"));
            assert!(t.flush(Duration::from_secs(60)).await);
            workers.push(t);
        }
        assert_eq!(api.sent().len(), expected, "{a} / {b}");
    }
}

async fn shutdown_timeout() {
    let c = Case::start(&[("TELEMON_SHUTDOWN_TIMEOUT_SECS", "9")]).await;
    assert_eq!(c.t.shutdown_timeout(), Duration::from_secs(9));
    let c = Case::start(&[]).await;
    assert_eq!(c.t.shutdown_timeout(), Duration::from_secs(5));
}

#[test]
fn unknown_variables_are_refused_with_the_closest_name() {
    let env = |k: &'static str| {
        vec![
            ("TELEMON_CHAT_ID", "-100123".to_owned()),
            (k, "5".to_owned()),
        ]
    };
    let e = config_from(&env("TELEMON_CHATID")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "TELEMON_CHATID: unknown variable; did you mean TELEMON_CHAT_ID?"
    );
    let e = config_from(&env("TELEMON_COOLDOWN_SEC")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "TELEMON_COOLDOWN_SEC: unknown variable; did you mean TELEMON_COOLDOWN_SECS?"
    );
    let e = config_from(&env("TELEMON_MAX_BACKTRACE")).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("did you mean TELEMON_MAX_BACKTRACE_LINES?"),
        "{e}"
    );
    let e = config_from(&env("TELEMON_CHAT")).unwrap_err();
    assert!(
        e.to_string().ends_with("did you mean TELEMON_CHAT_ID?"),
        "{e}"
    );
    let e = config_from(&env("TELEMON_FLUX_CAPACITOR")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("TELEMON_FLUX_CAPACITOR: unknown variable; see the TELEMON_* table"),
        "{e}"
    );
    // Variables of other programs are not ours to judge.
    let ok = config_from(&[
        ("TELEMON_CHAT_ID", "-100123".to_owned()),
        ("TELEMONX_CHAT_ID", "1".to_owned()),
    ]);
    assert!(ok.is_ok(), "{ok:?}");
}

/// The sender telemon builds from `TELEMON_BOT_TOKEN` keeps Telegram's bot-wide limit of 30
/// messages per second by default: 60 messages to 60 private chats at once → 30 go at once,
/// the rest one every 1/30 s.
#[tokio::test(start_paused = true)]
async fn the_bot_wide_default_is_30_per_second() {
    let api = FakeBotApi::start().await;
    let transport = TelegramTransport::with_api_url(api.token(), api.url().as_str()).unwrap();
    let bot = transport.bot_api().clone();
    let start = tokio::time::Instant::now();
    let sends = (1..=60).map(|user: i64| {
        let bot = bot.clone();
        async move {
            let m = sentinel_telegram::sender::SendMessage::new(user, format!("hello {user}"));
            bot.send_message(&m).await.unwrap();
        }
    });
    futures_util::future::join_all(sends).await;
    let mut at: Vec<Duration> = api.sent().iter().map(|m| m.at - start).collect();
    at.sort();
    assert_eq!(at.len(), 60);
    let in_first_instant = at
        .iter()
        .filter(|d| **d < Duration::from_millis(20))
        .count();
    assert_eq!(in_first_instant, 30, "burst of the bot-wide quota: {at:?}");
    assert!(
        at[59] >= Duration::from_millis(990),
        "the 60th waits about one second: {at:?}"
    );
}
