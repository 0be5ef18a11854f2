//! [`TelegramTransport`]: delivery through [`sentinel_telegram::sender::BotApi`].
//!
//! `BotApi` paces sends (30/s per bot, 1/s per chat, 20/min per group) and pauses every send of
//! the bot on a 429. It runs **without its own retries** here ([`BotApiBuilder::retries`]
//! off): each [`Transport::send`] is one HTTP request, and the delivery worker owns retries and
//! backoff. Failures are classified once, by the sender's [`SendError::class`], and only
//! mapped to [`DeliveryError`]: 429 → [`DeliveryError::RateLimited`], 5xx/408/network/timeouts
//! → [`DeliveryError::Transient`], 400 "can't parse entities" →
//! [`DeliveryError::MarkupRejected`], the rest → [`DeliveryError::Permanent`]. The token never
//! appears in `Debug` or in any error text (`BotApi` strips URLs and scrubs the token).
//!
//! [`BotApiBuilder::retries`]: sentinel_telegram::sender::BotApiBuilder::retries

use std::fmt;

use std::time::Duration;

use async_trait::async_trait;
use sentinel_telegram::sender::{BotApi, BotToken, ErrorClass, Recipient, SendError, SendMessage};

use super::{DeliveryError, Destination, OutgoingMessage, ParseMode, Transport};

/// The public Bot API.
pub const DEFAULT_API_URL: &str = sentinel_telegram::sender::DEFAULT_API_URL;

/// Sends through the Telegram Bot API with a paced [`BotApi`].
///
/// ```no_run
/// use telemon_alerts::transport::TelegramTransport;
/// let t = TelegramTransport::from_token("123456:ABC-your-token").expect("valid token");
/// ```
#[derive(Clone)]
pub struct TelegramTransport {
    api: BotApi,
}

impl fmt::Debug for TelegramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramTransport")
            .field("api", &self.api)
            .finish()
    }
}

/// The transport could not be built. Never contains the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportBuildError {
    /// The token is not of the form `<bot id>:<secret>`.
    #[error("the bot token is malformed (expected <bot id>:<secret> from @BotFather)")]
    InvalidToken,
    /// The Bot API client could not be built (bad API URL, TLS setup).
    #[error("cannot build the Bot API client: {0}")]
    Client(String),
}

impl TelegramTransport {
    /// A transport over an existing (shared) [`BotApi`]. Build it with
    /// [`retries(false)`](sentinel_telegram::sender::BotApiBuilder::retries): the delivery
    /// worker retries, and a retrying `BotApi` would nest its loop inside the worker's.
    pub fn new(api: BotApi) -> Self {
        Self { api }
    }

    /// A transport for `token` on the public Bot API.
    ///
    /// # Errors
    /// [`TransportBuildError`] for a malformed token or when the client cannot be built.
    pub fn from_token(token: impl Into<String>) -> Result<Self, TransportBuildError> {
        Self::with_api_url(token, DEFAULT_API_URL)
    }

    /// A transport for `token` on another Bot API server (a local server, or a test fake).
    ///
    /// # Errors
    /// [`TransportBuildError`] for a malformed token or URL, or when the client cannot be built.
    pub fn with_api_url(
        token: impl Into<String>,
        api_url: impl AsRef<str>,
    ) -> Result<Self, TransportBuildError> {
        let token = BotToken::new(token).map_err(|_| TransportBuildError::InvalidToken)?;
        let api = BotApi::builder()
            .token(token)
            .api_url(api_url)
            .retries(false)
            .build()
            .map_err(|e| TransportBuildError::Client(e.to_string()))?;
        Ok(Self { api })
    }

    /// The underlying client.
    pub fn bot_api(&self) -> &BotApi {
        &self.api
    }
}

impl From<BotApi> for TelegramTransport {
    fn from(api: BotApi) -> Self {
        Self::new(api)
    }
}

/// Maps the sender's classification ([`SendError::class`], the only one) to what the delivery
/// worker does next. No status code is looked at here.
pub(crate) fn classify(e: SendError) -> DeliveryError {
    match e.class() {
        ErrorClass::RetryAfter(retry_after) => DeliveryError::RateLimited { retry_after },
        ErrorClass::Transient => DeliveryError::Transient(e.to_string()),
        ErrorClass::MarkupRejected => DeliveryError::MarkupRejected(e.to_string()),
        _ => DeliveryError::Permanent(e.to_string()),
    }
}

fn recipient(d: &Destination) -> Recipient {
    Recipient::Id(d.chat_id)
}

#[async_trait]
impl Transport for TelegramTransport {
    async fn send(&self, m: &OutgoingMessage) -> Result<(), DeliveryError> {
        let mut msg = SendMessage::new(m.destination.chat_id, m.text.clone()).no_link_preview();
        if m.parse_mode == ParseMode::Html {
            msg = msg.html();
        }
        if let Some(t) = m.destination.thread_id {
            msg = msg.thread(i64::from(t));
        }
        if m.disable_notification {
            msg = msg.silent();
        }
        self.api
            .send_message(&msg)
            .await
            .map(|_| ())
            .map_err(classify)
    }

    fn next_send_in(&self, destination: &Destination) -> Duration {
        self.api.next_send_in(&recipient(destination))
    }

    fn send_interval(&self, destination: &Destination) -> Duration {
        self.api.send_interval(&recipient(destination))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let api = |code: u16, d: &str| SendError::Api {
            code,
            description: d.to_owned(),
        };
        assert!(matches!(
            classify(api(400, "Bad Request: can't parse entities: x")),
            DeliveryError::MarkupRejected(_)
        ));
        assert!(matches!(
            classify(api(403, "Forbidden: bot was kicked")),
            DeliveryError::Permanent(_)
        ));
        assert!(matches!(
            classify(api(502, "Bad Gateway")),
            DeliveryError::Transient(_)
        ));
        assert!(matches!(
            classify(api(408, "Request Timeout")),
            DeliveryError::Transient(_)
        ));
        assert_eq!(
            classify(SendError::TooManyRequests {
                retry_after: Duration::from_secs(90)
            }),
            DeliveryError::RateLimited {
                retry_after: Duration::from_secs(90)
            }
        );
        assert!(matches!(
            classify(SendError::Timeout),
            DeliveryError::Transient(_)
        ));
        assert!(matches!(
            classify(SendError::EmptyText),
            DeliveryError::Permanent(_)
        ));
    }
}
