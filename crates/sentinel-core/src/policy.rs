//! [`Policy`] and [`PolicyRegistry`]: what applies to which handler.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::ConfigError;
use crate::{Algorithm, Escalation, Quota, Scope, SlidingWindowState};

/// A rate limit: quota, algorithm and scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// How much.
    pub quota: Quota,
    /// How it is counted.
    pub algorithm: Algorithm,
    /// Against whom.
    pub scope: Scope,
}

/// A debounce rule: repeats of the same content within `window` are suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Debounce {
    /// How long a first sighting suppresses repeats.
    pub window: Duration,
    /// Whose repeats count together.
    pub scope: Scope,
}

/// What applies to one handler: rate limit, debounce, cost and escalation.
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::{Algorithm, Policy, Quota, Scope};
///
/// let p = Policy::new()
///     .rate_limit(Quota::per_minute(20)?, Algorithm::SlidingWindow, Scope::User)
///     .debounce(Duration::from_secs(2), Scope::UserInChat);
/// assert_eq!(p.cost(), 1);
/// # Ok::<(), sentinel_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    limits: Vec<RateLimit>,
    debounce: Option<Debounce>,
    cost: u32,
    escalation: Option<Escalation>,
}

impl Default for Policy {
    fn default() -> Self {
        Self::new()
    }
}

impl Policy {
    /// A policy that does nothing yet; add a rate limit and/or a debounce window.
    pub const fn new() -> Self {
        Self {
            limits: Vec::new(),
            debounce: None,
            cost: 1,
            escalation: None,
        }
    }

    /// Limits events by `quota` with `algorithm`, counted per `scope`.
    ///
    /// Call it again to add more limits (a per-user and a per-chat limit, or 20 per minute
    /// and 300 per hour): an event passes only when every limit grants it, and when one
    /// refuses, none is consumed.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, Policy, Quota, Scope};
    /// let p = Policy::new()
    ///     .rate_limit(Quota::per_minute(20)?, Algorithm::SlidingWindow, Scope::User)
    ///     .rate_limit(Quota::per_hour(300)?, Algorithm::FixedWindow, Scope::User);
    /// assert_eq!(p.limits().len(), 2);
    /// # Ok::<(), sentinel_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn rate_limit(mut self, quota: Quota, algorithm: Algorithm, scope: Scope) -> Self {
        self.limits.push(RateLimit {
            quota,
            algorithm,
            scope,
        });
        self
    }

    /// Suppresses repeats of the same content within `window`, per `scope`.
    #[must_use]
    pub const fn debounce(mut self, window: Duration, scope: Scope) -> Self {
        self.debounce = Some(Debounce { window, scope });
        self
    }

    /// Units each event costs (default 1).
    #[must_use]
    pub const fn with_cost(mut self, cost: u32) -> Self {
        self.cost = cost;
        self
    }

    /// Blocks a subject that is throttled too often.
    #[must_use]
    pub const fn escalation(mut self, escalation: Escalation) -> Self {
        self.escalation = Some(escalation);
        self
    }

    /// The first rate limit, if any.
    pub fn limit(&self) -> Option<&RateLimit> {
        self.limits.first()
    }

    /// Every rate limit, in the order they were added.
    pub fn limits(&self) -> &[RateLimit] {
        &self.limits
    }

    /// The debounce rule, if any.
    pub const fn debounce_rule(&self) -> Option<&Debounce> {
        self.debounce.as_ref()
    }

    /// Units each event costs.
    pub const fn cost(&self) -> u32 {
        self.cost
    }

    /// The escalation rule, if any.
    pub const fn escalation_rule(&self) -> Option<&Escalation> {
        self.escalation.as_ref()
    }

    /// Checks the policy; `name` goes into the messages.
    ///
    /// # Errors
    /// A [`ConfigError`] naming what to change.
    pub fn validate(&self, name: &str) -> Result<(), ConfigError> {
        if self.limits.is_empty() && self.debounce.is_none() {
            return Err(ConfigError::EmptyPolicy(name.to_owned()));
        }
        if self.cost == 0 {
            return Err(ConfigError::ZeroCost);
        }
        if self.limits.len() > MAX_LIMITS {
            return Err(ConfigError::Invalid(format!(
                "policy {name:?} has {} rate limits; at most {MAX_LIMITS} are supported",
                self.limits.len()
            )));
        }
        for rl in &self.limits {
            if self.cost > rl.quota.limit() {
                return Err(ConfigError::CostExceedsLimit {
                    cost: self.cost,
                    limit: rl.quota.limit(),
                });
            }
            if rl.algorithm == Algorithm::SlidingWindow
                && rl.quota.limit() > SlidingWindowState::MAX_LIMIT
            {
                return Err(ConfigError::SlidingWindowTooLarge {
                    limit: rl.quota.limit(),
                    max: SlidingWindowState::MAX_LIMIT,
                });
            }
        }
        if self.limits.is_empty() && self.escalation.is_some() {
            return Err(ConfigError::InvalidEscalation(format!(
                "policy {name:?} escalates throttles but has no rate limit"
            )));
        }
        if let Some(d) = &self.debounce
            && !(Duration::from_millis(1)..=Duration::from_secs(86_400)).contains(&d.window)
        {
            return Err(ConfigError::DebounceWindowOutOfRange { window: d.window });
        }
        Ok(())
    }
}

