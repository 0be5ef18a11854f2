//! [`TelegramTransport`]: `sendMessage` over the Bot API.
//!
//! Errors are classified for the delivery worker: 429 → [`DeliveryError::RateLimited`] with
//! `parameters.retry_after` (or the `Retry-After` header); 400 "can't parse entities" →
//! [`DeliveryError::MarkupRejected`] (the worker re-sends as plain text); other 4xx →
//! [`DeliveryError::Permanent`]; 5xx, timeouts and network errors →
//! [`DeliveryError::Transient`]. The bot token is in the request URL only: it never appears in
//! `Debug`, and network errors are stripped of their URL before they are turned into text.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::{DeliveryError, OutgoingMessage, ParseMode, Transport};

/// The public Bot API.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// Sends through the Telegram Bot API.
///
/// ```no_run
/// use telemon_alerts::transport::TelegramTransport;
/// let t = TelegramTransport::new("123456:ABC-your-token").expect("client");
/// ```
#[derive(Clone)]
pub struct TelegramTransport {
    client: reqwest::Client,
    /// `{api}/bot{token}/sendMessage` — contains the token: never printed.
    endpoint: String,
}

impl fmt::Debug for TelegramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramTransport")
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The transport could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportBuildError {
    /// The HTTP client could not be created (TLS setup).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

#[derive(Deserialize)]
struct ApiReply {
    ok: bool,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ReplyParameters>,
}

#[derive(Deserialize)]
struct ReplyParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

impl TelegramTransport {
    /// A transport for `token` on the public Bot API (10 s timeout per request).
    ///
    /// # Errors
    /// [`TransportBuildError`] when the HTTP client cannot be built.
    pub fn new(token: impl AsRef<str>) -> Result<Self, TransportBuildError> {
        Self::with_api_url(token, DEFAULT_API_URL)
    }

    /// A transport for `token` on another Bot API server (a local server, or a test fake).
    ///
    /// # Errors
    /// [`TransportBuildError`] when the HTTP client cannot be built.
    pub fn with_api_url(
        token: impl AsRef<str>,
        api_url: impl AsRef<str>,
    ) -> Result<Self, TransportBuildError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| TransportBuildError::Client(e.without_url().to_string()))?;
        let base = api_url.as_ref().trim_end_matches('/');
        Ok(Self {
            client,
            endpoint: format!("{base}/bot{}/sendMessage", token.as_ref()),
        })
    }
}

fn body(m: &OutgoingMessage) -> serde_json::Value {
    let mut b = json!({
        "chat_id": m.destination.chat_id,
        "text": m.text,
        "disable_notification": m.disable_notification,
        "link_preview_options": { "is_disabled": true },
    });
    if m.parse_mode == ParseMode::Html {
        b["parse_mode"] = json!("HTML");
    }
    if let Some(t) = m.destination.thread_id {
        b["message_thread_id"] = json!(t);
    }
    b
}

#[async_trait]
impl Transport for TelegramTransport {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), DeliveryError> {
        let res = self
            .client
            .post(&self.endpoint)
            .json(&body(message))
            .send()
            .await
            .map_err(|e| DeliveryError::Transient(e.without_url().to_string()))?;
        let status = res.status().as_u16();
        let header_retry = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = res
            .text()
            .await
            .map_err(|e| DeliveryError::Transient(e.without_url().to_string()))?;
        let reply: Option<ApiReply> = serde_json::from_str(&text).ok();
        if (200..300).contains(&status) && reply.as_ref().is_some_and(|r| r.ok) {
            return Ok(());
        }
        let code = reply.as_ref().and_then(|r| r.error_code).unwrap_or(status);
        let description = reply
            .as_ref()
            .and_then(|r| r.description.clone())
            .unwrap_or_else(|| format!("HTTP {status}"));
        // Telegram's descriptions never contain the token; cap them anyway.
        let description: String = description.chars().take(200).collect();
        Err(match code {
            429 => {
                let secs = reply
                    .as_ref()
                    .and_then(|r| r.parameters.as_ref())
                    .and_then(|p| p.retry_after)
                    .or(header_retry)
                    .unwrap_or(5);
                DeliveryError::RateLimited {
                    retry_after: Duration::from_secs(secs.clamp(1, 3600)),
                }
            }
            400 if description.contains("parse entities")
                || description.contains("can't parse")
                || description.contains("unsupported start tag") =>
            {
                DeliveryError::MarkupRejected(description)
            }
            400..=499 if code != 408 => DeliveryError::Permanent(format!("{code} {description}")),
            _ => DeliveryError::Transient(format!("{code} {description}")),
        })
    }
}
