//! [`BotApi`]: a Bot API client for sending that keeps within Telegram's limits.
//!
//! * **Pacing** (on by default): at most 30 messages per second for the bot, 1 per second per
//!   chat and 1 per 3 seconds (20 per minute) per group or channel ([`Limits`]), with core's
//!   GCRA on tokio's clock. Sends to one chat go out one at a time, in call order.
//! * **429**: `parameters.retry_after` (or the `Retry-After` header) pauses **every** call of
//!   this bot for that long (at most [`MAX_RETRY_AFTER`]), as Telegram requires; then the
//!   refused call is retried.
//! * **Retries**: 5xx and 408 answers, network errors and timeouts are retried with jittered
//!   exponential backoff ([`Backoff`]) until the retry deadline; other 4xx answers fail at once
//!   with a typed [`SendError`]. (A retried send whose answer was lost can arrive twice.) A
//!   caller that owns its retries turns them off ([`BotApiBuilder::retries`]) and decides with
//!   the same classification, [`SendError::class`].
//! * **Blocked users**: with a [`Reachability`], sends to users who blocked the bot are skipped
//!   ([`SendError::Skipped`]) and a `403 … blocked by the user` marks the user.
//! * **Secrets**: the token lives in a [`BotToken`] that prints as `<bot id>:<redacted>`; errors
//!   carry no URL (`reqwest::Error::without_url`) and any text from the network is scrubbed of
//!   the token.
//! * **Time** comes from tokio's clock, so tests with paused time are exact.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sentinel_telegram::{html, sender::{BotApi, BotToken, SendMessage}};
//!
//! let api = BotApi::builder()
//!     .token(BotToken::new(std::env::var("BOT_TOKEN")?)?)
//!     .build()?;
//! let text = format!("{} {}", html::bold("disk full on"), html::code("db-1"));
//! let ids = api
//!     .send_long_message(&SendMessage::new(-1001234567890_i64, text).html().silent())
//!     .await?;
//! # let _ = ids; Ok(()) }
//! ```

mod backoff;
mod error;
mod message;
mod pacer;
mod token;
mod transport;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

pub use backoff::Backoff;
pub use error::{BuildError, ErrorClass, SendError};
pub use message::{ParseMode, Recipient, SendMessage};
pub use pacer::Limits;
pub use token::{BotToken, InvalidToken};

use crate::reachability::Reachability;
use crate::split::{self, MAX_MESSAGE_LEN};
use pacer::Pacer;

/// The official Bot API server.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// Default timeout of one HTTP request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time from a call's first attempt after which no retry starts.
pub const DEFAULT_RETRY_DEADLINE: Duration = Duration::from_secs(60);
/// The longest 429 pause honoured. A larger `retry_after` (a buggy proxy or local Bot API
/// server; Telegram's own waits are far shorter) is cut to this: the call after it at worst
/// meets another 429 and pauses again, instead of the bot being stopped for years.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Backoff after a 5xx or network error: from 0.5 s, doubling, at most 10 s, jittered.
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));

/// Configures a [`BotApi`].
#[derive(Debug, Clone)]
pub struct BotApiBuilder {
    token: Option<BotToken>,
    api_url: String,
    request_timeout: Duration,
    connect_timeout: Duration,
    retry_deadline: Duration,
    retries: bool,
    pacing: bool,
    limits: Limits,
    reachability: Option<Reachability>,
    client: Option<reqwest::Client>,
}

impl Default for BotApiBuilder {
    fn default() -> Self {
        Self {
            token: None,
            api_url: DEFAULT_API_URL.to_owned(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry_deadline: DEFAULT_RETRY_DEADLINE,
            retries: true,
            pacing: true,
            limits: Limits::default(),
            reachability: None,
            client: None,
        }
    }
}

impl BotApiBuilder {
    /// The bot token (required).
    #[must_use]
    pub fn token(mut self, token: BotToken) -> Self {
        self.token = Some(token);
        self
    }

    /// The Bot API base URL (default [`DEFAULT_API_URL`]): a local Bot API server, or a fake in
    /// tests. Requests go to `<url>/bot<token>/<method>`.
    #[must_use]
    pub fn api_url(mut self, url: impl AsRef<str>) -> Self {
        self.api_url = url.as_ref().to_owned();
        self
    }

