//! [`Facts`]: what both parsers (raw JSON, teloxide) read out of an update, before naming and
//! hashing. Borrowed from the parsed update.

use sentinel_core::Fingerprint;

use super::namer::{HandlerContext, command_name};
use super::{BotStatusChange, ChatType, HandlerNamer, UpdateInfo, UpdateKind};

/// `@GroupAnonymousBot`: the `from` of messages sent by anonymous group admins.
pub const GROUP_ANONYMOUS_BOT_ID: i64 = 1_087_968_824;
/// The Telegram service account: the `from` of channel posts forwarded into a linked group.
pub const TELEGRAM_SERVICE_ID: i64 = 777_000;
/// `@Channel_Bot`: the `from` of messages sent on behalf of a channel.
pub const CHANNEL_BOT_ID: i64 = 136_817_688;

/// What is compared for debounce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content<'a> {
    /// Nothing comparable.
    None,
    /// Message text or a caption without media.
    Text(&'a str),
    /// Media: the file's `file_unique_id` and the caption, if any.
    Media {
        file_unique_id: &'a str,
        caption: Option<&'a str>,
    },
    /// Callback data, and the message whose button was pressed.
    CallbackData(&'a str, ButtonMessage<'a>),
    /// A callback query's game short name, and the message whose button was pressed.
    Game(&'a str, ButtonMessage<'a>),
    /// An inline query's text.
    InlineQuery(&'a str),
    /// A chosen inline result's id.
    ChosenResult(&'a str),
}

/// The message a pressed inline button belongs to: the same data under two messages is two
/// different buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ButtonMessage<'a> {
    /// Not known (no `message` and no `inline_message_id`).
    Unknown,
    /// A message in a chat.
    Chat { chat_id: i64, message_id: i64 },
    /// A message sent via inline mode.
    Inline(&'a str),
}

impl ButtonMessage<'_> {
    fn key(self) -> String {
        match self {
            Self::Unknown => String::new(),
            Self::Chat {
                chat_id,
                message_id,
            } => format!("m{chat_id}:{message_id}"),
            Self::Inline(id) => format!("i{id}"),
        }
    }
}

/// The content of a callback query: its data (else its game), under its message.
pub(crate) fn button_content<'a>(
    data: Option<&'a str>,
    game: Option<&'a str>,
    chat_id: Option<i64>,
    message_id: Option<i64>,
    inline_message_id: Option<&'a str>,
) -> Content<'a> {
    let under = match (chat_id, message_id, inline_message_id) {
        (Some(chat_id), Some(message_id), _) => ButtonMessage::Chat {
            chat_id,
            message_id,
        },
        (_, _, Some(id)) => ButtonMessage::Inline(id),
        _ => ButtonMessage::Unknown,
    };
    match (data, game) {
        (Some(d), _) => Content::CallbackData(d, under),
        (None, Some(g)) => Content::Game(g, under),
        (None, None) => Content::None,
    }
}

impl Content<'_> {
    /// The fingerprint: a tag per source so a callback's data never equals a text message.
    pub(crate) fn fingerprint(self) -> Option<Fingerprint> {
        let mut buf = Vec::new();
        let mut put = |tag: &[u8], parts: &[&str]| {
            buf.extend_from_slice(tag);
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    buf.push(0);
                }
                buf.extend_from_slice(p.as_bytes());
            }
        };
        match self {
            Self::None => return None,
            Self::Text(t) => put(b"t:", &[t]),
            Self::Media {
                file_unique_id,
                caption,
            } => put(b"f:", &[file_unique_id, caption.unwrap_or("")]),
            Self::CallbackData(d, under) => put(b"c:", &[d, &under.key()]),
            Self::Game(g, under) => put(b"g:", &[g, &under.key()]),
            Self::InlineQuery(q) => put(b"q:", &[q]),
            Self::ChosenResult(r) => put(b"r:", &[r]),
        }
        Some(Fingerprint::of(&buf))
    }
}

/// The facts of one update.
#[derive(Debug, Clone)]
pub(crate) struct Facts<'a> {
    pub(crate) update_id: i64,
    pub(crate) kind: UpdateKind,
    pub(crate) from_id: Option<i64>,
    pub(crate) sender_chat_id: Option<i64>,
    /// The acting identity, when the kind has a special one (reactions, poll answers, …);
    /// otherwise `sender_chat_id`, then `from_id` decide.
    pub(crate) actor_id: Option<i64>,
    pub(crate) chat_id: Option<i64>,
    pub(crate) chat_type: Option<ChatType>,
    pub(crate) thread_id: Option<i64>,
    pub(crate) message_id: Option<i64>,
    pub(crate) media_group_id: Option<&'a str>,
    /// The sender's `language_code` (messages, callback and inline queries).
    pub(crate) language_code: Option<&'a str>,
    /// A message's text (commands are read from it).
    pub(crate) text: Option<&'a str>,
    pub(crate) caption: Option<&'a str>,
    pub(crate) content: Content<'a>,
    pub(crate) callback_data: Option<&'a str>,
    pub(crate) inline_query: Option<&'a str>,
    pub(crate) callback_query_id: Option<&'a str>,
    /// For `my_chat_member`: the bot's new status string.
    pub(crate) new_member_status: Option<&'a str>,
}

