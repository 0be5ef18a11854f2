//! teloxide's `Update` → [`UpdateInfo`], with the same rules as the raw JSON parser.

use teloxide::types::{
    Chat, ChatMemberStatus, ChatType as TgChatType, MaybeAnonymousUser, Message, Update,
    UpdateKind as Tg, User,
};

use crate::update::{
    ChatType, Content, Extractor, Facts, UpdateInfo, UpdateKind, button_content, message_content,
};

fn user_id(u: &User) -> Option<i64> {
    i64::try_from(u.id.0).ok()
}

fn chat_type(c: &Chat) -> ChatType {
    if c.is_private() {
        ChatType::Private
    } else if c.is_group() {
        ChatType::Group
    } else if c.is_supergroup() {
        ChatType::Supergroup
    } else {
        ChatType::Channel
    }
}

fn set_chat(f: &mut Facts<'_>, c: &Chat) {
    f.chat_id = Some(c.id.0);
    f.chat_type = Some(chat_type(c));
}

fn anonymous_user_id(a: &MaybeAnonymousUser) -> Option<i64> {
    match a {
        MaybeAnonymousUser::User(u) => user_id(u),
        MaybeAnonymousUser::Chat(c) => Some(c.id.0),
    }
}

fn file_unique_id(m: &Message) -> Option<&str> {
    let photo = m.photo().and_then(|sizes| {
        sizes
            .iter()
            .max_by_key(|p| u64::from(p.width) * u64::from(p.height))
            .map(|p| p.file.unique_id.0.as_str())
    });
    photo
        .or_else(|| m.document().map(|d| d.file.unique_id.0.as_str()))
        .or_else(|| m.sticker().map(|d| d.file.unique_id.0.as_str()))
        .or_else(|| m.video().map(|d| d.file.unique_id.0.as_str()))
        .or_else(|| m.voice().map(|d| d.file.unique_id.0.as_str()))
        .or_else(|| m.audio().map(|d| d.file.unique_id.0.as_str()))
        .or_else(|| m.animation().map(|d| d.file.unique_id.0.as_str()))
        .or_else(|| m.video_note().map(|d| d.file.unique_id.0.as_str()))
}

fn fill_message<'a>(f: &mut Facts<'a>, m: &'a Message) {
    f.from_id = m.from.as_ref().and_then(user_id);
    f.language_code = m.from.as_ref().and_then(|u| u.language_code.as_deref());
    f.sender_chat_id = m.sender_chat.as_ref().map(|c| c.id.0);
    set_chat(f, &m.chat);
    f.thread_id = m.thread_id.map(|t| i64::from(t.0.0));
    f.message_id = Some(i64::from(m.id.0));
    f.media_group_id = m.media_group_id().map(|g| g.0.as_str());
    f.text = m.text();
    f.caption = m.caption();
    f.content = message_content(f.text, f.caption, file_unique_id(m));
}

const fn status_name(s: ChatMemberStatus) -> &'static str {
    match s {
        ChatMemberStatus::Owner => "creator",
        ChatMemberStatus::Administrator => "administrator",
        ChatMemberStatus::Member => "member",
        ChatMemberStatus::Restricted => "restricted",
        ChatMemberStatus::Left => "left",
        ChatMemberStatus::Banned => "kicked",
    }
}

