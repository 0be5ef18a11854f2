//! A fake Telegram Bot API on a loopback port, for end-to-end tests with real clients.
//!
//! [`FakeBotApi::start`] binds `127.0.0.1:0` and serves `/bot<token>/<method>` the way
//! `api.telegram.org` does, closely enough that an **unmodified teloxide bot** runs against it:
//!
//! * method names are matched case-insensitively (teloxide posts `/GetMe`, `/SendMessage`, …);
//!   parameters come from a JSON body, a `application/x-www-form-urlencoded` body or the query
//!   string;
//! * `getMe`, `getWebhookInfo`, `setWebhook`, `deleteWebhook`, `setMyCommands`, `getMyCommands`,
//!   `getChat`, `getChatMember`, `getChatAdministrators`, `logOut`, `close`, `sendMessage`, `editMessageText`,
//!   `answerCallbackQuery`, `deleteMessage`, `sendChatAction` answer with the exact Bot API
//!   shapes; any other method answers `{"ok":true,"result":true}` and is recorded like the rest;
//! * chats the bot cannot see ([`FakeBotApi::forget_chat`]) answer
//!   `400 "Bad Request: chat not found"`, a chat that removed the bot ([`FakeBotApi::block_chat`])
//!   answers `getChat`/`getChatMember` with 403 as Telegram does, the bot's membership is
//!   [`FakeBotApi::set_member_status`], and forum topics ([`FakeBotApi::add_forum_topic`]) make
//!   other threads of that chat `400 "Bad Request: message thread not found"`;
//! * `getUpdates` is **real long polling**: it honours `offset` (confirming older updates),
//!   `limit`, `timeout` (the request is held until an update is pushed or the timeout ends, on
//!   tokio's clock, so tests with paused time work) and `allowed_updates` (remembered, and used
//!   to filter what is delivered, as Telegram does);
//! * a wrong token is `401 {"ok":false,"error_code":401,"description":"Unauthorized"}`.
//!
//! The test side is plain Rust on the handle: inject updates ([`FakeBotApi::push_update`] and
//! builders such as [`FakeBotApi::message`]), read what the bot did ([`FakeBotApi::sent`],
//! [`FakeBotApi::calls_of`], [`FakeBotApi::wait_for_calls`]) and inject faults
//! ([`FakeBotApi::fail_next`], [`FakeBotApi::set_fault`], [`FakeBotApi::down`]).
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use sentinel_fake_bot_api::{Fault, FakeBotApi};
//!
//! let api = FakeBotApi::start().await;
//! // let bot = teloxide::Bot::new(api.token()).set_api_url(api.url());
//! let update = api.message(7, 7, "/start");
//! api.push_update(update);
//! api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 5 });
//! let replies = api.wait_for_calls("sendMessage", 1, Duration::from_secs(30)).await;
//! assert_eq!(replies[0].body["chat_id"], 7);
//! # }
//! ```
//!
//! One server per test: nothing is global, and every server listens on its own port.
//!
//! This crate is published so that the demos can be copied into an application: the facade
//! `sentinel` exposes it as `sentinel::fake_bot_api` behind its `fake-bot-api` feature (the
//! quickstart runs a real teloxide bot against it when no token is set). It is a test double:
//! [`FakeBotApi::start`] panics when no loopback port can be bound, and the assertion helpers
//! panic when what they wait for does not happen, as a test should.
#![expect(
    clippy::expect_used,
    reason = "a test double fails loudly: it runs in tests and demos, never in a service"
)]

mod html;
mod routes;
mod state;
mod updates;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

use state::State;

/// The token a server started with [`FakeBotApi::start`] accepts.
pub const DEFAULT_TOKEN: &str = "123456789:AAFakeTokenForSentinelTests-0123456789";
/// The username of the default fake bot (what `getMe` reports).
pub const DEFAULT_BOT_USERNAME: &str = "sentinel_test_bot";
/// The UNIX time the fake's clock reads when the server starts; message `date`s advance from it
/// with tokio's clock.
pub const START_UNIX_TIME: i64 = 1_700_000_000;
/// The user id of `@GroupAnonymousBot`, the sender of anonymous admins' messages.
pub const GROUP_ANONYMOUS_BOT_ID: i64 = 1_087_968_824;

