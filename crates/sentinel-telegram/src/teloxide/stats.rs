//! [`GuardStats`]: what the guard did.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the guard's counters (the engine keeps its own in
/// [`Sentinel::stats`](sentinel_core::Sentinel::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuardStats {
    /// Updates passed on to the bot's handlers.
    pub passed: u64,
    /// Updates of an exempt type, passed without a check.
    pub exempt: u64,
    /// Updates dropped as over the rate limit.
    pub throttled: u64,
    /// Updates dropped as duplicates.
    pub debounced: u64,
    /// Updates dropped because the user or chat is blocked.
    pub blocked: u64,
    /// Updates dropped because the store failed under `FailMode::Closed`.
    pub failed_closed: u64,
    /// "Too many messages" replies sent.
    pub notices_sent: u64,
    /// Replies not sent because one already went out in this window.
    pub notices_suppressed: u64,
    /// Callback queries of dropped updates answered (`answerCallbackQuery`).
    pub callbacks_answered: u64,
    /// Replies or answers that Telegram refused or that failed in transit.
    pub send_failures: u64,
    /// Dropped updates left unanswered because [`Guard::handler`](super::Guard::handler)
    /// did not find the dispatcher's bot (a bot type outside the known adaptor stacks: use
    /// [`Guard::handler_for`](super::Guard::handler_for)).
    pub unanswered: u64,
    /// Users marked as having blocked the bot (`my_chat_member` → `kicked`).
    pub users_blocked_bot: u64,
    /// Users marked as reachable again (`my_chat_member` → `member`).
    pub users_unblocked_bot: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) passed: AtomicU64,
    pub(crate) exempt: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) debounced: AtomicU64,
    pub(crate) blocked: AtomicU64,
    pub(crate) failed_closed: AtomicU64,
    pub(crate) notices_sent: AtomicU64,
    pub(crate) notices_suppressed: AtomicU64,
    pub(crate) callbacks_answered: AtomicU64,
    pub(crate) send_failures: AtomicU64,
    pub(crate) unanswered: AtomicU64,
    pub(crate) users_blocked_bot: AtomicU64,
    pub(crate) users_unblocked_bot: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> GuardStats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GuardStats {
            passed: r(&self.passed),
            exempt: r(&self.exempt),
            throttled: r(&self.throttled),
            debounced: r(&self.debounced),
            blocked: r(&self.blocked),
            failed_closed: r(&self.failed_closed),
            notices_sent: r(&self.notices_sent),
            notices_suppressed: r(&self.notices_suppressed),
            callbacks_answered: r(&self.callbacks_answered),
            send_failures: r(&self.send_failures),
            unanswered: r(&self.unanswered),
            users_blocked_bot: r(&self.users_blocked_bot),
            users_unblocked_bot: r(&self.users_unblocked_bot),
        }
    }
}
