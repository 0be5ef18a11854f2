//! A small axum service wired with telemon-alerts: `cargo run --example axum_alerts`.
//!
//! It starts the fake Telegram Bot API in-process (or uses `TELEMON_BOT_TOKEN` and
//! `TELEMON_CHAT_ID` when both are set), serves three routes behind the `TelemonLayer`, calls
//! them — including one that panics with a secret in the request — and prints what reached
//! Telegram.
//!
//! Copied into an application, it needs these dependencies (`cargo xtask ci` builds it as a
//! crate of its own with exactly these):
//!
//! ```toml
//! [dependencies]
//! sentinel = { version = "0.1", default-features = false, features = ["axum", "fake-bot-api"] }
//! axum = { version = "0.8", default-features = false, features = ["tokio", "http1"] }
//! reqwest = { version = "0.12", default-features = false, features = ["rustls-tls"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net"] }
//! ```
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints what it does"
)]

use std::error::Error;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use sentinel::alerts::capture::axum::{OCCURRENCE_HEADER, TelemonLayer};
use sentinel::alerts::transport::TelegramTransport;
use sentinel::alerts::{Config, Destination, Telemon};
use sentinel::fake_bot_api::FakeBotApi;

const ALERT_CHAT: i64 = -100_123;

async fn user(Path(id): Path<u64>) -> String {
    format!("user {id}")
}

async fn checkout(Path(id): Path<u64>) -> &'static str {
    // A bug: the handler panics, with a secret in the message.
    panic!("payment provider rejected order {id}: api_key=sk_live_51Hx9aZ2eXaMpLeKeY000");
}

async fn flaky() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Rust's default panic hook prints the panic message, secrets and all, to stderr. Print only
    // where it happened; the alert carries the scrubbed message and the backtrace.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(ToString::to_string).unwrap_or_default();
        eprintln!("a handler panicked at {at} (see the alert below)");
    }));
    sentinel::alerts::capture::panic_hook::install();
    let configured = ["TELEMON_BOT_TOKEN", "TELEMON_CHAT_ID"]
        .iter()
        .all(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()));
    let fake;
    let telemon = if configured {
        fake = None;
        Telemon::builder()
            .release(env!("CARGO_PKG_VERSION"))
            .config(&Config::from_env()?)
            .build()?
    } else {
        let api = FakeBotApi::start().await;
        let t = Telemon::builder()
            .transport(TelegramTransport::with_api_url(
                api.token(),
                api.url().as_str(),
            )?)
            .destination(Destination::chat(ALERT_CHAT))
            .service("shop-api")
            .environment("demo")
            .release(env!("CARGO_PKG_VERSION"))
            .build()?;
        fake = Some(api);
        t
    };

    // Token, chats, membership and topics, checked before the first alert is needed.
    let verified = telemon.verify().await?;
    println!(
        "alerts go through @{} to {:?}",
        verified.bot_username.unwrap_or_default(),
        verified.destinations
    );

    let app = Router::new()
        .route("/users/{id}", get(user))
        .route("/checkout/{id}", get(checkout))
        .route("/flaky", get(flaky))
        .layer(TelemonLayer::new(&telemon));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!("serving on http://{addr}");

    let http = reqwest::Client::new();
    for path in [
        "/users/17",
        "/checkout/42?token=secret-token-123&password=hunter2",
        "/checkout/43",
        "/flaky",
        "/users/18",
    ] {
        let res = http
            .get(format!("http://{addr}{path}"))
            .header(
                "Authorization",
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            )
            .send()
            .await?;
        let occurrence = res
            .headers()
            .get(OCCURRENCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        println!(
            "GET {path:<55} → {} (occurrence {occurrence})",
            res.status()
        );
    }

    let report = telemon.shutdown(telemon.shutdown_timeout()).await;
    let m = telemon.metrics();
    println!(
        "\nalerts sent {}, suppressed {} (the second checkout panic is the same incident), {report:?}",
        m.sent_alerts, m.suppressed
    );
    if let Some(api) = &fake {
        for sent in api.sent_to(ALERT_CHAT) {
            println!("\n--- delivered to chat {ALERT_CHAT} ---\n{}", sent.text);
        }
    }
    server.abort();
    Ok(())
}
