//! [`reply_body`]: a dropped update's answer as the webhook response itself.

use serde_json::{Map, Value, json};

use crate::guard::Response;

/// The body of the `200` answer to a webhook request whose update the guard dropped: the one
/// Bot API call to make, as Telegram accepts it in a webhook response (a JSON object with a
/// `method` field) — `answerCallbackQuery` for a button press, `sendMessage` for a notice.
/// `None` when there is nothing to send.
///
/// Answering in the response needs no bot token and no request of its own, and cannot be
/// slower than the `200`; Telegram does not report whether the call succeeded. One response
/// carries one call: when `response` holds both a callback answer and a notice (the guard core
/// gives a button press only the callback answer), the callback answer is sent and the notice
/// is dropped with a `debug` log.
///
/// ```
/// use sentinel_telegram::guard::Response;
/// use sentinel_telegram::webhook::reply_body;
///
/// assert_eq!(reply_body(&Response::default()), None);
/// ```
pub fn reply_body(response: &Response) -> Option<Vec<u8>> {
    let value = if let Some(answer) = &response.callback {
        if response.notice.is_some() {
            tracing::debug!("sentinel webhook: one call fits a webhook reply; notice not sent");
        }
        let mut call = Map::new();
        call.insert("method".into(), "answerCallbackQuery".into());
        call.insert(
            "callback_query_id".into(),
            answer.callback_query_id.clone().into(),
        );
        if let Some(text) = &answer.text {
            call.insert("text".into(), text.clone().into());
        }
        Value::Object(call)
    } else {
        let notice = response.notice.as_ref()?;
        let mut call = Map::new();
        call.insert("method".into(), "sendMessage".into());
        call.insert("chat_id".into(), notice.chat_id.into());
        call.insert("text".into(), notice.text.clone().into());
        if let Some(m) = notice.reply_to_message_id {
            call.insert(
                "reply_parameters".into(),
                json!({ "message_id": m, "allow_sending_without_reply": true }),
            );
        }
        if let Some(t) = notice.thread_id {
            call.insert("message_thread_id".into(), t.into());
        }
        Value::Object(call)
    };
    // Serialising a map of strings and integers cannot fail.
    serde_json::to_vec(&value).ok()
}
