//! Delivery behind a small trait, so routing, batching and queueing are testable without
//! Telegram: [`Transport`], [`OutgoingMessage`] (with its [`MessageKind`]), [`DeliveryError`],
//! and [`MemoryTransport`] (records what would have been sent; a dry-run sink and a test double).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::alert::Level;

pub mod telegram;
pub use telegram::{TelegramTransport, TransportBuildError};

/// Where a message goes: a chat and optionally a forum topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Telegram chat id (negative for groups and channels).
    pub chat_id: i64,
    /// Forum topic (`message_thread_id`).
    pub thread_id: Option<i32>,
}

impl Destination {
    /// A chat without a topic.
    pub const fn chat(chat_id: i64) -> Self {
        Self {
            chat_id,
            thread_id: None,
        }
    }

    /// The same chat, topic `thread_id`.
    #[must_use]
    pub const fn thread(mut self, thread_id: i32) -> Self {
        self.thread_id = Some(thread_id);
        self
    }
}

/// Markup of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseMode {
    /// Telegram HTML.
    Html,
    /// No markup.
    Plain,
}

/// What an [`OutgoingMessage`] carries: for metrics, for shutdown priorities, and for tests.
///
/// ```
/// use telemon_alerts::transport::MessageKind;
/// assert_eq!(MessageKind::FollowUp.as_str(), "followup");
/// assert!(MessageKind::Digest == "digest");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageKind {
    /// One alert, sent at once.
    Alert,
    /// Repeats of an alert counted during its cooldown.
    FollowUp,
    /// A window digest of Warning alerts.
    Digest,
    /// Alerts folded together beyond the immediate budget.
    Flood,
    /// The daily report.
    Daily,
    /// A health-check state change.
    Health,
    /// At shutdown: the messages that could not be sent one by one before the deadline,
    /// folded into one ("+N more alerts: …").
    ShutdownSummary,
    /// After a long Telegram flood wait: how many messages were held or dropped, and why.
    FloodWaitNotice,
}

impl MessageKind {
    /// A short lower-case name (`alert`, `followup`, `digest`, `flood`, `daily`, `health`,
    /// `shutdown-summary`, `flood-wait`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::FollowUp => "followup",
            Self::Digest => "digest",
            Self::Flood => "flood",
            Self::Daily => "daily",
            Self::Health => "health",
            Self::ShutdownSummary => "shutdown-summary",
            Self::FloodWaitNotice => "flood-wait",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for MessageKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One message ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Where it goes.
    pub destination: Destination,
    /// The text (HTML or plain, per `parse_mode`).
    pub text: String,
    /// How `text` is marked up.
    pub parse_mode: ParseMode,
    /// The plain-text twin, sent if Telegram rejects the HTML.
    pub plain_fallback: String,
    /// Deliver silently (Info level).
    pub disable_notification: bool,
    /// What kind of message this is.
    pub kind: MessageKind,
    /// The level it is sent at: at shutdown, Critical goes first, then Warning, then Info.
    pub level: Level,
}

impl fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("destination", &self.destination)
            .field("kind", &self.kind)
            .field("level", &self.level)
            .field("parse_mode", &self.parse_mode)
            .field("len", &self.text.len())
            .field("disable_notification", &self.disable_notification)
            .finish_non_exhaustive()
    }
}

impl OutgoingMessage {
    /// The same message as plain text (used after a markup rejection).
    pub fn as_plain(&self) -> Self {
        Self {
            text: self.plain_fallback.clone(),
            parse_mode: ParseMode::Plain,
            ..self.clone()
        }
    }
}

/// Why a send failed, as far as retrying is concerned. Messages never contain the bot token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// 429: wait `retry_after`, then try again (the worker holds every send meanwhile).
    #[error("rate limited by Telegram, retry after {retry_after:?}")]
    RateLimited {
        /// How long Telegram asked to wait.
        retry_after: Duration,
    },
    /// 400 "can't parse entities": send the plain-text twin instead.
    #[error("Telegram rejected the markup: {0}")]
    MarkupRejected(String),
    /// Network error, timeout or 5xx: retry with backoff.
    #[error("transient delivery failure: {0}")]
    Transient(String),
    /// Chat not found, bot kicked, bad token: retrying will not help.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Something that delivers [`OutgoingMessage`]s (Telegram, or a test double).
