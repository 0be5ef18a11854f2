//! Realistic Bot API updates, one or more per update type, shared by the update tests.
#![allow(dead_code, reason = "each test crate uses a different part")]

/// (name, JSON) of every fixture.
pub(crate) const ALL: &[(&str, &str)] = &[
    ("private_text", PRIVATE_TEXT),
    ("group_command", GROUP_COMMAND),
    ("anonymous_admin", ANONYMOUS_ADMIN),
    ("photo_caption", PHOTO_CAPTION),
    ("document", DOCUMENT),
    ("sticker", STICKER),
    ("voice", VOICE),
    ("video", VIDEO),
    ("audio", AUDIO),
    ("animation", ANIMATION),
    ("video_note", VIDEO_NOTE),
    ("album_item", ALBUM_ITEM),
    ("forum_topic", FORUM_TOPIC),
    ("linked_channel_forward", LINKED_CHANNEL_FORWARD),
    ("edited_message", EDITED_MESSAGE),
    ("channel_post", CHANNEL_POST),
    ("edited_channel_post", EDITED_CHANNEL_POST),
    ("business_connection", BUSINESS_CONNECTION),
    ("business_message", BUSINESS_MESSAGE),
    ("edited_business_message", EDITED_BUSINESS_MESSAGE),
    ("deleted_business_messages", DELETED_BUSINESS_MESSAGES),
    ("message_reaction", MESSAGE_REACTION),
    ("message_reaction_anonymous", MESSAGE_REACTION_ANONYMOUS),
    ("message_reaction_count", MESSAGE_REACTION_COUNT),
    ("inline_query", INLINE_QUERY),
    ("chosen_inline_result", CHOSEN_INLINE_RESULT),
    ("callback_query", CALLBACK_QUERY),
    ("callback_query_inline", CALLBACK_QUERY_INLINE),
    ("callback_query_inaccessible", CALLBACK_QUERY_INACCESSIBLE),
    ("callback_query_game", CALLBACK_QUERY_GAME),
    ("shipping_query", SHIPPING_QUERY),
    ("pre_checkout_query", PRE_CHECKOUT_QUERY),
    ("purchased_paid_media", PURCHASED_PAID_MEDIA),
    ("poll", POLL),
    ("poll_answer", POLL_ANSWER),
    ("poll_answer_chat", POLL_ANSWER_CHAT),
    ("my_chat_member_kicked", MY_CHAT_MEMBER_KICKED),
    ("my_chat_member_member", MY_CHAT_MEMBER_MEMBER),
    ("my_chat_member_group_left", MY_CHAT_MEMBER_GROUP_LEFT),
    ("chat_member", CHAT_MEMBER),
    ("chat_join_request", CHAT_JOIN_REQUEST),
    ("chat_boost", CHAT_BOOST),
    ("removed_chat_boost", REMOVED_CHAT_BOOST),
    ("managed_bot", MANAGED_BOT),
    ("guest_message", GUEST_MESSAGE),
    ("unknown_type", UNKNOWN_TYPE),
];

/// Fixtures teloxide 0.17 has no type for.
pub(crate) const NOT_IN_TELOXIDE: &[&str] = &["managed_bot", "guest_message", "unknown_type"];

pub(crate) const PRIVATE_TEXT: &str = r#"{"update_id":100000001,"message":{"message_id":17,
 "from":{"id":111,"is_bot":false,"first_name":"Ann","username":"ann","language_code":"en"},
 "chat":{"id":111,"first_name":"Ann","username":"ann","type":"private"},
 "date":1700000000,"text":"hello there"}}"#;

pub(crate) const GROUP_COMMAND: &str = r#"{"update_id":100000002,"message":{"message_id":18,
 "from":{"id":222,"is_bot":false,"first_name":"Bob"},
 "chat":{"id":-1001234567890,"title":"Devs","type":"supergroup"},
 "date":1700000001,"text":"/Start@Sentinel_Bot deep-link",
 "entities":[{"offset":0,"length":19,"type":"bot_command"}]}}"#;

