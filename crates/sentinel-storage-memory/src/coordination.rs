//! [`MemoryCoordinationStore`]: the coordination contract in one process.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use sentinel_core::coordination::{MAX_COUNT, check_key, check_prefix, check_ttl, parse_count};
use sentinel_core::{Clock, CoordinationStore, StoreError, Timestamp};

/// Default most live keys: 100 000.
pub const DEFAULT_MAX_COORDINATION_KEYS: usize = 100_000;

/// One key: its bytes and the instant it expires.
struct Entry {
    value: Vec<u8>,
    expires: Timestamp,
}

/// The [`CoordinationStore`] contract in process memory, on a [`Clock`] (a `ManualClock` in
/// tests, so expiry is exact and sleep-free).
///
/// A sorted map behind one mutex (coordination traffic is a few calls per alert, not per
/// request). Expired keys read as absent and are removed when met and whenever the key cap is
/// reached; at the cap, a new key is refused with [`StoreError::CapacityReached`] rather than
/// evicting live state.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sentinel_core::StoreError> {
/// use std::time::Duration;
/// use sentinel_core::{CoordinationStore, ManualClock};
/// use sentinel_storage_memory::MemoryCoordinationStore;
///
/// let clock = ManualClock::default();
/// let store = MemoryCoordinationStore::new(clock.clone());
/// assert!(store.claim("once:startup", Duration::from_secs(60)).await?);
/// clock.advance(Duration::from_secs(60));
/// assert!(store.claim("once:startup", Duration::from_secs(60)).await?, "expired at exactly 60 s");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryCoordinationStore {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    max_keys: usize,
    map: Mutex<BTreeMap<String, Entry>>,
}

impl fmt::Debug for MemoryCoordinationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCoordinationStore")
            .field("max_keys", &self.inner.max_keys)
            .field("keys", &self.lock().len())
            .finish_non_exhaustive()
    }
}

impl MemoryCoordinationStore {
    /// A store reading `clock`, holding at most [`DEFAULT_MAX_COORDINATION_KEYS`] live keys.
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self::with_max_keys(clock, DEFAULT_MAX_COORDINATION_KEYS)
    }

    /// A store holding at most `max_keys` live keys (at least 1).
    pub fn with_max_keys(clock: impl Clock + 'static, max_keys: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock: Arc::new(clock),
                max_keys: max_keys.max(1),
                map: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.inner
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// `ttl` (validated) from `now`.
    fn expiry(now: Timestamp, ttl: Duration) -> Result<Timestamp, StoreError> {
        let ms = check_ttl(ttl)?;
        Ok(now.saturating_add(Duration::from_millis(ms)))
    }

    /// Inserts or replaces `key`, refusing a new key at the cap (after dropping expired ones).
    fn store(
        &self,
        map: &mut BTreeMap<String, Entry>,
        key: &str,
        entry: Entry,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some(e) = map.get_mut(key) {
            *e = entry;
            return Ok(());
        }
        if map.len() >= self.inner.max_keys {
            map.retain(|_, e| e.expires > now);
            if map.len() >= self.inner.max_keys {
                return Err(StoreError::CapacityReached(self.inner.max_keys));
            }
        }
        map.insert(key.to_owned(), entry);
        Ok(())
    }

    /// The live value of `key`; an expired one is removed.
    fn live<'m>(
        map: &'m mut BTreeMap<String, Entry>,
        key: &str,
        now: Timestamp,
    ) -> Option<&'m mut Entry> {
        if map.get(key).is_some_and(|e| e.expires <= now) {
            map.remove(key);
        }
        map.get_mut(key)
    }

    /// Live keys starting with `prefix`, in order, at most `limit`.
    fn matching(
        map: &BTreeMap<String, Entry>,
        prefix: &str,
        limit: usize,
        now: Timestamp,
    ) -> Vec<String> {
        map.range::<str, _>((
            std::ops::Bound::Included(prefix),
            std::ops::Bound::Unbounded,
        ))
        .take_while(|(k, _)| k.starts_with(prefix))
        .filter(|(_, e)| e.expires > now)
        .map(|(k, _)| k.clone())
        .take(limit)
        .collect()
    }
}

#[async_trait]
impl CoordinationStore for MemoryCoordinationStore {
    async fn add(&self, key: &str, delta: u64, ttl: Duration) -> Result<u64, StoreError> {
        check_key(key)?;
        let now = self.now();
        let expires = Self::expiry(now, ttl)?;
        let mut map = self.lock();
        let old = match Self::live(&mut map, key, now) {
            Some(e) => parse_count(key, &e.value)?,
            None => 0,
        };
        let total = old.saturating_add(delta).min(MAX_COUNT);
        let entry = Entry {
            value: total.to_string().into_bytes(),
            expires,
        };
        self.store(&mut map, key, entry, now)?;
        Ok(total)
    }

    async fn count(&self, key: &str) -> Result<u64, StoreError> {
        check_key(key)?;
        let now = self.now();
        let mut map = self.lock();
        match Self::live(&mut map, key, now) {
            Some(e) => parse_count(key, &e.value),
            None => Ok(0),
        }
    }

    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        check_key(key)?;
        let now = self.now();
        let expires = Self::expiry(now, ttl)?;
        let mut map = self.lock();
        if Self::live(&mut map, key, now).is_some() {
            return Ok(false);
        }
        let entry = Entry {
            value: b"1".to_vec(),
            expires,
        };
        self.store(&mut map, key, entry, now)?;
        Ok(true)
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        check_key(key)?;
        let now = self.now();
        let expires = Self::expiry(now, ttl)?;
        let mut map = self.lock();
        let entry = Entry {
            value: value.to_vec(),
            expires,
        };
        self.store(&mut map, key, entry, now)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let now = self.now();
        let mut map = self.lock();
        Ok(Self::live(&mut map, key, now).map(|e| e.value.clone()))
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        check_prefix(prefix, limit)?;
        let now = self.now();
        let map = self.lock();
        Ok(Self::matching(&map, prefix, limit, now)
            .into_iter()
            .filter_map(|k| map.get(&k).map(|e| (k, e.value.clone())))
            .collect())
    }

    async fn delete_prefix(&self, prefix: &str, limit: usize) -> Result<usize, StoreError> {
        check_prefix(prefix, limit)?;
        let now = self.now();
        let mut map = self.lock();
        let keys = Self::matching(&map, prefix, limit, now);
        for k in &keys {
            map.remove(k);
        }
        Ok(keys.len())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentinel_core::ManualClock;

    #[tokio::test]
    async fn a_full_store_refuses_new_keys_but_not_updates() {
        let clock = ManualClock::default();
        let store = MemoryCoordinationStore::with_max_keys(clock.clone(), 2);
        let ttl = Duration::from_secs(10);
        store.add("a", 1, ttl).await.unwrap();
        store.add("b", 1, Duration::from_secs(5)).await.unwrap();
        assert!(matches!(
            store.claim("c", ttl).await,
            Err(StoreError::CapacityReached(2))
        ));
        assert_eq!(store.add("a", 1, ttl).await.unwrap(), 2);
        // Once `b` expired, its room is reused.
        clock.advance(Duration::from_secs(5));
        assert!(store.claim("c", ttl).await.unwrap());
    }
}
