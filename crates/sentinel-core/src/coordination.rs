//! The coordination contract: the few atomic primitives that let several processes agree on
//! who speaks (alert deduplication, follow-up counts, digests, run-once claims, health state),
//! beside the rate-limit contract in [`store`](crate::store).
//!
//! Every primitive is atomic on its own, every key it writes gets a time to live (there is no
//! way to write a key that never expires), and the arguments are validated the same way by
//! every store ([`check_key`], [`check_prefix`], [`check_ttl`]), so an implementation answers
//! the same [`StoreError`]s for the same mistakes. The testkit's conformance suite proves each
//! store against a reference model.
//!
//! Keys live in one namespace: a counter is stored as its decimal value, a claim as `"1"`, and
//! a value as its bytes, so listing a prefix shows every kind and a counter can be read with
//! [`get`](CoordinationStore::get). Adding to a key that holds something other than a decimal
//! counter is [`StoreError::Protocol`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), sentinel_core::StoreError> {
//! use std::time::Duration;
//! use sentinel_core::{CoordinationStore, ManualClock};
//! use sentinel_storage_memory::MemoryCoordinationStore;
//!
//! let store = MemoryCoordinationStore::new(ManualClock::default());
//! let ttl = Duration::from_secs(60);
//! assert!(store.claim("svc:{fp1}:window", ttl).await?, "the first claim wins");
//! assert!(!store.claim("svc:{fp1}:window", ttl).await?, "a second claim loses");
//! assert_eq!(store.add("svc:{fp1}:seen", 3, ttl).await?, 3);
//! assert_eq!(store.count("svc:{fp1}:seen").await?, 3);
//! store.put("svc:digest:w1", b"{}", ttl).await?;
//! assert_eq!(store.list("svc:digest:", 10).await?.len(), 1);
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;

/// The longest time to live a coordination key may have: 366 days.
pub const MAX_TTL: Duration = Duration::from_secs(366 * 86_400);

/// The largest counter value: 2^53 − 1 (exact in every store, Redis Lua numbers included).
/// [`CoordinationStore::add`] saturates there.
pub const MAX_COUNT: u64 = (1 << 53) - 1;

/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// Most entries one [`list`](CoordinationStore::list) or
/// [`delete_prefix`](CoordinationStore::delete_prefix) handles.
pub const MAX_BATCH: usize = 10_000;

/// Atomic primitives for coordinating workers. Object-safe, `Send + Sync`, usable as
/// `Arc<dyn CoordinationStore>`.
///
/// Time is the store's own: the memory store reads its [`Clock`](crate::Clock), Redis its
/// server clock (keys expire through `PX`). A key is gone once its time to live has passed
/// (at exactly `ttl` after it was last given one).
#[async_trait]
pub trait CoordinationStore: Send + Sync {
    /// Adds `delta` to the counter at `key` (absent = 0), gives the key `ttl` from now, and
    /// returns the new total, saturating at [`MAX_COUNT`]. Atomic: concurrent adds all count.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an invalid key or TTL, [`StoreError::Protocol`] when the key
    /// holds something other than a counter, or the store's own failure.
    async fn add(&self, key: &str, delta: u64, ttl: Duration) -> Result<u64, StoreError>;

    /// The counter at `key` (absent or expired = 0).
    ///
    /// # Errors
    /// As [`add`](CoordinationStore::add), without the TTL.
    async fn count(&self, key: &str) -> Result<u64, StoreError>;

    /// Claims `key` for `ttl` if nobody holds it: `true` for the single caller that won, `false`
    /// while the claim stands (it is not extended).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an invalid key or TTL, or the store's own failure.
    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Stores `value` under `key` for `ttl`, replacing what was there.
    ///
    /// # Errors
    /// As [`claim`](CoordinationStore::claim).
    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError>;

    /// The value under `key` (a counter reads as its decimal digits, a claim as `"1"`).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an invalid key, or the store's own failure.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Up to `limit` live keys starting with `prefix`, with their values, sorted by key.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for an empty prefix or a `limit` of 0 or above [`MAX_BATCH`],
    /// or the store's own failure.
    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// Deletes up to `limit` keys starting with `prefix` (the first ones in key order);
    /// returns how many were deleted.
    ///
    /// # Errors
    /// As [`list`](CoordinationStore::list).
    async fn delete_prefix(&self, prefix: &str, limit: usize) -> Result<usize, StoreError>;

