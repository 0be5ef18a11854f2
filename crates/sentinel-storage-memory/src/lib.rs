//! The in-process store for sentinel: a sharded concurrent map implementing every storage trait
//! of [`sentinel_core::store`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use sentinel_core::{Algorithm, ManualClock, Quota, RateLimitStore, Timestamp};
//! use sentinel_storage_memory::MemoryStore;
//!
//! let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
//! let store = MemoryStore::new(clock.clone());
//! let quota = Quota::per_minute(2)?;
//! let now = Timestamp::from_secs(1_700_000_000);
//! assert!(store.hit("user:7", Algorithm::SlidingWindow, &quota, 1, now).await?.allowed);
//! assert!(store.hit("user:7", Algorithm::SlidingWindow, &quota, 1, now).await?.allowed);
//! assert!(!store.hit("user:7", Algorithm::SlidingWindow, &quota, 1, now).await?.allowed);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod store;

pub use config::MemoryConfig;
pub use store::MemoryStore;
