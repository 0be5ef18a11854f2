//! The engine: [`Sentinel`] checks events in the order blocklist → debounce → rate limit.

pub(crate) mod deny_cache;
mod hook;
mod stats;
mod verdict;

pub use hook::{Hook, HookContext, HookFuture};
pub use stats::Stats;
pub use verdict::{Allowed, Blocked, Debounced, Throttled, Verdict};

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deny_cache::{Cached, DenyCache};
use stats::{Counters, bump};

use crate::clock::duration_to_micros;
use crate::error::BoxError;
use crate::metrics::EngineMetrics;
use crate::plan::{DebounceStep, LimitStep, Plan, PlanOutcome, StrikeStep};
use crate::{
    BlockRecord, Clock, ConfigError, Decision, Error, Event, KeyBuilder, KeyKind, Policy,
    PolicyRegistry, Quota, Scope, Store, StoreError, Subject, SystemClock, Timestamp,
};

/// What a store error means for the event being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailMode {
    /// Let the event through, marked `degraded` (the default: a bot keeps answering when Redis
    /// is down).
    #[default]
    Open,
    /// Refuse: [`Sentinel::check`] returns [`Error::Store`], which callers treat as "no".
    Closed,
    /// Decide with the fallback store until the primary recovers. The primary is tried again
    /// every [`SentinelBuilder::fallback_probe_interval`]. Limits then hold per process, not
    /// across processes.
    Fallback,
}

/// The default [`SentinelBuilder::deny_cache_ttl`]: 1 s.
pub const DEFAULT_DENY_CACHE_TTL: Duration = Duration::from_secs(1);

/// Who `escalation` blocks are attributed to.
pub const ESCALATION_BLOCKER: &str = "sentinel:escalation";

/// The engine. Cheap to clone (an `Arc` inside); share one per process.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use sentinel_core::{Algorithm, Event, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Timestamp};
/// use sentinel_storage_memory::MemoryStore;
///
/// let clock = ManualClock::new(Timestamp::from_secs(1_000));
/// let sentinel = Sentinel::builder()
///     .store(Arc::new(MemoryStore::new(clock.clone())))
///     .clock(clock.clone())
///     .policies(PolicyRegistry::single(
///         Policy::new().rate_limit(Quota::per_minute(2)?, Algorithm::SlidingWindow, Scope::User),
///     )?)
///     .build()?;
///
/// let event = Event::new().with_user(42).with_chat(42);
/// assert!(sentinel.check(&event).await?.is_allowed());
/// assert!(sentinel.check(&event).await?.is_allowed());
/// assert!(!sentinel.check(&event).await?.is_allowed()); // third in a minute
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Sentinel {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    fallback: Option<Arc<dyn Store>>,
    clock: Arc<dyn Clock>,
    keys: KeyBuilder,
    policies: PolicyRegistry,
    fail_mode: FailMode,
    probe_every_us: u64,
    /// While `now < fallback_until`, the fallback store decides.
    fallback_until: AtomicU64,
    on_throttled: Vec<Hook>,
    on_debounced: Vec<Hook>,
    on_blocked: Vec<Hook>,
    counters: Counters,
    deny: DenyCache,
    metrics: EngineMetrics,
}

impl fmt::Debug for Sentinel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sentinel")
            .field("keys", &self.inner.keys)
            .field("policies", &self.inner.policies)
            .field("fail_mode", &self.inner.fail_mode)
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

impl Sentinel {
    /// Starts building an engine.
    pub fn builder() -> SentinelBuilder {
        SentinelBuilder::default()
    }

