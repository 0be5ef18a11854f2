//! Blocklist records and the escalation rule.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, StoreError};
use crate::{HumanDuration, Timestamp};

/// Why, by whom and until when a subject is blocked.
///
/// Stores persist it with [`BlockRecord::encode`] / [`BlockRecord::decode`] (JSON), so every
/// backend reads what the others wrote.
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::{BlockRecord, Timestamp};
///
/// let now = Timestamp::from_secs(100);
/// let r = BlockRecord::new("spam", "admin:7", now, Some(Duration::from_secs(60)));
/// assert!(r.is_active(now));
/// assert!(!r.is_active(Timestamp::from_secs(160)));
/// assert_eq!(BlockRecord::decode(&r.encode())?, r);
/// # Ok::<(), sentinel_core::StoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// Human-readable reason.
    pub reason: String,
    /// Who or what blocked: an admin, `escalation`, an API caller.
    pub blocked_by: String,
    /// When the block started.
    pub blocked_at: Timestamp,
    /// When it ends; `None` = until unblocked.
    pub expires_at: Option<Timestamp>,
}

impl BlockRecord {
    /// A record starting at `now`, lasting `duration` (`None` = until unblocked).
    pub fn new(
        reason: impl Into<String>,
        blocked_by: impl Into<String>,
        now: Timestamp,
        duration: Option<Duration>,
    ) -> Self {
        Self {
            reason: reason.into(),
            blocked_by: blocked_by.into(),
            blocked_at: now,
            expires_at: duration.map(|d| now.saturating_add(d)),
        }
    }

    /// Whether the block is in force at `now` (it ends at `expires_at`, exclusive).
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|e| now < e)
    }

    /// Time left at `now`; `None` for a permanent block.
    pub fn remaining(&self, now: Timestamp) -> Option<Duration> {
        self.expires_at.map(|e| e.saturating_since(now))
    }

    /// The stored form (JSON).
    pub fn encode(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the stored form.
    ///
    /// # Errors
    /// [`StoreError::Protocol`] when the value is not a record this crate wrote.
    pub fn decode(s: &str) -> Result<Self, StoreError> {
        serde_json::from_str(s)
            .map_err(|e| StoreError::Protocol(format!("malformed blocklist record: {e}")))
    }
}

/// One line for people: the reason, who blocked, when, for how long and until when — dates in
/// RFC 3339 UTC, the length as a [`HumanDuration`]. The reason and blocker are written as
/// given (they come from admins and the engine; escape them before putting them in HTML).
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::{BlockRecord, Timestamp};
///
/// let at = Timestamp::from_secs(1_700_000_000);
/// let r = BlockRecord::new("spam", "admin:7", at, Some(Duration::from_secs(5_400)));
/// assert_eq!(
///     r.to_string(),
///     "blocked by admin:7 at 2023-11-14T22:13:20Z for 1h 30m, until 2023-11-14T23:43:20Z: spam"
/// );
/// let forever = BlockRecord::new("raid", "admin:7", at, None);
/// assert_eq!(forever.to_string(), "blocked by admin:7 at 2023-11-14T22:13:20Z until unblocked: raid");
/// ```
impl fmt::Display for BlockRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blocked by {} at {}", self.blocked_by, self.blocked_at)?;
        match self.expires_at {
            Some(end) => write!(
                f,
                " for {}, until {end}",
                HumanDuration(end.saturating_since(self.blocked_at))
            )?,
            None => f.write_str(" until unblocked")?,
        }
        write!(f, ": {}", self.reason)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.as_micros())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(Timestamp::from_micros)
    }
}

/// "`strikes` throttles within `within` → blocked for `block_for`".
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::Escalation;
/// let e = Escalation::new(3, Duration::from_secs(60), Some(Duration::from_secs(600)))?;
/// assert_eq!(e.strikes(), 3);
/// assert!(Escalation::new(0, Duration::from_secs(60), None).is_err());
/// # Ok::<(), sentinel_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Escalation {
    strikes: u32,
    within: Duration,
    block_for: Option<Duration>,
}

impl Escalation {
    /// The rule. `block_for = None` blocks until an admin unblocks.
    ///
    /// # Errors
    /// [`ConfigError::InvalidEscalation`] when `strikes` is 0, `within` is outside
    /// 1 ms ..= 1 year, or `block_for` is zero.
    pub fn new(
        strikes: u32,
        within: Duration,
        block_for: Option<Duration>,
    ) -> Result<Self, ConfigError> {
        if strikes == 0 {
            return Err(ConfigError::InvalidEscalation(
                "strikes must be at least 1".into(),
            ));
        }
        if strikes > crate::SlidingWindowState::MAX_LIMIT {
            return Err(ConfigError::InvalidEscalation(format!(
                "strikes must be at most {}",
                crate::SlidingWindowState::MAX_LIMIT
            )));
        }
        if !(crate::quota::MIN_PERIOD..=crate::quota::MAX_PERIOD).contains(&within) {
            return Err(ConfigError::InvalidEscalation(format!(
                "`within` must be between 1 ms and one year, got {within:?}"
            )));
        }
        if block_for.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::InvalidEscalation(
                "`block_for` must be positive; use None for a permanent block".into(),
            ));
        }
        Ok(Self {
            strikes,
            within,
            block_for,
        })
    }

    /// Throttles that trigger the block.
    pub const fn strikes(&self) -> u32 {
        self.strikes
    }

    /// The window in which they must happen.
    pub const fn within(&self) -> Duration {
        self.within
    }

    /// How long the block lasts (`None` = until unblocked).
    pub const fn block_for(&self) -> Option<Duration> {
        self.block_for
    }
}
