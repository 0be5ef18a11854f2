//! [`Outcome`], [`Checked`] and the answers a dropped update gets ([`Response`]).

use sentinel_core::{Allowed, Verdict};

use crate::update::BotStatusChange;

/// What the guard decided about one update.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The engine allowed it (`degraded` when the store failed and `FailMode::Open` let it
    /// through).
    Pass(Allowed),
    /// Exempt from checks: an exempt update type, user, chat, chat administrator or a
    /// `bypass` predicate that said yes. The engine was not asked.
    Exempt,
    /// Dropped: throttled, debounced or blocked.
    Drop(Verdict),
    /// Dropped: the store failed and the engine fails closed.
    FailedClosed,
}

impl Outcome {
    /// Whether the update goes on to the bot's handlers.
    ///
    /// ```
    /// use sentinel_telegram::guard::Outcome;
    /// assert!(Outcome::Exempt.passes());
    /// assert!(!Outcome::FailedClosed.passes());
    /// ```
    pub const fn passes(&self) -> bool {
        matches!(self, Self::Pass(_) | Self::Exempt)
    }
}

/// `answerCallbackQuery` for a dropped button press, so the button stops spinning.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackAnswer {
    /// The callback query's id.
    pub callback_query_id: String,
    /// The text to show (a toast); `None` answers silently.
    pub text: Option<String>,
}

/// Which notice a [`NoticeMessage`] (or a callback answer text) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoticeKind {
    /// "Too many messages — try again in N s": sent at most once per subject per window.
    Throttled,
    /// "You are blocked until …": sent once, when a throttle escalates into a block
    /// ([`GuardCoreBuilder::block_notice`](super::GuardCoreBuilder::block_notice)).
    Blocked,
}

/// A message to send (`sendMessage`) about a dropped update.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoticeMessage {
    /// The chat to send it to (where the user wrote).
    pub chat_id: i64,
    /// The text (plain, no parse mode).
    pub text: String,
    /// In groups, the message to reply to, so everyone sees whom the notice is for.
    pub reply_to_message_id: Option<i64>,
    /// The forum topic (`message_thread_id`) to post in.
    pub thread_id: Option<i64>,
    /// Which notice it is.
    pub kind: NoticeKind,
}

/// What to send for one update: nothing for a passed update; for a dropped one, a callback
/// answer (every dropped button press gets one) and/or a notice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response {
    /// Answer the button press with this.
    pub callback: Option<CallbackAnswer>,
    /// Send this message.
    pub notice: Option<NoticeMessage>,
}

impl Response {
    /// Whether there is nothing to send.
    ///
    /// ```
    /// assert!(sentinel_telegram::guard::Response::default().is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.callback.is_none() && self.notice.is_none()
    }
}

/// The result of [`GuardCore::check`](super::GuardCore::check): the outcome, what to answer,
/// and what the guard observed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checked {
    /// Pass or drop.
    pub outcome: Outcome,
    /// What to send (empty when the update passes).
    pub response: Response,
    /// A private `my_chat_member` update recorded in the guard's
    /// [`Reachability`](crate::reachability::Reachability): this user blocked or unblocked the
    /// bot.
    pub bot_status: Option<(i64, BotStatusChange)>,
    /// A "try again" notice was due but one already went out in this window.
    pub notice_suppressed: bool,
    /// A later item of an album (`media_group_id`) whose first item was already decided: it
    /// got the first item's outcome without being counted again.
    pub album_follower: bool,
}

impl Checked {
    pub(crate) const fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            response: Response {
                callback: None,
                notice: None,
            },
            bot_status: None,
            notice_suppressed: false,
            album_follower: false,
        }
    }

    /// Whether the update goes on to the bot's handlers.
    pub const fn passes(&self) -> bool {
        self.outcome.passes()
    }
}
