//! Telegram updates → [`sentinel_core::Event`]s.
//!
//! [`from_slice`] and [`from_value`] read raw Bot API JSON (a webhook body, one element of a
//! `getUpdates` result) with a minimal serde model: only the fields sentinel needs, unknown
//! fields ignored, unknown update types kept as [`UpdateKind::Other`], malformed input a
//! [`ParseError`] — never a panic. With the `teloxide` feature,
//! [`Extractor::from_teloxide`] reads a `teloxide::types::Update` the same way.
//!
//! The result is an [`UpdateInfo`]: the update type, who sent it, where, the handler name that
//! selects its policy, and the fingerprint debounce compares. [`UpdateInfo::event`] turns it
//! into the engine's [`Event`].
//!
//! ```
//! use sentinel_telegram::update::{self, ChatType, UpdateKind};
//!
//! let body = br#"{"update_id": 10, "message": {"message_id": 5, "date": 0,
//!     "from": {"id": 42, "is_bot": false, "first_name": "Ann"},
//!     "chat": {"id": -1001, "type": "supergroup", "title": "G"},
//!     "text": "/start@my_bot hello"}}"#;
//! let info = update::from_slice(body)?;
//! assert_eq!(info.kind, UpdateKind::Message);
//! assert_eq!((info.user_id, info.chat_id), (Some(42), Some(-1001)));
//! assert_eq!(info.chat_type, Some(ChatType::Supergroup));
//! assert_eq!(info.handler.as_deref(), Some("start"));
//!
//! let event = info.event();
//! assert_eq!(event.user(), Some(42));
//! assert_eq!(event.handler(), Some("start"));
//! assert!(event.fingerprint().is_some());
//! # Ok::<(), update::ParseError>(())
//! ```
//!
//! ## Who is the user?
//!
//! | Update | `user_id` | `chat_id` |
//! |---|---|---|
//! | message, edited/business/guest message | `sender_chat.id` if sent on behalf of a chat (anonymous admins, channels), else `from.id` | `chat.id` |
//! | channel_post, edited_channel_post | `sender_chat.id`, else `chat.id` | `chat.id` |
//! | callback_query | `from.id` | `message.chat.id` (none for inline messages) |
//! | inline_query, chosen_inline_result, shipping/pre_checkout_query, purchased_paid_media | `from.id` | — |
//! | message_reaction | `user.id`, else `actor_chat.id` | `chat.id` |
//! | poll_answer | `user.id`, else `voter_chat.id` | — |
//! | my_chat_member, chat_member, chat_join_request | `from.id` | `chat.id` |
//! | chat_boost, removed_chat_boost | the boost source's `user.id` | `chat.id` |
//! | business_connection | `user.id` | `user_chat_id` |
//! | managed_bot | `user.id` | — |
//! | deleted_business_messages, message_reaction_count | — | `chat.id` |
//! | poll, unknown types | — | — |
//!
//! ## Fingerprint
//!
//! Media messages: the `file_unique_id` of the largest photo, or of the document, sticker,
//! video, voice, audio, animation or video note, together with the caption. Other messages:
//! the text, else the caption. Callback queries: the data (or game short name) together with
//! the message the button is under (chat and message id, or `inline_message_id`), so the same
//! button under two messages is not a duplicate. Inline queries: the query text. Chosen inline results: the result id. Each source is tagged, so
//! a button's data never matches a text message. Only a 128-bit hash is kept.

mod facts;
mod kind;
mod namer;
mod raw;

use sentinel_core::{Event, Fingerprint};
use serde::Deserialize;

pub(crate) use facts::Facts;
pub use facts::{CHANNEL_BOT_ID, GROUP_ANONYMOUS_BOT_ID, TELEGRAM_SERVICE_ID};
#[cfg(feature = "teloxide")]
pub(crate) use facts::{Content, button_content, message_content};
pub use kind::{BotStatusChange, ChatType, UpdateKind};
pub use namer::{HandlerContext, HandlerNamer, command_name};

/// An update that is not valid JSON or not a Telegram `Update`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes are not JSON.
    #[error("update is not valid JSON (line {line}, column {column})")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The JSON parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// JSON, but not an update: not an object, no `update_id`, or a field of the wrong type.
    #[error("not a Telegram update: {0}")]
    Invalid(String),
    /// An object with an `update_id` and nothing else.
    #[error("update has no update type field")]
    NoKind,
}

impl ParseError {
    fn from_json(e: serde_json::Error) -> Self {
        if e.is_syntax() || e.is_eof() {
            Self::Syntax {
                line: e.line(),
                column: e.column(),
                source: e,
            }
        } else {
            Self::Invalid(e.to_string())
        }
    }
}

