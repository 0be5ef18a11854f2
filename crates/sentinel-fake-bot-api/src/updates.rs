//! Realistic Bot API objects (`User`, `Chat`, `ChatMember`) for built updates and results.

use serde_json::{Value, json};

use super::BotIdentity;

/// Supergroup and channel ids are below this (`-100…`).
const SUPERGROUP_ID_BELOW: i64 = -1_000_000_000_000;

/// The bot's own `User` object.
pub(crate) fn bot_user(bot: &BotIdentity) -> Value {
    json!({
        "id": bot.id,
        "is_bot": true,
        "first_name": bot.first_name,
        "username": bot.username,
    })
}

/// A human `User` with id `id`.
pub(crate) fn user(id: i64) -> Value {
    json!({
        "id": id,
        "is_bot": false,
        "first_name": format!("User{id}"),
        "username": format!("user{id}"),
        "language_code": "en",
    })
}

/// A `Chat` derived from its id: positive = private chat with that user, `-100…` =
/// supergroup, other negative = basic group.
pub(crate) fn chat(id: i64) -> Value {
    if id > 0 {
        json!({ "id": id, "type": "private", "first_name": format!("User{id}"), "username": format!("user{id}") })
    } else if id < SUPERGROUP_ID_BELOW {
        json!({ "id": id, "type": "supergroup", "title": format!("Supergroup {id}") })
    } else {
        json!({ "id": id, "type": "group", "title": format!("Group {id}") })
    }
}

/// A `Chat` of type channel.
pub(crate) fn channel(id: i64) -> Value {
    json!({ "id": id, "type": "channel", "title": format!("Channel {id}") })
}

/// A `ChatMember` with the fields its `status` requires.
pub(crate) fn chat_member(user: Value, status: &str) -> Value {
    match status {
        "kicked" => json!({ "user": user, "status": "kicked", "until_date": 0 }),
        "creator" => json!({ "user": user, "status": "creator", "is_anonymous": false }),
        "administrator" => json!({
            "user": user, "status": "administrator",
            "can_be_edited": false, "is_anonymous": false, "can_manage_chat": true,
            "can_delete_messages": true, "can_manage_video_chats": true,
            "can_restrict_members": true, "can_promote_members": false, "can_change_info": true,
            "can_invite_users": true, "can_post_stories": false, "can_edit_stories": false,
            "can_delete_stories": false,
        }),
        "restricted" => json!({
            "user": user, "status": "restricted", "is_member": true, "until_date": 0,
            "can_send_messages": false, "can_send_audios": false, "can_send_documents": false,
            "can_send_photos": false, "can_send_videos": false, "can_send_video_notes": false,
            "can_send_voice_notes": false, "can_send_polls": false,
            "can_send_other_messages": false, "can_add_web_page_previews": false,
            "can_change_info": false, "can_invite_users": false, "can_pin_messages": false,
            "can_manage_topics": false,
        }),
        other => json!({ "user": user, "status": other }),
    }
}