pub(crate) const ANONYMOUS_ADMIN: &str = r#"{"update_id":100000003,"message":{"message_id":19,
 "from":{"id":1087968824,"is_bot":true,"first_name":"Group","username":"GroupAnonymousBot"},
 "sender_chat":{"id":-1001234567890,"title":"Devs","type":"supergroup"},
 "chat":{"id":-1001234567890,"title":"Devs","type":"supergroup"},
 "date":1700000002,"text":"admin speaking","author_signature":"Boss"}}"#;

pub(crate) const PHOTO_CAPTION: &str = r#"{"update_id":100000004,"message":{"message_id":20,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000003,
 "photo":[
  {"file_id":"AgAD-s","file_unique_id":"AQAD-small","file_size":1200,"width":90,"height":60},
  {"file_id":"AgAD-l","file_unique_id":"AQAD-large","file_size":90000,"width":1280,"height":853},
  {"file_id":"AgAD-m","file_unique_id":"AQAD-medium","file_size":20000,"width":320,"height":213}],
 "caption":"look at this"}}"#;

pub(crate) const DOCUMENT: &str = r#"{"update_id":100000005,"message":{"message_id":21,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000004,
 "document":{"file_name":"report.pdf","mime_type":"application/pdf",
  "file_id":"BQAD-doc","file_unique_id":"AgAD-doc","file_size":12345}}}"#;

pub(crate) const STICKER: &str = r#"{"update_id":100000006,"message":{"message_id":22,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000005,
 "sticker":{"width":512,"height":512,"emoji":"😀","set_name":"Animals","is_animated":false,
  "is_video":false,"type":"regular","file_id":"CAAD-st","file_unique_id":"AgAD-sticker",
  "file_size":20000}}}"#;

pub(crate) const VOICE: &str = r#"{"update_id":100000007,"message":{"message_id":23,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000006,
 "voice":{"duration":3,"mime_type":"audio/ogg","file_id":"AwAD-v","file_unique_id":"AgAD-voice",
  "file_size":5000}}}"#;

pub(crate) const VIDEO: &str = r#"{"update_id":100000008,"message":{"message_id":24,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000007,
 "video":{"duration":10,"width":640,"height":360,"mime_type":"video/mp4",
  "file_id":"BAAD-vid","file_unique_id":"AgAD-video","file_size":100000},"caption":"clip"}}"#;

pub(crate) const AUDIO: &str = r#"{"update_id":100000009,"message":{"message_id":25,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000008,
 "audio":{"duration":200,"title":"Song","mime_type":"audio/mpeg",
  "file_id":"CQAD-au","file_unique_id":"AgAD-audio","file_size":3000000}}}"#;

pub(crate) const ANIMATION: &str = r#"{"update_id":100000010,"message":{"message_id":26,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000009,
 "animation":{"file_name":"cat.mp4","mime_type":"video/mp4","duration":2,"width":320,
  "height":240,"file_id":"CgAD-an","file_unique_id":"AgAD-anim","file_size":40000},
 "document":{"file_name":"cat.mp4","mime_type":"video/mp4","file_id":"CgAD-an",
  "file_unique_id":"AgAD-anim","file_size":40000}}}"#;

pub(crate) const VIDEO_NOTE: &str = r#"{"update_id":100000011,"message":{"message_id":27,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000010,
 "video_note":{"duration":5,"length":240,"file_id":"DQAD-vn","file_unique_id":"AgAD-vnote",
  "file_size":60000}}}"#;

pub(crate) const ALBUM_ITEM: &str = r#"{"update_id":100000012,"message":{"message_id":28,
 "from":{"id":222,"is_bot":false,"first_name":"Bob"},
 "chat":{"id":-100200,"title":"Fans","type":"supergroup"},"date":1700000011,
 "media_group_id":"13598570391285468",
 "photo":[{"file_id":"AgAD-a1","file_unique_id":"AQAD-album1","width":800,"height":600}]}}"#;