    /// Checks one event: blocklist, then debounce, then rate limit.
    ///
    /// A debounced duplicate consumes no rate-limit budget; a throttled event counts a strike
    /// when the policy escalates; enough strikes block the user. Hooks run before this returns.
    ///
    /// # Errors
    /// [`Error::Store`] only when the store fails and the fail mode is [`FailMode::Closed`]
    /// (or the fallback store fails too).
    pub async fn check(&self, event: &Event) -> Result<Verdict, Error> {
        let inner = &self.inner;
        bump(&inner.counters.checks);
        let now = inner.clock.now();
        let verdict = self.decide_with_fail_mode(event, now).await?;
        let counter = match &verdict {
            Verdict::Allowed(_) => &inner.counters.allowed,
            Verdict::Blocked(_) => &inner.counters.blocked,
            Verdict::Debounced(_) => &inner.counters.debounced,
            Verdict::Throttled(_) => &inner.counters.throttled,
        };
        bump(counter);
        inner.metrics.verdict(event.handler(), &verdict);
        let hooks = match &verdict {
            Verdict::Allowed(_) => &[][..],
            Verdict::Blocked(_) => &inner.on_blocked[..],
            Verdict::Debounced(_) => &inner.on_debounced[..],
            Verdict::Throttled(_) => &inner.on_throttled[..],
        };
        for hook in hooks {
            let ctx = HookContext {
                event: event.clone(),
                verdict: verdict.clone(),
            };
            if let Err(msg) = hook.run(ctx).await {
                bump(&inner.counters.hook_failures);
                tracing::warn!(verdict = verdict.as_str(), "sentinel {msg}");
            }
        }
        Ok(verdict)
    }

    async fn decide_with_fail_mode(&self, event: &Event, now: Timestamp) -> Result<Verdict, Error> {
        let inner = &self.inner;
        if let Some(fallback) = &inner.fallback
            && now.as_micros() < inner.fallback_until.load(Ordering::Acquire)
        {
            bump(&inner.counters.fallback_used);
            inner.metrics.fallback_used();
            return Ok(self.decide(fallback.as_ref(), event, now).await?);
        }
        let err = match self.decide(inner.store.as_ref(), event, now).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        bump(&inner.counters.store_errors);
        match (inner.fail_mode, &inner.fallback) {
            (FailMode::Fallback, Some(fallback)) => {
                tracing::warn!(error = %err, "sentinel store failed; deciding with the fallback store");
                inner.fallback_until.store(
                    now.as_micros().saturating_add(inner.probe_every_us),
                    Ordering::Release,
                );
                bump(&inner.counters.fallback_used);
                inner.metrics.fallback_used();
                Ok(self.decide(fallback.as_ref(), event, now).await?)
            }
            (FailMode::Closed, _) | (FailMode::Fallback, None) => {
                tracing::warn!(error = %err, "sentinel store failed; refusing (fail closed)");
                bump(&inner.counters.failed_closed);
                inner.metrics.failed_closed();
                Err(Error::Store(err))
            }
            (FailMode::Open, _) => {
                tracing::warn!(error = %err, "sentinel store failed; allowing (fail open)");
                bump(&inner.counters.failed_open);
                inner.metrics.failed_open();
                let (policy, _) = inner.policies.resolve(event.handler());
                Ok(Verdict::Allowed(Allowed {
                    policy: policy.to_owned(),
                    decision: None,
                    degraded: true,
                }))
            }
        }
    }

    /// The subjects whose blocks apply to `event`: its user and its chat.
    fn block_subjects(event: &Event) -> impl Iterator<Item = Subject> {
        let user = event.user().map(Subject::User);
        let chat = event.chat().map(Subject::Chat);
        user.into_iter().chain(chat)
    }

    /// The subject escalation blocks: the user, else the chat.
    fn offender(event: &Event) -> Option<Subject> {
        event
            .user()
            .map(Subject::User)
            .or_else(|| event.chat().map(Subject::Chat))
    }

