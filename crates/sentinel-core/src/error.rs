//! Error types: [`Error`], [`ConfigError`], [`StoreError`].

use std::time::Duration;

/// A boxed error, `Send + Sync`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Invalid configuration, caught at construction. Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A quota with limit 0.
    #[error("quota limit must be at least 1")]
    ZeroLimit,
    /// A period outside 1 ms ..= 1 year.
    #[error("quota period must be between 1 ms and one year, got {period:?}")]
    PeriodOutOfRange {
        /// The rejected period.
        period: Duration,
    },
    /// A cost of 0.
    #[error("cost must be at least 1")]
    ZeroCost,
    /// A policy cost larger than its limit: every event would be refused.
    #[error(
        "cost {cost} exceeds the quota limit {limit}: every event would be refused; lower the cost or raise the limit"
    )]
    CostExceedsLimit {
        /// The cost.
        cost: u32,
        /// The limit.
        limit: u32,
    },
    /// A sliding-window limit too large for an exact log.
    #[error("sliding-window limit {limit} is above {max}; use Algorithm::Gcra for high limits")]
    SlidingWindowTooLarge {
        /// The limit.
        limit: u32,
        /// The largest accepted.
        max: u32,
    },
    /// A debounce window outside 1 ms ..= 1 day.
    #[error("debounce window must be between 1 ms and one day, got {window:?}")]
    DebounceWindowOutOfRange {
        /// The rejected window.
        window: Duration,
    },
    /// An escalation rule that cannot work.
    #[error("invalid escalation: {0}")]
    InvalidEscalation(String),
    /// A key prefix with characters that are not allowed.
    #[error("key prefix {0:?} is invalid: use 1-64 characters of [A-Za-z0-9_.-]")]
    InvalidPrefix(String),
    /// A policy name that is not allowed.
    #[error(
        "policy name {0:?} is invalid: use 1-64 characters of [A-Za-z0-9_.-], not starting with '_'"
    )]
    InvalidPolicyName(String),
    /// The same policy name twice.
    #[error("policy {0:?} is defined twice")]
    DuplicatePolicy(String),
    /// A policy that neither limits nor debounces.
    #[error(
        "policy {0:?} has neither a rate limit nor a debounce window; add one or remove the policy"
    )]
    EmptyPolicy(String),
    /// The engine was built without a store.
    #[error("no store configured: call SentinelBuilder::store")]
    MissingStore,
    /// `FailMode::Fallback` without a fallback store.
    #[error("FailMode::Fallback needs a fallback store: call SentinelBuilder::fallback_store")]
    MissingFallbackStore,
    /// Any other invalid value; the message names it.
    #[error("{0}")]
    Invalid(String),
}

/// A storage backend failed. Refusals are not errors; this means the store could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached, or refused the connection.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// The operation did not finish within the configured timeout.
    #[error("store operation timed out after {0:?}")]
    Timeout(Duration),
    /// The backend answered something this crate does not understand.
    #[error("unexpected reply from store: {0}")]
    Protocol(String),
    /// The store is full and cannot admit a new key.
    #[error("store capacity reached ({0} keys)")]
    CapacityReached(usize),
    /// The request itself is invalid (an empty key, a zero TTL); the message says what to
    /// change. Retrying the same request fails the same way.
    #[error("invalid store request: {0}")]
    Invalid(String),
}

impl StoreError {
    /// Whether retrying later may succeed (unavailable, timed out).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Timeout(_))
    }

    /// An [`StoreError::Unavailable`] from any error.
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        Self::Unavailable(e.into())
    }
}

/// Errors from the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid configuration.
    #[error("invalid configuration")]
    Config(#[from] ConfigError),
    /// The store failed and the fail mode is [`FailMode::Closed`](crate::FailMode::Closed):
    /// treat the event as refused.
    #[error("store failed")]
    Store(#[from] StoreError),
}