    /// Timeout of one HTTP request (default 30 s).
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time from a call's first attempt after which no retry starts (default 60 s; zero = no
    /// retries). A 429 asking to wait past it fails with [`SendError::TooManyRequests`].
    /// Waiting for pacing or for another call's 429 pause does not count.
    #[must_use]
    pub fn retry_deadline(mut self, deadline: Duration) -> Self {
        self.retry_deadline = deadline;
        self
    }

    /// Turns this client's own retries on or off (default on). Off, every call makes **one**
    /// request and returns its failure unwrapped, for a caller that owns retries and backoff
    /// (deciding with [`SendError::class`]); a 429 still pauses every call of the bot for its
    /// `retry_after` and comes back as [`SendError::TooManyRequests`], and pacing still applies.
    ///
    /// ```
    /// use sentinel_telegram::sender::{BotApi, BotToken};
    /// let api = BotApi::builder()
    ///     .token(BotToken::new("123456:ABC")?)
    ///     .retries(false)
    ///     .build()?;
    /// # let _ = api; Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn retries(mut self, on: bool) -> Self {
        self.retries = on;
        self
    }

    /// Turns pacing on or off (default on). 429 pauses are honoured either way.
    #[must_use]
    pub fn pacing(mut self, on: bool) -> Self {
        self.pacing = on;
        self
    }

    /// The pacing limits (default [`Limits::default`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Skip users who blocked the bot, and record new blocks from 403 answers.
    #[must_use]
    pub fn reachability(mut self, reachability: Reachability) -> Self {
        self.reachability = Some(reachability);
        self
    }

    /// Use this HTTP client instead of building one (its timeouts then apply).
    #[must_use]
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`BuildError`] without a token, with an unusable URL, or if the HTTP client fails to
    /// build.
    pub fn build(self) -> Result<BotApi, BuildError> {
        let token = self.token.ok_or(BuildError::MissingToken)?;
        let mut base = reqwest::Url::parse(&self.api_url)
            .map_err(|e| BuildError::InvalidUrl(e.to_string()))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(BuildError::InvalidUrl("not an http(s) base URL".to_owned()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = match self.client {
            Some(c) => c,
            None => reqwest::Client::builder()
                .timeout(self.request_timeout)
                .connect_timeout(self.connect_timeout)
                .tcp_nodelay(true)
                .build()
                .map_err(|e| BuildError::Client(token.scrub(&e.without_url().to_string())))?,
        };
        Ok(BotApi {
            inner: Arc::new(Inner {
                token,
                base,
                client,
                retry_deadline: self.retry_deadline,
                retries: self.retries,
                pacer: Pacer::new(self.limits, self.pacing),
                reachability: self.reachability,
            }),
        })
    }
}

struct Inner {
    token: BotToken,
    base: reqwest::Url,
    client: reqwest::Client,
    retry_deadline: Duration,
    retries: bool,
    pacer: Pacer,
    reachability: Option<Reachability>,
}

/// A paced, retrying Bot API client. Cheap to clone; clones share pacing and pauses.
#[derive(Clone)]
pub struct BotApi {
    inner: Arc<Inner>,
}

impl fmt::Debug for BotApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotApi")
            .field("token", &self.inner.token)
            .field("api_url", &self.inner.token.scrub(self.inner.base.as_str()))
            .field("retry_deadline", &self.inner.retry_deadline)
            .field("retries", &self.inner.retries)
            .field("pacer", &self.inner.pacer)
            .finish_non_exhaustive()
    }
}

impl BotApi {
    /// A builder.
    pub fn builder() -> BotApiBuilder {
        BotApiBuilder::default()
    }

    /// A client for `token` with every default.
    ///
    /// # Errors
    /// As [`BotApiBuilder::build`].
    pub fn new(token: BotToken) -> Result<Self, BuildError> {
        Self::builder().token(token).build()
    }

    /// The token (prints redacted).
    pub fn token(&self) -> &BotToken {
        &self.inner.token
    }

    /// What is left of a 429 pause (zero when not paused).
    pub fn paused_for(&self) -> Duration {
        self.inner.pacer.paused_for()
    }

