//! [`SendMessage`]: the parameters of `sendMessage`.

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

/// Where a message goes: a numeric chat id or a public `@channelusername`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Recipient {
    /// A chat id: positive for users (private chats), negative for groups, `-100…` for
    /// supergroups and channels.
    Id(i64),
    /// `@channelusername`.
    Username(String),
}

impl Recipient {
    /// Whether pacing treats this chat as a group or channel (negative id or `@username`).
    pub fn is_group_or_channel(&self) -> bool {
        match self {
            Self::Id(id) => *id < 0,
            Self::Username(_) => true,
        }
    }

    /// The user id if this is a private chat (positive id).
    pub fn private_user(&self) -> Option<i64> {
        match self {
            Self::Id(id) if *id > 0 => Some(*id),
            _ => None,
        }
    }
}

impl From<i64> for Recipient {
    fn from(id: i64) -> Self {
        Self::Id(id)
    }
}

impl From<&str> for Recipient {
    fn from(name: &str) -> Self {
        Self::Username(name.to_owned())
    }
}

impl From<String> for Recipient {
    fn from(name: String) -> Self {
        Self::Username(name)
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => write!(f, "{id}"),
            Self::Username(name) => f.write_str(name),
        }
    }
}

/// How Telegram parses the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseMode {
    /// `"HTML"`: see [`crate::html`] for escaping and builders.
    Html,
}

impl ParseMode {
    /// The Bot API spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Html => "HTML",
        }
    }
}

/// The parameters of `sendMessage` this crate supports. Build with [`SendMessage::new`] and
/// the chaining methods.
///
/// ```
/// use sentinel_telegram::sender::{ParseMode, SendMessage};
/// let msg = SendMessage::new(-1001234567890, "<b>disk full</b>")
///     .html()
///     .thread(42)
///     .silent()
///     .no_link_preview();
/// assert_eq!(msg.parse_mode, Some(ParseMode::Html));
/// let json = msg.to_json();
/// assert_eq!(json["message_thread_id"], 42);
/// assert_eq!(json["link_preview_options"]["is_disabled"], true);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendMessage {
    /// The chat.
    pub chat_id: Recipient,
    /// The text (1–4096 characters after entity parsing for one message).
    pub text: String,
    /// `parse_mode`; `None` sends plain text.
    pub parse_mode: Option<ParseMode>,
    /// The forum topic. Omit it for the General topic (`1` is refused by Telegram).
    pub message_thread_id: Option<i64>,
    /// Deliver without sound.
    pub disable_notification: bool,
    /// Protect the content from forwarding and saving.
    pub protect_content: bool,
    /// Disable link previews (`link_preview_options.is_disabled`).
    pub disable_link_preview: bool,
    /// Reply to this message id in the same chat (if it still exists).
    pub reply_to_message_id: Option<i64>,
}

impl SendMessage {
    /// A plain-text message to `chat_id`.
    pub fn new(chat_id: impl Into<Recipient>, text: impl Into<String>) -> Self {
        Self {
            chat_id: chat_id.into(),
            text: text.into(),
            parse_mode: None,
            message_thread_id: None,
            disable_notification: false,
            protect_content: false,
            disable_link_preview: false,
            reply_to_message_id: None,
        }
    }

    /// Parse the text as Telegram HTML.
    #[must_use]
    pub fn html(mut self) -> Self {
        self.parse_mode = Some(ParseMode::Html);
        self
    }

    /// Post in forum topic `thread_id`.
    #[must_use]
    pub fn thread(mut self, thread_id: i64) -> Self {
        self.message_thread_id = Some(thread_id);
        self
    }

    /// Deliver without sound (`disable_notification`).
    #[must_use]
    pub fn silent(mut self) -> Self {
        self.disable_notification = true;
        self
    }

    /// Protect the content from forwarding and saving.
    #[must_use]
    pub fn protect_content(mut self) -> Self {
        self.protect_content = true;
        self
    }

    /// Disable link previews.
    #[must_use]
    pub fn no_link_preview(mut self) -> Self {
        self.disable_link_preview = true;
        self
    }

    /// Reply to `message_id` (sent anyway if that message is gone).
    #[must_use]
    pub fn reply_to(mut self, message_id: i64) -> Self {
        self.reply_to_message_id = Some(message_id);
        self
    }

    /// The same message with another text (used for the parts of a long message).
    pub(crate) fn with_text(&self, text: String) -> Self {
        Self {
            text,
            ..self.clone()
        }
    }

    /// The JSON body of `sendMessage`.
    pub fn to_json(&self) -> Value {
        let mut body = json!({ "chat_id": self.chat_id, "text": self.text });
        if let Some(mode) = self.parse_mode {
            body["parse_mode"] = mode.as_str().into();
        }
        if let Some(thread) = self.message_thread_id {
            body["message_thread_id"] = thread.into();
        }
        if self.disable_notification {
            body["disable_notification"] = true.into();
        }
        if self.protect_content {
            body["protect_content"] = true.into();
        }
        if self.disable_link_preview {
            body["link_preview_options"] = json!({ "is_disabled": true });
        }
        if let Some(reply) = self.reply_to_message_id {
            body["reply_parameters"] =
                json!({ "message_id": reply, "allow_sending_without_reply": true });
        }
        body
    }
}
