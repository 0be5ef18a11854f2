//! [`Reachability`]: which users have blocked the bot.
//!
//! Telegram sends `my_chat_member` with status `kicked` in a private chat when a user blocks
//! the bot, and `member` when they unblock it. Sending to such a user only earns a 403, so the
//! guard records it here and the [`sender`](crate::sender) skips them.

use std::collections::HashSet;
use std::sync::{Arc, PoisonError, RwLock};

use crate::update::{BotStatusChange, UpdateInfo};

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

    /// Applies what a private `my_chat_member` update says (`kicked` marks the user, `member`
    /// clears the mark) and returns it; other updates change nothing and return `None`. For
    /// bots that read raw updates (webhooks) rather than through the teloxide guard.
    ///
    /// ```
    /// use sentinel_telegram::{reachability::Reachability, update};
    /// let kicked = br#"{"update_id":1,"my_chat_member":{"chat":{"id":42,"type":"private"},
    ///   "from":{"id":42,"is_bot":false,"first_name":"A"},"date":0,
    ///   "old_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"B"},"status":"member"},
    ///   "new_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"B"},"status":"kicked","until_date":0}}}"#;
    /// let r = Reachability::new();
    /// assert!(r.observe(&update::from_slice(kicked)?).is_some());
    /// assert!(r.has_blocked_bot(42));
    /// # Ok::<(), update::ParseError>(())
    /// ```
    pub fn observe(&self, info: &UpdateInfo) -> Option<(i64, BotStatusChange)> {
        let (user, change) = info.bot_status_change()?;
        match change {
            BotStatusChange::Blocked => self.mark_blocked(user),
            BotStatusChange::Unblocked => self.mark_active(user),
        }
        Some((user, change))
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