/// A fault the fake answers a call with instead of the normal result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// HTTP 429 with `Retry-After: N` and the body
    /// `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after N","parameters":{"retry_after":N}}`,
    /// exactly as the Bot API server builds it.
    TooManyRequests {
        /// Seconds the client must wait.
        retry_after: u32,
    },
    /// That HTTP status (5xx expected) with
    /// `{"ok":false,"error_code":status,"description":"Internal Server Error"}`.
    /// (teloxide sleeps 10 s after any 5xx before reading the body.)
    ServerError(u16),
    /// Never answers, until the server shuts down (then 503).
    Hang,
    /// HTTP 400 `"Bad Request: <description>"` (the prefix is added unless already there).
    BadRequest(String),
    /// HTTP 403 `"Forbidden: <description>"` (the prefix is added unless already there), e.g.
    /// `Fault::Forbidden("bot was blocked by the user".into())`.
    Forbidden(String),
    /// HTTP 400 `"Bad Request: group chat was upgraded to a supergroup chat"` with
    /// `parameters.migrate_to_chat_id`.
    MigrateToChat(i64),
    /// Any status and raw body (sent as `application/json` if it parses as JSON, else as
    /// `text/html`, like a proxy's error page).
    Raw {
        /// The HTTP status.
        status: u16,
        /// The body, verbatim.
        body: String,
    },
}

/// One request the fake received with a valid token (faulted ones included).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCall {
    /// The Bot API method name in its canonical spelling (`sendMessage`, whatever case the client
    /// used; unknown methods with their first letter lower-cased).
    pub method: String,
    /// The parameters as JSON (an object; form/query values that parse as JSON are parsed).
    pub body: Value,
    /// When the request arrived, on tokio's clock.
    pub at: Instant,
}

/// One message the fake accepted through `sendMessage`.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// The chat it went to (`@channel` usernames map to a fixed fake id per name).
    pub chat_id: i64,
    /// The `message_id` the fake assigned (increasing per chat).
    pub message_id: i64,
    /// The text exactly as sent (tags and entities included).
    pub text: String,
    /// The text after entity parsing (what a user would see), for `parse_mode: HTML`; otherwise
    /// the text as sent.
    pub visible_text: String,
    /// `parse_mode`, if any.
    pub parse_mode: Option<String>,
    /// `message_thread_id`, if any.
    pub message_thread_id: Option<i64>,
    /// `disable_notification` (false when absent).
    pub disable_notification: bool,
    /// All parameters of the call.
    pub body: Value,
    /// When the request arrived, on tokio's clock.
    pub at: Instant,
}

/// The webhook the bot registered with `setWebhook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSetting {
    /// The URL.
    pub url: String,
    /// `secret_token`, if given.
    pub secret_token: Option<String>,
}

/// Configures a [`FakeBotApi`] before it starts.
#[derive(Debug, Clone)]
pub struct FakeBotApiBuilder {
    token: String,
    username: String,
    first_name: String,
}

impl Default for FakeBotApiBuilder {
    fn default() -> Self {
        Self {
            token: DEFAULT_TOKEN.to_owned(),
            username: DEFAULT_BOT_USERNAME.to_owned(),
            first_name: "Sentinel Test Bot".to_owned(),
        }
    }
}

impl FakeBotApiBuilder {
    /// The token the server accepts (`<bot id>:<secret>`; the bot id is the part before `:`).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// The bot's username (without `@`).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = username.into();
        self
    }

    /// The bot's first name.
    pub fn first_name(mut self, first_name: impl Into<String>) -> Self {
        self.first_name = first_name.into();
        self
    }

    /// Binds `127.0.0.1:0` and starts serving on the current tokio runtime.
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start(self) -> FakeBotApi {
        let bot_id = self
            .token
            .split(':')
            .next()
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(123_456_789);
        let (changed, _) = watch::channel(0_u64);
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            token: self.token,
            bot: BotIdentity {
                id: bot_id,
                username: self.username,
                first_name: self.first_name,
            },
            state: Mutex::new(State::default()),
            changed,
            shutdown,
            epoch: Instant::now(),
        });
        let listener = tokio::net::TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind a loopback port for the fake Bot API");
        let addr = listener
            .local_addr()
            .expect("local address of the fake Bot API");
        let router = routes::router(Arc::clone(&shared));
        let mut stop = shared.shutdown.subscribe();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
        });
        FakeBotApi {
            shared,
            addr,
            server: Some(server),
        }
    }
}