pub(crate) const FORUM_TOPIC: &str = r#"{"update_id":100000013,"message":{"message_id":29,
 "message_thread_id":7,"is_topic_message":true,
 "from":{"id":222,"is_bot":false,"first_name":"Bob"},
 "chat":{"id":-100300,"title":"Forum","is_forum":true,"type":"supergroup"},
 "date":1700000012,"text":"/help"}}"#;

pub(crate) const LINKED_CHANNEL_FORWARD: &str = r#"{"update_id":100000014,"message":{"message_id":30,
 "from":{"id":777000,"is_bot":false,"first_name":"Telegram"},
 "sender_chat":{"id":-100400,"title":"News","type":"channel"},
 "chat":{"id":-100500,"title":"News chat","type":"supergroup"},"date":1700000013,
 "is_automatic_forward":true,"text":"new post"}}"#;

pub(crate) const EDITED_MESSAGE: &str = r#"{"update_id":100000015,"edited_message":{"message_id":17,
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000000,
 "edit_date":1700000100,"text":"hello there (edited)"}}"#;

pub(crate) const CHANNEL_POST: &str = r#"{"update_id":100000016,"channel_post":{"message_id":40,
 "sender_chat":{"id":-100400,"title":"News","type":"channel"},
 "chat":{"id":-100400,"title":"News","type":"channel"},"date":1700000014,
 "text":"breaking"}}"#;

pub(crate) const EDITED_CHANNEL_POST: &str = r#"{"update_id":100000017,"edited_channel_post":{
 "message_id":40,"chat":{"id":-100400,"title":"News","type":"channel"},
 "date":1700000014,"edit_date":1700000200,"text":"breaking (fixed)"}}"#;

pub(crate) const BUSINESS_CONNECTION: &str = r#"{"update_id":100000018,"business_connection":{
 "id":"bc-1","user":{"id":333,"is_bot":false,"first_name":"Cid"},"user_chat_id":333,
 "date":1700000015,"can_reply":true,"is_enabled":true}}"#;

pub(crate) const BUSINESS_MESSAGE: &str = r#"{"update_id":100000019,"business_message":{
 "message_id":50,"business_connection_id":"bc-1",
 "from":{"id":444,"is_bot":false,"first_name":"Dee"},
 "chat":{"id":444,"first_name":"Dee","type":"private"},"date":1700000016,
 "text":"is the shop open?"}}"#;

pub(crate) const EDITED_BUSINESS_MESSAGE: &str = r#"{"update_id":100000020,"edited_business_message":{
 "message_id":50,"business_connection_id":"bc-1",
 "from":{"id":444,"is_bot":false,"first_name":"Dee"},
 "chat":{"id":444,"first_name":"Dee","type":"private"},"date":1700000016,
 "edit_date":1700000300,"text":"is the shop open today?"}}"#;

pub(crate) const DELETED_BUSINESS_MESSAGES: &str = r#"{"update_id":100000021,
 "deleted_business_messages":{"business_connection_id":"bc-1",
 "chat":{"id":444,"first_name":"Dee","type":"private"},"message_ids":[50,51]}}"#;

pub(crate) const MESSAGE_REACTION: &str = r#"{"update_id":100000022,"message_reaction":{
 "chat":{"id":-100200,"title":"Fans","type":"supergroup"},"message_id":28,
 "user":{"id":222,"is_bot":false,"first_name":"Bob"},"date":1700000017,
 "old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"👍"}]}}"#;

pub(crate) const MESSAGE_REACTION_ANONYMOUS: &str = r#"{"update_id":100000023,"message_reaction":{
 "chat":{"id":-100200,"title":"Fans","type":"supergroup"},"message_id":28,
 "actor_chat":{"id":-100200,"title":"Fans","type":"supergroup"},"date":1700000018,
 "old_reaction":[{"type":"emoji","emoji":"👍"}],"new_reaction":[]}}"#;

pub(crate) const MESSAGE_REACTION_COUNT: &str = r#"{"update_id":100000024,"message_reaction_count":{
 "chat":{"id":-100400,"title":"News","type":"channel"},"message_id":40,"date":1700000019,
 "reactions":[{"type":{"type":"emoji","emoji":"🔥"},"total_count":12}]}}"#;

