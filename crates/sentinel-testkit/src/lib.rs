//! Test kit for sentinel (not published): a real `redis-server` spawner (standalone,
//! Sentinel and Cluster), a fake Telegram Bot API server that real teloxide bots run against, a
//! latency-injecting TCP proxy, and the conformance suite every store must pass.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support code fails loudly"
)]

pub mod conformance;
/// The fake Telegram Bot API (its own published crate, so the demos can use it through the
/// facade's `fake-bot-api` feature).
pub use sentinel_fake_bot_api as fake_bot_api;
pub mod latency_proxy;
pub mod redis_cluster;
pub mod redis_sentinel;
pub mod redis_server;
pub mod secrets;