    /// How long a message to `chat` would wait now before going out (429 pause and pacing),
    /// without reserving anything: for callers that plan what fits before a deadline.
    pub fn next_send_in(&self, chat: &Recipient) -> Duration {
        self.inner.pacer.wait_for(chat)
    }

    /// The spacing pacing keeps between two messages to `chat` (zero with pacing off): 3 s for
    /// a group with the default [`Limits`], 1 s for a private chat.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sentinel_telegram::sender::{BotApi, BotToken, Recipient};
    /// let api = BotApi::new(BotToken::new("123456:ABC")?)?;
    /// assert_eq!(api.send_interval(&Recipient::Id(-100_123)), Duration::from_secs(3));
    /// assert_eq!(api.send_interval(&Recipient::Id(42)), Duration::from_secs(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_interval(&self, chat: &Recipient) -> Duration {
        self.inner.pacer.interval(chat)
    }

    /// Sends one message; returns its `message_id`. The text must fit one message (see
    /// [`BotApi::send_long_message`]).
    ///
    /// # Errors
    /// [`SendError::Skipped`] for a user who blocked the bot, [`SendError::EmptyText`], and
    /// the failures described on [`SendError`].
    pub async fn send_message(&self, message: &SendMessage) -> Result<i64, SendError> {
        self.check_reachable(&message.chat_id)?;
        if message.text.trim().is_empty() {
            return Err(SendError::EmptyText);
        }
        let _turn = self.inner.pacer.chat_turn(&message.chat_id).await;
        self.send_in_turn(message).await
    }

    /// Sends a text of any length as as many messages as needed, split with
    /// [`split::split_html`] (HTML) or [`split::split_plain`] at line boundaries, parts that
    /// would show nothing skipped. Returns the message ids in order. No other send to the
    /// same chat interleaves with the parts.
    ///
    /// # Errors
    /// As [`BotApi::send_message`], plus [`SendError::Split`]. On an error, earlier parts have
    /// been delivered.
    pub async fn send_long_message(&self, message: &SendMessage) -> Result<Vec<i64>, SendError> {
        self.check_reachable(&message.chat_id)?;
        let parts: Vec<String> = match message.parse_mode {
            Some(ParseMode::Html) => split::split_html(&message.text, MAX_MESSAGE_LEN)?
                .into_iter()
                .filter(|p| !p.is_blank())
                .map(split::HtmlPart::into_string)
                .collect(),
            None => split::split_plain(&message.text, MAX_MESSAGE_LEN)
                .into_iter()
                .filter(|p| !p.trim().is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if parts.is_empty() {
            return Err(SendError::EmptyText);
        }
        let _turn = self.inner.pacer.chat_turn(&message.chat_id).await;
        let mut ids = Vec::with_capacity(parts.len());
        for part in parts {
            ids.push(self.send_in_turn(&message.with_text(part)).await?);
        }
        Ok(ids)
    }

    /// Calls any Bot API method with JSON parameters and returns its `result`. Sending methods
    /// (`send*` except `sendChatAction`, `copyMessage(s)`, `forwardMessage(s)`) with a
    /// `chat_id` are paced like [`BotApi::send_message`]; every call honours 429 pauses and is
    /// retried like it.
    ///
    /// # Errors
    /// As [`BotApi::send_message`].
    pub async fn call(&self, method: &str, params: &Value) -> Result<Value, SendError> {
        let chat = recipient_of(params);
        if let Some(chat) = &chat {
            self.check_reachable(chat)?;
        }
        match chat.filter(|_| is_paced(method)) {
            Some(chat) => {
                let _turn = self.inner.pacer.chat_turn(&chat).await;
                self.call_with_retries(method, params, Some(&chat)).await
            }
            None => self.call_with_retries(method, params, None).await,
        }
    }

    async fn send_in_turn(&self, message: &SendMessage) -> Result<i64, SendError> {
        let result = self
            .call_with_retries("sendMessage", &message.to_json(), Some(&message.chat_id))
            .await?;
        result["message_id"]
            .as_i64()
            .ok_or(SendError::InvalidResponse { status: 200 })
    }

    fn check_reachable(&self, chat: &Recipient) -> Result<(), SendError> {
        match (chat.private_user(), &self.inner.reachability) {
            (Some(user), Some(r)) if r.has_blocked_bot(user) => {
                Err(SendError::Skipped { chat_id: user })
            }
            _ => Ok(()),
        }
    }

    /// The retry loop: pacing/pause, one attempt, then done, fail, pause or back off.
    async fn call_with_retries(
        &self,
        method: &str,
        params: &Value,
        paced_chat: Option<&Recipient>,
    ) -> Result<Value, SendError> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(SendError::Api {
                code: 404,
                description: "Not Found: method not found".to_owned(),
            });
        }
        let inner = &self.inner;
        let mut url = inner.base.clone();
        // `build` checked that the base URL can be a base, so this always applies.
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .push(&format!("bot{}", inner.token.expose_secret()))
                .push(method);
        }
        let mut deadline: Option<Instant> = None;
        let mut attempts = 0_u32;
        let mut backoffs = 0_u32;
        loop {
            inner.pacer.ready(paced_chat).await;
            let deadline = *deadline.get_or_insert_with(|| later(inner.retry_deadline));
            attempts = attempts.saturating_add(1);
            let error =
                match transport::attempt(&inner.client, url.clone(), params, &inner.token).await {
                    Ok(result) => return Ok(result),
                    Err(error) => error,
                };
            match error.class() {
                ErrorClass::RetryAfter(wait) => {
                    inner.pacer.pause(wait);
                    tracing::warn!(
                        method,
                        retry_after_s = wait.as_secs(),
                        "Telegram flood control: pausing every call of this bot"
                    );
                    if !inner.retries || later(wait) > deadline {
                        return Err(error);
                    }
                }
                ErrorClass::Transient if inner.retries => {
                    let delay = BACKOFF.delay(backoffs);
                    backoffs = backoffs.saturating_add(1);
                    if later(delay) > deadline {
                        return Err(SendError::DeadlineExceeded {
                            attempts,
                            last: Box::new(error),
                        });
                    }
                    tracing::debug!(method, attempts, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => {
                    self.note_blocked(paced_chat.or(recipient_of(params).as_ref()), &error);
                    return Err(error);
                }
            }
        }
    }

    fn note_blocked(&self, chat: Option<&Recipient>, error: &SendError) {
        if let (
            Some(r),
            Some(user),
            SendError::Api {
                code: 403,
                description,
            },
        ) = (
            &self.inner.reachability,
            chat.and_then(Recipient::private_user),
            error,
        ) && description.contains("blocked by the user")
        {
            r.mark_blocked(user);
        }
    }
}