/// What sentinel reads out of one update. Holds no message text: only ids, names and a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UpdateInfo {
    /// `update_id` (dedupe webhook re-deliveries by it).
    pub update_id: i64,
    /// The update type.
    pub kind: UpdateKind,
    /// Who the update counts against: see the [module docs](self) table. For messages sent on
    /// behalf of a chat (anonymous admins, channels) this is that chat's (negative) id.
    pub user_id: Option<i64>,
    /// The raw `from.id` (may be a pseudo-user such as [`GROUP_ANONYMOUS_BOT_ID`]).
    pub from_id: Option<i64>,
    /// `sender_chat.id` of a message sent on behalf of a chat.
    pub sender_chat_id: Option<i64>,
    /// The chat the update happened in.
    pub chat_id: Option<i64>,
    /// The chat type (for inline queries, the `chat_type` the query came from).
    pub chat_type: Option<ChatType>,
    /// `message_thread_id` (forum topics).
    pub thread_id: Option<i64>,
    /// The message id (of the message, or of the message a button belongs to).
    pub message_id: Option<i64>,
    /// `media_group_id` of an album item.
    pub media_group_id: Option<String>,
    /// The sender's `language_code` (an IETF tag such as `en` or `pt-br`), when Telegram sent
    /// one: messages, callback queries and inline queries. Picks the language of the guard's
    /// replies.
    pub language_code: Option<String>,
    /// The bot command of a message's text (`/Start@bot x` → `start`).
    pub command: Option<String>,
    /// The handler name chosen by the [`HandlerNamer`] (by default the command).
    pub handler: Option<String>,
    /// What debounce compares.
    pub fingerprint: Option<Fingerprint>,
    /// A callback query's id, to answer it.
    pub callback_query_id: Option<String>,
    /// Set by a private-chat `my_chat_member`: the user blocked or unblocked the bot.
    pub bot_status: Option<BotStatusChange>,
}

impl UpdateInfo {
    /// The engine's event: kind, user, chat, handler and fingerprint.
    pub fn event(&self) -> Event {
        let mut e = Event::new().with_kind(self.kind.as_str());
        if let Some(u) = self.user_id {
            e = e.with_user(u);
        }
        if let Some(c) = self.chat_id {
            e = e.with_chat(c);
        }
        if let Some(h) = &self.handler {
            e = e.with_handler(h.as_str());
        }
        if let Some(fp) = self.fingerprint {
            e = e.with_fingerprint(fp);
        }
        e
    }

    /// Whether a message was sent by an anonymous group admin (`from` is
    /// `@GroupAnonymousBot`; [`user_id`](Self::user_id) is then the group).
    pub fn is_anonymous_admin(&self) -> bool {
        self.from_id == Some(GROUP_ANONYMOUS_BOT_ID)
    }

    /// The user whose block state a private `my_chat_member` update changes.
    pub fn bot_status_change(&self) -> Option<(i64, BotStatusChange)> {
        let status = self.bot_status?;
        Some((self.from_id.or(self.chat_id)?, status))
    }
}

impl From<&UpdateInfo> for Event {
    fn from(info: &UpdateInfo) -> Self {
        info.event()
    }
}

/// Reads updates with a chosen [`HandlerNamer`]. Cheap to clone.
///
/// ```
/// use sentinel_telegram::update::{Extractor, HandlerNamer};
/// let ex = Extractor::new().with_namer(HandlerNamer::command_or_kind());
/// let info = ex.from_slice(br#"{"update_id":1,"inline_query":{"id":"q","query":"cats",
///     "offset":"","from":{"id":9,"is_bot":false,"first_name":"B"}}}"#)?;
/// assert_eq!(info.handler.as_deref(), Some("inline_query"));
/// # Ok::<(), sentinel_telegram::update::ParseError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Extractor {
    namer: HandlerNamer,
}

impl Extractor {
    /// An extractor naming handlers by bot command.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `namer` for handler names.
    #[must_use]
    pub fn with_namer(mut self, namer: HandlerNamer) -> Self {
        self.namer = namer;
        self
    }

    /// The namer.
    pub const fn namer(&self) -> &HandlerNamer {
        &self.namer
    }

    /// Reads an update from JSON bytes.
    ///
    /// # Errors
    /// [`ParseError::Syntax`] for bytes that are not JSON, [`ParseError::Invalid`] for JSON
    /// that is not an update, [`ParseError::NoKind`] for an update without a type field.
    pub fn from_slice(&self, json: &[u8]) -> Result<UpdateInfo, ParseError> {
        let raw: raw::RawUpdate = serde_json::from_slice(json).map_err(ParseError::from_json)?;
        self.finish(&raw)
    }

    /// Reads an update from a parsed JSON value.
    ///
    /// # Errors
    /// As [`Extractor::from_slice`], without the syntax case.
    pub fn from_value(&self, json: &serde_json::Value) -> Result<UpdateInfo, ParseError> {
        let raw = raw::RawUpdate::deserialize(json).map_err(ParseError::from_json)?;
        self.finish(&raw)
    }

    fn finish(&self, raw: &raw::RawUpdate) -> Result<UpdateInfo, ParseError> {
        let facts = raw.facts().ok_or(ParseError::NoKind)?;
        Ok(self.finish_facts(facts))
    }

    pub(crate) fn finish_facts(&self, facts: Facts<'_>) -> UpdateInfo {
        facts.finish(&self.namer)
    }
}

/// Reads an update from JSON bytes, naming handlers by bot command.
///
/// # Errors
/// As [`Extractor::from_slice`].
pub fn from_slice(json: &[u8]) -> Result<UpdateInfo, ParseError> {
    Extractor::new().from_slice(json)
}

/// Reads an update from a parsed JSON value, naming handlers by bot command.
///
/// # Errors
/// As [`Extractor::from_value`].
pub fn from_value(json: &serde_json::Value) -> Result<UpdateInfo, ParseError> {
    Extractor::new().from_value(json)
}
