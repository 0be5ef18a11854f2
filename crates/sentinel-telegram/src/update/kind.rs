//! [`UpdateKind`], [`ChatType`] and [`BotStatusChange`].

use std::fmt;

/// The type of an update: the name of its one optional field in the Bot API `Update` object.
///
/// Every type of Bot API 10.1 has a variant; a type this crate does not know yet is
/// [`UpdateKind::Other`] with the field name (cut to 64 bytes), so new Telegram features pass
/// through instead of failing.
///
/// ```
/// use sentinel_telegram::update::UpdateKind;
/// assert_eq!(UpdateKind::CallbackQuery.as_str(), "callback_query");
/// assert_eq!(UpdateKind::from_name("my_chat_member"), UpdateKind::MyChatMember);
/// assert_eq!(UpdateKind::from_name("future_thing").as_str(), "future_thing");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpdateKind {
    /// `message`: a new message.
    Message,
    /// `edited_message`.
    EditedMessage,
    /// `channel_post`.
    ChannelPost,
    /// `edited_channel_post`.
    EditedChannelPost,
    /// `business_connection`.
    BusinessConnection,
    /// `business_message`.
    BusinessMessage,
    /// `edited_business_message`.
    EditedBusinessMessage,
    /// `deleted_business_messages`.
    DeletedBusinessMessages,
    /// `message_reaction`.
    MessageReaction,
    /// `message_reaction_count`.
    MessageReactionCount,
    /// `inline_query`.
    InlineQuery,
    /// `chosen_inline_result`.
    ChosenInlineResult,
    /// `callback_query`: a button press.
    CallbackQuery,
    /// `shipping_query`.
    ShippingQuery,
    /// `pre_checkout_query`.
    PreCheckoutQuery,
    /// `purchased_paid_media`.
    PurchasedPaidMedia,
    /// `poll`.
    Poll,
    /// `poll_answer`.
    PollAnswer,
    /// `my_chat_member`: the bot's own membership changed (in private chats: blocked or
    /// unblocked by the user).
    MyChatMember,
    /// `chat_member`.
    ChatMember,
    /// `chat_join_request`.
    ChatJoinRequest,
    /// `chat_boost`.
    ChatBoost,
    /// `removed_chat_boost`.
    RemovedChatBoost,
    /// `managed_bot` (Bot API 9.6).
    ManagedBot,
    /// `guest_message` (Bot API 10.0).
    GuestMessage,
    /// Any other update type, by its field name.
    Other(String),
}

/// Longest field name kept in [`UpdateKind::Other`].
const MAX_OTHER: usize = 64;

impl UpdateKind {
    /// Every known kind, in Bot API order.
    pub const KNOWN: [Self; 25] = [
        Self::Message,
        Self::EditedMessage,
        Self::ChannelPost,
        Self::EditedChannelPost,
        Self::BusinessConnection,
        Self::BusinessMessage,
        Self::EditedBusinessMessage,
        Self::DeletedBusinessMessages,
        Self::MessageReaction,
        Self::MessageReactionCount,
        Self::InlineQuery,
        Self::ChosenInlineResult,
        Self::CallbackQuery,
        Self::ShippingQuery,
        Self::PreCheckoutQuery,
        Self::PurchasedPaidMedia,
        Self::Poll,
        Self::PollAnswer,
        Self::MyChatMember,
        Self::ChatMember,
        Self::ChatJoinRequest,
        Self::ChatBoost,
        Self::RemovedChatBoost,
        Self::ManagedBot,
        Self::GuestMessage,
    ];