    /// The plan for `event` under `policy` (named `policy_name`) at `now`.
    fn plan(&self, event: &Event, policy_name: &str, policy: &Policy, now: Timestamp) -> Plan {
        let keys = &self.inner.keys;
        let mut plan = Plan::new(now);
        plan.blocks = Self::block_subjects(event)
            .map(|s| keys.block_key(&s))
            .collect();
        if let (Some(rule), Some(fp)) = (policy.debounce_rule(), event.fingerprint()) {
            let subject = Subject::for_event(rule.scope, event);
            plan.debounce = Some(DebounceStep {
                key: keys.debounce_key(&subject, policy_name, fp),
                window: rule.window,
            });
        }
        let cost = event.cost().unwrap_or(policy.cost()).max(1);
        plan.limits = policy
            .limits()
            .iter()
            .enumerate()
            .map(|(i, rl)| LimitStep {
                key: keys.limit_key(
                    rl.algorithm,
                    &Subject::for_event(rl.scope, event),
                    policy_name,
                    i,
                ),
                algorithm: rl.algorithm,
                quota: rl.quota,
                cost,
            })
            .collect();
        if let (Some(esc), Some(offender)) = (policy.escalation_rule(), Self::offender(event))
            // `Escalation::new` validated these bounds, so this quota is valid.
            && let Ok(quota) = Quota::new(esc.strikes(), esc.within())
        {
            plan.strike = Some(StrikeStep {
                key: keys.key(KeyKind::Strikes, &offender, policy_name),
                quota,
                block_key: keys.block_key(&offender),
                record: BlockRecord::new(
                    format!(
                        "throttled {} times within {:?} on policy {policy_name}",
                        esc.strikes(),
                        esc.within()
                    ),
                    ESCALATION_BLOCKER,
                    now,
                    esc.block_for(),
                ),
            });
        }
        plan
    }

    async fn decide(
        &self,
        store: &dyn Store,
        event: &Event,
        now: Timestamp,
    ) -> Result<Verdict, StoreError> {
        let inner = &self.inner;
        let (policy_name, policy) = inner.policies.resolve(event.handler());
        let plan = self.plan(event, policy_name, policy, now);
        let cached = inner.deny.get(&plan);
        inner.metrics.deny_cache(cached.as_ref());
        let outcome = match cached {
            Some(Cached::Blocked(record)) => PlanOutcome::Blocked { index: 0, record },
            Some(Cached::Throttled { index, decision }) => PlanOutcome::Throttled {
                index,
                decision,
                escalated: None,
            },
            None => {
                let started = inner.metrics.store_timer();
                let result = store.evaluate(&plan).await;
                inner
                    .metrics
                    .store_call(started, store, inner.store.as_ref(), &result);
                let outcome = result?;
                match &outcome {
                    PlanOutcome::Blocked { index, record } => {
                        inner.deny.blocked(&plan, *index, record);
                    }
                    PlanOutcome::Throttled {
                        escalated: Some(_), ..
                    } => inner.deny.clear(),
                    PlanOutcome::Throttled {
                        index, decision, ..
                    } => inner.deny.throttled(&plan, *index, decision),
                    _ => {}
                }
                outcome
            }
        };
        Ok(self.verdict(event, policy_name, policy, &plan, outcome))
    }

    /// The verdict for the facts a store returned for `plan`.
    fn verdict(
        &self,
        event: &Event,
        policy_name: &str,
        policy: &Policy,
        plan: &Plan,
        outcome: PlanOutcome,
    ) -> Verdict {
        match outcome {
            PlanOutcome::Blocked { index, record } => {
                let subject = Self::block_subjects(event)
                    .nth(index)
                    .unwrap_or(Subject::Global);
                Verdict::Blocked(Blocked {
                    remaining: record.remaining(plan.now),
                    subject,
                    record,
                })
            }
            PlanOutcome::Debounced => Verdict::Debounced(Debounced {
                policy: policy_name.to_owned(),
                fingerprint: event
                    .fingerprint()
                    .copied()
                    .unwrap_or_else(|| crate::Fingerprint::of([])),
                window: plan.debounce.as_ref().map_or(Duration::ZERO, |d| d.window),
            }),
            PlanOutcome::Allowed { decision } => Verdict::Allowed(Allowed {
                policy: policy_name.to_owned(),
                decision,
                degraded: false,
            }),
            PlanOutcome::Throttled {
                index,
                decision,
                escalated,
            } => {
                let scope = policy.limits().get(index).map_or(Scope::User, |l| l.scope);
                if escalated.is_some() {
                    bump(&self.inner.counters.escalations);
                    if let Some(offender) = Self::offender(event) {
                        tracing::info!(subject = %offender, "sentinel escalation: blocked");
                    }
                }
                Verdict::Throttled(Throttled {
                    policy: policy_name.to_owned(),
                    subject: Subject::for_event(scope, event),
                    decision,
                    escalated,
                })
            }
        }
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.inner.counters.snapshot()
    }

