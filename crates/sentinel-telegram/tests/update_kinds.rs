//! Extraction for every update type, from raw Bot API JSON (and, with the `teloxide` feature,
//! the same answers from teloxide's `Update`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "update_support/fixtures.rs"]
mod fixtures;

use sentinel_core::Fingerprint;
use sentinel_telegram::update::{
    self, BotStatusChange, ChatType, Extractor, HandlerNamer, ParseError, UpdateInfo, UpdateKind,
};
use serde_json::Value;

fn parse(json: &str) -> UpdateInfo {
    update::from_slice(json.as_bytes()).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// (fixture, kind, user_id, chat_id, chat_type, handler, has fingerprint)
type Row = (
    &'static str,
    UpdateKind,
    Option<i64>,
    Option<i64>,
    Option<ChatType>,
    Option<&'static str>,
    bool,
);

fn expectations() -> Vec<Row> {
    use ChatType::{Channel, Private, Sender, Supergroup};
    use UpdateKind as K;
    vec![
        (
            "private_text",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "group_command",
            K::Message,
            Some(222),
            Some(-1001234567890),
            Some(Supergroup),
            Some("start"),
            true,
        ),
        // Anonymous admin: counted as the group (sender_chat), not as GroupAnonymousBot.
        (
            "anonymous_admin",
            K::Message,
            Some(-1001234567890),
            Some(-1001234567890),
            Some(Supergroup),
            None,
            true,
        ),
        (
            "photo_caption",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "document",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "sticker",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "voice",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "video",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "audio",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "animation",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "video_note",
            K::Message,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "album_item",
            K::Message,
            Some(222),
            Some(-100200),
            Some(Supergroup),
            None,
            true,
        ),
        (
            "forum_topic",
            K::Message,
            Some(222),
            Some(-100300),
            Some(Supergroup),
            Some("help"),
            true,
        ),
        // Automatic forward from the linked channel: the channel, not the service account.
        (
            "linked_channel_forward",
            K::Message,
            Some(-100400),
            Some(-100500),
            Some(Supergroup),
            None,
            true,
        ),
        (
            "edited_message",
            K::EditedMessage,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "channel_post",
            K::ChannelPost,
            Some(-100400),
            Some(-100400),
            Some(Channel),
            None,
            true,
        ),
        // No from, no sender_chat: the channel itself.
        (
            "edited_channel_post",
            K::EditedChannelPost,
            Some(-100400),
            Some(-100400),
            Some(Channel),
            None,
            true,
        ),
        (
            "business_connection",
            K::BusinessConnection,
            Some(333),
            Some(333),
            Some(Private),
            None,
            false,
        ),
        (
            "business_message",
            K::BusinessMessage,
            Some(444),
            Some(444),
            Some(Private),
            None,
            true,
        ),
        (
            "edited_business_message",
            K::EditedBusinessMessage,
            Some(444),
            Some(444),
            Some(Private),
            None,
            true,
        ),
        (
            "deleted_business_messages",
            K::DeletedBusinessMessages,
            None,
            Some(444),
            Some(Private),
            None,
            false,
        ),
        (
            "message_reaction",
            K::MessageReaction,
            Some(222),
            Some(-100200),
            Some(Supergroup),
            None,
            false,
        ),
        (
            "message_reaction_anonymous",
            K::MessageReaction,
            Some(-100200),
            Some(-100200),
            Some(Supergroup),
            None,
            false,
        ),
        (
            "message_reaction_count",
            K::MessageReactionCount,
            None,
            Some(-100400),
            Some(Channel),
            None,
            false,
        ),
        (
            "inline_query",
            K::InlineQuery,
            Some(111),
            None,
            Some(Sender),
            None,
            true,
        ),
        (
            "chosen_inline_result",
            K::ChosenInlineResult,
            Some(111),
            None,
            None,
            None,
            true,
        ),
        (
            "callback_query",
            K::CallbackQuery,
            Some(111),
            Some(111),
            Some(Private),
            None,
            true,
        ),
        (
            "callback_query_inline",
            K::CallbackQuery,
            Some(111),
            None,
            None,
            None,
            true,
        ),
        (
            "callback_query_inaccessible",
            K::CallbackQuery,
            Some(222),
            Some(-100200),
            Some(Supergroup),
            None,
            true,
        ),
        (
            "callback_query_game",
            K::CallbackQuery,
            Some(111),
            None,
            None,
            None,
            true,
        ),
        (
            "shipping_query",
            K::ShippingQuery,
            Some(111),
            None,
            None,
            None,
            false,
        ),
        (
            "pre_checkout_query",
            K::PreCheckoutQuery,
            Some(111),
            None,
            None,
            None,
            false,
        ),
        (
            "purchased_paid_media",
            K::PurchasedPaidMedia,
            Some(111),
            None,
            None,
            None,
            false,
        ),
        ("poll", K::Poll, None, None, None, None, false),
        (
            "poll_answer",
            K::PollAnswer,
            Some(222),
            None,
            None,
            None,
            false,
        ),
        // A vote on behalf of a channel: the channel (voter_chat), not @Channel_Bot.
        (
            "poll_answer_chat",
            K::PollAnswer,
            Some(-100400),
            None,
            None,
            None,
            false,
        ),
        (
            "my_chat_member_kicked",
            K::MyChatMember,
            Some(111),
            Some(111),
            Some(Private),
            None,
            false,
        ),
        (
            "my_chat_member_member",
            K::MyChatMember,
            Some(111),
            Some(111),
            Some(Private),
            None,
            false,
        ),
        (
            "my_chat_member_group_left",
            K::MyChatMember,
            Some(222),
            Some(-100200),
            Some(Supergroup),
            None,
            false,
        ),
        (
            "chat_member",
            K::ChatMember,
            Some(555),
            Some(-100200),
            Some(Supergroup),
            None,
            false,
        ),
        (
            "chat_join_request",
            K::ChatJoinRequest,
            Some(666),
            Some(-100200),
            Some(Supergroup),
            None,
            false,
        ),
        (
            "chat_boost",
            K::ChatBoost,
            Some(777),
            Some(-100400),
            Some(Channel),
            None,
            false,
        ),
        (
            "removed_chat_boost",
            K::RemovedChatBoost,
            Some(777),
            Some(-100400),
            Some(Channel),
            None,
            false,
        ),
        (
            "managed_bot",
            K::ManagedBot,
            Some(888),
            None,
            None,
            None,
            false,
        ),
        (
            "guest_message",
            K::GuestMessage,
            Some(222),
            Some(-100200),
            Some(Supergroup),
            None,
            true,
        ),
        (
            "unknown_type",
            K::Other("future_update".into()),
            None,
            None,
            None,
            None,
            false,
        ),
    ]
}

#[test]
fn every_update_type_is_extracted() {
    let rows = expectations();
    assert_eq!(
        rows.len(),
        fixtures::ALL.len(),
        "a fixture without expectations"
    );
    for (name, kind, user, chat, chat_type, handler, has_fp) in rows {
        let json = fixtures::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, j)| *j)
            .unwrap_or_else(|| panic!("no fixture {name}"));
        let info = parse(json);
        assert_eq!(info.kind, kind, "{name}: kind");
        assert_eq!(info.user_id, user, "{name}: user");
        assert_eq!(info.chat_id, chat, "{name}: chat");
        assert_eq!(info.chat_type, chat_type, "{name}: chat type");
        assert_eq!(info.handler.as_deref(), handler, "{name}: handler");
        assert_eq!(info.fingerprint.is_some(), has_fp, "{name}: fingerprint");
        // The same from a parsed Value.
        let value: Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            update::from_value(&value).unwrap(),
            info,
            "{name}: from_value"
        );
        // The event carries the same ids.
        let event = info.event();
        assert_eq!(event.kind(), Some(kind.as_str()), "{name}: event kind");
        assert_eq!(
            (event.user(), event.chat()),
            (user, chat),
            "{name}: event ids"
        );
        assert_eq!(event.handler(), handler, "{name}: event handler");
    }
}