pub(crate) const INLINE_QUERY: &str = r#"{"update_id":100000025,"inline_query":{"id":"4411",
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},"chat_type":"sender",
 "query":"cats","offset":""}}"#;

pub(crate) const CHOSEN_INLINE_RESULT: &str = r#"{"update_id":100000026,"chosen_inline_result":{
 "result_id":"r-9","from":{"id":111,"is_bot":false,"first_name":"Ann"},"query":"cats"}}"#;

pub(crate) const CALLBACK_QUERY: &str = r#"{"update_id":100000027,"callback_query":{"id":"8844001",
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "message":{"message_id":60,"from":{"id":999,"is_bot":true,"first_name":"Sentinel",
   "username":"sentinel_bot"},
  "chat":{"id":111,"first_name":"Ann","type":"private"},"date":1700000020,
  "text":"Pick one","reply_markup":{"inline_keyboard":[[{"text":"Like","callback_data":"like:60"}]]}},
 "chat_instance":"-55","data":"like:60"}}"#;

pub(crate) const CALLBACK_QUERY_INLINE: &str = r#"{"update_id":100000028,"callback_query":{
 "id":"8844002","from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "inline_message_id":"AAAA-inline","chat_instance":"-56","data":"vote:1"}}"#;

pub(crate) const CALLBACK_QUERY_INACCESSIBLE: &str = r#"{"update_id":100000029,"callback_query":{
 "id":"8844003","from":{"id":222,"is_bot":false,"first_name":"Bob"},
 "message":{"chat":{"id":-100200,"title":"Fans","type":"supergroup"},"message_id":5,"date":0},
 "chat_instance":"-57","data":"old"}}"#;

pub(crate) const CALLBACK_QUERY_GAME: &str = r#"{"update_id":100000030,"callback_query":{
 "id":"8844004","from":{"id":111,"is_bot":false,"first_name":"Ann"},
 "inline_message_id":"AAAA-game","chat_instance":"-58","game_short_name":"snake"}}"#;

pub(crate) const SHIPPING_QUERY: &str = r#"{"update_id":100000031,"shipping_query":{"id":"sq-1",
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},"invoice_payload":"order-1",
 "shipping_address":{"country_code":"DE","state":"","city":"Berlin","street_line1":"Str 1",
  "street_line2":"","post_code":"10115"}}}"#;

pub(crate) const PRE_CHECKOUT_QUERY: &str = r#"{"update_id":100000032,"pre_checkout_query":{
 "id":"pcq-1","from":{"id":111,"is_bot":false,"first_name":"Ann"},"currency":"XTR",
 "total_amount":50,"invoice_payload":"order-1"}}"#;

pub(crate) const PURCHASED_PAID_MEDIA: &str = r#"{"update_id":100000033,"purchased_paid_media":{
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},"paid_media_payload":"pm-1"}}"#;

pub(crate) const POLL: &str = r#"{"update_id":100000034,"poll":{"id":"5550001","question":"Lunch?",
 "options":[{"text":"Pizza","voter_count":3},{"text":"Soup","voter_count":1}],
 "total_voter_count":4,"is_closed":true,"is_anonymous":true,"type":"regular",
 "allows_multiple_answers":false}}"#;

pub(crate) const POLL_ANSWER: &str = r#"{"update_id":100000035,"poll_answer":{"poll_id":"5550001",
 "user":{"id":222,"is_bot":false,"first_name":"Bob"},"option_ids":[0]}}"#;

pub(crate) const POLL_ANSWER_CHAT: &str = r#"{"update_id":100000036,"poll_answer":{"poll_id":"5550001",
 "voter_chat":{"id":-100400,"title":"News","type":"channel"},
 "user":{"id":136817688,"is_bot":true,"first_name":"Channel","username":"Channel_Bot"},
 "option_ids":[1]}}"#;

pub(crate) const MY_CHAT_MEMBER_KICKED: &str = r#"{"update_id":100000037,"my_chat_member":{
 "chat":{"id":111,"first_name":"Ann","type":"private"},
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},"date":1700000021,
 "old_chat_member":{"user":{"id":999,"is_bot":true,"first_name":"Sentinel",
   "username":"sentinel_bot"},"status":"member"},
 "new_chat_member":{"user":{"id":999,"is_bot":true,"first_name":"Sentinel",
   "username":"sentinel_bot"},"status":"kicked","until_date":0}}}"#;

