//! [`SendError`] and [`BuildError`]. No variant ever holds the bot token or a request URL:
//! transport errors are reduced to a scrubbed message, and API descriptions are scrubbed too.

use std::time::Duration;

use crate::split::SplitError;

/// Why a call to the Bot API failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Telegram refused the call with a 4xx other than 429 (not retried unless 408), or an
    /// answer with a 5xx (retried; see [`SendError::DeadlineExceeded`]).
    #[error("Telegram API error {code}: {description}")]
    Api {
        /// `error_code` (the HTTP status if the body had none).
        code: u16,
        /// `description`, with the token scrubbed out.
        description: String,
    },
    /// The group was upgraded to a supergroup: resend to `new_chat_id`.
    #[error("the group chat was upgraded to a supergroup; its new id is {new_chat_id}")]
    ChatMigrated {
        /// The supergroup's id (`parameters.migrate_to_chat_id`).
        new_chat_id: i64,
    },
    /// 429: Telegram asked to wait `retry_after` — longer than the retry deadline allows, or
    /// at all when retries are off. The bot stays paused for that long either way.
    #[error("Telegram asked to retry after {retry_after:?}")]
    TooManyRequests {
        /// How long Telegram asked to wait (at most [`MAX_RETRY_AFTER`](super::MAX_RETRY_AFTER)).
        retry_after: Duration,
    },
    /// The request timed out (connect or whole request).
    #[error("request to the Telegram API timed out")]
    Timeout,
    /// A network error (connection refused, reset, TLS, …), token-free.
    #[error("network error talking to the Telegram API: {message}")]
    Network {
        /// The error chain, without the URL, with the token scrubbed out.
        message: String,
    },
    /// A response that is not a Bot API answer (e.g. a proxy's HTML page with a 2xx/4xx).
    #[error("invalid response from the Telegram API (HTTP {status})")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
    },
    /// Not sent: the user blocked the bot (see
    /// [`Reachability`](crate::reachability::Reachability)).
    #[error("skipped: user {chat_id} has blocked the bot")]
    Skipped {
        /// The private chat (= user) id.
        chat_id: i64,
    },
    /// Retries of 5xx, network errors or timeouts did not succeed before the deadline, or
    /// pacing would have had to wait past it.
    #[error("gave up after {attempts} attempt(s) at the retry deadline: {last}")]
    DeadlineExceeded {
        /// Requests made.
        attempts: u32,
        /// The last failure.
        #[source]
        last: Box<SendError>,
    },
    /// The text could not be split into messages.
    #[error(transparent)]
    Split(#[from] SplitError),
    /// The text is empty (or only whitespace): Telegram would refuse it.
    #[error("message text is empty")]
    EmptyText,
}

/// What a failure means for the caller, as far as retrying goes: **the** classification of
/// Bot API failures. [`BotApi`](super::BotApi)'s own retry loop uses it, and so does any caller
/// that owns its retries (with [`BotApiBuilder::retries`](super::BotApiBuilder::retries) off),
/// so every failure is classified once, the same way.
///
/// ```
/// use std::time::Duration;
/// use sentinel_telegram::sender::{ErrorClass, SendError};
/// let timeout = SendError::Api { code: 408, description: "Request Timeout".into() };
/// assert_eq!(timeout.class(), ErrorClass::Transient);
/// let flood = SendError::TooManyRequests { retry_after: Duration::from_secs(9) };
/// assert_eq!(flood.class(), ErrorClass::RetryAfter(Duration::from_secs(9)));
/// let markup = SendError::Api { code: 400, description: "Bad Request: can't parse entities".into() };
/// assert_eq!(markup.class(), ErrorClass::MarkupRejected);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// 429 flood control: wait this long (every call of the bot), then the same call may
    /// succeed.
    RetryAfter(Duration),
    /// 5xx, 408, network errors, timeouts, exhausted retries: retrying later may help.
    Transient,
    /// 400 "can't parse entities": the HTML was refused; the same text without markup may go.
    MarkupRejected,
    /// Anything else (chat not found, bot kicked, bad token, migrated chat, invalid answer,
    /// empty text): retrying will not help.
    Permanent,
}

impl SendError {
    /// How this failure is to be handled (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::TooManyRequests { retry_after } => ErrorClass::RetryAfter(*retry_after),
            Self::Api { code, .. } if *code >= 500 || *code == 408 => ErrorClass::Transient,
            Self::Api {
                code: 400,
                description,
            } if description.contains("parse entities")
                || description.contains("can't parse")
                || description.contains("unsupported start tag") =>
            {
                ErrorClass::MarkupRejected
            }
            Self::Timeout | Self::Network { .. } | Self::DeadlineExceeded { .. } => {
                ErrorClass::Transient
            }
            _ => ErrorClass::Permanent,
        }
    }

    /// Whether retrying later may help (5xx, 408, network, timeout, 429, deadline): the
    /// [`ErrorClass`] is [`ErrorClass::Transient`] or [`ErrorClass::RetryAfter`].
    pub fn is_transient(&self) -> bool {
        matches!(
            self.class(),
            ErrorClass::Transient | ErrorClass::RetryAfter(_)
        )
    }
}

/// Why a [`BotApi`](super::BotApi) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No token was given.
    #[error("no bot token given")]
    MissingToken,
    /// The API URL cannot be a base URL (e.g. `mailto:`), or is not http(s).
    #[error("invalid API URL: {0}")]
    InvalidUrl(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}