#[test]
fn every_known_kind_has_a_fixture() {
    for kind in UpdateKind::KNOWN {
        assert!(
            expectations().iter().any(|row| row.1 == kind),
            "no fixture for {kind}"
        );
    }
}

#[test]
fn update_id_and_message_ids() {
    let info = parse(fixtures::FORUM_TOPIC);
    assert_eq!(info.update_id, 100000013);
    assert_eq!(info.thread_id, Some(7));
    assert_eq!(info.message_id, Some(29));
    assert_eq!(info.command.as_deref(), Some("help"));
    let album = parse(fixtures::ALBUM_ITEM);
    assert_eq!(album.media_group_id.as_deref(), Some("13598570391285468"));
}

#[test]
fn anonymous_admin_and_senders() {
    let admin = parse(fixtures::ANONYMOUS_ADMIN);
    assert!(admin.is_anonymous_admin());
    assert_eq!(admin.from_id, Some(update::GROUP_ANONYMOUS_BOT_ID));
    assert_eq!(admin.sender_chat_id, Some(-1001234567890));
    let fwd = parse(fixtures::LINKED_CHANNEL_FORWARD);
    assert_eq!(fwd.from_id, Some(update::TELEGRAM_SERVICE_ID));
    assert!(!fwd.is_anonymous_admin());
    let post = parse(fixtures::CHANNEL_POST);
    assert_eq!(post.from_id, None);
    assert_eq!(post.sender_chat_id, Some(-100400));
}

