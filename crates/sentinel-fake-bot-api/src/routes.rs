//! The HTTP side: routing, parameter parsing, faults and the Bot API methods.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{Fault, RecordedCall, SentMessage, Shared, WebhookSetting, html, updates};

/// Telegram's limit on a message's visible text, in characters.
const MAX_TEXT_CHARS: usize = 4096;
/// The Bot API server rejects raw texts above this many bytes before parsing.
const MAX_RAW_TEXT_BYTES: usize = 32_768;
/// The longest `timeout` a long poll may ask for that the fake honours.
const MAX_POLL_TIMEOUT: Duration = Duration::from_secs(3600);

/// Canonical spellings of the methods the fake knows, for [`canonical`].
const KNOWN_METHODS: [&str; 19] = [
    "getMe",
    "getChatMember",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "getChat",
    "sendMessage",
    "editMessageText",
    "answerCallbackQuery",
    "deleteMessage",
    "sendChatAction",
    "answerInlineQuery",
    "sendPhoto",
];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{bot}/{method}", any(handle))
        .fallback(not_found)
        .with_state(shared)
}

/// The canonical spelling of a method name: from [`KNOWN_METHODS`], else the first letter
/// lower-cased.
fn canonical(method: &str) -> String {
    if let Some(known) = KNOWN_METHODS
        .iter()
        .find(|k| k.eq_ignore_ascii_case(method))
    {
        return (*known).to_owned();
    }
    let mut chars = method.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found", None)
}

fn ok(result: Value) -> Response {
    json_response(StatusCode::OK, &json!({ "ok": true, "result": result }))
}

fn error(status: StatusCode, description: &str, parameters: Option<Value>) -> Response {
    let mut body =
        json!({ "ok": false, "error_code": status.as_u16(), "description": description });
    if let Some(p) = parameters {
        body["parameters"] = p;
    }
    json_response(status, &body)
}

fn bad_request(description: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!("Bad Request: {description}"),
        None,
    )
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// Parameters from the query string and the body (JSON object or url-encoded form).
fn params(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, Box<Response>> {
    let mut out = Map::new();
    if let Some(q) = query {
        add_form(&mut out, q.as_bytes());
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"))
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    if is_json {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => out.extend(map),
            _ => return Err(Box::new(bad_request("invalid JSON body"))),
        }
    } else {
        add_form(&mut out, body);
    }
    Ok(out)
}

fn add_form(out: &mut Map<String, Value>, bytes: &[u8]) {
    for (k, v) in url::form_urlencoded::parse(bytes) {
        let value =
            serde_json::from_str::<Value>(&v).unwrap_or_else(|_| Value::String(v.into_owned()));
        out.insert(k.into_owned(), value);
    }
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if shared.state().down {
        return (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
            "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>",
        )
            .into_response();
    }
    if bot.strip_prefix("bot") != Some(shared.token.as_str()) {
        shared.state().unauthorized += 1;
        return error(StatusCode::UNAUTHORIZED, "Unauthorized", None);
    }
    let params = match params(query.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    let method = canonical(&method);
    let at = Instant::now();
    let fault = {
        let mut state = shared.state();
        state.calls.push(RecordedCall {
            method: method.clone(),
            body: Value::Object(params.clone()),
            at,
        });
        state.take_fault(&method)
    };
    shared.bump();
    if let Some(fault) = fault {
        return fault_response(&shared, fault).await;
    }
    dispatch(&shared, &method, &params, at).await
}

async fn fault_response(shared: &Shared, fault: Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after } => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too Many Requests: retry after {retry_after}"),
                Some(json!({ "retry_after": retry_after })),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            response
        }
        Fault::ServerError(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error(status, "Internal Server Error", None)
        }
        Fault::Hang => {
            shared.stopped().await;
            error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable", None)
        }
        Fault::BadRequest(d) => error(
            StatusCode::BAD_REQUEST,
            &prefixed("Bad Request: ", &d),
            None,
        ),
        Fault::Forbidden(d) => error(StatusCode::FORBIDDEN, &prefixed("Forbidden: ", &d), None),
        Fault::MigrateToChat(id) => error(
            StatusCode::BAD_REQUEST,
            "Bad Request: group chat was upgraded to a supergroup chat",
            Some(json!({ "migrate_to_chat_id": id })),
        ),
        Fault::Raw { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let ct = if serde_json::from_str::<Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/html"
            };
            (
                status,
                [(header::CONTENT_TYPE, HeaderValue::from_static(ct))],
                Body::from(body),
            )
                .into_response()
        }
    }
}

