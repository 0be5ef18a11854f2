//! [`Policy`] and [`PolicyRegistry`]: what applies to which handler.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::ConfigError;
use crate::{Algorithm, ChatKind, Escalation, Event, Quota, Scope, SlidingWindowState};

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
    counts_toward_default: bool,
    /// Set by the registry: `limits[from..]` are the default policy's, keyed as the default's.
    default_limits_from: Option<usize>,
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
            counts_toward_default: false,
            default_limits_from: None,
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

    /// Makes events under this named (or per-chat-type) policy count toward the default
    /// policy's limits too: when the registry is built, the default's rate limits are added to
    /// this policy's, **sharing the default's counters**. With `/search` at 3 per minute
    /// counting toward a default of 5 per minute, a user gets at most 3 `/search` and 5
    /// messages in all a minute, instead of 3 + 5.
    ///
    /// Every limit must pass and a refusal consumes none; the `retry_after` reported is the
    /// longest of the refusing limits. The policy's cost applies to the default's limits too.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope};
    /// let registry = PolicyRegistry::builder()
    ///     .default_policy(Policy::new().rate_limit(Quota::per_minute(5)?, Algorithm::SlidingWindow, Scope::User))
    ///     .policy("search", Policy::new()
    ///         .rate_limit(Quota::per_minute(3)?, Algorithm::SlidingWindow, Scope::User)
    ///         .also_counts_toward_default())
    ///     .build()?;
    /// let (_, search) = registry.resolve(Some("search"));
    /// assert_eq!(search.limits().len(), 2);
    /// assert_eq!(search.limit_key_parts(0, "search"), ("search", 0));
    /// assert_eq!(search.limit_key_parts(1, "search"), ("_", 0), "the default's counter");
    /// # Ok::<(), sentinel_core::ConfigError>(())
    /// ```
    #[must_use]
    pub const fn also_counts_toward_default(mut self) -> Self {
        self.counts_toward_default = true;
        self
    }

    /// Whether the policy also counts toward the default
    /// ([`Policy::also_counts_toward_default`]).
    pub const fn counts_toward_default(&self) -> bool {
        self.counts_toward_default
    }

    /// The policy's own rate limits (without those shared with the default).
    pub fn own_limits(&self) -> &[RateLimit] {
        let own = self.default_limits_from.unwrap_or(self.limits.len());
        self.limits.get(..own).unwrap_or(&self.limits)
    }

    /// The policy name and index that key limit `index` of this policy, registered as
    /// `name`: `(name, index)` for its own limits, the default's name (`_`) and index for the
    /// limits it shares with the default.
    pub fn limit_key_parts<'a>(&self, index: usize, name: &'a str) -> (&'a str, usize) {
        match self.default_limits_from {
            Some(from) if index >= from => (DEFAULT_POLICY_KEY, index - from),
            _ => (name, index),
        }
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
    /// Per-chat-type policies, by [`ChatKind::index`].
    chat: [Option<Policy>; 4],
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

    /// The policy for `event` and the name its keys use: the named policy of its handler,
    /// else the policy of its chat type ([`PolicyRegistryBuilder::chat_policy`]), else the
    /// default.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, ChatKind, Event, Policy, PolicyRegistry, Quota, Scope};
    /// let p = |n| Policy::new().rate_limit(Quota::per_minute(n).unwrap(), Algorithm::Gcra, Scope::User);
    /// let registry = PolicyRegistry::builder()
    ///     .default_policy(p(30))
    ///     .policy("search", p(5))
    ///     .chat_policy(ChatKind::Group, p(10))
    ///     .build()?;
    /// let in_group = Event::new().with_chat_kind(ChatKind::Group);
    /// assert_eq!(registry.resolve_event(&in_group).0, "_group");
    /// assert_eq!(registry.resolve_event(&in_group.clone().with_handler("search")).0, "search");
    /// assert_eq!(registry.resolve_event(&Event::new().with_chat_kind(ChatKind::Private)).0, "_");
    /// # Ok::<(), sentinel_core::ConfigError>(())
    /// ```
    pub fn resolve_event(&self, event: &Event) -> (&str, &Policy) {
        if let Some((name, p)) = event.handler().and_then(|h| self.named.get_key_value(h)) {
            return (name.as_str(), p);
        }
        if let Some(kind) = event.chat_kind()
            && let Some(Some(p)) = self.chat.get(kind.index())
        {
            return (kind.policy_name(), p);
        }
        (DEFAULT_POLICY_KEY, &self.default)
    }

    /// The policy registered under `name`, as [`resolve_event`](Self::resolve_event) names
    /// them: `_` for the default, `_private`/`_group`/`_supergroup`/`_channel` for the
    /// per-chat-type policies, else a named policy.
    pub fn by_name(&self, name: &str) -> Option<&Policy> {
        if name == DEFAULT_POLICY_KEY {
            return Some(&self.default);
        }
        if let Some(kind) = ChatKind::ALL.iter().find(|k| k.policy_name() == name) {
            return self.chat_policy(*kind);
        }
        self.named.get(name)
    }

    /// The policy for chats of type `kind`, if one is set.
    pub fn chat_policy(&self, kind: ChatKind) -> Option<&Policy> {
        self.chat.get(kind.index()).and_then(Option::as_ref)
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
    chat: Vec<(ChatKind, Policy)>,
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

    /// The policy for events in chats of type `kind` (see [`Event::with_chat_kind`]) whose
    /// handler has no named policy. Its keys use the name [`ChatKind::policy_name`]; with
    /// [`Policy::also_counts_toward_default`] it also counts toward the default.
    #[must_use]
    pub fn chat_policy(mut self, kind: ChatKind, policy: Policy) -> Self {
        self.chat.push((kind, policy));
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
        if default.counts_toward_default {
            return Err(ConfigError::Invalid(
                "the default policy cannot count toward itself: remove also_counts_toward_default() from it".to_owned(),
            ));
        }
        let compose = |mut policy: Policy| {
            if policy.counts_toward_default && !default.limits.is_empty() {
                policy.default_limits_from = Some(policy.limits.len());
                policy.limits.extend_from_slice(&default.limits);
            }
            policy
        };
        let mut chat: [Option<Policy>; 4] = [None, None, None, None];
        for (kind, policy) in self.chat {
            let policy = compose(policy);
            policy.validate(kind.policy_name())?;
            if let Some(slot) = chat.get_mut(kind.index()) {
                if slot.is_some() {
                    return Err(ConfigError::DuplicatePolicy(kind.policy_name().to_owned()));
                }
                *slot = Some(policy);
            }
        }
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
            let policy = compose(policy);
            policy.validate(&name)?;
            if named.insert(name.clone(), policy).is_some() {
                return Err(ConfigError::DuplicatePolicy(name));
            }
        }
        Ok(PolicyRegistry {
            default,
            named,
            chat,
        })
    }
}