#[async_trait]
pub trait Transport: Send + Sync + 'static {
    /// Sends one message, **once**: pacing is the transport's business, retries are the
    /// delivery worker's (a transport that retried on its own would nest its loop in the
    /// worker's).
    async fn send(&self, message: &OutgoingMessage) -> Result<(), DeliveryError>;

    /// How long a message to `destination` would wait now before going out (pacing, a flood
    /// pause). Shutdown uses it to plan what fits before its deadline. Default: zero.
    fn next_send_in(&self, destination: &Destination) -> Duration {
        let _ = destination;
        Duration::ZERO
    }

    /// The spacing the transport keeps between messages to `destination` (3 s for a Telegram
    /// group). Default: zero (no pacing).
    fn send_interval(&self, destination: &Destination) -> Duration {
        let _ = destination;
        Duration::ZERO
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), DeliveryError> {
        (**self).send(message).await
    }

    fn next_send_in(&self, destination: &Destination) -> Duration {
        (**self).next_send_in(destination)
    }

    fn send_interval(&self, destination: &Destination) -> Duration {
        (**self).send_interval(destination)
    }
}

#[derive(Debug, Default)]
struct MemoryInner {
    sent: Vec<OutgoingMessage>,
    attempts: Vec<(tokio::time::Instant, Result<(), DeliveryError>)>,
    script: VecDeque<DeliveryError>,
    down: Option<DeliveryError>,
}

/// A transport that records messages instead of sending them: a dry-run sink, and a test
/// double with scripted failures. Clones share one record.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telemon_alerts::transport::{MemoryTransport, Transport, DeliveryError};
/// let t = MemoryTransport::new();
/// t.fail_next(DeliveryError::Transient("boom".into()));
/// # let msg = telemon_alerts::transport::OutgoingMessage {
/// #   destination: telemon_alerts::Destination::chat(1), text: "hi".into(),
/// #   parse_mode: telemon_alerts::transport::ParseMode::Plain, plain_fallback: "hi".into(),
/// #   disable_notification: false, kind: telemon_alerts::transport::MessageKind::Alert,
/// #   level: telemon_alerts::Level::Critical };
/// assert!(t.send(&msg).await.is_err());
/// assert!(t.send(&msg).await.is_ok());
/// assert_eq!(t.sent().len(), 1);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryTransport {
    inner: Arc<Mutex<MemoryInner>>,
}

impl MemoryTransport {
    /// An empty recorder that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The messages accepted so far, in order.
    pub fn sent(&self) -> Vec<OutgoingMessage> {
        self.lock().sent.clone()
    }

    /// Every attempt (accepted or not) with the tokio instant it was made.
    pub fn attempts(&self) -> Vec<(tokio::time::Instant, Result<(), DeliveryError>)> {
        self.lock().attempts.clone()
    }

    /// The next attempt fails with `error` (queued after earlier scripted failures).
    pub fn fail_next(&self, error: DeliveryError) {
        self.lock().script.push_back(error);
    }

    /// Every attempt fails with `error` until [`MemoryTransport::up`].
    pub fn down(&self, error: DeliveryError) {
        self.lock().down = Some(error);
    }

    /// Ends [`MemoryTransport::down`].
    pub fn up(&self) {
        self.lock().down = None;
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.sent.clear();
        g.attempts.clear();
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), DeliveryError> {
        let mut g = self.lock();
        let outcome = match g.script.pop_front().or_else(|| g.down.clone()) {
            Some(e) => Err(e),
            None => {
                g.sent.push(message.clone());
                Ok(())
            }
        };
        g.attempts
            .push((tokio::time::Instant::now(), outcome.clone()));
        outcome
    }
}
