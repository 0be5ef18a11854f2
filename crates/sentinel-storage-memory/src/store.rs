//! [`MemoryStore`]: the store itself.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, Clock, DebounceStore, Decision, Quota, RateLimitState,
    RateLimitStore, StoreError, Timestamp,
};

use crate::MemoryConfig;

/// The in-process store.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
    clock: Box<dyn Clock>,
    config: MemoryConfig,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<Box<str>, Entry>,
    blocks: HashMap<Box<str>, BlockRecord>,
}

struct Entry {
    expires: u64,
    state: State,
}

enum State {
    Rate(RateLimitState),
    Debounce,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl MemoryStore {
    /// A store with the default [`MemoryConfig`]; `clock` is read when sweeping idle keys.
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self::with_config(clock, MemoryConfig::default())
    }

    /// A store laid out as `config` says.
    pub fn with_config(clock: impl Clock + 'static, config: MemoryConfig) -> Self {
        let shards = (0..config.shards)
            .map(|_| Mutex::new(Shard::default()))
            .collect();
        Self {
            shards,
            hasher: RandomState::new(),
            clock: Box::new(clock),
            config,
        }
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, Shard> {
        let h = self.hasher.hash_one(key);
        let i = (h >> 32) as usize & (self.shards.len() - 1);
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The synchronous form of [`RateLimitStore::hit`].
    ///
    /// # Errors
    /// [`StoreError::CapacityReached`] when the key is new, the store is at its cap and no key
    /// can be evicted.
    pub fn hit_sync(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        let mut shard = self.shard(key);
        if let Some(entry) = shard.entries.get_mut(key)
            && let State::Rate(state) = &mut entry.state
            && state.algorithm() == algorithm
        {
            let d = state.step(now, quota, cost);
            entry.expires = now.saturating_add(d.reset_after).as_micros();
            return Ok(d);
        }
        let mut state = RateLimitState::new(algorithm);
        let d = state.step(now, quota, cost);
        if d.allowed {
            let entry = Entry {
                expires: now.saturating_add(d.reset_after).as_micros(),
                state: State::Rate(state),
            };
            if shard.entries.contains_key(key) {
                shard.entries.insert(key.into(), entry);
            } else {
                drop(shard);
                self.insert(key, entry)?;
            }
        }
        Ok(d)
    }

    fn insert(&self, key: &str, entry: Entry) -> Result<(), StoreError> {
        if let Some(max) = self.config.max_keys {
            while self.len() >= max {
                if !self.evict_one() {
                    return Err(StoreError::CapacityReached(max));
                }
            }
        }
        self.shard(key).entries.insert(key.into(), entry);
        Ok(())
    }

    fn evict_one(&self) -> bool {
        let mut best: Option<(u64, usize, Box<str>)> = None;
        for (i, shard) in self.shards.iter().enumerate() {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            for (k, e) in &shard.entries {
                if best.as_ref().is_none_or(|b| e.expires < b.0) {
                    best = Some((e.expires, i, k.clone()));
                }
            }
        }
        let Some((_, i, key)) = best else {
            return false;
        };
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .remove(&key);
        true
    }

    /// The synchronous form of [`RateLimitStore::peek`].
    pub fn peek_sync(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Decision {
        let shard = self.shard(key);
        match shard.entries.get(key).map(|e| &e.state) {
            Some(State::Rate(s)) if s.algorithm() == algorithm => s.peek(now, quota),
            _ => RateLimitState::new(algorithm).peek(now, quota),
        }
    }

    /// Removes every key that can no longer change a decision at `now`; returns how many.
    pub fn sweep(&self, now: Timestamp) -> usize {
        let now = now.as_micros();
        let mut removed = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let before = shard.entries.len() + shard.blocks.len();
            shard.entries.retain(|_, e| e.expires > now);
            shard
                .blocks
                .retain(|_, r| r.is_active(Timestamp::from_micros(now)));
            removed += before - shard.entries.len() - shard.blocks.len();
        }
        removed
    }

    /// [`MemoryStore::sweep`] at the store clock's current time.
    pub fn sweep_now(&self) -> usize {
        self.sweep(self.clock.now())
    }

    /// The number of keys held (rate-limit, debounce and blocklist).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(PoisonError::into_inner);
                s.entries.len() + s.blocks.len()
            })
            .sum()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An estimate of the heap bytes the store holds.
    pub fn memory_usage(&self) -> usize {
        self.len() * 128
    }
}

#[async_trait]
impl RateLimitStore for MemoryStore {
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        self.hit_sync(key, algorithm, quota, cost, now)
    }

    async fn peek(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        Ok(self.peek_sync(key, algorithm, quota, now))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.shard(key).entries.remove(key);
        Ok(())
    }
}

#[async_trait]
impl DebounceStore for MemoryStore {
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let now = now.as_micros();
        let expires = now.saturating_add(micros(window));
        let mut shard = self.shard(key);
        if let Some(e) = shard.entries.get_mut(key) {
            if matches!(e.state, State::Debounce) && now < e.expires {
                return Ok(false);
            }
            *e = Entry {
                expires,
                state: State::Debounce,
            };
            return Ok(true);
        }
        drop(shard);
        self.insert(
            key,
            Entry {
                expires,
                state: State::Debounce,
            },
        )?;
        Ok(true)
    }
}

#[async_trait]
impl BlocklistStore for MemoryStore {
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        self.shard(key).blocks.insert(key.into(), record.clone());
        Ok(())
    }

    async fn unblock(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.shard(key).blocks.remove(key).is_some())
    }

    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        Ok(self
            .shard(key)
            .blocks
            .get(key)
            .filter(|r| r.is_active(now))
            .cloned())
    }

    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            out.extend(
                shard
                    .blocks
                    .iter()
                    .filter(|(k, r)| k.starts_with(prefix) && r.is_active(now))
                    .map(|(k, r)| (k.to_string(), r.clone())),
            );
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}
