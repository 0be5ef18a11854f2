//! Redis storage for sentinel, standalone or Cluster: one round trip per decision.
//!
//! [`RedisStore`] implements every sentinel storage trait over a
//! [`deadpool_redis`] pool, so limits hold across processes and machines:
//!
//! - each rate-limit decision is one `EVALSHA` of a Lua script that reproduces
//!   `sentinel_core`'s integer arithmetic decision for decision (sliding window, GCRA, fixed
//!   window); `EVALSHA` falls back to loading the script after `NOSCRIPT`, so a Redis that
//!   restarted empty is picked up without restarting the application;
//! - a debounce is one `SET key 1 NX PX window`; a blocklist record is one `SET` whose TTL is
//!   the block's length;
//! - every key has a TTL — the time until its state can no longer change a decision — except
//!   permanent blocks, which stay until unblocked;
//! - time comes from Redis (`TIME`) by default, so workers with skewed clocks agree
//!   ([`TimeSource`]);
//! - all keys of one subject share a Redis Cluster hash slot (the `{subject}` hash tag from
//!   [`sentinel_core::KeyBuilder`]); each script touches only the one key it is given;
//! - every call is bounded by the connect and command timeouts; failures are typed
//!   ([`StoreError::Unavailable`](sentinel_core::StoreError::Unavailable), `Timeout`,
//!   `Protocol`) and feed the engine's `FailMode`;
//! - passwords never appear in `Debug`, `Display`, logs or errors (URLs are shown as
//!   `redis://user:***@host`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{sync::Arc, time::Duration};
//! use sentinel_core::{FailMode, Sentinel};
//! use sentinel_storage_redis::RedisConfig;
//!
//! let store = RedisConfig::from_env("REDIS_URL")?
//!     .command_timeout(Duration::from_millis(200))
//!     .build()?;
//! store.ping().await?;
//! let sentinel = Sentinel::builder()
//!     .store(Arc::new(store))
//!     .fail_mode(FailMode::Open)
//!     .build()?;
//! # drop(sentinel); Ok(()) }
//! ```
//!
//! ## Connections
//!
//! By default ([`ConnectionMode::Multiplexed`]) the store keeps a couple of connections out of
//! its pool and sends every call on one of them; concurrent calls are pipelined on the same
//! socket, which is both one round trip per decision and the fastest way to use Redis from
//! many tasks. [`ConnectionMode::Pooled`] checks a connection out of the pool for each call
//! instead; deadpool pings a reused connection first, so that costs an extra round trip.
//!
//! ## Script arguments
//!
//! The rate-limit scripts take the state key as `KEYS[1]` and `ARGV` = `now` in µs (empty for
//! Redis `TIME`), limit, period in µs, cost, `1` to peek or `0`, extra TTL in ms, and for GCRA
//! the emission interval in µs. They reply
//! `{allowed, remaining, retry_after µs (-1 = never), reset_after µs}`.
//! [`RedisStore::script_sha`] gives the SHA1 for `EVALSHA`.
//!
//! ## Redis ACL
//!
//! The store needs `+evalsha +eval +script|load +time +get +set +del +mget +hmget +hget +hset
//! +hdel +pexpire +scan +ping` on its key prefix (`~prefix:*`).
//!
//! ## Feature flags
//!
//! - `cluster`: Redis Cluster ([`RedisConfig::cluster`], [`RedisConfig::from_cluster_pool`]).
//! - `tls`: `rediss://` URLs (rustls with the webpki roots).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod connection;
mod error;
mod redact;
mod scan;
mod scripts;
mod store;

pub use config::{
    ConnectionMode, DEFAULT_CLIENT_CLOCK_TTL_GRACE, DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONNECTIONS, DEFAULT_POOL_SIZE, RedisConfig, TimeSource,
};
pub use error::RedisConfigError;
pub use redact::redact_url;
pub use store::RedisStore;

/// The `deadpool-redis` this crate uses, so callers name the same version.
pub use deadpool_redis;
/// The `redis` this crate uses, so callers name the same version.
pub use redis;
