//! [`Reachability`]: which users have blocked the bot.
//!
//! Telegram sends `my_chat_member` with status `kicked` in a private chat when a user blocks
//! the bot, and `member` when they unblock it. Sending to such a user only earns a 403, so the
//! guard records it here and the [`sender`](crate::sender) skips them.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

/// A shared set of users who blocked the bot. Cheap to clone; clones share the set.
///
/// ```
/// use sentinel_telegram::reachability::Reachability;
/// let r = Reachability::new();
/// r.mark_blocked(42);
/// assert!(r.has_blocked_bot(42));
/// r.mark_active(42);
/// assert!(!r.has_blocked_bot(42));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Reachability {
    blocked: Arc<RwLock<HashSet<i64>>>,
}

impl Reachability {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `user` blocked the bot (`my_chat_member` → `kicked`).
    pub fn mark_blocked(&self, user: i64) {
        self.blocked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user);
    }

    /// Records that `user` can be reached again (`my_chat_member` → `member`).
    pub fn mark_active(&self, user: i64) {
        self.blocked
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&user);
    }

    /// Whether `user` (a private chat id equals the user id) blocked the bot.
    pub fn has_blocked_bot(&self, user: i64) -> bool {
        self.blocked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&user)
    }

    /// How many users blocked the bot.
    pub fn len(&self) -> usize {
        self.blocked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no user blocked the bot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
