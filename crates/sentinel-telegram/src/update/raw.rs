//! The minimal serde model of a Bot API `Update`: only the fields sentinel reads. Unknown
//! fields are ignored, unknown update types are kept by name, wrong types are errors.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::facts::{Content, Facts, button_content, message_content};
use super::{ChatType, UpdateKind};

/// A parsed update: its id and its one body.
#[derive(Debug)]
pub(crate) struct RawUpdate {
    pub(crate) update_id: i64,
    pub(crate) body: Option<Body>,
}

/// The body of an update, by type.
#[derive(Debug)]
pub(crate) enum Body {
    Message(UpdateKind, Box<Message>),
    BusinessConnection(BusinessConnection),
    ChatOnly(UpdateKind, ChatOnly),
    MessageReaction(MessageReaction),
    InlineQuery(InlineQuery),
    ChosenInlineResult(ChosenInlineResult),
    CallbackQuery(Box<CallbackQuery>),
    FromOnly(UpdateKind, FromOnly),
    Poll,
    PollAnswer(PollAnswer),
    ChatMemberUpdated(UpdateKind, ChatMemberUpdated),
    ChatJoinRequest(ChatJoinRequest),
    ChatBoost(ChatBoostUpdated),
    RemovedChatBoost(ChatBoostRemoved),
    ManagedBot(ManagedBot),
    Other(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename = "User")]
pub(crate) struct User {
    id: i64,
    #[serde(default)]
    language_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "Chat")]
pub(crate) struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl Chat {
    fn chat_type(&self) -> Option<ChatType> {
        self.kind.as_deref().map(ChatType::from_name)
    }

    /// Sets the update's chat id and type to this chat's.
    fn fill(&self, f: &mut Facts<'_>) {
        f.chat_id = Some(self.id);
        f.chat_type = self.chat_type();
    }
}

/// Sets the acting identity of an update that names either a chat acting on its own behalf
/// or a user: the chat wins, and `user` (then absent or a stand-in) is kept only without it.
fn fill_actor(f: &mut Facts<'_>, actor_chat: Option<&Chat>, user: Option<&User>) {
    f.actor_id = actor_chat.map(|c| c.id);
    f.from_id = user.filter(|_| f.actor_id.is_none()).map(|u| u.id);
    f.actor_id = f.actor_id.or(f.from_id);
}

#[derive(Debug, Deserialize)]
#[serde(rename = "PhotoSize")]
pub(crate) struct PhotoSize {
    file_unique_id: Option<String>,
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "File")]
pub(crate) struct File {
    file_unique_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "Message")]
pub(crate) struct Message {
    message_id: Option<i64>,
    message_thread_id: Option<i64>,
    from: Option<User>,
    sender_chat: Option<Chat>,
    chat: Chat,
    text: Option<String>,
    caption: Option<String>,
    media_group_id: Option<String>,
    photo: Option<Vec<PhotoSize>>,
    document: Option<File>,
    sticker: Option<File>,
    video: Option<File>,
    voice: Option<File>,
    audio: Option<File>,
    animation: Option<File>,
    video_note: Option<File>,
}

impl Message {
    fn file_unique_id(&self) -> Option<&str> {
        let largest_photo = self.photo.as_ref().and_then(|sizes| {
            sizes
                .iter()
                .max_by_key(|p| u64::from(p.width) * u64::from(p.height))
                .and_then(|p| p.file_unique_id.as_deref())
        });
        largest_photo.or_else(|| {
            [
                &self.document,
                &self.sticker,
                &self.video,
                &self.voice,
                &self.audio,
                &self.animation,
                &self.video_note,
            ]
            .into_iter()
            .find_map(|f| f.as_ref().and_then(|f| f.file_unique_id.as_deref()))
        })
    }

    fn fill<'a>(&'a self, f: &mut Facts<'a>) {
        f.from_id = self.from.as_ref().map(|u| u.id);
        f.language_code = self.from.as_ref().and_then(|u| u.language_code.as_deref());
        f.sender_chat_id = self.sender_chat.as_ref().map(|c| c.id);
        self.chat.fill(f);
        f.thread_id = self.message_thread_id;
        f.message_id = self.message_id;
        f.media_group_id = self.media_group_id.as_deref();
        f.text = self.text.as_deref();
        f.caption = self.caption.as_deref();
        f.content = message_content(f.text, f.caption, self.file_unique_id());
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename = "BusinessConnection")]
pub(crate) struct BusinessConnection {
    user: User,
    user_chat_id: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatOnly {
    chat: Chat,
}

#[derive(Debug, Deserialize)]
pub(crate) struct FromOnly {
    from: User,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "MessageReactionUpdated")]
pub(crate) struct MessageReaction {
    chat: Chat,
    message_id: Option<i64>,
    user: Option<User>,
    actor_chat: Option<Chat>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "InlineQuery")]