    /// The key builder (for tools that inspect the store).
    pub fn keys(&self) -> &KeyBuilder {
        &self.inner.keys
    }

    /// The policies.
    pub fn policies(&self) -> &PolicyRegistry {
        &self.inner.policies
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    /// Blocks `subject` for `duration` (`None` = until unblocked). Admin calls go to the primary
    /// store and return its errors as they are.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn block(
        &self,
        subject: &Subject,
        duration: Option<Duration>,
        reason: impl Into<String>,
        blocked_by: impl Into<String>,
    ) -> Result<BlockRecord, Error> {
        let record = BlockRecord::new(reason, blocked_by, self.inner.clock.now(), duration);
        self.inner.deny.clear();
        self.inner
            .store
            .block(&self.inner.keys.block_key(subject), &record)
            .await?;
        Ok(record)
    }

    /// Lifts a block; `true` if there was one.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn unblock(&self, subject: &Subject) -> Result<bool, Error> {
        self.inner.deny.clear();
        Ok(self
            .inner
            .store
            .unblock(&self.inner.keys.block_key(subject))
            .await?)
    }

    /// The block in force on `subject`, if any.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn blocked(&self, subject: &Subject) -> Result<Option<BlockRecord>, Error> {
        let now = self.inner.clock.now();
        Ok(self
            .inner
            .store
            .blocked(&self.inner.keys.block_key(subject), now)
            .await?)
    }

    /// Every block in force, as (encoded subject, record).
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn list_blocked(&self) -> Result<Vec<(String, BlockRecord)>, Error> {
        let now = self.inner.clock.now();
        let keys = &self.inner.keys;
        let list = self
            .inner
            .store
            .list_blocked(&keys.block_key_prefix(), now)
            .await?;
        Ok(list
            .into_iter()
            .map(|(k, r)| (keys.subject_of(&k).unwrap_or(&k).to_owned(), r))
            .collect())
    }

    /// Forgets the rate-limit state (every limit) and strikes of `subject` under the policy
    /// for `handler`.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn reset(&self, subject: &Subject, handler: Option<&str>) -> Result<(), Error> {
        let (name, policy) = self.inner.policies.resolve(handler);
        let keys = &self.inner.keys;
        self.inner.deny.clear();
        for (i, rl) in policy.limits().iter().enumerate() {
            let key = keys.limit_key(rl.algorithm, subject, name, i);
            self.inner.store.reset(&key).await?;
        }
        self.inner
            .store
            .reset(&keys.key(KeyKind::Strikes, subject, name))
            .await?;
        Ok(())
    }

    /// The rate-limit decision `event` would get now, without consuming anything: of its
    /// policy's limits, the one with the fewest units left. `None` when its policy has no
    /// rate limit.
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn peek(&self, event: &Event) -> Result<Option<Decision>, Error> {
        let (name, policy) = self.inner.policies.resolve(event.handler());
        let now = self.inner.clock.now();
        let mut decisions = Vec::with_capacity(policy.limits().len());
        for (i, rl) in policy.limits().iter().enumerate() {
            let subject = Subject::for_event(rl.scope, event);
            let key = self.inner.keys.limit_key(rl.algorithm, &subject, name, i);
            decisions.push(
                self.inner
                    .store
                    .peek(&key, rl.algorithm, &rl.quota, now)
                    .await?,
            );
        }
        Ok(crate::plan::tightest(&decisions))
    }
}

/// Builds a [`Sentinel`]. Only the store is required.
pub struct SentinelBuilder {
    store: Option<Arc<dyn Store>>,
    fallback: Option<Arc<dyn Store>>,
    clock: Arc<dyn Clock>,
    prefix: String,
    policies: Option<PolicyRegistry>,
    fail_mode: FailMode,
    probe_every: Duration,
    deny_cache_ttl: Duration,
    on_throttled: Vec<Hook>,
    on_debounced: Vec<Hook>,
    on_blocked: Vec<Hook>,
}

impl fmt::Debug for SentinelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelBuilder")
            .field("prefix", &self.prefix)
            .field("fail_mode", &self.fail_mode)
            .finish_non_exhaustive()
    }
}

