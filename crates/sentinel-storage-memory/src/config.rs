//! [`MemoryConfig`]: shards, key cap, blocklist budget and sweeping.

/// The default [`MemoryConfig::max_blocks`]: 100,000 blocklist records (about 10 MB).
pub const DEFAULT_MAX_BLOCKS: usize = 100_000;

/// How a [`MemoryStore`](crate::MemoryStore) is laid out.
///
/// ```
/// use sentinel_core::SystemClock;
/// use sentinel_storage_memory::{MemoryConfig, MemoryStore};
///
/// let store = MemoryStore::with_config(
///     SystemClock,
///     MemoryConfig::default()
///         .shards(16)
///         .max_keys(Some(100_000))
///         .max_blocks(Some(10_000)),
/// );
/// assert!(store.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    pub(crate) shards: usize,
    pub(crate) max_keys: Option<usize>,
    pub(crate) max_blocks: Option<usize>,
    pub(crate) sweep_per_insert: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self {
            shards: (cores * 4).next_power_of_two(),
            max_keys: None,
            max_blocks: Some(DEFAULT_MAX_BLOCKS),
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

    /// The most rate-limit and debounce keys the store holds (`None`, the default, means no
    /// cap). Blocklist records do not count: they have their own budget,
    /// [`max_blocks`](Self::max_blocks). At the cap, live rate-limit state is never evicted to
    /// admit a new key; see [`MemoryStore`](crate::MemoryStore#capacity).
    #[must_use]
    pub fn max_keys(mut self, max_keys: Option<usize>) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// The most blocklist records the store holds, apart from [`max_keys`](Self::max_keys) so
    /// that blocked subjects cannot crowd out rate limiting. Default
    /// [`DEFAULT_MAX_BLOCKS`] (100,000); `None` means no cap. At the budget, expired records
    /// are removed first; if none has expired, a new record is refused (an admin `block`
    /// fails with `CapacityReached`, an escalation does not block and the subject stays rate
    /// limited); see [`MemoryStore`](crate::MemoryStore#capacity).
    #[must_use]
    pub fn max_blocks(mut self, max_blocks: Option<usize>) -> Self {
        self.max_blocks = max_blocks;
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
