//! Store access for telemon: every coordination call (dedup, follow-up counts, digests, the
//! budget, the daily report, run-once) goes through [`Coordinator`], which bounds it with the
//! one configured store timeout ([`TelemonBuilder::store_timeout`]) and, where losing the
//! shared answer must not stop alerting, answers from a private in-process store instead.
//!
//! [`TelemonBuilder::store_timeout`]: crate::TelemonBuilder::store_timeout

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{Clock, CoordinationStore, StoreError, Timestamp};
use sentinel_storage_memory::MemoryCoordinationStore;

use crate::keys::Keys;
use crate::metrics::{Counters, inc};

/// What to do when the shared store fails or times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// Answer from this process's own memory: deduplication keeps working per process.
    Local,
    /// Return the error: claims that must not be made twice and records other workers must see.
    Fail,
}

type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The shared store behind one timeout and one local fallback, with the key builder.
pub(crate) struct Coordinator {
    store: Arc<dyn CoordinationStore>,
    fallback: MemoryCoordinationStore,
    clock: Arc<dyn Clock>,
    keys: Keys,
    timeout: Duration,
    counters: Arc<Counters>,
}

impl fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coordinator")
            .field("keys", &self.keys)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Coordinator {
    pub(crate) fn new(
        store: Arc<dyn CoordinationStore>,
        clock: Arc<dyn Clock>,
        keys: Keys,
        timeout: Duration,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            store,
            fallback: MemoryCoordinationStore::new(clock.clone()),
            clock,
            keys,
            timeout,
            counters,
        }
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The wrapper every call goes through: `shared` within the timeout; on failure (counted
    /// in `store_errors`) either `local` or the error.
    async fn guarded<T>(
        &self,
        on_failure: OnFailure,
        shared: Call<'_, T>,
        local: Call<'_, T>,
    ) -> Result<T, StoreError> {
        let err = match tokio::time::timeout(self.timeout, shared).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => e,
            Err(_) => StoreError::Timeout(self.timeout),
        };
        inc(&self.counters.store_errors);
        tracing::debug!(error = %err, "telemon coordination store call failed");
        match on_failure {
            OnFailure::Local => local.await,
            OnFailure::Fail => Err(err),
        }
    }

    pub(crate) async fn add(
        &self,
        on_failure: OnFailure,
        key: &str,
        n: u64,
        ttl: Duration,
    ) -> Result<u64, StoreError> {
        self.guarded(
            on_failure,
            self.store.add(key, n, ttl),
            self.fallback.add(key, n, ttl),
        )
        .await
    }

    pub(crate) async fn count(&self, on_failure: OnFailure, key: &str) -> Result<u64, StoreError> {
        self.guarded(on_failure, self.store.count(key), self.fallback.count(key))
            .await
    }

    pub(crate) async fn claim(
        &self,
        on_failure: OnFailure,
        key: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.guarded(
            on_failure,
            self.store.claim(key, ttl),
            self.fallback.claim(key, ttl),
        )
        .await
    }

    pub(crate) async fn put(
        &self,
        on_failure: OnFailure,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.guarded(
            on_failure,
            self.store.put(key, value, ttl),
            self.fallback.put(key, value, ttl),
        )
        .await
    }

    pub(crate) async fn get(
        &self,
        on_failure: OnFailure,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.guarded(on_failure, self.store.get(key), self.fallback.get(key))
            .await
    }

    pub(crate) async fn list(
        &self,
        on_failure: OnFailure,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.guarded(
            on_failure,
            self.store.list(prefix, limit),
            self.fallback.list(prefix, limit),
        )
        .await
    }

    pub(crate) async fn delete_prefix(
        &self,
        on_failure: OnFailure,
        prefix: &str,
        limit: usize,
    ) -> Result<usize, StoreError> {
        self.guarded(
            on_failure,
            self.store.delete_prefix(prefix, limit),
            self.fallback.delete_prefix(prefix, limit),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use sentinel_core::ManualClock;

    /// A store that never answers.
    struct Stuck;

    #[async_trait]
    impl CoordinationStore for Stuck {
        async fn add(&self, _: &str, _: u64, _: Duration) -> Result<u64, StoreError> {
            std::future::pending().await
        }
        async fn count(&self, _: &str) -> Result<u64, StoreError> {
            std::future::pending().await
        }
        async fn claim(&self, _: &str, _: Duration) -> Result<bool, StoreError> {
            std::future::pending().await
        }
        async fn put(&self, _: &str, _: &[u8], _: Duration) -> Result<(), StoreError> {
            std::future::pending().await
        }
        async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
            std::future::pending().await
        }
        async fn list(&self, _: &str, _: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
            std::future::pending().await
        }
        async fn delete_prefix(&self, _: &str, _: usize) -> Result<usize, StoreError> {
            std::future::pending().await
        }
        async fn ping(&self) -> Result<(), StoreError> {
            std::future::pending().await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_store_times_out_once_per_call_and_falls_back_or_fails() {
        let counters = Arc::new(Counters::default());
        let c = Coordinator::new(
            Arc::new(Stuck),
            Arc::new(ManualClock::default()),
            Keys::new("t"),
            Duration::from_millis(250),
            counters.clone(),
        );
        let ttl = Duration::from_secs(60);
        assert_eq!(c.add(OnFailure::Local, "k", 2, ttl).await.unwrap(), 2);
        assert_eq!(c.add(OnFailure::Local, "k", 3, ttl).await.unwrap(), 5);
        assert!(matches!(
            c.claim(OnFailure::Fail, "c", ttl).await,
            Err(StoreError::Timeout(d)) if d == Duration::from_millis(250)
        ));
        assert_eq!(counters.snapshot().store_errors, 3);
    }
}
