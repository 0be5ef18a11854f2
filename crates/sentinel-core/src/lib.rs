//! The heart of sentinel: rate-limit, debounce and blocklist algorithms, store keys, policies,
//! storage traits and the [`Sentinel`] engine. No I/O, no runtime.
//!
//! Stores (memory, Redis) implement the traits in [`store`]; adapters (teloxide, axum) turn
//! their inputs into [`Event`]s; the engine decides in the order **blocklist → debounce → rate
//! limit**.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{sync::Arc, time::Duration};
//! use sentinel_core::{Algorithm, Event, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Timestamp, Verdict};
//! use sentinel_storage_memory::MemoryStore;
//!
//! let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
//! let sentinel = Sentinel::builder()
//!     .store(Arc::new(MemoryStore::new(clock.clone())))
//!     .clock(clock.clone())
//!     .policies(PolicyRegistry::single(
//!         Policy::new()
//!             .rate_limit(Quota::per_minute(5)?, Algorithm::SlidingWindow, Scope::User)
//!             .debounce(Duration::from_secs(2), Scope::UserInChat),
//!     )?)
//!     .build()?;
//!
//! let hello = Event::new().with_user(7).with_chat(7).with_content("hello");
//! assert!(sentinel.check(&hello).await?.is_allowed());
//! // The same text again within two seconds is a duplicate.
//! assert!(matches!(sentinel.check(&hello).await?, Verdict::Debounced(_)));
//! # Ok(()) }
//! ```
//!
//! ## Time
//! Every decision reads a [`Clock`]. [`ManualClock`] makes tests exact and sleep-free.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod algorithm;
mod blocklist;
mod chat_kind;
mod clock;
pub mod coordination;
mod decision;
mod engine;
mod error;
mod event;
mod fingerprint;
pub mod forget;
mod human;
pub mod key;
pub mod metrics;
pub mod plan;
mod policy;
mod policy_name;
mod quota;
pub mod redact;
pub mod store;

pub use algorithm::{Algorithm, FixedWindowState, GcraState, RateLimitState, SlidingWindowState};
/// Re-exported so a custom store needs no other dependency to implement the storage traits.
pub use async_trait::async_trait;
pub use blocklist::{BlockRecord, Escalation};
pub use chat_kind::ChatKind;
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use coordination::CoordinationStore;
pub use decision::{Decision, ceil_secs};
pub use engine::{
    Allowed, Blocked, DEFAULT_DENY_CACHE_TTL, Debounced, ESCALATION_BLOCKER, FailMode, Hook,
    HookContext, HookFuture, Sentinel, SentinelBuilder, Stats, Throttled, Verdict,
};
pub use error::{BoxError, ConfigError, Error, StoreError};
pub use event::Event;
pub use fingerprint::Fingerprint;
pub use forget::SubjectKeys;
pub use human::HumanDuration;
pub use key::{KeyBuilder, KeyKind, Scope, Subject};
pub use plan::{DebounceStep, LimitStep, Plan, PlanOutcome, StrikeStep};
pub use policy::{Debounce, MAX_LIMITS, Policy, PolicyRegistry, PolicyRegistryBuilder, RateLimit};
pub use policy_name::PolicyName;
pub use quota::{MAX_PERIOD, MIN_PERIOD, Quota};
pub use store::{BlocklistStore, DebounceStore, RateLimitStore, Store, SyncStore};