/// `d` from now, saturating far in the future instead of overflowing the `Instant`.
fn later(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(FAR_FUTURE))
        .unwrap_or(now)
}

/// What [`later`] saturates at (about 30 years, as tokio does).
const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `chat_id` of a parameter object, if it has one.
fn recipient_of(params: &Value) -> Option<Recipient> {
    match params.get("chat_id")? {
        Value::Number(n) => n.as_i64().map(Recipient::Id),
        Value::String(s) => Some(
            s.parse::<i64>()
                .map_or_else(|_| Recipient::Username(s.clone()), Recipient::Id),
        ),
        _ => None,
    }
}

/// Whether `method` sends a message (and so is paced).
fn is_paced(method: &str) -> bool {
    let m = method.to_ascii_lowercase();
    (m.starts_with("send") && m != "sendchataction")
        || matches!(
            m.as_str(),
            "copymessage" | "copymessages" | "forwardmessage" | "forwardmessages"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_methods() {
        assert!(is_paced("sendMessage") && is_paced("SendPhoto") && is_paced("copyMessage"));
        assert!(
            !is_paced("sendChatAction")
                && !is_paced("answerCallbackQuery")
                && !is_paced("editMessageText")
        );
    }

    #[test]
    fn recipients() {
        assert_eq!(
            recipient_of(&serde_json::json!({"chat_id": 5})),
            Some(Recipient::Id(5))
        );
        assert_eq!(
            recipient_of(&serde_json::json!({"chat_id": "-7"})),
            Some(Recipient::Id(-7))
        );
        assert_eq!(
            recipient_of(&serde_json::json!({"chat_id": "@ch"})),
            Some(Recipient::Username("@ch".into()))
        );
        assert_eq!(recipient_of(&serde_json::json!({})), None);
    }
}