fn facts(update: &Update) -> Option<Facts<'_>> {
    let id = i64::from(update.id.0);
    fn message(id: i64, kind: UpdateKind, m: &Message) -> Facts<'_> {
        let mut f = Facts::new(id, kind);
        fill_message(&mut f, m);
        f
    }
    let f = match &update.kind {
        Tg::Message(m) => message(id, UpdateKind::Message, m),
        Tg::EditedMessage(m) => message(id, UpdateKind::EditedMessage, m),
        Tg::ChannelPost(m) => message(id, UpdateKind::ChannelPost, m),
        Tg::EditedChannelPost(m) => message(id, UpdateKind::EditedChannelPost, m),
        Tg::BusinessMessage(m) => message(id, UpdateKind::BusinessMessage, m),
        Tg::EditedBusinessMessage(m) => message(id, UpdateKind::EditedBusinessMessage, m),
        Tg::BusinessConnection(b) => {
            let mut f = Facts::new(id, UpdateKind::BusinessConnection);
            f.from_id = user_id(&b.user);
            f.chat_id = i64::try_from(b.user_chat_id.0).ok();
            f.chat_type = Some(ChatType::Private);
            f
        }
        Tg::DeletedBusinessMessages(d) => {
            let mut f = Facts::new(id, UpdateKind::DeletedBusinessMessages);
            set_chat(&mut f, &d.chat);
            f
        }
        Tg::MessageReaction(r) => {
            let mut f = Facts::new(id, UpdateKind::MessageReaction);
            f.from_id = r.user().and_then(user_id);
            f.actor_id = anonymous_user_id(&r.actor);
            set_chat(&mut f, &r.chat);
            f.message_id = Some(i64::from(r.message_id.0));
            f
        }
        Tg::MessageReactionCount(r) => {
            let mut f = Facts::new(id, UpdateKind::MessageReactionCount);
            set_chat(&mut f, &r.chat);
            f
        }
        Tg::InlineQuery(q) => {
            let mut f = Facts::new(id, UpdateKind::InlineQuery);
            f.from_id = user_id(&q.from);
            f.language_code = q.from.language_code.as_deref();
            f.chat_type = q.chat_type.as_ref().map(|t| match t {
                TgChatType::Sender => ChatType::Sender,
                TgChatType::Private => ChatType::Private,
                TgChatType::Group => ChatType::Group,
                TgChatType::Supergroup => ChatType::Supergroup,
                TgChatType::Channel => ChatType::Channel,
            });
            f.inline_query = Some(&q.query);
            f.content = Content::InlineQuery(&q.query);
            f
        }
        Tg::ChosenInlineResult(r) => {
            let mut f = Facts::new(id, UpdateKind::ChosenInlineResult);
            f.from_id = user_id(&r.from);
            f.inline_query = Some(&r.query);
            f.content = Content::ChosenResult(&r.result_id);
            f
        }
        Tg::CallbackQuery(q) => {
            let mut f = Facts::new(id, UpdateKind::CallbackQuery);
            f.from_id = user_id(&q.from);
            f.language_code = q.from.language_code.as_deref();
            if let Some(m) = &q.message {
                set_chat(&mut f, m.chat());
                f.message_id = Some(i64::from(m.id().0));
                f.thread_id = q
                    .regular_message()
                    .and_then(|m| m.thread_id)
                    .map(|t| i64::from(t.0.0));
            }
            f.callback_query_id = Some(&q.id.0);
            f.callback_data = q.data.as_deref();
            f.content = button_content(
                q.data.as_deref(),
                q.game_short_name.as_deref(),
                f.chat_id,
                f.message_id,
                q.inline_message_id.as_deref(),
            );
            f
        }
        Tg::ShippingQuery(q) => {
            let mut f = Facts::new(id, UpdateKind::ShippingQuery);
            f.from_id = user_id(&q.from);
            f
        }
        Tg::PreCheckoutQuery(q) => {
            let mut f = Facts::new(id, UpdateKind::PreCheckoutQuery);
            f.from_id = user_id(&q.from);
            f
        }
        Tg::PurchasedPaidMedia(p) => {
            let mut f = Facts::new(id, UpdateKind::PurchasedPaidMedia);
            f.from_id = user_id(&p.from);
            f
        }
        Tg::Poll(_) => Facts::new(id, UpdateKind::Poll),
        Tg::PollAnswer(a) => {
            let mut f = Facts::new(id, UpdateKind::PollAnswer);
            f.from_id = a.voter.user().and_then(user_id);
            f.actor_id = anonymous_user_id(&a.voter);
            f
        }
        Tg::MyChatMember(m) | Tg::ChatMember(m) => {
            let kind = if matches!(update.kind, Tg::MyChatMember(_)) {
                UpdateKind::MyChatMember
            } else {
                UpdateKind::ChatMember
            };
            let mut f = Facts::new(id, kind);
            f.from_id = user_id(&m.from);
            set_chat(&mut f, &m.chat);
            f.new_member_status = Some(status_name(m.new_chat_member.status()));
            f
        }
        Tg::ChatJoinRequest(r) => {
            let mut f = Facts::new(id, UpdateKind::ChatJoinRequest);
            f.from_id = user_id(&r.from);
            set_chat(&mut f, &r.chat);
            f
        }
        Tg::ChatBoost(b) => {
            let mut f = Facts::new(id, UpdateKind::ChatBoost);
            f.from_id = b.boost.source.user().and_then(user_id);
            set_chat(&mut f, &b.chat);
            f
        }
        Tg::RemovedChatBoost(b) => {
            let mut f = Facts::new(id, UpdateKind::RemovedChatBoost);
            f.from_id = b.source.user().and_then(user_id);
            set_chat(&mut f, &b.chat);
            f
        }
        // teloxide keeps updates it cannot model (new Bot API types) as raw JSON.
        Tg::Error(_) => return None,
    };
    Some(f)
}

impl Extractor {
    /// Reads a teloxide update.
    ///
    /// Update types teloxide cannot model arrive as `UpdateKind::Error(json)`; when that JSON
    /// is the whole update they are read with the raw parser, otherwise they become
    /// [`UpdateKind::Other`] with no ids.
    pub fn from_teloxide(&self, update: &Update) -> UpdateInfo {
        match facts(update) {
            Some(f) => self.finish_facts(f),
            None => {
                let id = i64::from(update.id.0);
                let parsed = match &update.kind {
                    Tg::Error(json) => self.from_value(json).ok(),
                    _ => None,
                };
                parsed.unwrap_or_else(|| {
                    self.finish_facts(Facts::new(id, UpdateKind::Other(String::new())))
                })
            }
        }
    }
}