#[test]
fn callback_queries_carry_their_id_and_data_fingerprint() {
    let cb = parse(fixtures::CALLBACK_QUERY);
    assert_eq!(cb.callback_query_id.as_deref(), Some("8844001"));
    assert_eq!(cb.message_id, Some(60));
    // Another press of the same button → same fingerprint; other data → different.
    let same = fixtures::CALLBACK_QUERY.replace("\"id\":\"8844001\"", "\"id\":\"1\"");
    assert_eq!(parse(&same).fingerprint, cb.fingerprint);
    let other = fixtures::CALLBACK_QUERY.replace("\"data\":\"like:60\"", "\"data\":\"like:61\"");
    assert_ne!(parse(&other).fingerprint, cb.fingerprint);
    // A button's data never equals a text message with the same characters.
    let text = fixtures::PRIVATE_TEXT.replace("hello there", "like:60");
    assert_ne!(parse(&text).fingerprint, cb.fingerprint);
    assert_eq!(
        parse(fixtures::CALLBACK_QUERY_INACCESSIBLE).message_id,
        Some(5)
    );
}

#[test]
fn the_same_button_under_another_message_has_another_fingerprint() {
    let cb = parse(fixtures::CALLBACK_QUERY);
    let other_message = fixtures::CALLBACK_QUERY.replace("\"message_id\":60", "\"message_id\":61");
    assert_ne!(parse(&other_message).fingerprint, cb.fingerprint);
    // The same message id in another chat is another message.
    let other_chat =
        fixtures::CALLBACK_QUERY.replace("\"chat\":{\"id\":111", "\"chat\":{\"id\":112");
    assert_ne!(parse(&other_chat).fingerprint, cb.fingerprint);
    // Inline messages are told apart by inline_message_id.
    let inline = parse(fixtures::CALLBACK_QUERY_INLINE);
    let again = fixtures::CALLBACK_QUERY_INLINE.replace("8844002", "8844009");
    assert_eq!(parse(&again).fingerprint, inline.fingerprint);
    let other_inline = fixtures::CALLBACK_QUERY_INLINE.replace("AAAA-inline", "BBBB-inline");
    assert_ne!(parse(&other_inline).fingerprint, inline.fingerprint);
    // So are games.
    let game = parse(fixtures::CALLBACK_QUERY_GAME);
    let other_game = fixtures::CALLBACK_QUERY_GAME.replace("AAAA-game", "BBBB-game");
    assert_ne!(parse(&other_game).fingerprint, game.fingerprint);
    // Inaccessible (old) messages still name their chat and id.
    let old = parse(fixtures::CALLBACK_QUERY_INACCESSIBLE);
    let older =
        fixtures::CALLBACK_QUERY_INACCESSIBLE.replace("\"message_id\":5", "\"message_id\":4");
    assert_ne!(parse(&older).fingerprint, old.fingerprint);
}

#[test]
fn text_fingerprint_ignores_everything_but_the_text() {
    let a = parse(fixtures::PRIVATE_TEXT);
    let b = parse(&fixtures::PRIVATE_TEXT.replace("\"message_id\":17", "\"message_id\":99"));
    assert_eq!(a.fingerprint, b.fingerprint);
    let c = parse(&fixtures::PRIVATE_TEXT.replace("hello there", "hello there!"));
    assert_ne!(a.fingerprint, c.fingerprint);
    // An edit with the same text as a new message is the same content.
    let edit = parse(&fixtures::EDITED_MESSAGE.replace("hello there (edited)", "hello there"));
    assert_eq!(edit.fingerprint, a.fingerprint);
}

