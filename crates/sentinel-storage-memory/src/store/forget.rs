//! [`Store::forget`](sentinel_core::Store::forget) for the memory store: every shard is
//! scanned once under its write lock.

use std::sync::atomic::Ordering;

use sentinel_core::SubjectKeys;

use super::{MemoryStore, Padded};

impl MemoryStore {
    /// Removes every entry and blocklist record whose key `keys` matches; returns how many.
    pub(super) fn forget_sync(&self, keys: &SubjectKeys) -> u64 {
        let mut removed: u64 = 0;
        for Padded(lock) in &self.shards {
            let mut shard = Self::write(lock);
            // `remove` moves the last entry into the hole, so index `i` is looked at again.
            let mut i = 0;
            while let Some(entry) = shard.get(i) {
                let ours = entry.key_text().is_some_and(|k| keys.matches(k));
                // A group of debounce windows counts as the keys it stands for.
                let count = entry.key_count() as u64;
                if ours && shard.remove(i, &self.hasher).is_some() {
                    self.entries.fetch_sub(1, Ordering::Relaxed);
                    removed += count;
                } else {
                    i += 1;
                }
            }
            let before = shard.blocks.len();
            shard.blocks.retain(|k, _| !keys.matches(k));
            let gone = before - shard.blocks.len();
            if gone > 0 {
                self.records.fetch_sub(gone, Ordering::Relaxed);
                removed += gone as u64;
            }
        }
        removed
    }
}
