//! Deduplicated, scrubbed Telegram alerts for Rust services.
//!
//! The pipeline is **capture → scrub → fingerprint → dedup → route → deliver**:
//!
//! * **Capture**: [`Telemon::report`] (manual), the axum layer
//!   ([`capture::axum::TelemonLayer`], feature `axum`), the tracing layer
//!   ([`capture::tracing::TelemonTracingLayer`], feature `tracing`), and
//!   [`Telemon::watch`] / [`Telemon::spawn_monitored`] for background tasks.
//!   `report` never blocks and never fails: a bounded queue, drop-and-count when full.
//! * **Scrub** ([`scrub`]): secrets out of every field before anything is stored or sent.
//! * **Fingerprint** ([`fingerprint`]): error type + route template + normalised message.
//! * **Dedup** (through a shared [`sentinel_core::CoordinationStore`]: memory, or Redis —
//!   `TELEMON_REDIS_URL` or [`TelemonBuilder::store`] — so N workers send one alert): the first occurrence goes out at once, repeats within the cooldown are
//!   counted, and the next message says "+N since last (over T)".
//! * **Route** ([`Routes`]): Critical now, Warning into a per-window digest (exactly once across
//!   workers), Info silently; a budget folds floods into a digest.
//! * **Deliver** ([`transport`]): HTML with escaping and structure-aware truncation, plain-text
//!   fallback, retries honouring `retry_after`; [`Telemon::shutdown`] flushes within a
//!   deadline; [`Telemon::metrics`] counts everything, losses by reason.
//!
//! Also: [`health`] checks alerting on state changes, a [`DailyReport`], a run-once guard
//! ([`Telemon::deduplicated`]) and [`Config`] from `TELEMON_*` variables.
//!
//! # Quick start (axum)
//!
//! ```no_run
//! # #[cfg(feature = "axum")]
//! # mod demo {
//! use axum::{Router, routing::get};
//! use telemon_alerts::{Config, Telemon, capture::axum::TelemonLayer};
//!
//! # #[allow(dead_code)]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // TELEMON_BOT_TOKEN, TELEMON_CHAT_ID, TELEMON_SERVICE, … (see `config`).
//!     let config = Config::from_env()?;
//!     telemon_alerts::capture::panic_hook::install(); // optional: backtraces in panic alerts
//!     let telemon = Telemon::builder()
//!         .release(env!("CARGO_PKG_VERSION"))
//!         .config(&config)
//!         .build()?;
//!     telemon.verify().await?; // token, chats, membership, topics: fail at start-up
//!
//!     let app: Router = Router::new()
//!         .route("/users/{id}", get(|| async { "hello" }))
//!         // Panics → 500 + `x-occurrence-id`, returned 5xx, slow requests.
//!         .layer(TelemonLayer::new(&telemon));
//!
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//!     axum::serve(listener, app).await?;
//!     telemon.shutdown(telemon.shutdown_timeout()).await; // flush what is queued
//!     Ok(())
//! }
//! # }
//! ```
//!
//! With several workers, give them one Redis so an incident is sent once: set
//! `TELEMON_REDIS_URL` (feature `redis`), or pass a store yourself:
//! `Telemon::builder().store(Arc::new(RedisConfig::from_env("REDIS_URL")?.build()?))`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod alert;
mod backtrace;
pub mod capture;
pub mod config;
mod coordination;
pub mod daily;
pub mod dedup;
pub mod deliver;
mod digest;
mod filter;
pub mod fingerprint;
pub mod format;
pub mod health;
mod ids;
mod keys;
pub mod metrics;
mod once;
mod pipeline;
mod route;
pub mod scrub;
mod telemon;
pub mod transport;
mod verify;

pub use alert::{Alert, BoxError, HttpContext, Level};
pub use config::{Config, ConfigEnvError};
pub use daily::{DailyReport, DailySource};
pub use deliver::RetryPolicy;
pub use filter::IgnoreRules;
pub use metrics::{DropReason, Dropped, Metrics};
pub use route::Routes;
pub use telemon::{BuildError, ShutdownReport, StatusSet, Telemon, TelemonBuilder};
pub use transport::{
    DeliveryError, Destination, MessageKind, OutgoingMessage, ParseMode, Transport,
};
pub use verify::{Verified, VerifyError};