#[test]
fn photo_fingerprint_uses_the_largest_size_and_the_caption() {
    let base = parse(fixtures::PHOTO_CAPTION);
    let small_changed = fixtures::PHOTO_CAPTION.replace("AQAD-small", "AQAD-other");
    assert_eq!(parse(&small_changed).fingerprint, base.fingerprint);
    let large_changed = fixtures::PHOTO_CAPTION.replace("AQAD-large", "AQAD-other");
    assert_ne!(parse(&large_changed).fingerprint, base.fingerprint);
    let caption_changed = fixtures::PHOTO_CAPTION.replace("look at this", "and this");
    assert_ne!(parse(&caption_changed).fingerprint, base.fingerprint);
    // Two different photos with the same caption are different content.
    assert_ne!(
        parse(&fixtures::PHOTO_CAPTION.replace("AQAD-large", "AQAD-x")).fingerprint,
        parse(&fixtures::PHOTO_CAPTION.replace("AQAD-large", "AQAD-y")).fingerprint
    );
}

#[test]
fn each_media_type_is_fingerprinted_by_its_file() {
    for (json, file) in [
        (fixtures::DOCUMENT, "AgAD-doc"),
        (fixtures::STICKER, "AgAD-sticker"),
        (fixtures::VOICE, "AgAD-voice"),
        (fixtures::VIDEO, "AgAD-video"),
        (fixtures::AUDIO, "AgAD-audio"),
        (fixtures::ANIMATION, "AgAD-anim"),
        (fixtures::VIDEO_NOTE, "AgAD-vnote"),
    ] {
        let a = parse(json);
        let b = parse(&json.replace(file, "AgAD-changed"));
        assert!(a.fingerprint.is_some());
        assert_ne!(a.fingerprint, b.fingerprint, "{file}");
        // The file_id (not unique across bots) does not matter.
        let c = parse(&json.replacen("\"file_id\":\"", "\"file_id\":\"x", 1));
        assert_eq!(a.fingerprint, c.fingerprint, "{file}");
    }
}

#[test]
fn inline_query_fingerprint_is_the_query() {
    let a = parse(fixtures::INLINE_QUERY);
    let b = parse(&fixtures::INLINE_QUERY.replace("\"id\":\"4411\"", "\"id\":\"4412\""));
    assert_eq!(a.fingerprint, b.fingerprint);
    let c = parse(&fixtures::INLINE_QUERY.replace("cats", "dogs"));
    assert_ne!(a.fingerprint, c.fingerprint);
    assert_ne!(
        a.fingerprint,
        Some(Fingerprint::of("cats")),
        "fingerprints are tagged by source"
    );
}

#[test]
fn my_chat_member_in_private_chats_tracks_blocking() {
    let kicked = parse(fixtures::MY_CHAT_MEMBER_KICKED);
    assert_eq!(kicked.bot_status, Some(BotStatusChange::Blocked));
    assert_eq!(
        kicked.bot_status_change(),
        Some((111, BotStatusChange::Blocked))
    );
    let member = parse(fixtures::MY_CHAT_MEMBER_MEMBER);
    assert_eq!(
        member.bot_status_change(),
        Some((111, BotStatusChange::Unblocked))
    );
    // Leaving a group is not a user blocking the bot.
    assert_eq!(parse(fixtures::MY_CHAT_MEMBER_GROUP_LEFT).bot_status, None);
    // kicked from a group is not either.
    let group_kick = fixtures::MY_CHAT_MEMBER_GROUP_LEFT.replace(
        "\"status\":\"left\"",
        "\"status\":\"kicked\",\"until_date\":0",
    );
    assert_eq!(parse(&group_kick).bot_status, None);
    // chat_member (someone else's status) never is.
    let other = fixtures::MY_CHAT_MEMBER_KICKED.replace("my_chat_member", "chat_member");
    assert_eq!(parse(&other).bot_status, None);
    // Reachability applies exactly those two fixtures.
    let r = sentinel_telegram::reachability::Reachability::new();
    let changes: Vec<_> = fixtures::ALL
        .iter()
        .filter_map(|(_, json)| r.observe(&parse(json)))
        .collect();
    assert_eq!(
        changes,
        vec![
            (111, BotStatusChange::Blocked),
            (111, BotStatusChange::Unblocked)
        ]
    );
    assert!(r.is_empty(), "kicked then member: reachable again");
    r.observe(&kicked);
    assert!(r.has_blocked_bot(111));
    // Other update types never are.
    for (_, json) in fixtures::ALL {
        let info = parse(json);
        if info.kind != UpdateKind::MyChatMember {
            assert_eq!(info.bot_status, None);
        }
    }
}

