//! Checking incoming webhook requests, framework-neutral.
//!
//! Telegram sends the `secret_token` given to `setWebhook` in the
//! `X-Telegram-Bot-Api-Secret-Token` header of every webhook request. [`WebhookGuard`]
//! compares it in **constant time** (with `subtle`; the time taken depends only on the length
//! of the expected secret), limits the body size before anything is parsed, and parses the body
//! into the raw update JSON.
//!
//! Answer Telegram `200` for every update you accepted, **including ones your limiter then
//! drops**: any other status makes Telegram redeliver it. [`WebhookError::status`] gives the
//! status to answer a rejected request with.
//!
//! ```
//! use sentinel_telegram::webhook::{WebhookGuard, WebhookError, WebhookSecret};
//!
//! let guard = WebhookGuard::new(WebhookSecret::new("s3cr3t-token_1")?);
//! let body = br#"{"update_id":1,"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"},"text":"hi"}}"#;
//! let update = guard.check(Some(b"s3cr3t-token_1"), body)?;
//! assert_eq!(update["update_id"], 1);
//! assert_eq!(guard.check(Some(b"wrong"), body).unwrap_err(), WebhookError::WrongSecret);
//! assert_eq!(guard.check(None, body).unwrap_err().status(), 401);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(all(feature = "webhook", feature = "teloxide"))]
mod listener;
#[cfg(feature = "webhook")]
mod reply;
#[cfg(feature = "webhook")]
mod service;

use std::fmt;

use serde_json::Value;
use subtle::ConstantTimeEq;

#[cfg(all(feature = "webhook", feature = "teloxide"))]
pub use listener::{WebhookListener, teloxide_listener};
#[cfg(feature = "webhook")]
pub use reply::reply_body;
#[cfg(feature = "webhook")]
pub use service::{GuardedUpdate, WebhookService};

/// The header Telegram puts the webhook secret in.
pub const SECRET_HEADER: &str = "X-Telegram-Bot-Api-Secret-Token";

/// The default body limit: 1 MiB. Updates are a few KiB; this only stops abuse.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

/// Why a webhook request was rejected. Never contains the secret or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `X-Telegram-Bot-Api-Secret-Token` header.
    #[error("missing X-Telegram-Bot-Api-Secret-Token header")]
    MissingSecret,
    /// The header does not match the secret.
    #[error("wrong X-Telegram-Bot-Api-Secret-Token")]
    WrongSecret,
    /// The body is larger than the limit.
    #[error("webhook body of {len} bytes exceeds the limit of {max} bytes")]
    BodyTooLarge {
        /// The body's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The body is not JSON.
    #[error("webhook body is not valid JSON: {reason}")]
    InvalidJson {
        /// serde_json's message (position and kind; no body content).
        reason: String,
    },
    /// The body is JSON but not an object.
    #[error("webhook body is not a JSON object")]
    NotAnObject,
}

impl WebhookError {
    /// The HTTP status to answer with: 401 for a missing or wrong secret, 413 for a body that
    /// is too large, 400 for a body that is not an update.
    pub const fn status(&self) -> u16 {
        match self {
            Self::MissingSecret | Self::WrongSecret => 401,
            Self::BodyTooLarge { .. } => 413,
            Self::InvalidJson { .. } | Self::NotAnObject => 400,
        }
    }
}

/// A webhook secret token: 1–256 characters of `A-Z a-z 0-9 _ -` (Telegram's rule). Its
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

/// A secret that breaks Telegram's rule for `secret_token`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidSecret {
    /// Empty or longer than 256 characters.
    #[error("a webhook secret must be 1 to 256 characters long, not {0}")]
    Length(usize),
    /// A character outside `A-Z a-z 0-9 _ -`.
    #[error("a webhook secret may only contain A-Z, a-z, 0-9, _ and -")]
    Character,
}

