//! One shard: a hash table of indices into a dense slab of entries, plus the shard's
//! blocklist records.
//!
//! The table stores only a `u32` index per key (5 bytes a bucket with its control byte), so
//! its power-of-two growth costs little; the entries themselves live in the chunked slab.
//! Removing an entry moves the slab's last entry into the hole and repoints its bucket.

use std::collections::HashMap;
use std::mem::size_of;

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use sentinel_core::{BlockRecord, Timestamp};

use crate::entry::{Entry, alloc_size};
use crate::slab::Slab;

/// How many entries a new key at the key cap looks at to find room (idle state, or a live
/// debounce window).
pub(crate) const ROOM_SCAN: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Shard {
    table: HashTable<u32>,
    slab: Slab<Entry>,
    pub(crate) blocks: HashMap<Box<str>, BlockRecord>,
    /// Where the next amortised sweep or eviction sample starts.
    cursor: usize,
    /// Heap bytes owned by the entries (keys and logs).
    heap: usize,
}

fn hash_of(hasher: &RandomState, slab: &Slab<Entry>, i: u32) -> u64 {
    slab.get(i as usize).map_or(0, |e| {
        std::hash::BuildHasher::hash_one(hasher, e.key.as_bytes())
    })
}

impl Shard {
    /// The index of `key`'s entry.
    #[inline]
    pub(crate) fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let slab = &self.slab;
        self.table
            .find(hash, |&i| {
                slab.get(i as usize)
                    .is_some_and(|e| e.key.as_bytes() == key)
            })
            .map(|&i| i as usize)
    }

    /// The entry of `key`.
    #[inline]
    pub(crate) fn find_entry(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        let slab = &self.slab;
        let mut found = None;
        self.table.find(hash, |&i| {
            found = slab.get(i as usize).filter(|e| e.key.as_bytes() == key);
            found.is_some()
        })?;
        found
    }

    #[inline]
    pub(crate) fn get(&self, i: usize) -> Option<&Entry> {
        self.slab.get(i)
    }

    /// Entry `i`, for a change that keeps its heap bytes (a debounce group's windows live in a
    /// box of fixed size); [`update`](Self::update) otherwise.
    #[inline]
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut Entry> {
        self.slab.get_mut(i)
    }

    /// Runs `f` on entry `i`, keeping the heap figure right.
    pub(crate) fn update<R>(&mut self, i: usize, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        let entry = self.slab.get_mut(i)?;
        let before = entry.heap_bytes();
        let r = f(entry);
        self.heap = self.heap.saturating_sub(before) + entry.heap_bytes();
        Some(r)
    }

    /// Adds an entry for a key that is not present; `None` if the shard is full (2^32 entries).
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        entry: Entry,
        hasher: &RandomState,
    ) -> Option<usize> {
        let i = u32::try_from(self.slab.len()).ok()?;
        self.heap += entry.heap_bytes();
        self.slab.push(entry);
        self.link(hash, i, hasher);
        Some(i as usize)
    }

    /// Adds the bucket of entry `index`, whose key hashes to `hash`.
    fn link(&mut self, hash: u64, index: u32, hasher: &RandomState) {
        let slab = &self.slab;
        self.table
            .insert_unique(hash, index, |&j| hash_of(hasher, slab, j));
    }

    /// Removes the bucket of entry `index` (the entry stays in the slab).
    fn unlink(&mut self, index: u32, hasher: &RandomState) {
        let hash = hash_of(hasher, &self.slab, index);
        if let Ok(bucket) = self.table.find_entry(hash, |&j| j == index) {
            bucket.remove();
        }
    }

    /// Removes entry `i`.
    pub(crate) fn remove(&mut self, i: usize, hasher: &RandomState) -> Option<Entry> {
        let index = u32::try_from(i).ok()?;
        self.unlink(index, hasher);
        let (entry, moved) = self.slab.swap_remove(i)?;
        if let Some(from) = moved {
            self.repoint(from, index, hasher);
        }
        self.heap = self.heap.saturating_sub(entry.heap_bytes());
        Some(entry)
    }

    /// The entry that was at `from` is now at `to`.
    fn repoint(&mut self, from: usize, to: u32, hasher: &RandomState) {
        let Ok(from) = u32::try_from(from) else {
            return;
        };
        let hash = hash_of(hasher, &self.slab, to);
        if let Some(bucket) = self.table.find_mut(hash, |&j| j == from) {
            *bucket = to;
        }
    }

    /// Puts `entry` (a key not present, hashing to `hash`) in the place of entry `i`, which
    /// is dropped: one bucket out, one in, and nothing moves (no last entry swapped into a
    /// hole and repointed, as a removal followed by an insert would do).
    fn replace(
        &mut self,
        i: usize,
        hash: u64,
        entry: Entry,
        hasher: &RandomState,
    ) -> Option<usize> {
        let index = u32::try_from(i).ok()?;
        self.unlink(index, hasher);
        let added = entry.heap_bytes();
        let slot = self.slab.get_mut(i)?;
        let old = std::mem::replace(slot, entry);
        self.heap = self.heap.saturating_sub(old.heap_bytes()) + added;
        self.link(hash, index, hasher);
        Some(i)
    }

    /// [`sweep`](Self::sweep) for a new `entry` (a key not present, hashing to `hash`): the
    /// first idle entry the sweep finds is replaced by `entry` (see [`replace`](Self::replace)).
    /// Returns how many entries went (a replaced one included) and where `entry` went, or
    /// `entry` back when nothing was idle and it still has to be inserted.
    pub(crate) fn sweep_for(
        &mut self,
        now: u64,
        budget: usize,
        hash: u64,
        entry: Entry,
        hasher: &RandomState,
    ) -> (usize, Result<Option<usize>, Entry>) {
        let mut new = Some(entry);
        let (removed, placed) = self.sweep(now, budget, &mut new, hash, hasher);
        // `new` is taken exactly when it was put in a replaced entry's place.
        (removed, new.map_or(Ok(placed), Err))
    }

    /// Looks at up to `budget` entries from the cursor and removes those idle at `now`;
    /// returns how many it removed.
    pub(crate) fn sweep_some(&mut self, now: u64, budget: usize, hasher: &RandomState) -> usize {
        self.sweep(now, budget, &mut None, 0, hasher).0
    }

    /// The sweep itself: up to `budget` entries from the cursor; an idle one is removed, or,
    /// the first time while `new` holds an entry (hashing to `hash`), replaced by it (taking
    /// it out of `new`). Returns how many went and where `new` was placed, if it was.
    fn sweep(
        &mut self,
        now: u64,
        budget: usize,
        new: &mut Option<Entry>,
        hash: u64,
        hasher: &RandomState,
    ) -> (usize, Option<usize>) {
        let mut removed = 0;
        let mut placed = None;
        for _ in 0..budget {
            if self.slab.len() == 0 {
                break;
            }
            if self.cursor >= self.slab.len() {
                self.cursor = 0;
            }
            let idle = self
                .slab
                .get(self.cursor)
                .is_some_and(|e| e.expiry() <= now);
            if !idle {
                self.cursor += 1;
                continue;
            }
            removed += 1;
            if let Some(entry) = new.take() {
                placed = self.replace(self.cursor, hash, entry, hasher);
                self.cursor += 1;
            } else {
                // The last entry moves into the cursor's slot: look at it next.
                self.remove(self.cursor, hasher);
            }
        }
        (removed, placed)
    }

    /// Removes every entry idle at `now` and every blocklist record expired at `now`; returns
    /// how many entries and how many records it removed. Frees memory it no longer needs.
    pub(crate) fn sweep_all(&mut self, now: u64, hasher: &RandomState) -> (usize, usize) {
        let before = self.slab.len();
        let idle = |slab: &Slab<Entry>, i: usize| slab.get(i).is_some_and(|e| e.expiry() <= now);
        {
            let slab = &self.slab;
            self.table.retain(|&mut i| !idle(slab, i as usize));
        }
        // Compact: drop idle entries at the tail, move live ones from the tail into holes.
        let mut i = 0;
        loop {
            while self.slab.len() > 0 && idle(&self.slab, self.slab.len() - 1) {
                if let Some(e) = self.slab.pop() {
                    self.heap = self.heap.saturating_sub(e.heap_bytes());
                }
            }
            if i >= self.slab.len() {
                break;
            }
            if idle(&self.slab, i) {
                // The tail is live, so an entry moves.
                if let Some((e, moved)) = self.slab.swap_remove(i) {
                    self.heap = self.heap.saturating_sub(e.heap_bytes());
                    if let (Some(from), Ok(to)) = (moved, u32::try_from(i)) {
                        self.repoint(from, to, hasher);
                    }
                }
            }
            i += 1;
        }
        self.cursor = 0;
        self.slab.shrink();
        let len = self.slab.len();
        if self.table.capacity() > 4 * len.max(16) {
            let slab = &self.slab;
            self.table.shrink_to(len, |&j| hash_of(hasher, slab, j));
        }
        let records = self.blocks.len();
        let now = Timestamp::from_micros(now);
        self.blocks.retain(|_, r| r.is_active(now));
        if self.blocks.capacity() > 4 * self.blocks.len().max(16) {
            self.blocks.shrink_to_fit();
        }
        (before - len, records - self.blocks.len())
    }

    /// Makes room for one new entry at the key cap, never at the cost of live rate-limit
    /// state: looks at up to [`ROOM_SCAN`] entries from the cursor and removes the idle ones;
    /// if none was idle, removes the first live debounce window it saw (forgetting one lets a
    /// single repeat through to the rate limits, which still count it). `Ok(removed)` when it
    /// removed at least one entry; otherwise `Err(t)`, the earliest time (µs) an entry it
    /// looked at becomes idle (`u64::MAX` for an empty shard).
    pub(crate) fn make_room(&mut self, now: u64, hasher: &RandomState) -> Result<usize, u64> {
        let len = self.slab.len();
        let removed = self.sweep_some(now, ROOM_SCAN.min(len), hasher);
        if removed > 0 {
            return Ok(removed);
        }
        let len = self.slab.len();
        let mut earliest = u64::MAX;
        for k in 0..ROOM_SCAN.min(len) {
            let i = (self.cursor + k) % len;
            let Some(entry) = self.slab.get(i) else {
                continue;
            };
            if entry.is_debounce() {
                return self.remove(i, hasher).map(|_| 1).ok_or(earliest);
            }
            earliest = earliest.min(entry.expiry());
        }
        Err(earliest)
    }

    /// Removes the blocklist records expired at `now`; returns how many.
    pub(crate) fn purge_expired_records(&mut self, now: u64) -> usize {
        let before = self.blocks.len();
        let now = Timestamp::from_micros(now);
        self.blocks.retain(|_, r| r.is_active(now));
        before - self.blocks.len()
    }

    /// Estimated heap bytes: table, slab chunks, keys, logs, blocklist records.
    pub(crate) fn heap_bytes(&self) -> usize {
        let records: usize = self
            .blocks
            .iter()
            .map(|(k, r)| {
                alloc_size(k.len()) + alloc_size(r.reason.len()) + alloc_size(r.blocked_by.len())
            })
            .sum();
        let record_table = if self.blocks.capacity() == 0 {
            0
        } else {
            alloc_size(
                (self.blocks.capacity() * 8 / 7 + 1).next_power_of_two()
                    * (size_of::<(Box<str>, BlockRecord)>() + 1),
            )
        };
        self.table.allocation_size() + self.slab.heap_bytes() + self.heap + records + record_table
    }
}