fn prefixed(prefix: &str, description: &str) -> String {
    if description.starts_with(prefix) {
        description.to_owned()
    } else {
        format!("{prefix}{description}")
    }
}

fn int(params: &Map<String, Value>, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn boolean(params: &Map<String, Value>, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        Value::String(s) => serde_json::from_str::<Vec<String>>(s).ok(),
        _ => None,
    }
}

async fn dispatch(
    shared: &Shared,
    method: &str,
    params: &Map<String, Value>,
    at: Instant,
) -> Response {
    match method {
        "getMe" => {
            let mut me = updates::bot_user(&shared.bot);
            if let Some(obj) = me.as_object_mut() {
                for (k, v) in [
                    ("can_join_groups", true),
                    ("can_read_all_group_messages", false),
                    ("supports_inline_queries", false),
                    ("can_connect_to_business", false),
                    ("has_main_web_app", false),
                ] {
                    obj.insert(k.to_owned(), v.into());
                }
            }
            ok(me)
        }
        "getUpdates" => get_updates(shared, params).await,
        "setWebhook" => {
            let Some(url) = params.get("url").and_then(Value::as_str) else {
                return bad_request("bad webhook: URL must not be empty");
            };
            let mut state = shared.state();
            if url.is_empty() {
                state.webhook = None;
                return ok(true.into());
            }
            state.webhook = Some(WebhookSetting {
                url: url.to_owned(),
                secret_token: params
                    .get("secret_token")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
            if let Some(list) = params.get("allowed_updates").and_then(string_list) {
                state.allowed_updates = Some(list);
            }
            ok(true.into())
        }
        "deleteWebhook" => {
            let mut state = shared.state();
            state.webhook = None;
            if boolean(params, "drop_pending_updates") {
                state.updates.clear();
            }
            ok(true.into())
        }
        "getWebhookInfo" => {
            let state = shared.state();
            let mut info = json!({
                "url": state.webhook.as_ref().map_or("", |w| w.url.as_str()),
                "has_custom_certificate": false,
                "pending_update_count": state.updates.len(),
            });
            if state.webhook.is_some()
                && let Some(allowed) = &state.allowed_updates
            {
                info["allowed_updates"] = json!(allowed);
            }
            ok(info)
        }
        "setMyCommands" => {
            shared.state().commands = params.get("commands").cloned().unwrap_or_else(|| json!([]));
            ok(true.into())
        }
        "getMyCommands" => {
            let commands = shared.state().commands.clone();
            ok(if commands.is_null() {
                json!([])
            } else {
                commands
            })
        }
        "deleteMyCommands" => {
            shared.state().commands = json!([]);
            ok(true.into())
        }
        "getChat" => {
            let mut state = shared.state();
            let Some(id) = params.get("chat_id").and_then(|v| state.resolve_chat_id(v)) else {
                return bad_request("chat not found");
            };
            if state.missing_chats.contains(&id) {
                return bad_request("chat not found");
            }
            if id < 0 && state.blocked_chats.contains(&id) {
                return forbidden_for(id);
            }
            let mut chat = state.chat_json(id);
            if chat.get("accent_color_id").is_none() {
                chat["accent_color_id"] = 0.into();
                chat["max_reaction_count"] = 11.into();
            }
            ok(chat)
        }
        "getChatMember" => get_chat_member(shared, params),
        "getChatAdministrators" => get_chat_administrators(shared, params),
        "sendMessage" => send_message(shared, params, at),
        "editMessageText" => edit_message_text(shared, params),
        "answerCallbackQuery" => {
            let id = params
                .get("callback_query_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            if shared.state().known_callback_ids.contains(id) {
                ok(true.into())
            } else {
                bad_request("query is too old and response timeout expired or query ID is invalid")
            }
        }
        "deleteMessage" | "sendChatAction" => {
            let mut state = shared.state();
            match params.get("chat_id").and_then(|v| state.resolve_chat_id(v)) {
                Some(id) if state.missing_chats.contains(&id) => bad_request("chat not found"),
                Some(id) if state.blocked_chats.contains(&id) => forbidden_for(id),
                Some(id) if state.thread_missing(id, int(params, "message_thread_id")) => {
                    bad_request("message thread not found")
                }
                Some(_) => ok(true.into()),
                None => bad_request("chat_id is empty"),
            }
        }
        // getMe-like methods that just succeed, and every method the fake does not model.
        _ => ok(true.into()),
    }
}

/// `getChatMember`: the status set with `set_member_status`, else `kicked` (as a 403, like
/// Telegram) in a chat that blocked the bot, else `administrator` (may post) for the bot in a
/// channel and `member` otherwise.
fn get_chat_member(shared: &Shared, params: &Map<String, Value>) -> Response {
    let mut state = shared.state();
    let Some(chat) = params.get("chat_id").and_then(|v| state.resolve_chat_id(v)) else {
        return bad_request("chat_id is empty");
    };
    if state.missing_chats.contains(&chat) {
        return bad_request("chat not found");
    }
    let Some(user_id) = int(params, "user_id") else {
        return bad_request("invalid user_id specified");
    };
    let is_bot = user_id == shared.bot.id;
    if is_bot && chat < 0 && state.blocked_chats.contains(&chat) {
        return forbidden_for(chat);
    }
    let user = if is_bot {
        updates::bot_user(&shared.bot)
    } else {
        updates::user(user_id)
    };
    let is_channel = state.chat_json(chat)["type"] == "channel";
    let status = match state.members.get(&(chat, user_id)) {
        Some(s) => s.clone(),
        None if is_bot && is_channel => "administrator".to_owned(),
        None => "member".to_owned(),
    };
    let mut member = updates::chat_member(user, &status);
    if status == "administrator" && is_channel {
        member["can_post_messages"] = true.into();
        member["can_edit_messages"] = true.into();
    }
    ok(member)
}

/// `getChatAdministrators`: the users set to `administrator` or `creator` with
/// `set_member_status` in that chat (sorted by id), `403` in a chat that blocked the bot,
/// `400` for a private or unknown chat.
fn get_chat_administrators(shared: &Shared, params: &Map<String, Value>) -> Response {
    let mut state = shared.state();
    let Some(chat) = params.get("chat_id").and_then(|v| state.resolve_chat_id(v)) else {
        return bad_request("chat_id is empty");
    };
    if state.missing_chats.contains(&chat) {
        return bad_request("chat not found");
    }
    if chat < 0 && state.blocked_chats.contains(&chat) {
        return forbidden_for(chat);
    }
    if chat > 0 {
        return bad_request("there are no administrators in the private chat");
    }
    let mut admins: Vec<(i64, String)> = state
        .members
        .iter()
        .filter(|((c, _), s)| *c == chat && matches!(s.as_str(), "administrator" | "creator"))
        .map(|((_, u), s)| (*u, s.clone()))
        .collect();
    admins.sort_unstable();
    let list: Vec<Value> = admins
        .into_iter()
        .map(|(u, status)| {
            let user = if u == shared.bot.id {
                updates::bot_user(&shared.bot)
            } else {
                updates::user(u)
            };
            updates::chat_member(user, &status)
        })
        .collect();
    ok(Value::Array(list))
}

fn forbidden_for(chat: i64) -> Response {
    let description = if chat > 0 {
        "Forbidden: bot was blocked by the user"
    } else {
        "Forbidden: bot was kicked from the group chat"
    };
    error(StatusCode::FORBIDDEN, description, None)
}

async fn get_updates(shared: &Shared, params: &Map<String, Value>) -> Response {
    let limit = int(params, "limit").unwrap_or(100).clamp(1, 100);
    let limit = usize::try_from(limit).unwrap_or(100);
    let timeout =
        Duration::from_secs(u64::try_from(int(params, "timeout").unwrap_or(0).max(0)).unwrap_or(0))
            .min(MAX_POLL_TIMEOUT);
    let deadline = Instant::now() + timeout;
    {
        let mut state = shared.state();
        if state.webhook.is_some() {
            return error(
                StatusCode::CONFLICT,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                None,
            );
        }
        if let Some(offset) = int(params, "offset") {
            state.confirm(offset);
        }
        if let Some(list) = params.get("allowed_updates").and_then(string_list) {
            state.allowed_updates = Some(list);
        }
    }
    let mut changed = shared.changed.subscribe();
    let mut stop = shared.shutdown.subscribe();
    loop {
        changed.borrow_and_update();
        let batch = shared.state().deliverable(limit);
        if !batch.is_empty() || Instant::now() >= deadline || *stop.borrow() {
            return ok(Value::Array(batch));
        }
        tokio::select! {
            res = changed.changed() => if res.is_err() { return ok(json!([])) },
            _ = stop.wait_for(|s| *s) => {},
            () = tokio::time::sleep_until(deadline) => {},
        }
    }
}

/// Checks `text`/`parse_mode` as the Bot API does; `Ok(visible text)`.
fn check_text(
    params: &Map<String, Value>,
) -> Result<(String, String, Option<String>), Box<Response>> {
    let text = match params.get("text") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(Box::new(bad_request("message text is empty"))),
    };
    if text.len() > MAX_RAW_TEXT_BYTES {
        return Err(Box::new(bad_request("text is too long")));
    }
    let parse_mode = params
        .get("parse_mode")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let visible = match parse_mode.as_deref() {
        Some(mode) if mode.eq_ignore_ascii_case("html") => html::parse(&text)
            .map_err(|e| Box::new(bad_request(&format!("can't parse entities: {e}"))))?,
        _ => text.clone(),
    };
    if visible.trim().is_empty() {
        return Err(Box::new(bad_request("message text is empty")));
    }
    if visible.chars().count() > MAX_TEXT_CHARS {
        return Err(Box::new(bad_request("message is too long")));
    }
    Ok((text, visible, parse_mode))
}

fn send_message(shared: &Shared, params: &Map<String, Value>, at: Instant) -> Response {
    let mut state = shared.state();
    let Some(chat_id) = params.get("chat_id").and_then(|v| state.resolve_chat_id(v)) else {
        return bad_request("chat_id is empty");
    };
    if state.missing_chats.contains(&chat_id) {
        return bad_request("chat not found");
    }
    if state.blocked_chats.contains(&chat_id) {
        return forbidden_for(chat_id);
    }
    let (text, visible, parse_mode) = match check_text(params) {
        Ok(t) => t,
        Err(response) => return *response,
    };
    let thread = int(params, "message_thread_id");
    if state.thread_missing(chat_id, thread) {
        return bad_request("message thread not found");
    }
    let message_id = state.next_message_id(chat_id);
    let mut message = json!({
        "message_id": message_id,
        "from": updates::bot_user(&shared.bot),
        "chat": state.chat_json(chat_id),
        "date": shared.unix_now(),
        "text": visible,
    });
    if let Some(thread) = thread {
        message["message_thread_id"] = thread.into();
        message["is_topic_message"] = true.into();
    }
    state.sent.push(SentMessage {
        chat_id,
        message_id,
        text,
        visible_text: visible,
        parse_mode,
        message_thread_id: thread,
        disable_notification: boolean(params, "disable_notification"),
        body: Value::Object(params.clone()),
        at,
    });
    ok(message)
}

fn edit_message_text(shared: &Shared, params: &Map<String, Value>) -> Response {
    let (_, visible, _) = match check_text(params) {
        Ok(t) => t,
        Err(response) => return *response,
    };
    if params.contains_key("inline_message_id") {
        return ok(true.into());
    }
    let mut state = shared.state();
    let Some(chat_id) = params.get("chat_id").and_then(|v| state.resolve_chat_id(v)) else {
        return bad_request("chat_id is empty");
    };
    let Some(message_id) = int(params, "message_id") else {
        return bad_request("message identifier is not specified");
    };
    ok(json!({
        "message_id": message_id,
        "from": updates::bot_user(&shared.bot),
        "chat": state.chat_json(chat_id),
        "date": shared.unix_now(),
        "edit_date": shared.unix_now(),
        "text": visible,
    }))
}