    /// The Bot API field name (`message`, `callback_query`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Message => "message",
            Self::EditedMessage => "edited_message",
            Self::ChannelPost => "channel_post",
            Self::EditedChannelPost => "edited_channel_post",
            Self::BusinessConnection => "business_connection",
            Self::BusinessMessage => "business_message",
            Self::EditedBusinessMessage => "edited_business_message",
            Self::DeletedBusinessMessages => "deleted_business_messages",
            Self::MessageReaction => "message_reaction",
            Self::MessageReactionCount => "message_reaction_count",
            Self::InlineQuery => "inline_query",
            Self::ChosenInlineResult => "chosen_inline_result",
            Self::CallbackQuery => "callback_query",
            Self::ShippingQuery => "shipping_query",
            Self::PreCheckoutQuery => "pre_checkout_query",
            Self::PurchasedPaidMedia => "purchased_paid_media",
            Self::Poll => "poll",
            Self::PollAnswer => "poll_answer",
            Self::MyChatMember => "my_chat_member",
            Self::ChatMember => "chat_member",
            Self::ChatJoinRequest => "chat_join_request",
            Self::ChatBoost => "chat_boost",
            Self::RemovedChatBoost => "removed_chat_boost",
            Self::ManagedBot => "managed_bot",
            Self::GuestMessage => "guest_message",
            Self::Other(name) => name,
        }
    }

    /// The kind named by a Bot API field name; unknown names become [`UpdateKind::Other`].
    pub fn from_name(name: &str) -> Self {
        Self::known(name).unwrap_or_else(|| Self::Other(truncate(name, MAX_OTHER).to_owned()))
    }

    /// The known kind named `name`, if any.
    pub(crate) fn known(name: &str) -> Option<Self> {
        Self::KNOWN.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether updates of this kind carry a `Message` (message, edited and channel posts,
    /// business and guest messages).
    pub const fn is_message(&self) -> bool {
        matches!(
            self,
            Self::Message
                | Self::EditedMessage
                | Self::ChannelPost
                | Self::EditedChannelPost
                | Self::BusinessMessage
                | Self::EditedBusinessMessage
                | Self::GuestMessage
        )
    }
}

impl fmt::Display for UpdateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The type of a chat (`Chat.type`, or `InlineQuery.chat_type`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChatType {
    /// A private chat with one user.
    Private,
    /// A basic group.
    Group,
    /// A supergroup.
    Supergroup,
    /// A channel.
    Channel,
    /// `sender`: an inline query sent from the private chat with the bot.
    Sender,
    /// Any other value (cut to 64 bytes).
    Other(String),
}

impl ChatType {
    /// The type named `s` in the Bot API.
    pub fn from_name(s: &str) -> Self {
        match s {
            "private" => Self::Private,
            "group" => Self::Group,
            "supergroup" => Self::Supergroup,
            "channel" => Self::Channel,
            "sender" => Self::Sender,
            other => Self::Other(truncate(other, MAX_OTHER).to_owned()),
        }
    }

    /// The Bot API name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Private => "private",
            Self::Group => "group",
            Self::Supergroup => "supergroup",
            Self::Channel => "channel",
            Self::Sender => "sender",
            Self::Other(s) => s,
        }
    }

    /// The engine's [`ChatKind`](sentinel_core::ChatKind), which picks a per-chat-type
    /// policy. `sender` (an inline query from the private chat with the bot) is private;
    /// unknown types have none.
    ///
    /// ```
    /// use sentinel_core::ChatKind;
    /// use sentinel_telegram::update::ChatType;
    /// assert_eq!(ChatType::Supergroup.chat_kind(), Some(ChatKind::Supergroup));
    /// assert_eq!(ChatType::Sender.chat_kind(), Some(ChatKind::Private));
    /// ```
    pub const fn chat_kind(&self) -> Option<sentinel_core::ChatKind> {
        use sentinel_core::ChatKind;
        match self {
            Self::Private | Self::Sender => Some(ChatKind::Private),
            Self::Group => Some(ChatKind::Group),
            Self::Supergroup => Some(ChatKind::Supergroup),
            Self::Channel => Some(ChatKind::Channel),
            Self::Other(_) => None,
        }
    }

    /// Whether this is a group or a supergroup.
    pub const fn is_group(&self) -> bool {
        matches!(self, Self::Group | Self::Supergroup)
    }
}

impl fmt::Display for ChatType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a private-chat `my_chat_member` update says about the user and the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BotStatusChange {
    /// New status `kicked`: the user blocked the bot. Sending to them earns a 403.
    Blocked,
    /// New status `member`: the user unblocked (or restarted) the bot.
    Unblocked,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in UpdateKind::KNOWN {
            assert_eq!(UpdateKind::from_name(k.as_str()), k);
        }
        assert_eq!(
            UpdateKind::from_name("brand_new"),
            UpdateKind::Other("brand_new".into())
        );
    }

    #[test]
    fn other_names_are_cut_on_char_boundaries() {
        let long = "é".repeat(100);
        let k = UpdateKind::from_name(&long);
        assert!(k.as_str().len() <= MAX_OTHER);
        assert!(long.starts_with(k.as_str()));
    }

    #[test]
    fn chat_types() {
        for s in [
            "private",
            "group",
            "supergroup",
            "channel",
            "sender",
            "weird",
        ] {
            assert_eq!(ChatType::from_name(s).as_str(), s);
        }
        assert!(ChatType::Supergroup.is_group());
        assert!(!ChatType::Channel.is_group());
    }
}