/// The most rate limits one policy may hold.
pub const MAX_LIMITS: usize = 8;

/// The key part used for the default policy. Named policies may not start with `_`.
pub(crate) const DEFAULT_POLICY_KEY: &str = "_";

/// A default policy plus named per-handler policies, validated at build time.
///
/// An event whose handler has a named policy uses it; every other event uses the default, and
/// all of them share the default's counters.
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope};
///
/// let registry = PolicyRegistry::builder()
///     .default_policy(Policy::new().rate_limit(Quota::per_minute(30)?, Algorithm::SlidingWindow, Scope::User))
///     .policy("search", Policy::new().rate_limit(Quota::per_minute(5)?, Algorithm::Gcra, Scope::User))
///     .build()?;
/// assert_eq!(registry.resolve(Some("search")).0, "search");
/// assert_eq!(registry.resolve(Some("help")).0, "_");
/// # Ok::<(), sentinel_core::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PolicyRegistry {
    default: Policy,
    named: HashMap<String, Policy>,
}

impl PolicyRegistry {
    /// Starts a registry.
    pub fn builder() -> PolicyRegistryBuilder {
        PolicyRegistryBuilder::default()
    }

    /// A registry with only a default policy.
    ///
    /// # Errors
    /// As [`Policy::validate`].
    pub fn single(policy: Policy) -> Result<Self, ConfigError> {
        Self::builder().default_policy(policy).build()
    }

    /// The policy for `handler` and the name its keys use (`_` for the default).
    pub fn resolve(&self, handler: Option<&str>) -> (&str, &Policy) {
        match handler.and_then(|h| self.named.get_key_value(h)) {
            Some((name, p)) => (name.as_str(), p),
            None => (DEFAULT_POLICY_KEY, &self.default),
        }
    }

    /// The default policy.
    pub const fn default_policy(&self) -> &Policy {
        &self.default
    }

    /// The named policies.
    pub fn named(&self) -> impl Iterator<Item = (&str, &Policy)> {
        self.named.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Builds a [`PolicyRegistry`].
#[derive(Debug, Default)]
pub struct PolicyRegistryBuilder {
    default: Option<Policy>,
    named: Vec<(String, Policy)>,
}

impl PolicyRegistryBuilder {
    /// The policy for every handler without its own.
    #[must_use]
    pub fn default_policy(mut self, policy: Policy) -> Self {
        self.default = Some(policy);
        self
    }

    /// The policy for events whose handler is `name`.
    #[must_use]
    pub fn policy(mut self, name: impl Into<String>, policy: Policy) -> Self {
        self.named.push((name.into(), policy));
        self
    }

    /// Validates every policy.
    ///
    /// # Errors
    /// A [`ConfigError`] for the first invalid policy or name. Without a default policy the
    /// default is 30 events per minute per user (sliding window).
    pub fn build(self) -> Result<PolicyRegistry, ConfigError> {
        let default = match self.default {
            Some(p) => p,
            None => Policy::new().rate_limit(
                Quota::per_minute(30)?,
                Algorithm::SlidingWindow,
                Scope::User,
            ),
        };
        default.validate("default")?;
        let mut named = HashMap::new();
        for (name, policy) in self.named {
            let valid = !name.is_empty()
                && name.len() <= 64
                && !name.starts_with('_')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if !valid {
                return Err(ConfigError::InvalidPolicyName(name));
            }
            policy.validate(&name)?;
            if named.insert(name.clone(), policy).is_some() {
                return Err(ConfigError::DuplicatePolicy(name));
            }
        }
        Ok(PolicyRegistry { default, named })
    }
}