impl<'a> Facts<'a> {
    /// Facts with only the id and kind set.
    pub(crate) const fn new(update_id: i64, kind: UpdateKind) -> Self {
        Self {
            update_id,
            kind,
            from_id: None,
            sender_chat_id: None,
            actor_id: None,
            chat_id: None,
            chat_type: None,
            thread_id: None,
            message_id: None,
            media_group_id: None,
            language_code: None,
            text: None,
            caption: None,
            content: Content::None,
            callback_data: None,
            inline_query: None,
            callback_query_id: None,
            new_member_status: None,
        }
    }

    /// Who the update counts against: the explicit actor, else the chat a message was sent on
    /// behalf of (anonymous admins, channels), else `from`, else a channel post's chat.
    fn user_id(&self) -> Option<i64> {
        self.actor_id
            .or(self.sender_chat_id)
            .or(self.from_id)
            .or_else(|| {
                matches!(
                    self.kind,
                    UpdateKind::ChannelPost | UpdateKind::EditedChannelPost
                )
                .then_some(self.chat_id)
                .flatten()
            })
    }

    fn bot_status(&self) -> Option<BotStatusChange> {
        if self.kind != UpdateKind::MyChatMember || self.chat_type != Some(ChatType::Private) {
            return None;
        }
        match self.new_member_status? {
            "kicked" => Some(BotStatusChange::Blocked),
            "member" => Some(BotStatusChange::Unblocked),
            _ => None,
        }
    }

    /// Names and hashes: the finished [`UpdateInfo`].
    pub(crate) fn finish(self, namer: &HandlerNamer) -> UpdateInfo {
        let command = if self.kind.is_message() {
            self.text.and_then(command_name)
        } else {
            None
        };
        let user_id = self.user_id();
        let cx = HandlerContext {
            kind: &self.kind,
            command: command.as_deref(),
            text: self.text.or(self.caption),
            callback_data: self.callback_data,
            inline_query: self.inline_query,
            chat_type: self.chat_type.as_ref(),
            user_id,
            chat_id: self.chat_id,
        };
        let handler = namer.name(&cx);
        let bot_status = self.bot_status();
        UpdateInfo {
            update_id: self.update_id,
            user_id,
            from_id: self.from_id,
            sender_chat_id: self.sender_chat_id,
            chat_id: self.chat_id,
            chat_type: self.chat_type,
            thread_id: self.thread_id,
            message_id: self.message_id,
            media_group_id: self.media_group_id.map(str::to_owned),
            // An allocation only for updates that carry a language (for per-language replies).
            language_code: self.language_code.map(str::to_owned),
            command,
            handler,
            fingerprint: self.content.fingerprint(),
            callback_query_id: self.callback_query_id.map(str::to_owned),
            bot_status,
            kind: self.kind,
        }
    }
}

/// The content of a message: media (with its caption) first, then text, then a bare caption.
pub(crate) fn message_content<'a>(
    text: Option<&'a str>,
    caption: Option<&'a str>,
    file_unique_id: Option<&'a str>,
) -> Content<'a> {
    match (file_unique_id, text, caption) {
        (Some(file_unique_id), _, caption) => Content::Media {
            file_unique_id,
            caption,
        },
        (None, Some(t), _) | (None, None, Some(t)) => Content::Text(t),
        (None, None, None) => Content::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_tagged_by_source() {
        let text = Content::Text("hi").fingerprint();
        assert_eq!(text, Content::Text("hi").fingerprint());
        assert_ne!(
            text,
            Content::CallbackData("hi", ButtonMessage::Unknown).fingerprint()
        );
        assert_ne!(text, Content::InlineQuery("hi").fingerprint());
        assert_ne!(
            Content::Media {
                file_unique_id: "a",
                caption: Some("b")
            }
            .fingerprint(),
            Content::Media {
                file_unique_id: "a",
                caption: None
            }
            .fingerprint()
        );
        assert_eq!(Content::None.fingerprint(), None);
    }

    #[test]
    fn message_content_prefers_media() {
        assert_eq!(
            message_content(None, Some("c"), Some("f")),
            Content::Media {
                file_unique_id: "f",
                caption: Some("c")
            }
        );
        assert_eq!(message_content(Some("t"), None, None), Content::Text("t"));
        assert_eq!(message_content(None, Some("c"), None), Content::Text("c"));
        assert_eq!(message_content(None, None, None), Content::None);
    }
}
