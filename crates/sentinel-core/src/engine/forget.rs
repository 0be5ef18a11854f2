//! [`Sentinel::forget`]: erasing everything stored about one user or chat.

use super::Sentinel;
use crate::{Error, Subject, SubjectKeys};

impl Sentinel {
    /// Deletes every key of `subject` under this engine's prefix — rate-limit state of every
    /// policy, debounce fingerprints, strikes and blocks — in the primary store and, if one is
    /// set, the fallback store; returns how many keys were deleted. A user's keys include
    /// the user in every chat, and a chat's keys every user in that chat; the
    /// [`forget` module](crate::forget) lists exactly which keys count.
    ///
    /// For "delete my data" requests. Not atomic against the subject's own traffic: an update
    /// checked while this runs may leave a fresh key behind (block the subject first, or call
    /// it again).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::sync::Arc;
    /// use sentinel_core::{Event, ManualClock, Sentinel, Subject, Timestamp};
    /// use sentinel_storage_memory::MemoryStore;
    ///
    /// let clock = ManualClock::new(Timestamp::from_secs(1_000));
    /// let store = Arc::new(MemoryStore::new(clock.clone()));
    /// let sentinel = Sentinel::builder().store(store.clone()).clock(clock).build()?;
    /// sentinel.check(&Event::new().with_user(7).with_chat(7)).await?;
    /// sentinel.check(&Event::new().with_user(8).with_chat(8)).await?;
    ///
    /// assert_eq!(sentinel.forget(&Subject::User(7)).await?, 1);
    /// assert_eq!(store.len(), 1); // user 8's window is still there
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] for [`Subject::Global`] (its keys are everyone's); [`Error::Store`]
    /// when a store fails (some keys may be deleted then: call it again).
    pub async fn forget(&self, subject: &Subject) -> Result<u64, Error> {
        let keys = SubjectKeys::new(&self.inner.keys, subject)?;
        self.inner.deny.clear();
        let mut deleted = self.inner.store.forget(&keys).await?;
        if let Some(fallback) = &self.inner.fallback {
            deleted += fallback.forget(&keys).await?;
        }
        tracing::info!(subject = %subject, deleted, "sentinel: subject forgotten");
        Ok(deleted)
    }
}
