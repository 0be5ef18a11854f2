//! [`SecretUrl`]: a URL whose `Debug` and `Display` never show its credentials.

use std::fmt;

use super::redact_url;

/// A URL (or comma-separated list of URLs) that may carry a password. `Debug` and `Display`
/// show it through [`redact_url`]; only [`SecretUrl::expose`] gives the real text, for the
/// code that connects.
///
/// ```
/// use sentinel_core::redact::SecretUrl;
///
/// let url = SecretUrl::new("rediss://default:S3cret/Pw#4@cache.example:6380/0");
/// assert_eq!(url.to_string(), "rediss://default:***@cache.example:6380/0");
/// assert!(!format!("{url:?}").contains("S3cret"));
/// assert!(url.expose().contains("S3cret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its credentials, for the client that connects only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_url(&self.0), f)
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}
