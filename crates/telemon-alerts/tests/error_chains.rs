//! The errors services actually return (`anyhow::Error`, `Box<dyn Error + Send + Sync>`, a
//! handler's error in the response extensions) reach the fake Bot API with their whole cause
//! chain.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sentinel_testkit::fake_bot_api::FakeBotApi;
use tower::ServiceExt as _;

use telemon_alerts::capture::axum::{HandlerError, TelemonLayer};
use telemon_alerts::capture::task::TaskFailure;
use telemon_alerts::transport::TelegramTransport;
use telemon_alerts::{Alert, BoxError, Destination, Telemon};

const CHAT: i64 = -1_001_234_567_890;

fn telemon(api: &FakeBotApi) -> Telemon {
    Telemon::builder()
        .transport(TelegramTransport::with_api_url(api.token(), api.url().as_str()).unwrap())
        .destination(Destination::chat(CHAT))
        .immediate_budget(None)
        .build()
        .unwrap()
}

async fn load_config() -> anyhow::Result<u32> {
    let io: Result<u32, std::io::Error> = Err(std::io::Error::other("disk quota exceeded"));
    io.context("reading /etc/app/config.toml")
        .context("loading the configuration")
}

/// The visible text of the only message sent, once it is delivered.
async fn only_message(api: &FakeBotApi, t: &Telemon) -> String {
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = api.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    sent[0].visible_text.clone()
}

fn assert_in_order(text: &str, parts: &[&str]) {
    let mut from = 0;
    for p in parts {
        let at = text[from..]
            .find(p)
            .unwrap_or_else(|| panic!("{p:?} missing (in order) from:\n{text}"));
        from += at + p.len();
    }
}

#[tokio::test(start_paused = true)]
async fn watch_renders_an_anyhow_context_chain() {
    let api = FakeBotApi::start().await;
    let t = telemon(&api);
    let r = t.watch("boot", load_config()).await;
    let Err(TaskFailure::Failed(e)) = r else {
        panic!("expected a failure")
    };
    assert_eq!(e.to_string(), "loading the configuration");
    let text = only_message(&api, &t).await;
    assert_in_order(
        &text,
        &[
            "task boot failed",
            "loading the configuration",
            "Caused by",
            "1. reading /etc/app/config.toml",
            "2. disk quota exceeded",
            "type anyhow::Error",
        ],
    );
}

#[derive(Debug, thiserror::Error)]
#[error("charging order {0} failed")]
struct ChargeError(u32, #[source] std::io::Error);

#[tokio::test(start_paused = true)]
async fn spawn_monitored_renders_a_boxed_chain() {
    let api = FakeBotApi::start().await;
    let t = telemon(&api);
    let h = t.spawn_monitored("billing", async {
        let e: BoxError = Box::new(ChargeError(42, std::io::Error::other("card declined")));
        Err::<(), _>(e)
    });
    assert!(matches!(h.await.unwrap(), Err(TaskFailure::Failed(_))));
    let text = only_message(&api, &t).await;
    assert_in_order(
        &text,
        &[
            "task billing failed",
            "charging order 42 failed",
            "1. card declined",
        ],
    );
}

#[tokio::test(start_paused = true)]
async fn alert_error_takes_anyhow_by_value() {
    let api = FakeBotApi::start().await;
    let t = telemon(&api);
    let e = load_config().await.unwrap_err();
    t.report(Alert::critical("startup failed").error(e));
    let text = only_message(&api, &t).await;
    assert_in_order(
        &text,
        &[
            "startup failed",
            "loading the configuration",
            "1. reading /etc/app/config.toml",
            "2. disk quota exceeded",
        ],
    );
}

struct AppError(anyhow::Error);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        res.extensions_mut().insert(HandlerError::new(self.0));
        res
    }
}

async fn handler() -> Result<&'static str, AppError> {
    load_config().await.map_err(AppError)?;
    Ok("unreachable")
}

#[tokio::test(start_paused = true)]
async fn the_5xx_alert_carries_the_handlers_error() {
    let api = FakeBotApi::start().await;
    let t = telemon(&api);
    let app = Router::new()
        .route("/config", get(handler))
        .layer(TelemonLayer::new(&t));
    let res = app
        .oneshot(Request::get("/config").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = only_message(&api, &t).await;
    assert_in_order(
        &text,
        &[
            "500 in GET /config",
            "loading the configuration",
            "1. reading /etc/app/config.toml",
            "2. disk quota exceeded",
            "type anyhow::Error",
        ],
    );
}
