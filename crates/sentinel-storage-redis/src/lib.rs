//! Redis storage for sentinel, standalone, Sentinel-managed or Cluster: one round trip per update.
//!
//! [`RedisStore`] implements every sentinel storage trait over a
//! [`deadpool_redis`] pool, so limits hold across processes and machines:
//!
//! - the engine's whole update — blocklist, debounce, every rate limit, strike and escalation
//!   block ([`sentinel_core::Plan`]) — is **one call** on a standalone server, whatever the
//!   policy: one `FCALL` of the plan library on Redis 7+, one `EVALSHA` of the plan script
//!   before (see [One round trip per update](#one-round-trip-per-update));
//! - each single-purpose rate-limit call (admin `peek`, benchmarks) is one `EVALSHA` of a Lua script that reproduces
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
//!   [`sentinel_core::KeyBuilder`]); each single-purpose script touches only the one key it is
//!   given, the plan only the keys of its plan;
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
//! ## Configuration
//!
//! | [`RedisConfig`] option | default | meaning |
//! |---|---|---|
//! | URL ([`new`](RedisConfig::new), [`from_env`](RedisConfig::from_env), `cluster`) | — | `redis://[user][:password@]host[:port][/db]`; `rediss://` for TLS (feature `tls`) |
//! | `sentinel(master_name, sentinel_urls)` (feature `sentinel`) | — | the master the sentinels name; followed through failovers |
//! | `master_password`, `master_username`, `master_db` (feature `sentinel`) | none, default user, 0 | what the store logs in with on a Sentinel-managed master |
//! | [`pool_size`](RedisConfig::pool_size) | 16 | connections in the pool this crate creates |
//! | [`connection_mode`](RedisConfig::connection_mode) | `Multiplexed(2)` | keep 2 pipelined connections, or check one out per call (`Pooled`) |
//! | [`connect_timeout`](RedisConfig::connect_timeout) | 1 s | getting a connection; exceeded → `StoreError::Timeout` |
//! | [`command_timeout`](RedisConfig::command_timeout) | 500 ms | one command (one decision); exceeded → `StoreError::Timeout` |
//! | [`time_source`](RedisConfig::time_source) | `Server` | Redis `TIME`, or the caller's `now` (`Client`, for tests) |
//! | [`client_clock_ttl_grace`](RedisConfig::client_clock_ttl_grace) | 60 s | extra key lifetime in `Client` mode |
//! | [`functions`](RedisConfig::functions) | `true` | send the plan as `FCALL` on Redis 7+ (`false`: always `EVALSHA`) |
//! | `tls_root_certificate` (feature `tls`) | web PKI roots | trust a private CA for `rediss://` |
//!
//! ## One round trip per update
//!
//! [`Store::evaluate`](sentinel_core::Store::evaluate) sends the plan as one call of the plan
//! code, which runs the bodies of the single-purpose scripts as functions in the plan's order:
//! block records (one `MGET`; a record is in force while `now < expires_at`), debounce
//! (`SET NX PX` on the server clock),
//! every limit tried first and consumed only if all grant (a refusal consumes none), then the
//! strike and, when the strikes are full, the block record (with its TTL).
//!
//! **How it is sent.** On Redis 7+ the plan code is a function library, loaded once with
//! `FUNCTION LOAD` (by [`RedisStore::load_scripts`], or by the first update that finds it
//! missing; on every master of a Cluster) and named after the SHA1 of its code, so versions of
//! this crate sharing a server each keep their own. Each update is then one `FCALL`: the
//! library's helper functions were defined when it was loaded, so an update runs only the
//! plan. The `EVALSHA` of the plan script runs the same code but defines every helper again on
//! every call, which costs the server about a tenth more per update (callgrind: 123k
//! instructions per check against 111k). A server that answers
//! `FCALL` with "unknown command" (before Redis 7) or `NOPERM` (an ACL without `+fcall` or
//! `+function|load`) gets `EVALSHA` from then on, detected from that reply, for the store's
//! lifetime; [`RedisConfig::functions`]`(false)` sends `EVALSHA` from the start (e.g. behind a
//! proxy that does not pass `FCALL` on). Either way a server that lost the code (a restart or
//! failover to an empty server, `SCRIPT FLUSH`, `FUNCTION FLUSH`) gets it again: `NOSCRIPT` or
//! "Function not found" loads it and sends the update once more.
//!
//! **Cluster.** An update's keys hash to different slots by design: a block on the user
//! (`{u42}`) and one on the chat (`{c-100}`) must each be shared by every update of that
//! subject, and a per-chat limit must be one key for all the chat's users, so no single hash
//! tag can hold them all, and a Lua script may not touch keys of another slot. Grouping by
//! slot and sending the groups concurrently would give up the plan's order (a debounce window
//! must not open for an update the blocklist refuses) and its atomicity (a refusal in one
//! slot could not undo a grant in another). So on Cluster the store sends the plan as one call
//! when every key of the plan shares one slot (policies and tests that tag their keys so),
//! and otherwise evaluates the plan step by step with the single-purpose calls
//! ([`sentinel_core::plan::evaluate_stepwise`]), each atomic on its own key: correct
//! decisions, at the cost of one round trip per step.
//!
//! ## Keys and TTLs
//!
//! The store writes only the keys it is given (made by [`sentinel_core::KeyBuilder`] under the
//! engine's prefix). Rate-limit state expires when it can no longer change a decision (`PX` =
//! `reset_after`, rounded up to the millisecond, plus 1 ms); a debounce key lives for its
//! window; a blocklist record for the block's length. A **permanent block** (`expires_at:
//! None`) has no TTL: it must outlive any timeout until an admin unblocks it. Sliding-window
//! state is a hash (a ring of `(timestamp, cost)` entries and a small header), GCRA state one
//! integer (the TAT), fixed-window state `"<window start>:<used>"`, all as decimal
//! microseconds. [`list_blocked`](sentinel_core::BlocklistStore::list_blocked) uses `SCAN
//! MATCH` with the prefix's glob characters escaped (on every master of a Cluster), never
//! `KEYS`.
//!
//! ## High availability
//!
//! **Sentinel** (feature `sentinel`, `RedisConfig::sentinel`): each new connection asks the
//! sentinels (in the order given, up to three at once) which server is the master, checks
//! with `ROLE` that it is one, and connects. When the master dies, calls on its connections
//! fail (`Unavailable`), the connections are replaced, and until a replica is promoted the
//! sentinels name no reachable master (`Unavailable` too): the engine's `FailMode` decides.
//! Once promoted, the next connection reaches the new master; the application does not
//! restart. A connection that answers `READONLY` (its server was demoted to a replica) is
//! replaced the same way. **Cluster**: the cluster client follows `MOVED` and refreshes the
//! slot map when a master fails; while slots have no master, calls fail with `Unavailable`.
//! Both are tested with a master killed under load (`tests/sentinel.rs`,
//! `tests/cluster_failover.rs`). Replication is asynchronous: state written just before the
//! failure may be missing on the promoted replica.
//!
//! ## Connections
//!
//! By default ([`ConnectionMode::Multiplexed`]) the store keeps a couple of connections out of
//! its pool and sends every call on one of them; concurrent calls are pipelined on the same
//! socket, which is both one round trip per decision and the fastest way to use Redis from
//! many tasks. [`ConnectionMode::Pooled`] checks a connection out of the pool for each call
//! instead; deadpool pings a reused connection first, so that costs an extra round trip
//! (about half the decisions per second in the crate's benchmark).
//!
//! `cargo bench -p sentinel-storage-redis --bench redis` measures decisions per second from 64
//! tasks against one local Redis, next to `redis-benchmark -c 64` running the same `EVALSHA`.
//! On a 2-core machine: about 150,000 GCRA decisions/s, 1.5× `redis-benchmark`'s
//! non-pipelined figure, because concurrent calls share pipelined connections.
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
//! The store needs `+evalsha +eval +script|load +fcall +function|load +time +get +set +del
//! +mget +hmget +hget +hset +hdel +pexpire +scan +ping` on its key prefix
//! (`~prefix:*`) (the plan uses no other command). Without `+fcall` or `+function|load` the
//! plan goes as `EVALSHA` (see [One round trip per update](#one-round-trip-per-update)).
//!
//! ## Feature flags
//!
//! - `cluster`: Redis Cluster (`RedisConfig::cluster`, `RedisConfig::from_cluster_pool`).
//! - `sentinel`: Redis Sentinel (`RedisConfig::sentinel`).
//! - `tls`: `rediss://` URLs (rustls with the webpki roots).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod connection;
mod coordination;
mod error;
mod forget;
mod plan;
mod redact;
mod scan;
mod scripts;
#[cfg(feature = "sentinel")]
mod sentinel;
mod store;

pub use config::{
    ConnectionMode, DEFAULT_CLIENT_CLOCK_TTL_GRACE, DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONNECTIONS, DEFAULT_POOL_SIZE, RedisConfig, TimeSource,
};
pub use error::RedisConfigError;
pub use sentinel_core::redact::redact_url;
pub use store::RedisStore;

/// The `deadpool-redis` this crate uses, so callers name the same version.
pub use deadpool_redis;
/// The `redis` this crate uses, so callers name the same version.
pub use redis;