pub(crate) struct InlineQuery {
    from: User,
    query: String,
    chat_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ChosenInlineResult")]
pub(crate) struct ChosenInlineResult {
    from: User,
    result_id: String,
    query: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "CallbackQuery")]
pub(crate) struct CallbackQuery {
    id: String,
    from: User,
    message: Option<Message>,
    inline_message_id: Option<String>,
    data: Option<String>,
    game_short_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "Poll")]
struct Poll {}

#[derive(Debug, Deserialize)]
#[serde(rename = "PollAnswer")]
pub(crate) struct PollAnswer {
    user: Option<User>,
    voter_chat: Option<Chat>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ChatMember")]
pub(crate) struct ChatMember {
    status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ChatMemberUpdated")]
pub(crate) struct ChatMemberUpdated {
    chat: Chat,
    from: User,
    new_chat_member: ChatMember,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ChatJoinRequest")]
pub(crate) struct ChatJoinRequest {
    chat: Chat,
    from: User,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ChatBoostSource")]
pub(crate) struct BoostSource {
    user: Option<User>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ChatBoost")]
pub(crate) struct ChatBoost {
    source: BoostSource,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ChatBoostUpdated")]
pub(crate) struct ChatBoostUpdated {
    chat: Chat,
    boost: ChatBoost,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ChatBoostRemoved")]
pub(crate) struct ChatBoostRemoved {
    chat: Chat,
    source: BoostSource,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "ManagedBotUpdated")]
pub(crate) struct ManagedBot {
    user: Option<User>,
}

impl RawUpdate {
    /// The facts, or `None` when the update has no type field at all.
    pub(crate) fn facts(&self) -> Option<Facts<'_>> {
        let body = self.body.as_ref()?;
        let kind = match body {
            Body::Message(k, _)
            | Body::ChatOnly(k, _)
            | Body::FromOnly(k, _)
            | Body::ChatMemberUpdated(k, _) => k.clone(),
            Body::BusinessConnection(_) => UpdateKind::BusinessConnection,
            Body::MessageReaction(_) => UpdateKind::MessageReaction,
            Body::InlineQuery(_) => UpdateKind::InlineQuery,
            Body::ChosenInlineResult(_) => UpdateKind::ChosenInlineResult,
            Body::CallbackQuery(_) => UpdateKind::CallbackQuery,
            Body::Poll => UpdateKind::Poll,
            Body::PollAnswer(_) => UpdateKind::PollAnswer,
            Body::ChatJoinRequest(_) => UpdateKind::ChatJoinRequest,
            Body::ChatBoost(_) => UpdateKind::ChatBoost,
            Body::RemovedChatBoost(_) => UpdateKind::RemovedChatBoost,
            Body::ManagedBot(_) => UpdateKind::ManagedBot,
            Body::Other(name) => UpdateKind::from_name(name),
        };
        let mut f = Facts::new(self.update_id, kind);
        match body {
            Body::Message(_, m) => m.fill(&mut f),
            Body::BusinessConnection(b) => {
                f.from_id = Some(b.user.id);
                f.chat_id = Some(b.user_chat_id);
                f.chat_type = Some(ChatType::Private);
            }
            Body::ChatOnly(_, c) => c.chat.fill(&mut f),
            Body::MessageReaction(r) => {
                // An anonymous reaction names the chat; `user` is then absent or a stand-in.
                fill_actor(&mut f, r.actor_chat.as_ref(), r.user.as_ref());
                r.chat.fill(&mut f);
                f.message_id = r.message_id;
            }
            Body::InlineQuery(q) => {
                f.from_id = Some(q.from.id);
                f.language_code = q.from.language_code.as_deref();
                f.chat_type = q.chat_type.as_deref().map(ChatType::from_name);
                f.inline_query = Some(&q.query);
                f.content = Content::InlineQuery(&q.query);
            }
            Body::ChosenInlineResult(r) => {
                f.from_id = Some(r.from.id);
                f.inline_query = r.query.as_deref();
                f.content = Content::ChosenResult(&r.result_id);
            }
            Body::CallbackQuery(q) => {
                f.from_id = Some(q.from.id);
                f.language_code = q.from.language_code.as_deref();
                if let Some(m) = &q.message {
                    m.chat.fill(&mut f);
                    f.message_id = m.message_id;
                    f.thread_id = m.message_thread_id;
                }
                f.callback_query_id = Some(&q.id);
                f.callback_data = q.data.as_deref();
                f.content = button_content(
                    q.data.as_deref(),
                    q.game_short_name.as_deref(),
                    f.chat_id,
                    f.message_id,
                    q.inline_message_id.as_deref(),
                );
            }
            Body::FromOnly(_, x) => f.from_id = Some(x.from.id),
            Body::Poll | Body::Other(_) => {}
            Body::PollAnswer(a) => {
                // A vote on behalf of a chat names it in `voter_chat`; `user` is then
                // @Channel_Bot, kept only for backward compatibility.
                fill_actor(&mut f, a.voter_chat.as_ref(), a.user.as_ref());
            }
            Body::ChatMemberUpdated(_, m) => {
                f.from_id = Some(m.from.id);
                m.chat.fill(&mut f);
                f.new_member_status = Some(&m.new_chat_member.status);
            }
            Body::ChatJoinRequest(r) => {
                f.from_id = Some(r.from.id);
                r.chat.fill(&mut f);
            }
            Body::ChatBoost(b) => {
                f.from_id = b.boost.source.user.as_ref().map(|u| u.id);
                b.chat.fill(&mut f);
            }
            Body::RemovedChatBoost(b) => {
                f.from_id = b.source.user.as_ref().map(|u| u.id);
                b.chat.fill(&mut f);
            }
            Body::ManagedBot(b) => f.from_id = b.user.as_ref().map(|u| u.id),
        }
        Some(f)
    }
}

impl<'de> Deserialize<'de> for RawUpdate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(UpdateVisitor)
    }
}

struct UpdateVisitor;

/// Deserializes the value of `key` as `T`, naming the key in the error.
fn value<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    map: &mut A,
    key: &str,
) -> Result<T, A::Error> {
    map.next_value::<T>()
        .map_err(|e| de::Error::custom(format_args!("in `{key}`: {e}")))
}

/// The body of the update type `key`, or `None` when `key` is not a known type.
fn body<'de, A: MapAccess<'de>>(map: &mut A, key: &str) -> Result<Option<Body>, A::Error> {
    let Some(kind) = UpdateKind::known(key) else {
        return Ok(None);
    };
    let body = match kind {
        UpdateKind::Message
        | UpdateKind::EditedMessage
        | UpdateKind::ChannelPost
        | UpdateKind::EditedChannelPost
        | UpdateKind::BusinessMessage
        | UpdateKind::EditedBusinessMessage
        | UpdateKind::GuestMessage => Body::Message(kind, Box::new(value(map, key)?)),
        UpdateKind::BusinessConnection => Body::BusinessConnection(value(map, key)?),
        UpdateKind::DeletedBusinessMessages | UpdateKind::MessageReactionCount => {
            Body::ChatOnly(kind, value(map, key)?)
        }
        UpdateKind::MessageReaction => Body::MessageReaction(value(map, key)?),
        UpdateKind::InlineQuery => Body::InlineQuery(value(map, key)?),
        UpdateKind::ChosenInlineResult => Body::ChosenInlineResult(value(map, key)?),
        UpdateKind::CallbackQuery => Body::CallbackQuery(Box::new(value(map, key)?)),
        UpdateKind::ShippingQuery
        | UpdateKind::PreCheckoutQuery
        | UpdateKind::PurchasedPaidMedia => Body::FromOnly(kind, value(map, key)?),
        UpdateKind::Poll => {
            let Poll {} = value(map, key)?;
            Body::Poll
        }
        UpdateKind::PollAnswer => Body::PollAnswer(value(map, key)?),
        UpdateKind::MyChatMember | UpdateKind::ChatMember => {
            Body::ChatMemberUpdated(kind, value(map, key)?)
        }
        UpdateKind::ChatJoinRequest => Body::ChatJoinRequest(value(map, key)?),
        UpdateKind::ChatBoost => Body::ChatBoost(value(map, key)?),
        UpdateKind::RemovedChatBoost => Body::RemovedChatBoost(value(map, key)?),
        UpdateKind::ManagedBot => Body::ManagedBot(value(map, key)?),
        UpdateKind::Other(_) => return Ok(None),
    };
    Ok(Some(body))
}

impl<'de> Visitor<'de> for UpdateVisitor {
    type Value = RawUpdate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Telegram Update object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawUpdate, A::Error> {
        let mut update_id = None;
        let mut known: Option<Body> = None;
        let mut unknown: Option<String> = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "update_id" {
                if update_id.is_some() {
                    return Err(de::Error::duplicate_field("update_id"));
                }
                update_id = Some(value::<i64, _>(&mut map, "update_id")?);
            } else if known.is_some() {
                // Telegram sends exactly one type; anything after the first is ignored.
                map.next_value::<IgnoredAny>()?;
            } else if let Some(b) = body(&mut map, &key)? {
                known = Some(b);
            } else {
                map.next_value::<IgnoredAny>()?;
                if unknown.is_none() {
                    unknown = Some(key);
                }
            }
        }
        let update_id = update_id.ok_or_else(|| de::Error::missing_field("update_id"))?;
        Ok(RawUpdate {
            update_id,
            body: known.or_else(|| unknown.map(Body::Other)),
        })
    }
}