impl WebhookSecret {
    /// Validates `secret` against Telegram's rule.
    ///
    /// # Errors
    /// [`InvalidSecret`] when it is empty, longer than 256 characters, or has other characters.
    pub fn new(secret: impl Into<String>) -> Result<Self, InvalidSecret> {
        let secret = secret.into();
        if secret.is_empty() || secret.len() > 256 {
            return Err(InvalidSecret::Length(secret.chars().count()));
        }
        if !secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(InvalidSecret::Character);
        }
        Ok(Self(secret))
    }

    /// The secret, to pass to `setWebhook`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares `candidate` with the secret in constant time (for a given secret length).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let len_eq = (candidate.len() as u64).ct_eq(&(expected.len() as u64));
        let mut bytes_eq = subtle::Choice::from(1);
        for (i, e) in expected.iter().enumerate() {
            let c = candidate.get(i).copied().unwrap_or(0);
            bytes_eq &= c.ct_eq(e);
        }
        (len_eq & bytes_eq).into()
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Checks the secret header and the body size, then parses the body. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WebhookGuard {
    secret: Option<WebhookSecret>,
    max_body: usize,
}

impl WebhookGuard {
    /// A guard requiring `secret`, with the [`DEFAULT_MAX_BODY`] limit.
    pub fn new(secret: WebhookSecret) -> Self {
        Self {
            secret: Some(secret),
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// A guard that checks no secret (only size and JSON). Use only behind something else
    /// that authenticates Telegram.
    pub fn without_secret() -> Self {
        Self {
            secret: None,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Sets the body size limit in bytes.
    #[must_use]
    pub fn max_body(mut self, max: usize) -> Self {
        self.max_body = max;
        self
    }

    /// The body size limit in bytes.
    pub const fn body_limit(&self) -> usize {
        self.max_body
    }

    /// Checks the secret header's value and a body length **before** the body is read (pass a
    /// `Content-Length`, or the length read so far).
    ///
    /// # Errors
    /// [`WebhookError::MissingSecret`], [`WebhookError::WrongSecret`] or
    /// [`WebhookError::BodyTooLarge`].
    pub fn verify(
        &self,
        secret_header: Option<&[u8]>,
        body_len: usize,
    ) -> Result<(), WebhookError> {
        if let Some(secret) = &self.secret {
            check_secret(secret, secret_header)?;
        }
        check_len(body_len, self.max_body)
    }

    /// Parses a body into the raw update JSON (an object), enforcing the size limit.
    ///
    /// # Errors
    /// [`WebhookError::BodyTooLarge`], [`WebhookError::InvalidJson`] or
    /// [`WebhookError::NotAnObject`].
    pub fn parse(&self, body: &[u8]) -> Result<Value, WebhookError> {
        parse(body, self.max_body)
    }

    /// [`verify`](Self::verify) then [`parse`](Self::parse).
    ///
    /// # Errors
    /// As both.
    pub fn check(&self, secret_header: Option<&[u8]>, body: &[u8]) -> Result<Value, WebhookError> {
        self.verify(secret_header, body.len())?;
        self.parse(body)
    }
}

/// Checks a secret header against `secret` and `body_len` against `max_body`.
///
/// # Errors
/// As [`WebhookGuard::verify`].
pub fn verify(
    secret: &WebhookSecret,
    secret_header: Option<&[u8]>,
    body_len: usize,
    max_body: usize,
) -> Result<(), WebhookError> {
    check_secret(secret, secret_header)?;
    check_len(body_len, max_body)
}

/// The secret header is present and matches `secret`.
fn check_secret(secret: &WebhookSecret, secret_header: Option<&[u8]>) -> Result<(), WebhookError> {
    let header = secret_header.ok_or(WebhookError::MissingSecret)?;
    if secret.matches(header) {
        Ok(())
    } else {
        Err(WebhookError::WrongSecret)
    }
}

/// A body of `len` bytes is within `max`.
fn check_len(len: usize, max: usize) -> Result<(), WebhookError> {
    if len > max {
        return Err(WebhookError::BodyTooLarge { len, max });
    }
    Ok(())
}

/// Parses a webhook body into the raw update JSON (an object) if it is at most `max_body`
/// bytes.
///
/// # Errors
/// As [`WebhookGuard::parse`].
pub fn parse(body: &[u8], max_body: usize) -> Result<Value, WebhookError> {
    check_len(body.len(), max_body)?;
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(WebhookError::NotAnObject),
        Err(e) => Err(WebhookError::InvalidJson {
            reason: format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ),
        }),
    }
}
