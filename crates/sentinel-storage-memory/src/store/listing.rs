//! Listing the keys a memory store holds, for admin tools and tests.

use super::{MemoryStore, Padded};

impl MemoryStore {
    /// Every key held — rate-limit, debounce and strike entries and blocklist records,
    /// including idle ones not swept yet — sorted. Takes each shard's read lock in turn, so
    /// it is a snapshot per shard, not of the whole store; for admin tools and tests, not for
    /// the hot path.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, Clock, ManualClock, Quota, RateLimitStore, Timestamp};
    /// use sentinel_storage_memory::MemoryStore;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = ManualClock::new(Timestamp::from_secs(1_000));
    /// let store = MemoryStore::new(clock.clone());
    /// store.hit("bot:rl-gcra:{u1}:=all", Algorithm::Gcra, &Quota::per_minute(5)?, 1, clock.now()).await?;
    /// assert_eq!(store.keys(), ["bot:rl-gcra:{u1}:=all"]);
    /// # Ok(()) }
    /// ```
    pub fn keys(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.len());
        for Padded(lock) in &self.shards {
            let shard = Self::read(lock);
            let mut i = 0;
            while let Some(entry) = shard.get(i) {
                out.extend(entry.keys());
                i += 1;
            }
            out.extend(shard.blocks.keys().map(|k| k.to_string()));
        }
        out.sort();
        out
    }
}
