//! [`GuardStats`]: what the guard did.

use crate::metrics::{
    Count, GUARD_BOT_BLOCKED_CHANGES_TOTAL, GUARD_CALLBACKS_ANSWERED_TOTAL, GUARD_NOTICES_TOTAL,
    GUARD_SEND_FAILURES_TOTAL, GUARD_UPDATES_TOTAL,
};

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
    /// Users marked as having blocked the bot (`my_chat_member` → `kicked`).
    pub users_blocked_bot: u64,
    /// Users marked as reachable again (`my_chat_member` → `member`).
    pub users_unblocked_bot: u64,
}

#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) passed: Count,
    pub(crate) exempt: Count,
    pub(crate) throttled: Count,
    pub(crate) debounced: Count,
    pub(crate) blocked: Count,
    pub(crate) failed_closed: Count,
    pub(crate) notices_sent: Count,
    pub(crate) notices_suppressed: Count,
    pub(crate) callbacks_answered: Count,
    pub(crate) send_failures: Count,
    pub(crate) users_blocked_bot: Count,
    pub(crate) users_unblocked_bot: Count,
}

impl Default for Counters {
    /// Registers every series (feature `metrics`) in the recorder in force now.
    fn default() -> Self {
        Self {
            passed: Count::new(GUARD_UPDATES_TOTAL, &[("outcome", "passed")]),
            exempt: Count::new(GUARD_UPDATES_TOTAL, &[("outcome", "exempt")]),
            throttled: Count::new(GUARD_UPDATES_TOTAL, &[("outcome", "throttled")]),
            debounced: Count::new(GUARD_UPDATES_TOTAL, &[("outcome", "debounced")]),
            blocked: Count::new(GUARD_UPDATES_TOTAL, &[("outcome", "blocked")]),
            failed_closed: Count::new(GUARD_UPDATES_TOTAL, &[("outcome", "failed_closed")]),
            notices_sent: Count::new(GUARD_NOTICES_TOTAL, &[("result", "sent")]),
            notices_suppressed: Count::new(GUARD_NOTICES_TOTAL, &[("result", "suppressed")]),
            callbacks_answered: Count::new(GUARD_CALLBACKS_ANSWERED_TOTAL, &[]),
            send_failures: Count::new(GUARD_SEND_FAILURES_TOTAL, &[]),
            users_blocked_bot: Count::new(
                GUARD_BOT_BLOCKED_CHANGES_TOTAL,
                &[("change", "blocked")],
            ),
            users_unblocked_bot: Count::new(
                GUARD_BOT_BLOCKED_CHANGES_TOTAL,
                &[("change", "unblocked")],
            ),
        }
    }
}

pub(crate) fn bump(c: &Count) {
    c.bump();
}

impl Counters {
    pub(crate) fn snapshot(&self) -> GuardStats {
        let r = Count::get;
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
            users_blocked_bot: r(&self.users_blocked_bot),
            users_unblocked_bot: r(&self.users_unblocked_bot),
        }
    }
}