pub(crate) const MY_CHAT_MEMBER_MEMBER: &str = r#"{"update_id":100000038,"my_chat_member":{
 "chat":{"id":111,"first_name":"Ann","type":"private"},
 "from":{"id":111,"is_bot":false,"first_name":"Ann"},"date":1700000022,
 "old_chat_member":{"user":{"id":999,"is_bot":true,"first_name":"Sentinel",
   "username":"sentinel_bot"},"status":"kicked","until_date":0},
 "new_chat_member":{"user":{"id":999,"is_bot":true,"first_name":"Sentinel",
   "username":"sentinel_bot"},"status":"member"}}}"#;

pub(crate) const MY_CHAT_MEMBER_GROUP_LEFT: &str = r#"{"update_id":100000039,"my_chat_member":{
 "chat":{"id":-100200,"title":"Fans","type":"supergroup"},
 "from":{"id":222,"is_bot":false,"first_name":"Bob"},"date":1700000023,
 "old_chat_member":{"user":{"id":999,"is_bot":true,"first_name":"Sentinel",
   "username":"sentinel_bot"},"status":"member"},
 "new_chat_member":{"user":{"id":999,"is_bot":true,"first_name":"Sentinel",
   "username":"sentinel_bot"},"status":"left"}}}"#;

pub(crate) const CHAT_MEMBER: &str = r#"{"update_id":100000040,"chat_member":{
 "chat":{"id":-100200,"title":"Fans","type":"supergroup"},
 "from":{"id":555,"is_bot":false,"first_name":"Eve"},"date":1700000024,
 "old_chat_member":{"user":{"id":555,"is_bot":false,"first_name":"Eve"},"status":"left"},
 "new_chat_member":{"user":{"id":555,"is_bot":false,"first_name":"Eve"},"status":"member"}}}"#;

pub(crate) const CHAT_JOIN_REQUEST: &str = r#"{"update_id":100000041,"chat_join_request":{
 "chat":{"id":-100200,"title":"Fans","type":"supergroup"},
 "from":{"id":666,"is_bot":false,"first_name":"Fay"},"user_chat_id":666,
 "date":1700000025,"bio":"hi"}}"#;

pub(crate) const CHAT_BOOST: &str = r#"{"update_id":100000042,"chat_boost":{
 "chat":{"id":-100400,"title":"News","type":"channel"},
 "boost":{"boost_id":"b-1","add_date":1700000026,"expiration_date":1702592026,
  "source":{"source":"premium","user":{"id":777,"is_bot":false,"first_name":"Gus"}}}}}"#;

pub(crate) const REMOVED_CHAT_BOOST: &str = r#"{"update_id":100000043,"removed_chat_boost":{
 "chat":{"id":-100400,"title":"News","type":"channel"},"boost_id":"b-1",
 "remove_date":1700000027,
 "source":{"source":"gift_code","user":{"id":777,"is_bot":false,"first_name":"Gus"}}}}"#;

pub(crate) const MANAGED_BOT: &str = r#"{"update_id":100000044,"managed_bot":{
 "user":{"id":888,"is_bot":false,"first_name":"Hal"},
 "bot":{"id":12345,"is_bot":true,"first_name":"Helper","username":"hal_helper_bot"}}}"#;

pub(crate) const GUEST_MESSAGE: &str = r#"{"update_id":100000045,"guest_message":{"message_id":70,
 "guest_query_id":"gq-1","from":{"id":222,"is_bot":false,"first_name":"Bob"},
 "chat":{"id":-100200,"title":"Fans","type":"supergroup"},"date":1700000028,
 "text":"@sentinel_bot summarize"}}"#;

pub(crate) const UNKNOWN_TYPE: &str = r#"{"update_id":100000046,"future_update":{"id":1,
 "from":{"id":111}}}"#;
