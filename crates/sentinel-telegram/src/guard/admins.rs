//! "Administrators of the chat": [`ChatAdmins`] (where the list comes from) and the TTL cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sentinel_core::Timestamp;

/// Looking up a chat's administrators failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminLookupError {
    /// Telegram refused the call, or it failed in transit. The error text is not kept: a
    /// transport error may quote the request URL, which holds the bot token.
    #[error("getChatAdministrators failed")]
    Failed,
}

/// Where the guard gets a chat's administrators from: `getChatAdministrators` of the bot.
///
/// The teloxide adapter implements it with the dispatcher's bot; other frameworks implement it
/// with their client.
///
/// ```
/// use sentinel_telegram::guard::{AdminLookupError, ChatAdmins};
///
/// struct Fixed;
/// #[sentinel_core::async_trait]
/// impl ChatAdmins for Fixed {
///     async fn administrators(&self, _chat_id: i64) -> Result<Vec<i64>, AdminLookupError> {
///         Ok(vec![7])
///     }
/// }
/// ```
#[sentinel_core::async_trait]
pub trait ChatAdmins: Send + Sync {
    /// The user ids of `chat_id`'s administrators (the creator included).
    ///
    /// # Errors
    /// [`AdminLookupError`] when the list cannot be had.
    async fn administrators(&self, chat_id: i64) -> Result<Vec<i64>, AdminLookupError>;
}

/// Most chats cached at once; beyond that (with nothing expired) lookups are not cached.
const MAX_CHATS: usize = 16_384;

/// A chat's cached administrators and when the entry expires.
type Entry = (Timestamp, Arc<[i64]>);

/// Each chat's administrators, kept for a TTL.
#[derive(Debug)]
pub(crate) struct AdminCache {
    ttl: Duration,
    chats: Mutex<HashMap<i64, Entry>>,
}

impl AdminCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            chats: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) const fn ttl(&self) -> Duration {
        self.ttl
    }

    fn cached(&self, chat: i64, now: Timestamp) -> Option<Arc<[i64]>> {
        let chats = self.chats.lock().unwrap_or_else(PoisonError::into_inner);
        chats
            .get(&chat)
            .filter(|(until, _)| now < *until)
            .map(|(_, ids)| Arc::clone(ids))
    }

    /// Whether `user` administers `chat`, asking `source` when the cached list is missing or
    /// older than the TTL. A failed lookup counts as "not an administrator" and is cached for
    /// the TTL too, so a failing Bot API is not asked on every update.
    pub(crate) async fn is_admin(
        &self,
        source: &dyn ChatAdmins,
        chat: i64,
        user: i64,
        now: Timestamp,
    ) -> bool {
        if let Some(ids) = self.cached(chat, now) {
            return ids.contains(&user);
        }
        let ids: Arc<[i64]> = match source.administrators(chat).await {
            Ok(ids) => ids.into(),
            Err(e) => {
                tracing::debug!(chat, error = %e, "sentinel guard: chat administrators unknown");
                Arc::from(Vec::new())
            }
        };
        let admin = ids.contains(&user);
        let mut chats = self.chats.lock().unwrap_or_else(PoisonError::into_inner);
        if chats.len() >= MAX_CHATS {
            chats.retain(|_, (until, _)| now < *until);
        }
        if chats.len() < MAX_CHATS {
            chats.insert(chat, (now.saturating_add(self.ttl), ids));
        }
        admin
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    struct Counting(AtomicU32, Vec<i64>);
    #[sentinel_core::async_trait]
    impl ChatAdmins for Counting {
        async fn administrators(&self, _chat: i64) -> Result<Vec<i64>, AdminLookupError> {
            self.0.fetch_add(1, Ordering::Relaxed);
            if self.1.is_empty() {
                return Err(AdminLookupError::Failed);
            }
            Ok(self.1.clone())
        }
    }

    #[tokio::test]
    async fn lookups_are_cached_for_the_ttl() {
        let src = Counting(AtomicU32::new(0), vec![7]);
        let cache = AdminCache::new(Duration::from_secs(60));
        let t0 = Timestamp::from_secs(1000);
        assert!(cache.is_admin(&src, -1, 7, t0).await);
        assert!(!cache.is_admin(&src, -1, 8, t0).await);
        let almost = t0.saturating_add(Duration::from_secs(60) - Duration::from_micros(1));
        assert!(cache.is_admin(&src, -1, 7, almost).await);
        assert_eq!(
            src.0.load(Ordering::Relaxed),
            1,
            "one lookup within the TTL"
        );
        assert!(
            cache
                .is_admin(&src, -1, 7, t0.saturating_add(Duration::from_secs(60)))
                .await
        );
        assert_eq!(
            src.0.load(Ordering::Relaxed),
            2,
            "asked again after the TTL"
        );
        assert!(cache.is_admin(&src, -2, 7, t0).await);
        assert_eq!(src.0.load(Ordering::Relaxed), 3, "per chat");
    }

    #[tokio::test]
    async fn a_failed_lookup_is_not_an_admin_and_is_cached() {
        let src = Counting(AtomicU32::new(0), vec![]);
        let cache = AdminCache::new(Duration::from_secs(60));
        let t0 = Timestamp::from_secs(1000);
        assert!(!cache.is_admin(&src, -1, 7, t0).await);
        assert!(!cache.is_admin(&src, -1, 7, t0).await);
        assert_eq!(src.0.load(Ordering::Relaxed), 1);
    }
}