/// The bot the fake pretends to be.
#[derive(Debug, Clone)]
pub(crate) struct BotIdentity {
    pub(crate) id: i64,
    pub(crate) username: String,
    pub(crate) first_name: String,
}

/// What the HTTP side and the control side share.
pub(crate) struct Shared {
    pub(crate) token: String,
    pub(crate) bot: BotIdentity,
    pub(crate) state: Mutex<State>,
    /// Bumped whenever an update is pushed or a call is recorded.
    pub(crate) changed: watch::Sender<u64>,
    /// `true` once the server is shutting down.
    pub(crate) shutdown: watch::Sender<bool>,
    /// tokio time at start (maps to [`START_UNIX_TIME`]).
    pub(crate) epoch: Instant,
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// The fake's UNIX time: [`START_UNIX_TIME`] plus tokio time elapsed since start.
    pub(crate) fn unix_now(&self) -> i64 {
        let elapsed = i64::try_from(self.epoch.elapsed().as_secs()).unwrap_or(i64::MAX);
        START_UNIX_TIME.saturating_add(elapsed)
    }

    /// Resolves once the server is shutting down.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

/// A running fake Bot API. Stops when dropped (or with [`FakeBotApi::shutdown`]).
pub struct FakeBotApi {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Option<JoinHandle<()>>,
}

impl fmt::Debug for FakeBotApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeBotApi")
            .field("addr", &self.addr)
            .field("bot", &self.shared.bot.username)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeBotApi {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}

impl FakeBotApi {
    /// Starts a server with [`DEFAULT_TOKEN`] and [`DEFAULT_BOT_USERNAME`].
    ///
    /// # Panics
    /// If no loopback port can be bound.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Same as [`FakeBotApi::start`].
    pub async fn spawn() -> Self {
        Self::start().await
    }

    /// A builder to choose the token or the bot's name.
    pub fn builder() -> FakeBotApiBuilder {
        FakeBotApiBuilder::default()
    }

    /// The base URL (`http://127.0.0.1:<port>/`), for `teloxide::Bot::set_api_url` and for the
    /// sentinel sender.
    pub fn url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).expect("a loopback URL parses")
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The token the server accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The bot's user id (the part of the token before `:`).
    pub fn bot_id(&self) -> i64 {
        self.shared.bot.id
    }

    /// The bot's username (without `@`).
    pub fn bot_username(&self) -> &str {
        &self.shared.bot.username
    }

    /// The bot's `User` object as `getMe` and sent messages' `from` show it.
    pub fn bot_user(&self) -> Value {
        updates::bot_user(&self.shared.bot)
    }

