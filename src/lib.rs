#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use sentinel_core::*;

/// The in-process store (feature `memory`, on by default).
#[cfg(feature = "memory")]
#[doc(inline)]
pub use sentinel_storage_memory as memory;

/// The Redis store: standalone, Sentinel (feature `redis-sentinel`) or Cluster (feature
/// `redis-cluster`); feature `redis`.
#[cfg(feature = "redis")]
#[doc(inline)]
pub use sentinel_storage_redis as redis;

/// Telegram: updates to events, the teloxide guard, the Bot API sender (feature `telegram`).
#[cfg(feature = "telegram")]
#[doc(inline)]
pub use sentinel_telegram as telegram;

/// Alerts to a Telegram chat when a service breaks (feature `alerts`).
#[cfg(feature = "alerts")]
#[doc(inline)]
pub use telemon_alerts as alerts;

/// A fake Telegram Bot API on a loopback port, for tests and demos (feature `fake-bot-api`):
/// an unmodified teloxide bot runs against it. The quickstart uses it when no token is set.
#[cfg(feature = "fake-bot-api")]
#[doc(inline)]
pub use sentinel_fake_bot_api as fake_bot_api;
/// HTTP rate limiting: a tower `Layer` over the engine for axum and any tower stack (feature
/// `tower`).
#[cfg(feature = "tower")]
#[doc(inline)]
pub use sentinel_tower as tower;

/// The names most programs need, in one `use sentinel::prelude::*;`.
pub mod prelude {
    pub use sentinel_core::{
        Algorithm, BlockRecord, Clock, Decision, Escalation, Event, FailMode, ManualClock, Policy,
        PolicyRegistry, Quota, Scope, Sentinel, Store, Subject, SystemClock, Timestamp, Verdict,
    };

    #[cfg(feature = "memory")]
    pub use sentinel_storage_memory::MemoryStore;

    #[cfg(feature = "redis")]
    pub use sentinel_storage_redis::RedisStore;
}
