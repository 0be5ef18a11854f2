//! Run-once-across-workers: [`Telemon::deduplicated`] and [`Telemon::run_deduplicated`].

use std::time::Duration;

use sentinel_core::StoreError;

use crate::telemon::Telemon;

impl Telemon {
    /// `true` for exactly one caller per `ttl` across every worker sharing the store (the
    /// first to claim `key`), `false` for the others — e.g. a startup notice sent by one of N
    /// replicas. The claim is made before the caller acts, so a caller that then fails does not
    /// release it: the next chance comes after `ttl`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use telemon_alerts::{Destination, Telemon, transport::MemoryTransport};
    /// let t = Telemon::builder().transport(MemoryTransport::new()).destination(Destination::chat(1)).build()?;
    /// assert!(t.deduplicated("startup", Duration::from_secs(60)).await?);
    /// assert!(!t.deduplicated("startup", Duration::from_secs(60)).await?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The store's error when it cannot answer within the store timeout (the caller decides:
    /// run anyway or not); [`StoreError::Invalid`] for a zero `ttl` or one above a year.
    /// A disabled handle has no store and answers `Ok(true)` (no coordination).
    pub async fn deduplicated(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let Some(shared) = self.inner.shared.as_ref() else {
            return Ok(true);
        };
        let key = shared.keys().once(key);
        shared
            .claim(crate::coordination::OnFailure::Fail, &key, ttl)
            .await
    }

    /// Runs `f` only if this caller wins [`Telemon::deduplicated`]; `None` otherwise. When the
    /// store fails it **fails open** (runs `f`): a duplicate beats a missed run.
    pub async fn run_deduplicated<F, T>(&self, key: &str, ttl: Duration, f: F) -> Option<T>
    where
        F: Future<Output = T>,
    {
        match self.deduplicated(key, ttl).await {
            Ok(true) | Err(_) => Some(f.await),
            Ok(false) => None,
        }
    }
}