impl Default for SentinelBuilder {
    fn default() -> Self {
        Self {
            store: None,
            fallback: None,
            clock: Arc::new(SystemClock),
            prefix: "sentinel".to_owned(),
            policies: None,
            fail_mode: FailMode::default(),
            probe_every: Duration::from_secs(1),
            deny_cache_ttl: DEFAULT_DENY_CACHE_TTL,
            on_throttled: Vec::new(),
            on_debounced: Vec::new(),
            on_blocked: Vec::new(),
        }
    }
}

impl SentinelBuilder {
    /// The store (required).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The store used while the primary fails under [`FailMode::Fallback`].
    #[must_use]
    pub fn fallback_store(mut self, store: Arc<dyn Store>) -> Self {
        self.fallback = Some(store);
        self
    }

    /// The clock (default [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The key prefix (default `sentinel`).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The policies (default: 30 events per minute per user).
    #[must_use]
    pub fn policies(mut self, policies: PolicyRegistry) -> Self {
        self.policies = Some(policies);
        self
    }

    /// What a store error means (default [`FailMode::Open`]).
    #[must_use]
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.fail_mode = mode;
        self
    }

    /// How long the fallback store decides before the primary is tried again (default 1 s).
    #[must_use]
    pub fn fallback_probe_interval(mut self, every: Duration) -> Self {
        self.probe_every = every;
        self
    }

    /// How long this process may answer a denied subject without the store (default
    /// [`DEFAULT_DENY_CACHE_TTL`], 1 s; zero turns the cache off).
    ///
    /// After a `Blocked` verdict, later updates of the same user (or chat) are answered
    /// locally until the block ends; after a `Throttled` verdict, the same question (same
    /// blocks, limits and cost 1, no debounce, no escalation) until its `retry_after` — each
    /// capped at this TTL, so a block or unblock made by another process reaches this one
    /// within it. Blocks, unblocks and resets through this engine, and escalations, clear the
    /// cache. In one process the verdicts are exactly those without the cache (a property
    /// test checks it); a flood from one subject then costs about one store call per TTL.
    #[must_use]
    pub fn deny_cache_ttl(mut self, ttl: Duration) -> Self {
        self.deny_cache_ttl = ttl;
        self
    }

    /// Runs `f` after every `Throttled` verdict.
    #[must_use]
    pub fn on_throttled<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(HookContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_throttled.push(Hook::new(f));
        self
    }

    /// Runs `f` after every `Debounced` verdict.
    #[must_use]
    pub fn on_debounced<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(HookContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_debounced.push(Hook::new(f));
        self
    }

    /// Runs `f` after every `Blocked` verdict.
    #[must_use]
    pub fn on_blocked<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(HookContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.on_blocked.push(Hook::new(f));
        self
    }

    /// Validates and builds.
    ///
    /// # Errors
    /// [`ConfigError::MissingStore`], [`ConfigError::MissingFallbackStore`],
    /// [`ConfigError::InvalidPrefix`], or a policy error.
    pub fn build(self) -> Result<Sentinel, ConfigError> {
        let store = self.store.ok_or(ConfigError::MissingStore)?;
        if self.fail_mode == FailMode::Fallback && self.fallback.is_none() {
            return Err(ConfigError::MissingFallbackStore);
        }
        if self.probe_every.is_zero() {
            return Err(ConfigError::Invalid(
                "fallback_probe_interval must be positive".into(),
            ));
        }
        let keys = KeyBuilder::new(self.prefix)?;
        let policies = match self.policies {
            Some(p) => p,
            None => PolicyRegistry::builder().build()?,
        };
        let metrics = EngineMetrics::new(&policies, self.fallback.is_some());
        Ok(Sentinel {
            inner: Arc::new(Inner {
                store,
                fallback: self.fallback,
                clock: self.clock,
                keys,
                policies,
                fail_mode: self.fail_mode,
                probe_every_us: duration_to_micros(self.probe_every),
                fallback_until: AtomicU64::new(0),
                on_throttled: self.on_throttled,
                on_debounced: self.on_debounced,
                on_blocked: self.on_blocked,
                counters: Counters::default(),
                deny: DenyCache::new(self.deny_cache_ttl),
                metrics,
            }),
        })
    }
}
