//! Prometheus metrics for the engine: `cargo run --example metrics` (feature `metrics`).
//!
//! The library records through the `metrics` facade; the application picks the exporter. Here
//! it is `metrics-exporter-prometheus`, installed **before** the engine is built (the engine
//! registers its handles at build), rendered by an axum route at `/metrics`.
//!
//! The example floods the engine (one user sends 10 events against a limit of 3), scrapes its
//! own `/metrics` once over HTTP and prints the `sentinel_` lines. With `--serve` it keeps
//! serving on `127.0.0.1:9184` (or `METRICS_ADDR`) for a real Prometheus until Ctrl-C.
//!
//! As a crate of its own, it needs (`cargo xtask ci` builds it exactly so):
//!
//! ```toml
//! [dependencies]
//! sentinel = { version = "0.1", default-features = false, features = ["memory", "metrics"] }
//! metrics-exporter-prometheus = { version = "0.18", default-features = false }
//! axum = { version = "0.8", default-features = false, features = ["tokio", "http1"] }
//! reqwest = { version = "0.12", default-features = false, features = ["rustls-tls"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "signal"] }
//! ```
#![expect(clippy::print_stdout, reason = "an example prints what it scraped")]

use std::error::Error;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sentinel::memory::MemoryStore;
use sentinel::prelude::*;

/// Buckets for every `_seconds` histogram: 50 µs (memory store) to 1 s (a slow Redis).
const SECONDS_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
];

/// The `/metrics` route: the Prometheus text format.
fn metrics_app(handle: PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                // Histogram upkeep, then the current values.
                handle.run_upkeep();
                handle.render()
            }
        }),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // 1. The exporter, first: handles registered before a recorder exists record nowhere.
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)?
        .install_recorder()?;

    // 2. The engine (its policies name the `policy` label values).
    let sentinel = Sentinel::builder()
        .store(Arc::new(MemoryStore::new(SystemClock)))
        .policies(
            PolicyRegistry::builder()
                .default_policy(Policy::new().rate_limit(
                    Quota::per_minute(3)?,
                    Algorithm::SlidingWindow,
                    Scope::User,
                ))
                .policy(
                    "search",
                    Policy::new().rate_limit(Quota::per_minute(10)?, Algorithm::Gcra, Scope::User),
                )
                .build()?,
        )
        .build()?;

    // 3. Some traffic: 10 events from one user against 3 a minute, 2 searches.
    for _ in 0..10 {
        sentinel
            .check(&Event::new().with_user(42).with_chat(42))
            .await?;
    }
    for _ in 0..2 {
        let search = Event::new().with_user(42).with_handler("search");
        sentinel.check(&search).await?;
    }

    // 4. Serve `/metrics` and scrape it once, as Prometheus would.
    let serve = std::env::args().any(|a| a == "--serve");
    let addr = match std::env::var("METRICS_ADDR") {
        Ok(a) if serve => a,
        _ if serve => "127.0.0.1:9184".to_owned(),
        _ => "127.0.0.1:0".to_owned(),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let url = format!("http://{}/metrics", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, metrics_app(handle)).await });
    let body = reqwest::get(&url).await?.error_for_status()?.text().await?;
    for line in body.lines().filter(|l| l.starts_with("sentinel_")) {
        println!("{line}");
    }
    if serve {
        println!("serving {url} until Ctrl-C");
        tokio::signal::ctrl_c().await?;
    }
    server.abort();
    Ok(())
}