#[test]
fn namers_pick_the_handler() {
    let by_kind = Extractor::new().with_namer(HandlerNamer::command_or_kind());
    let cb = by_kind
        .from_slice(fixtures::CALLBACK_QUERY.as_bytes())
        .unwrap();
    assert_eq!(cb.handler.as_deref(), Some("callback_query"));
    let cmd = by_kind
        .from_slice(fixtures::GROUP_COMMAND.as_bytes())
        .unwrap();
    assert_eq!(cmd.handler.as_deref(), Some("start"));
    let text = by_kind
        .from_slice(fixtures::PRIVATE_TEXT.as_bytes())
        .unwrap();
    assert_eq!(text.handler.as_deref(), Some("message"));

    let none = Extractor::new().with_namer(HandlerNamer::none());
    let cmd = none.from_slice(fixtures::GROUP_COMMAND.as_bytes()).unwrap();
    assert_eq!(cmd.handler, None);
    assert_eq!(
        cmd.command.as_deref(),
        Some("start"),
        "the command is still read"
    );

    // An unknown type with an empty name gets no handler name (found by the fuzzer).
    let empty = by_kind
        .from_slice(br#"{"": null, "update_id": 0}"#)
        .unwrap();
    assert_eq!(empty.kind, UpdateKind::Other(String::new()));
    assert_eq!(empty.handler, None);

    let custom = Extractor::new().with_namer(HandlerNamer::custom(|cx| {
        cx.callback_data
            .and_then(|d| d.split(':').next())
            .map(str::to_owned)
            .or_else(|| {
                cx.text
                    .filter(|t| t.contains("look"))
                    .map(|_| "looking".to_owned())
            })
    }));
    let cb = custom
        .from_slice(fixtures::CALLBACK_QUERY.as_bytes())
        .unwrap();
    assert_eq!(cb.handler.as_deref(), Some("like"));
    // The namer sees a caption as the text.
    let photo = custom
        .from_slice(fixtures::PHOTO_CAPTION.as_bytes())
        .unwrap();
    assert_eq!(photo.handler.as_deref(), Some("looking"));
}

#[test]
fn commands_only_come_from_message_text() {
    // A caption is not a command; a callback's data is not either.
    let caption = fixtures::PHOTO_CAPTION.replace("look at this", "/start");
    assert_eq!(parse(&caption).command, None);
    let data = fixtures::CALLBACK_QUERY.replace("like:60", "/start");
    assert_eq!(parse(&data).command, None);
    // A channel post can carry a command.
    let post = fixtures::CHANNEL_POST.replace("breaking", "/stats@sentinel_bot");
    assert_eq!(parse(&post).handler.as_deref(), Some("stats"));
}

#[test]
fn malformed_input_is_a_clear_error() {
    let syntax = update::from_slice(b"{\"update_id\": 1, ").unwrap_err();
    assert!(
        matches!(syntax, ParseError::Syntax { line: 1, .. }),
        "{syntax:?}"
    );
    assert!(syntax.to_string().starts_with("update is not valid JSON"));

    let cases: &[(&str, &str)] = &[
        ("[]", "expected a Telegram Update object"),
        ("42", "expected a Telegram Update object"),
        (
            r#"{"message":{"chat":{"id":1}}}"#,
            "missing field `update_id`",
        ),
        (r#"{"update_id":"1","message":{}}"#, "in `update_id`"),
        (
            r#"{"update_id":1,"message":{"text":"x"}}"#,
            "in `message`: missing field `chat`",
        ),
        (
            r#"{"update_id":1,"message":{"chat":{"id":"x"}}}"#,
            "in `message`",
        ),
        (r#"{"update_id":1,"message":null}"#, "in `message`"),
        (
            r#"{"update_id":1,"callback_query":{"from":{"id":1}}}"#,
            "missing field `id`",
        ),
        (
            r#"{"update_id":1,"message":{"chat":{"id":1.5}}}"#,
            "in `message`",
        ),
        (
            r#"{"update_id":1,"message":{"chat":{"id":99999999999999999999}}}"#,
            "in `message`",
        ),
    ];
    for (json, want) in cases {
        let err = update::from_slice(json.as_bytes()).unwrap_err();
        assert!(matches!(err, ParseError::Invalid(_)), "{json}: {err:?}");
        assert!(err.to_string().contains(want), "{json}: {err}");
        let value: Value = serde_json::from_str(json).unwrap();
        assert!(
            matches!(update::from_value(&value), Err(ParseError::Invalid(_))),
            "{json}"
        );
    }
    // Only bytes can repeat a key (a `Value` keeps the last one).
    let dup = update::from_slice(br#"{"update_id":1,"update_id":2}"#).unwrap_err();
    assert!(
        dup.to_string().contains("duplicate field `update_id`"),
        "{dup}"
    );
    let none = update::from_slice(br#"{"update_id":5}"#).unwrap_err();
    assert!(matches!(none, ParseError::NoKind));
    assert_eq!(none.to_string(), "update has no update type field");
}

#[test]
fn unknown_fields_and_unknown_types_are_tolerated() {
    let json = fixtures::PRIVATE_TEXT.replace(
        "\"date\":1700000000",
        "\"date\":1700000000,\"new_field\":{\"deep\":[1,2,{\"x\":null}]},\"date2\":\"x\"",
    );
    assert_eq!(parse(&json).user_id, Some(111));
    // A known type wins over an unknown one that comes first.
    let mixed = r#"{"update_id":3,"zz_new":{},"message":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"},"text":"hi"}}"#;
    assert_eq!(parse(mixed).kind, UpdateKind::Message);
    // A second type field is ignored.
    let two = r#"{"update_id":3,"poll":{},"message":{"message_id":1,"date":0,"chat":{"id":7,"type":"private"}}}"#;
    assert_eq!(parse(two).kind, UpdateKind::Poll);
    // Unknown chat types pass through.
    let odd = fixtures::PRIVATE_TEXT.replace("\"type\":\"private\"", "\"type\":\"hyperchat\"");
    assert_eq!(
        parse(&odd).chat_type,
        Some(ChatType::Other("hyperchat".into()))
    );
}

#[test]
fn event_debug_and_info_never_hold_the_text() {
    let secret = "my password is hunter2";
    let json = fixtures::PRIVATE_TEXT.replace("hello there", secret);
    let info = parse(&json);
    assert!(!format!("{info:?}").contains("hunter2"));
    assert!(!format!("{:?}", info.event()).contains("hunter2"));
}

#[cfg(feature = "teloxide")]
mod teloxide_agrees {
    use super::*;
    use teloxide::types::Update;

    /// teloxide's `Update` and the raw JSON give the same `UpdateInfo`.
    #[test]
    fn teloxide_update_gives_the_same_info() {
        let ex = Extractor::new().with_namer(HandlerNamer::command_or_kind());
        for (name, json) in fixtures::ALL {
            if fixtures::NOT_IN_TELOXIDE.contains(name) {
                continue;
            }
            // teloxide 0.17 reads `message_ids` as `[{"message_id": n}]` instead of the Bot
            // API's `[n]`; feed it its own format so the comparison can run.
            let for_teloxide = json.replace(
                "\"message_ids\":[50,51]",
                "\"message_ids\":[{\"message_id\":50},{\"message_id\":51}]",
            );
            let upd: Update =
                serde_json::from_str(&for_teloxide).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                !matches!(upd.kind, teloxide::types::UpdateKind::Error(_)),
                "{name}: teloxide could not read the fixture"
            );
            let raw = ex.from_slice(json.as_bytes()).unwrap();
            assert_eq!(ex.from_teloxide(&upd), raw, "{name}");
        }
    }

    /// Types teloxide cannot model reach us as `UpdateKind::Error(whole update)` (the way
    /// teloxide fills it in when polling); they are read with the raw parser.
    #[test]
    fn teloxide_error_updates_fall_back_to_the_raw_parser() {
        let value: Value = serde_json::from_str(fixtures::MANAGED_BOT).unwrap();
        let upd = Update {
            id: teloxide::types::UpdateId(44),
            kind: teloxide::types::UpdateKind::Error(value),
        };
        let info = Extractor::new().from_teloxide(&upd);
        assert_eq!(info.kind, UpdateKind::ManagedBot);
        assert_eq!(info.user_id, Some(888));
        let empty = Update {
            id: teloxide::types::UpdateId(45),
            kind: teloxide::types::UpdateKind::Error(Value::Null),
        };
        let info = Extractor::new().from_teloxide(&empty);
        assert_eq!(info.update_id, 45);
        assert!(matches!(info.kind, UpdateKind::Other(_)));
    }
}
