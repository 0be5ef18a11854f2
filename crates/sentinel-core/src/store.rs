//! Storage traits: what a backend must do. Object-safe, `Send + Sync`, usable as
//! `Arc<dyn Store>`.
//!
//! A backend implements the three traits and [`Store`] (whose one method has a default). The
//! conformance suite in `sentinel-testkit` checks any implementation against the reference
//! semantics of this crate's algorithms.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::forget::SubjectKeys;
use crate::plan::{Plan, PlanOutcome};
use crate::{Algorithm, BlockRecord, Decision, Quota, StoreError, Timestamp};

/// Atomic rate-limit steps.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Applies one step of `algorithm` for `key` at `now` asking for `cost` units, atomically,
    /// exactly as [`RateLimitState::step`](crate::RateLimitState::step) does.
    ///
    /// Stores that read time from elsewhere (Redis `TIME`) may ignore `now`.
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError>;

    /// What one unit would get, without consuming
    /// ([`RateLimitState::peek`](crate::RateLimitState::peek)).
    async fn peek(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Result<Decision, StoreError>;

    /// Forgets the key's state.
    async fn reset(&self, key: &str) -> Result<(), StoreError>;
}

/// First-sighting detection.
#[async_trait]
pub trait DebounceStore: Send + Sync {
    /// Records a sighting of `key` at `now`. Returns `true` for a first sighting (the key was
    /// absent or its previous window had ended), which opens a window of `window`; `false` for a
    /// repeat inside the open window (which does not extend it).
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// Blocklist records.
#[async_trait]
pub trait BlocklistStore: Send + Sync {
    /// Stores `record` under `key`, replacing any previous one.
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError>;

    /// Removes the record; `true` if there was one.
    async fn unblock(&self, key: &str) -> Result<bool, StoreError>;

    /// The record in force at `now`, if any (expired records read as absent).
    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError>;

    /// Every record in force at `now` whose key starts with `prefix`.
    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError>;
}

/// A complete backend: the three single-purpose traits (the admin API uses them) and the
/// one operation the engine calls per update, [`Store::evaluate`].
///
/// `evaluate` has a default written with the single-purpose calls
/// ([`evaluate_stepwise`](crate::plan::evaluate_stepwise)), so a custom store needs only
/// `impl Store for MyStore {}`; a store that can decide a whole plan at once (the memory store
/// in one pass, Redis in one script) overrides it.
#[async_trait]
pub trait Store: RateLimitStore + DebounceStore + BlocklistStore {
    /// Evaluates `plan` atomically in the order blocklist → debounce → rate limits → strike →
    /// block, and returns the facts of the verdict (see [`crate::plan`]).
    ///
    /// # Errors
    /// The store's errors; nothing is decided then.
    async fn evaluate(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        crate::plan::evaluate_stepwise(self, plan).await
    }

    /// Deletes every key of `keys.subject()` under `keys.prefix()` — every key
    /// [`SubjectKeys::matches`] accepts, of any kind — and returns how many it deleted.
    /// Keys of other subjects stay as they are.
    ///
    /// Not atomic against concurrent traffic: a key the subject creates while this runs may
    /// survive (call it again once the subject is quiet, e.g. after blocking it).
    ///
    /// The default refuses with [`StoreError::Invalid`]: a store must be able to enumerate its
    /// keys to forget a subject, so a custom store that can overrides it.
    ///
    /// # Errors
    /// The store's errors; some keys may be deleted then.
    async fn forget(&self, keys: &SubjectKeys) -> Result<u64, StoreError> {
        let _ = keys;
        Err(StoreError::Invalid(
            "this store does not implement Store::forget (it cannot list its keys)".to_owned(),
        ))
    }

    /// Checks that the store answers, for start-up checks
    /// ([`SentinelBuilder::build_checked`](crate::SentinelBuilder::build_checked)).
    ///
    /// The default reads a blocklist key that is never written; stores with a cheaper or more
    /// telling check (Redis: `PING` on every node) override it.
    ///
    /// # Errors
    /// The store's error when it does not answer.
    async fn ping(&self) -> Result<(), StoreError> {
        self.blocked("sentinel-ping:bl:{g}:probe", Timestamp::from_micros(0))
            .await
            .map(|_| ())
    }

    /// The store's synchronous form, if it decides a plan on the calling thread without
    /// waiting for anything (the memory store). The engine then calls
    /// [`SyncStore::evaluate_sync`] directly: no boxed future, and a plan buffer reused from
    /// check to check, so an allowed check allocates nothing. `None` (the default) for stores
    /// that do I/O.
    fn as_sync(&self) -> Option<&dyn SyncStore> {
        None
    }
}

/// A store that decides a whole plan on the calling thread ([`Store::as_sync`]).
///
/// `evaluate_sync` must give exactly the outcome [`Store::evaluate`] gives; it must not block
/// on I/O (it runs on the async executor's thread).
///
/// ```
/// use sentinel_core::{ManualClock, Plan, PlanOutcome, Store, Timestamp};
/// use sentinel_storage_memory::MemoryStore;
///
/// let store = MemoryStore::new(ManualClock::default());
/// let sync = store.as_sync().expect("the memory store is synchronous");
/// let outcome = sync.evaluate_sync(&Plan::new(Timestamp::from_secs(1)))?;
/// assert_eq!(outcome, PlanOutcome::Allowed { decision: None });
/// # Ok::<(), sentinel_core::StoreError>(())
/// ```
pub trait SyncStore: Send + Sync {
    /// [`Store::evaluate`], on the calling thread.
    ///
    /// # Errors
    /// The store's errors; nothing is decided then.
    fn evaluate_sync(&self, plan: &Plan) -> Result<PlanOutcome, StoreError>;

    /// Whether the store may hold a blocklist record at this instant. When it answers
    /// `false`, the engine leaves the block keys out of the plan (there is nothing to find
    /// under them), so a check on a store with no blocks writes one key fewer per subject.
    /// A block stored concurrently by another thread then applies from that thread's next
    /// check on, as if this check had come first. The default, `true`, always asks.
    fn may_hold_blocks(&self) -> bool {
        true
    }
}

#[async_trait]
impl<T: Store + ?Sized> Store for Arc<T> {
    async fn evaluate(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        (**self).evaluate(plan).await
    }

    fn as_sync(&self) -> Option<&dyn SyncStore> {
        (**self).as_sync()
    }

    async fn forget(&self, keys: &SubjectKeys) -> Result<u64, StoreError> {
        (**self).forget(keys).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        (**self).ping().await
    }
}

#[async_trait]
impl<T: RateLimitStore + ?Sized> RateLimitStore for Arc<T> {
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        (**self).hit(key, algorithm, quota, cost, now).await
    }

    async fn peek(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        (**self).peek(key, algorithm, quota, now).await
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        (**self).reset(key).await
    }
}

#[async_trait]
impl<T: DebounceStore + ?Sized> DebounceStore for Arc<T> {
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        (**self).debounce(key, window, now).await
    }
}

#[async_trait]
impl<T: BlocklistStore + ?Sized> BlocklistStore for Arc<T> {
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        (**self).block(key, record).await
    }

    async fn unblock(&self, key: &str) -> Result<bool, StoreError> {
        (**self).unblock(key).await
    }

    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        (**self).blocked(key, now).await
    }

    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        (**self).list_blocked(prefix, now).await
    }
}
