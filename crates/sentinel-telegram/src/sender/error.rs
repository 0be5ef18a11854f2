//! [`SendError`] and [`BuildError`]. No variant ever holds the bot token or a request URL:
//! transport errors are reduced to a scrubbed message, and API descriptions are scrubbed too.

use std::time::Duration;

use crate::split::SplitError;

/// Why a call to the Bot API failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Telegram refused the call with a 4xx other than 429 (not retried), or kept answering
    /// 5xx until the deadline (see [`SendError::DeadlineExceeded`]).
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
    /// Telegram asked to wait longer than the retry deadline allows (`retry_after`). The bot
    /// stays paused for that long either way.
    #[error("Telegram asked to retry after {retry_after:?}, beyond the retry deadline")]
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

impl SendError {
    /// Whether retrying later may help (5xx, network, timeout, 429, deadline).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Api { code, .. } => *code >= 500,
            Self::TooManyRequests { .. }
            | Self::Timeout
            | Self::Network { .. }
            | Self::DeadlineExceeded { .. } => true,
            _ => false,
        }
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