    /// Stops the server: hanging calls and long polls are answered (503 / what they have), open
    /// connections close, and this waits (up to 5 s of tokio time) for the server task.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.send_replace(true);
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
    }

    // ----- updates -------------------------------------------------------------------------

    /// Queues an update for `getUpdates`, assigning the next `update_id` if it has none (ids
    /// increase from 1). Returns the update's id. Wakes a pending long poll.
    ///
    /// Callback queries' `id`s are remembered so `answerCallbackQuery` accepts them.
    pub fn push_update(&self, update: Value) -> i64 {
        let id = self.shared.state().push_update(update);
        self.shared.bump();
        id
    }

    /// Queues several updates in order; returns their ids.
    pub fn push_updates(&self, updates: impl IntoIterator<Item = Value>) -> Vec<i64> {
        // Collect first: the iterator may build updates with this handle (which locks too).
        let updates: Vec<Value> = updates.into_iter().collect();
        let ids = {
            let mut state = self.shared.state();
            updates.into_iter().map(|u| state.push_update(u)).collect()
        };
        self.shared.bump();
        ids
    }

    /// Updates queued and not yet confirmed by a `getUpdates` offset (delivered ones included
    /// until confirmed, as Telegram keeps them).
    pub fn pending_updates(&self) -> Vec<Value> {
        self.shared.state().updates.iter().cloned().collect()
    }

    /// The last `allowed_updates` a `getUpdates` or `setWebhook` call sent (`None` if never).
    pub fn allowed_updates(&self) -> Option<Vec<String>> {
        self.shared.state().allowed_updates.clone()
    }

    /// The webhook set with `setWebhook` and not deleted, if any. While one is set,
    /// `getUpdates` answers 409 as Telegram does.
    pub fn webhook(&self) -> Option<WebhookSetting> {
        self.shared.state().webhook.clone()
    }

    /// Makes the next `getUpdates` long poll deliver every update kind regardless of
    /// `allowed_updates` (`true`), or filter as Telegram does (`false`, the default).
    pub fn deliver_all_update_kinds(&self, all: bool) {
        self.shared.state().deliver_all_kinds = all;
    }

    // ----- update builders -----------------------------------------------------------------

    /// A `message` update: `user` writes `text` in `chat` (`chat == user` is the private chat).
    /// A text starting with `/` gets a `bot_command` entity.
    pub fn message(&self, user: i64, chat: i64, text: &str) -> Value {
        let msg = self.incoming_message(user, chat, text);
        serde_json::json!({ "message": msg })
    }

    /// An `edited_message` update for message `message_id` of `user` in `chat`.
    pub fn edited_message(&self, user: i64, chat: i64, message_id: i64, text: &str) -> Value {
        let mut msg = self.incoming_message(user, chat, text);
        msg["message_id"] = message_id.into();
        msg["edit_date"] = self.shared.unix_now().into();
        serde_json::json!({ "edited_message": msg })
    }

    /// A `message` update with a photo (`file_unique_id`), an optional caption and an optional
    /// `media_group_id` (albums arrive as several such updates).
    pub fn photo_message(
        &self,
        user: i64,
        chat: i64,
        file_unique_id: &str,
        caption: Option<&str>,
        media_group_id: Option<&str>,
    ) -> Value {
        let mut msg = self.incoming(user, chat);
        msg["photo"] = serde_json::json!([
            { "file_id": format!("AgAC-{file_unique_id}-small"), "file_unique_id": format!("{file_unique_id}-s"), "width": 90, "height": 90, "file_size": 1024 },
            { "file_id": format!("AgAC-{file_unique_id}"), "file_unique_id": file_unique_id, "width": 800, "height": 800, "file_size": 65536 }
        ]);
        if let Some(caption) = caption {
            msg["caption"] = caption.into();
        }
        if let Some(group) = media_group_id {
            msg["media_group_id"] = group.into();
        }
        serde_json::json!({ "message": msg })
    }

    /// A `channel_post` update: `text` posted in channel `chat` (no `from`, `sender_chat` = the
    /// channel).
    pub fn channel_post(&self, chat: i64, text: &str) -> Value {
        let message_id = self.shared.state().next_message_id(chat);
        let channel = updates::channel(chat);
        serde_json::json!({ "channel_post": {
            "message_id": message_id,
            "sender_chat": channel,
            "chat": channel,
            "date": self.shared.unix_now(),
            "text": text,
        }})
    }

    /// A `message` update from an anonymous group admin: `from` is `@GroupAnonymousBot`
    /// ([`GROUP_ANONYMOUS_BOT_ID`]) and `sender_chat` is the group itself.
    pub fn anonymous_admin_message(&self, chat: i64, text: &str) -> Value {
        let (message_id, chat_json) = self.next_incoming(chat);
        serde_json::json!({ "message": {
            "message_id": message_id,
            "from": { "id": GROUP_ANONYMOUS_BOT_ID, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot" },
            "sender_chat": chat_json,
            "chat": chat_json,
            "date": self.shared.unix_now(),
            "text": text,
        }})
    }

    /// A `callback_query` update: `user` pressed a button carrying `data` under the bot's
    /// keyboard message in `chat` (one message per chat, the same for every press, so repeated
    /// presses are presses of the same button). The query id is unique and accepted by
    /// `answerCallbackQuery` once pushed.
    pub fn callback_query(&self, user: i64, chat: i64, data: &str) -> Value {
        let message_id = self.shared.state().keyboard_message_id(chat);
        self.callback_query_on(user, chat, message_id, data)
    }

    /// A `callback_query` update: `user` pressed a button carrying `data` under the bot
    /// message `message_id` in `chat`.
    pub fn callback_query_on(&self, user: i64, chat: i64, message_id: i64, data: &str) -> Value {
        let (query_id, chat_json) = {
            let mut state = self.shared.state();
            let n = state.next_callback();
            (n, state.chat_json(chat))
        };
        serde_json::json!({ "callback_query": {
            "id": format!("{}{:08}", self.shared.bot.id, query_id),
            "from": updates::user(user),
            "message": {
                "message_id": message_id,
                "from": updates::bot_user(&self.shared.bot),
                "chat": chat_json,
                "date": self.shared.unix_now(),
                "text": "Choose:",
                "reply_markup": { "inline_keyboard": [[{ "text": "Press", "callback_data": data }]] },
            },
            "chat_instance": format!("-{}", chat.unsigned_abs()),
            "data": data,
        }})
    }

    /// An `inline_query` update from `user`.
    pub fn inline_query(&self, user: i64, query: &str) -> Value {
        let n = self.shared.state().next_callback();
        serde_json::json!({ "inline_query": {
            "id": format!("{}{:08}", user, n),
            "from": updates::user(user),
            "query": query,
            "offset": "",
            "chat_type": "sender",
        }})
    }

    /// A `my_chat_member` update in the private chat with `user`: the bot's status went from
    /// `old` to `new` (`"member"`, `"kicked"` when the user blocks the bot, `"left"`, …).
    pub fn my_chat_member(&self, user: i64, old: &str, new: &str) -> Value {
        let bot = updates::bot_user(&self.shared.bot);
        let chat = self.shared.state().chat_json(user);
        serde_json::json!({ "my_chat_member": {
            "chat": chat,
            "from": updates::user(user),
            "date": self.shared.unix_now(),
            "old_chat_member": updates::chat_member(bot.clone(), old),
            "new_chat_member": updates::chat_member(bot, new),
        }})
    }

    /// A `chat_member` update in `chat`: `actor` changed `subject`'s status from `old` to `new`.
    pub fn chat_member(&self, chat: i64, actor: i64, subject: i64, old: &str, new: &str) -> Value {
        let chat_json = self.shared.state().chat_json(chat);
        serde_json::json!({ "chat_member": {
            "chat": chat_json,
            "from": updates::user(actor),
            "date": self.shared.unix_now(),
            "old_chat_member": updates::chat_member(updates::user(subject), old),
            "new_chat_member": updates::chat_member(updates::user(subject), new),
        }})
    }

    /// Overrides the `Chat` object the fake uses for `chat["id"]` (in built updates, sent
    /// messages and `getChat`), e.g. to make a chat a channel or a forum.
    ///
    /// # Panics
    /// If `chat` has no integer `id`.
    pub fn register_chat(&self, chat: Value) {
        let id = chat["id"]
            .as_i64()
            .expect("a Chat object has an integer id");
        self.shared.state().chats.insert(id, chat);
    }

    fn next_incoming(&self, chat: i64) -> (i64, Value) {
        let mut state = self.shared.state();
        (state.next_message_id(chat), state.chat_json(chat))
    }

    /// A new `Message` from `user` in `chat`, with no content yet.
    fn incoming(&self, user: i64, chat: i64) -> Value {
        let (message_id, chat_json) = self.next_incoming(chat);
        serde_json::json!({
            "message_id": message_id,
            "from": updates::user(user),
            "chat": chat_json,
            "date": self.shared.unix_now(),
        })
    }

    fn incoming_message(&self, user: i64, chat: i64, text: &str) -> Value {
        let mut msg = self.incoming(user, chat);
        msg["text"] = text.into();
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .map_or(0, |cmd| cmd.encode_utf16().count());
            msg["entities"] =
                serde_json::json!([{ "type": "bot_command", "offset": 0, "length": len }]);
        }
        msg
    }

    // ----- what the bot did ----------------------------------------------------------------

    /// Every call received with the right token, in arrival order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.state().calls.clone()
    }

    /// The calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> Vec<RecordedCall> {
        self.shared
            .state()
            .calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }

    /// Every message accepted by `sendMessage`, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.state().sent.clone()
    }

    /// The messages accepted for one chat.
    pub fn sent_to(&self, chat_id: i64) -> Vec<SentMessage> {
        self.shared
            .state()
            .sent
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }

    /// How many requests carried a wrong token (answered 401, not recorded as calls).
    pub fn unauthorized_requests(&self) -> u64 {
        self.shared.state().unauthorized
    }

    /// Waits until at least `n` calls of `method` were recorded, and returns them.
    ///
    /// # Panics
    /// After `timeout` (tokio time) with fewer calls, listing every call received.
    pub async fn wait_for_calls(
        &self,
        method: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<RecordedCall> {
        match self.try_wait_for_calls(method, n, timeout).await {
            Ok(calls) => calls,
            Err(calls) => panic!(
                "expected {n} `{method}` calls within {timeout:?}, got {}; all calls: {:?}",
                calls.len(),
                self.calls().iter().map(|c| &c.method).collect::<Vec<_>>()
            ),
        }
    }

    /// Like [`FakeBotApi::wait_for_calls`] but returns `Err(calls so far)` on timeout.
    ///
    /// # Errors
    /// The calls of `method` so far when fewer than `n` arrived within `timeout`.
    pub async fn try_wait_for_calls(
        &self,
        method: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedCall>, Vec<RecordedCall>> {
        let deadline = Instant::now() + timeout;
        let mut rx = self.shared.changed.subscribe();
        loop {
            rx.borrow_and_update();
            let calls = self.calls_of(method);
            if calls.len() >= n {
                return Ok(calls);
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return Err(calls) },
                () = tokio::time::sleep_until(deadline) => return Err(self.calls_of(method)),
            }
        }
    }

    // ----- faults --------------------------------------------------------------------------

    /// Answers the next call of `method` (case-insensitive; `"*"` = any method) with `fault`.
    /// Several `fail_next` on one method queue up in order. One-shot faults win over
    /// [`FakeBotApi::set_fault`].
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.shared
            .state()
            .faults_once
            .entry(state::fault_key(method))
            .or_default()
            .push_back(fault);
    }

    /// Answers every call of `method` (`"*"` = any) with `fault` until
    /// [`FakeBotApi::clear_faults`].
    pub fn set_fault(&self, method: &str, fault: Fault) {
        self.shared
            .state()
            .faults_sticky
            .insert(state::fault_key(method), fault);
    }

    /// Removes every queued and sticky fault.
    pub fn clear_faults(&self) {
        let mut state = self.shared.state();
        state.faults_once.clear();
        state.faults_sticky.clear();
    }

    /// Makes `sendMessage` (and other sends) to `chat_id` fail with 403
    /// `"Forbidden: bot was blocked by the user"` (private chats) or
    /// `"Forbidden: bot was kicked from the group chat"` (groups), until [`FakeBotApi::unblock_chat`].
    pub fn block_chat(&self, chat_id: i64) {
        self.shared.state().blocked_chats.insert(chat_id);
    }

    /// Undoes [`FakeBotApi::block_chat`].
    pub fn unblock_chat(&self, chat_id: i64) {
        self.shared.state().blocked_chats.remove(&chat_id);
    }

    /// Makes `chat_id` a chat the bot cannot see (it does not exist, or the bot was never
    /// added): `getChat`, `getChatMember`, `sendMessage` and `sendChatAction` answer
    /// `400 "Bad Request: chat not found"`.
    pub fn forget_chat(&self, chat_id: i64) {
        self.shared.state().missing_chats.insert(chat_id);
    }

    /// Sets `user`'s status in `chat` as `getChatMember` reports it (`"member"`, `"left"`,
    /// `"kicked"`, `"administrator"`, `"restricted"` (may not send messages), `"creator"`).
    /// Unset: the bot is an administrator of channels and a member elsewhere.
    /// `getChatAdministrators` lists the users set to `administrator` or `creator`.
    pub fn set_member_status(&self, chat: i64, user: i64, status: &str) {
        self.shared
            .state()
            .members
            .insert((chat, user), status.to_owned());
    }

    /// Makes `chat` a forum supergroup (`is_forum: true` in `getChat`) with topic `thread_id`.
    /// Once a chat has topics, sends and chat actions to any other thread of it answer
    /// `400 "Bad Request: message thread not found"`.
    pub fn add_forum_topic(&self, chat: i64, thread_id: i64) {
        let mut state = self.shared.state();
        let mut json = state.chat_json(chat);
        json["type"] = "supergroup".into();
        json["is_forum"] = true.into();
        state.chats.insert(chat, json);
        state.topics.entry(chat).or_default().insert(thread_id);
    }

    /// Simulates the API being unreachable behind a proxy: every request gets
    /// `502 Bad Gateway` with a non-JSON body, and nothing is recorded, until [`FakeBotApi::up`].
    pub fn down(&self) {
        self.shared.state().down = true;
    }

    /// Ends [`FakeBotApi::down`].
    pub fn up(&self) {
        self.shared.state().down = false;
        self.shared.bump();
    }
}

/// A loopback URL on which nothing listens (a port bound and released at once), for tests of
/// "connection refused".
///
/// # Panics
/// If no loopback port can be bound.
pub fn unreachable_url() -> Url {
    let listener = std::net::TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    Url::parse(&format!("http://{addr}/")).expect("a loopback URL parses")
}
