//! [`SentinelBuilder::build_checked`]: build, then fail fast when the store does not answer.

use super::{Sentinel, SentinelBuilder};
use crate::Error;

impl SentinelBuilder {
    /// [`SentinelBuilder::build`], then one [`Store::ping`](crate::Store::ping) of the primary
    /// store: an engine is returned only if the store answered. Opt-in, for start-up: a store
    /// that is down then stops the deployment instead of being found later through fail-open
    /// warnings (a Redis store connects lazily, so `build` alone cannot know).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use sentinel_core::{Sentinel, SystemClock};
    /// use sentinel_storage_memory::MemoryStore;
    ///
    /// let sentinel = Sentinel::builder()
    ///     .store(Arc::new(MemoryStore::new(SystemClock)))
    ///     .build_checked()
    ///     .await?;
    /// # let _ = sentinel;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] as [`SentinelBuilder::build`]; [`Error::Store`] with the store's
    /// own error (for Redis: unavailable, timed out; passwords redacted) when it does not
    /// answer.
    pub async fn build_checked(self) -> Result<Sentinel, Error> {
        let sentinel = self.build()?;
        sentinel.inner.store.ping().await?;
        Ok(sentinel)
    }
}
