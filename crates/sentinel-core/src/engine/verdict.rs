//! [`Verdict`]: what the engine decided about one event.

use std::time::Duration;

use crate::{BlockRecord, Decision, Fingerprint, PolicyName, Quota, Subject};

/// What [`Sentinel::check`](crate::Sentinel::check) decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Let it through.
    Allowed(Allowed),
    /// The user or chat is on the blocklist.
    Blocked(Blocked),
    /// A repeat of the same content inside the debounce window.
    Debounced(Debounced),
    /// Over the rate limit.
    Throttled(Throttled),
}

impl Verdict {
    /// Whether the event may proceed.
    pub const fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed(_))
    }

    /// A short name: `allowed`, `blocked`, `debounced`, `throttled`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Allowed(_) => "allowed",
            Self::Blocked(_) => "blocked",
            Self::Debounced(_) => "debounced",
            Self::Throttled(_) => "throttled",
        }
    }

    /// When the same event could pass: the throttle's `retry_after`, the block's remaining time,
    /// the debounce window. `None` when it passes now or can never pass by waiting.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Allowed(_) => None,
            Self::Throttled(t) => t.decision.retry_after,
            Self::Blocked(b) => b.remaining,
            Self::Debounced(d) => Some(d.window),
        }
    }
}

/// Details of [`Verdict::Allowed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Allowed {
    /// The name of the policy applied (`_` for the default). Shared with the engine, not
    /// copied per check.
    pub policy: PolicyName,
    /// The rate-limit decision, when the policy has a rate limit and the store answered.
    pub decision: Option<Decision>,
    /// `true` when the store failed and [`FailMode::Open`](crate::FailMode::Open) let it pass.
    pub degraded: bool,
}

/// Details of [`Verdict::Blocked`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Blocked {
    /// The blocked subject (the user or the chat).
    pub subject: Subject,
    /// The record.
    pub record: BlockRecord,
    /// Time left; `None` for a permanent block.
    pub remaining: Option<Duration>,
}

/// Details of [`Verdict::Debounced`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Debounced {
    /// The name of the policy applied.
    pub policy: PolicyName,
    /// The repeated content's fingerprint.
    pub fingerprint: Fingerprint,
    /// The debounce window.
    pub window: Duration,
}

/// Details of [`Verdict::Throttled`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Throttled {
    /// The name of the policy applied.
    pub policy: PolicyName,
    /// The subject whose budget ran out.
    pub subject: Subject,
    /// The refusal, with `retry_after`.
    pub decision: Decision,
    /// The quota that refused (its limit and period: "3 per minute"), so a reply can name it
    /// without resolving the policy again.
    pub quota: Quota,
    /// Set when this throttle was the strike that blocked the user. Boxed: it is rare, and a
    /// smaller verdict is cheaper to hand back on every check.
    pub escalated: Option<Box<BlockRecord>>,
}
