//! [`GuardStats`]: what the guard did, around the engine's [`Stats`].

use std::fmt;

use sentinel_core::Stats;

use crate::metrics::{
    Count, GUARD_BOT_BLOCKED_CHANGES_TOTAL, GUARD_CALLBACKS_ANSWERED_TOTAL, GUARD_NOTICES_TOTAL,
    GUARD_SEND_FAILURES_TOTAL, GUARD_UPDATES_TOTAL,
};

/// A snapshot of the guard's counters, composed with its engine's.
///
/// The verdicts (allowed, throttled, debounced, blocked, failed closed, escalations) are
/// counted once, by the engine, in [`engine`](Self::engine) — the same [`Stats`] as
/// [`Sentinel::stats`](sentinel_core::Sentinel::stats). The guard adds what only it sees:
/// exempt updates (never checked), the replies it sent or held back, and reachability
/// changes. When the guard's engine also serves other callers (a tower layer, direct
/// `check` calls), their checks are in `engine` too.
///
/// ```
/// use sentinel_core::Stats;
/// use sentinel_telegram::teloxide::GuardStats;
///
/// let mut s = GuardStats::default();
/// (s.engine.checks, s.engine.allowed, s.engine.throttled) = (10, 7, 3);
/// (s.exempt, s.notices_sent, s.notices_suppressed) = (2, 1, 2);
/// assert_eq!((s.updates(), s.handled(), s.dropped()), (12, 9, 3));
/// assert!(s.to_string().starts_with("12 updates: 9 handled (2 exempt), 3 dropped;"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GuardStats {
    /// The engine's counters: one check per guarded (non-exempt) update.
    pub engine: Stats,
    /// Exempt updates (type, user, chat, chat admin, `bypass`), passed without a check.
    pub exempt: u64,
    /// Later items of a passed album: they took the first item's outcome without a check.
    pub album_items_passed: u64,
    /// Later items of a dropped album, dropped without a check.
    pub album_items_dropped: u64,
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

impl GuardStats {
    /// Updates seen: checked by the engine, exempt, or later items of an album.
    pub const fn updates(&self) -> u64 {
        self.handled().saturating_add(self.dropped())
    }

    /// Updates passed on to the bot's handlers: allowed, exempt, or in a passed album.
    pub const fn handled(&self) -> u64 {
        self.engine
            .allowed
            .saturating_add(self.exempt)
            .saturating_add(self.album_items_passed)
    }

    /// Updates dropped: throttled, debounced, blocked, refused because the store failed
    /// under `FailMode::Closed`, or in a dropped album.
    pub const fn dropped(&self) -> u64 {
        self.engine
            .checks
            .saturating_sub(self.engine.allowed)
            .saturating_add(self.album_items_dropped)
    }
}

/// One line: the guard's own figures, then the engine's ([`Stats`]'s `Display`).
impl fmt::Display for GuardStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} updates: {} handled ({} exempt), {} dropped; album items without a check: {} \
             passed, {} dropped; replies: {} sent, {} suppressed, \
             {} callbacks answered, {} failed, {} unanswered; bot blocked by {} users, unblocked by {}; \
             engine: {}",
            self.updates(),
            self.handled(),
            self.exempt,
            self.dropped(),
            self.album_items_passed,
            self.album_items_dropped,
            self.notices_sent,
            self.notices_suppressed,
            self.callbacks_answered,
            self.send_failures,
            self.unanswered,
            self.users_blocked_bot,
            self.users_unblocked_bot,
            self.engine,
        )
    }
}

/// The guard's own counters; with feature `metrics` each also drives its exported series,
/// so the snapshot and the exporter never disagree. Verdicts are the engine's
/// (`sentinel_verdicts_total`): the guard counts only what the engine never sees.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) exempt: Count,
    pub(crate) album_items_passed: Count,
    pub(crate) album_items_dropped: Count,
    pub(crate) notices_sent: Count,
    pub(crate) notices_suppressed: Count,
    pub(crate) callbacks_answered: Count,
    pub(crate) send_failures: Count,
    pub(crate) unanswered: Count,
    pub(crate) users_blocked_bot: Count,
    pub(crate) users_unblocked_bot: Count,
}

impl Default for Counters {
    /// Registers every series (feature `metrics`) in the recorder in force now.
    fn default() -> Self {
        Self {
            exempt: Count::new(GUARD_UPDATES_TOTAL, &[("outcome", "exempt")]),
            album_items_passed: Count::new(
                GUARD_UPDATES_TOTAL,
                &[("outcome", "album_item_passed")],
            ),
            album_items_dropped: Count::new(
                GUARD_UPDATES_TOTAL,
                &[("outcome", "album_item_dropped")],
            ),
            notices_sent: Count::new(GUARD_NOTICES_TOTAL, &[("result", "sent")]),
            notices_suppressed: Count::new(GUARD_NOTICES_TOTAL, &[("result", "suppressed")]),
            callbacks_answered: Count::new(GUARD_CALLBACKS_ANSWERED_TOTAL, &[]),
            send_failures: Count::new(GUARD_SEND_FAILURES_TOTAL, &[]),
            // Dropped updates the guard could not answer (a bot type it cannot name).
            unanswered: Count::new(GUARD_NOTICES_TOTAL, &[("result", "unanswered")]),
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
    pub(crate) fn snapshot(&self, engine: Stats) -> GuardStats {
        let r = Count::get;
        GuardStats {
            engine,
            exempt: r(&self.exempt),
            album_items_passed: r(&self.album_items_passed),
            album_items_dropped: r(&self.album_items_dropped),
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
