//! [`MemoryConfig`]: shards, key cap and sweeping.

/// How a [`MemoryStore`](crate::MemoryStore) is laid out.
///
/// ```
/// use sentinel_core::SystemClock;
/// use sentinel_storage_memory::{MemoryConfig, MemoryStore};
///
/// let store = MemoryStore::with_config(
///     SystemClock,
///     MemoryConfig::default().shards(16).max_keys(Some(100_000)),
/// );
/// assert!(store.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    pub(crate) shards: usize,
    pub(crate) max_keys: Option<usize>,
    pub(crate) sweep_per_insert: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self {
            shards: (cores * 4).next_power_of_two(),
            max_keys: None,
            sweep_per_insert: 4,
        }
    }
}

impl MemoryConfig {
    /// The number of shards, rounded up to a power of two in `1..=4096`. Default: four per
    /// core, rounded up.
    #[must_use]
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = shards.clamp(1, 4096).next_power_of_two();
        self
    }

    /// The most keys the store holds (`None`, the default, means no cap). Blocklist records
    /// count but are never evicted; see [`MemoryStore`](crate::MemoryStore#capacity) for what
    /// happens when the cap is reached.
    #[must_use]
    pub fn max_keys(mut self, max_keys: Option<usize>) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// How many entries each insertion of a new key examines for expiry (amortised sweeping).
    /// Default 4; 0 turns sweeping on access off (then only [`MemoryStore::sweep`] and the
    /// background sweeper remove idle keys).
    ///
    /// [`MemoryStore::sweep`]: crate::MemoryStore::sweep
    #[must_use]
    pub fn sweep_per_insert(mut self, entries: usize) -> Self {
        self.sweep_per_insert = entries;
        self
    }
}