    /// Whether the store answers (Redis: `PING`, on every master of a Cluster).
    ///
    /// # Errors
    /// The store's failure.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Checks a key: 1 to [`MAX_KEY_LEN`] bytes.
///
/// # Errors
/// [`StoreError::Invalid`] naming what to change.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(StoreError::Invalid(format!(
            "a coordination key must be 1 to {MAX_KEY_LEN} bytes long, got {}",
            key.len()
        )));
    }
    Ok(())
}

/// Checks a prefix (not empty, so a listing or a deletion never covers the whole store) and a
/// batch limit (1 ..= [`MAX_BATCH`]).
///
/// # Errors
/// [`StoreError::Invalid`] naming what to change.
pub fn check_prefix(prefix: &str, limit: usize) -> Result<(), StoreError> {
    check_key(prefix).map_err(|_| {
        StoreError::Invalid(format!(
            "a coordination prefix must be 1 to {MAX_KEY_LEN} bytes long (an empty prefix would cover every key)"
        ))
    })?;
    if limit == 0 || limit > MAX_BATCH {
        return Err(StoreError::Invalid(format!(
            "a coordination batch limit must be between 1 and {MAX_BATCH}, got {limit}"
        )));
    }
    Ok(())
}

/// Checks a time to live: at least 1 ms, at most [`MAX_TTL`]. Returns it in whole
/// milliseconds, rounded up (what Redis `PX` takes).
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::coordination::check_ttl;
/// assert_eq!(check_ttl(Duration::from_micros(1_500)).unwrap(), 2);
/// assert!(check_ttl(Duration::ZERO).is_err());
/// ```
///
/// # Errors
/// [`StoreError::Invalid`] naming what to change.
pub fn check_ttl(ttl: Duration) -> Result<u64, StoreError> {
    if ttl < Duration::from_millis(1) || ttl > MAX_TTL {
        return Err(StoreError::Invalid(format!(
            "a coordination TTL must be between 1 ms and {} days, got {ttl:?}",
            MAX_TTL.as_secs() / 86_400
        )));
    }
    Ok(u64::try_from(ttl.as_micros().div_ceil(1_000)).unwrap_or(u64::MAX))
}

#[async_trait]
impl<T: CoordinationStore + ?Sized> CoordinationStore for Arc<T> {
    async fn add(&self, key: &str, delta: u64, ttl: Duration) -> Result<u64, StoreError> {
        (**self).add(key, delta, ttl).await
    }

    async fn count(&self, key: &str) -> Result<u64, StoreError> {
        (**self).count(key).await
    }

    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        (**self).claim(key, ttl).await
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        (**self).put(key, value, ttl).await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key).await
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).list(prefix, limit).await
    }

    async fn delete_prefix(&self, prefix: &str, limit: usize) -> Result<usize, StoreError> {
        (**self).delete_prefix(prefix, limit).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        (**self).ping().await
    }
}

/// Parses a stored counter (decimal digits); anything else is [`StoreError::Protocol`].
///
/// # Errors
/// [`StoreError::Protocol`] when `bytes` is not a counter.
pub fn parse_count(key: &str, bytes: &[u8]) -> Result<u64, StoreError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| {
            StoreError::Protocol(format!(
                "coordination key {key:?} holds a value, not a counter"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_validated_and_rounded_up() {
        assert!(matches!(
            check_ttl(Duration::ZERO),
            Err(StoreError::Invalid(_))
        ));
        assert!(check_ttl(Duration::from_micros(999)).is_err());
        assert_eq!(check_ttl(Duration::from_millis(1)).unwrap(), 1);
        assert_eq!(check_ttl(Duration::from_micros(1_001)).unwrap(), 2);
        assert_eq!(check_ttl(MAX_TTL).unwrap(), 366 * 86_400_000);
        assert!(check_ttl(MAX_TTL + Duration::from_millis(1)).is_err());
    }

    #[test]
    fn keys_prefixes_and_limits_are_validated() {
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(MAX_KEY_LEN)).is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_LEN + 1)).is_err());
        assert!(check_prefix("", 1).is_err());
        assert!(check_prefix("p", 0).is_err());
        assert!(check_prefix("p", MAX_BATCH).is_ok());
        assert!(check_prefix("p", MAX_BATCH + 1).is_err());
    }

    #[test]
    fn counters_parse_strictly() {
        assert_eq!(parse_count("k", b"42").unwrap(), 42);
        for bad in [&b""[..], b"-1", b"4x", b"{}", &[0xff]] {
            assert!(matches!(
                parse_count("k", bad),
                Err(StoreError::Protocol(_))
            ));
        }
    }
}
