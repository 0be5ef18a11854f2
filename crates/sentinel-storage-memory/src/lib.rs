//! The in-process store for sentinel: [`MemoryStore`] implements every storage trait of
//! [`sentinel_core::store`] in a sharded concurrent map, with the decisions of the core's
//! algorithms, bounded memory and no timer per key.
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
//! let third = store.hit("user:7", Algorithm::SlidingWindow, &quota, 1, now).await?;
//! assert!(!third.allowed);
//! assert_eq!(third.retry_after_secs(), Some(60));
//! # Ok(()) }
//! ```
//!
//! See [`MemoryStore`] for the layout, idle-key removal and the key cap, and
//! [`MemoryConfig`] for the settings.
//!
//! # Features
//!
//! * `sweeper` (default): [`MemoryStore::spawn_sweeper`], a tokio task that sweeps idle keys
//!   periodically.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod coordination;
mod debounce_group;
mod entry;
mod shard;
mod slab;
mod store;
#[cfg(feature = "sweeper")]
mod sweeper;

pub use config::{DEFAULT_MAX_BLOCKS, MemoryConfig};
pub use coordination::{DEFAULT_MAX_COORDINATION_KEYS, MemoryCoordinationStore};
pub use store::MemoryStore;
#[cfg(feature = "sweeper")]
#[cfg_attr(docsrs, doc(cfg(feature = "sweeper")))]
pub use sweeper::{MIN_SWEEP_INTERVAL, NoRuntime, SweeperHandle};
