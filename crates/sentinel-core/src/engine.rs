//! The engine: [`Sentinel`] checks events in the order blocklist → debounce → rate limit.

pub(crate) mod deny_cache;
mod forget;
mod hook;
mod startup_check;
mod stats;
mod template;
mod thread_counts;
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
use template::{PlanBuf, Template, Templates, with_plan_buf};
use thread_counts::VerdictCount;

use crate::clock::duration_to_micros;
use crate::error::BoxError;
use crate::metrics::EngineMetrics;
use crate::plan::{Plan, PlanOutcome};
use crate::{
    BlockRecord, Clock, ConfigError, Decision, Error, Event, KeyBuilder, KeyKind, Policy,
    PolicyRegistry, Store, StoreError, Subject, SyncStore, SystemClock, Timestamp,
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
    /// Boxed so its policies keep their addresses: `templates` finds a policy's template by
    /// the identity of the policy the registry resolves.
    policies: Box<PolicyRegistry>,
    /// Every policy's key parts, name and escalation reason, computed once at build.
    templates: Templates,
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
        // Decided on this thread when it can be (memory store, no hooks, no fallback): then
        // nothing is held across an await, and this future is no larger than its arguments
        // and one box pointer, cheap to move into whatever polls it. Everything else (a store
        // that waits, hooks, the fallback store) is boxed: one allocation, beside a network
        // round trip or a hook.
        if let Some(result) = self.check_now(event) {
            return result;
        }
        Box::pin(self.check_general(event)).await
    }

    /// [`check`](Self::check) for every engine: the primary store, its fail mode, hooks.
    async fn check_general(&self, event: &Event) -> Result<Verdict, Error> {
        let inner = &self.inner;
        let now = inner.clock.now();
        // A synchronous primary store (memory) still decides on this thread (with hooks to
        // run after); any other store, the fallback store and store errors wait.
        let verdict = match self.decide_now(event, now) {
            Some(Ok(verdict)) => verdict,
            Some(Err(err)) => self.on_store_error(err, event, now).await?,
            None => self.decide_with_fail_mode(event, now).await?,
        };
        self.count(event, &verdict);
        let hooks = match &verdict {
            Verdict::Allowed(_) => &[][..],
            Verdict::Blocked(_) => &inner.on_blocked[..],
            Verdict::Debounced(_) => &inner.on_debounced[..],
            Verdict::Throttled(_) => &inner.on_throttled[..],
        };
        if !hooks.is_empty() {
            self.run_hooks(hooks, event, &verdict).await;
        }
        Ok(verdict)
    }

    /// [`check`](Self::check) without a future, when the engine can decide on this thread:
    /// a synchronous primary store (memory), no fallback store and no hooks. `None` otherwise,
    /// having decided nothing: call `check` then. Same verdicts, counters and metrics as
    /// `check`; for callers that poll many events and want no future per event (the tower
    /// layer calls it first).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use sentinel_core::{Algorithm, Event, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Timestamp};
    /// use sentinel_storage_memory::MemoryStore;
    ///
    /// let clock = ManualClock::new(Timestamp::from_secs(1_000));
    /// let sentinel = Sentinel::builder()
    ///     .store(Arc::new(MemoryStore::new(clock.clone())))
    ///     .clock(clock)
    ///     .policies(PolicyRegistry::single(
    ///         Policy::new().rate_limit(Quota::per_minute(1)?, Algorithm::Gcra, Scope::User),
    ///     )?)
    ///     .build()?;
    /// let event = Event::new().with_user(42);
    /// assert!(sentinel.check_now(&event).expect("memory decides at once")?.is_allowed());
    /// assert!(!sentinel.check_now(&event).expect("memory decides at once")?.is_allowed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`check`](Self::check): [`Error::Store`] only when the store fails and the fail mode
    /// is [`FailMode::Closed`].
    #[inline]
    pub fn check_now(&self, event: &Event) -> Option<Result<Verdict, Error>> {
        let inner = &self.inner;
        if inner.fallback.is_some() || self.has_hooks() {
            return None;
        }
        let sync = inner.store.as_sync()?;
        let now = inner.clock.now();
        let verdict = match self.decide_sync(inner.store.as_ref(), sync, event, now)? {
            Ok(verdict) => verdict,
            // Without a fallback store the fail mode decides at once (open or closed).
            Err(err) => match self.fail_now(err, event).ok()? {
                Ok(verdict) => verdict,
                Err(err) => return Some(Err(err)),
            },
        };
        self.count(event, &verdict);
        Some(Ok(verdict))
    }

    /// Whether any hook is registered (then only the async `check` can run them).
    #[inline]
    fn has_hooks(&self) -> bool {
        let inner = &self.inner;
        !(inner.on_throttled.is_empty()
            && inner.on_debounced.is_empty()
            && inner.on_blocked.is_empty())
    }

    /// Counts `verdict` (counters and metrics).
    #[inline]
    fn count(&self, event: &Event, verdict: &Verdict) {
        let inner = &self.inner;
        inner.counters.verdicts.add(match verdict {
            Verdict::Allowed(_) => VerdictCount::Allowed,
            Verdict::Blocked(_) => VerdictCount::Blocked,
            Verdict::Debounced(_) => VerdictCount::Debounced,
            Verdict::Throttled(_) => VerdictCount::Throttled,
        });
        inner.metrics.verdict(&inner.policies, event, verdict);
    }

    async fn run_hooks(&self, hooks: &[Hook], event: &Event, verdict: &Verdict) {
        for hook in hooks {
            let ctx = HookContext {
                event: event.clone(),
                verdict: verdict.clone(),
            };
            if let Err(msg) = hook.run(ctx).await {
                bump(&self.inner.counters.hook_failures);
                tracing::warn!(verdict = verdict.as_str(), "sentinel {msg}");
            }
        }
    }

    /// The verdict of a synchronous primary store, decided on this thread; `None` when the
    /// primary store is not synchronous or the fallback store is deciding.
    fn decide_now(&self, event: &Event, now: Timestamp) -> Option<Result<Verdict, StoreError>> {
        let inner = &self.inner;
        if inner.fallback.is_some()
            && now.as_micros() < inner.fallback_until.load(Ordering::Acquire)
        {
            return None;
        }
        let sync = inner.store.as_sync()?;
        self.decide_sync(inner.store.as_ref(), sync, event, now)
    }

    async fn decide_with_fail_mode(&self, event: &Event, now: Timestamp) -> Result<Verdict, Error> {
        let inner = &self.inner;
        if let Some(fallback) = &inner.fallback
            && now.as_micros() < inner.fallback_until.load(Ordering::Acquire)
        {
            return self.decide_by_fallback(fallback.as_ref(), event, now).await;
        }
        match self.decide(inner.store.as_ref(), event, now).await {
            Ok(v) => Ok(v),
            Err(err) => self.on_store_error(err, event, now).await,
        }
    }

    /// What the fail mode makes of a primary store's error.
    async fn on_store_error(
        &self,
        err: StoreError,
        event: &Event,
        now: Timestamp,
    ) -> Result<Verdict, Error> {
        match self.fail_now(err, event) {
            Ok(result) => result,
            Err(err) => self.on_fallback(err, event, now).await,
        }
    }

    /// The fallback store decides, after the primary's `err`.
    async fn on_fallback(
        &self,
        err: StoreError,
        event: &Event,
        now: Timestamp,
    ) -> Result<Verdict, Error> {
        let inner = &self.inner;
        let Some(fallback) = &inner.fallback else {
            return Err(Error::Store(err));
        };
        tracing::warn!(error = %err, "sentinel store failed; deciding with the fallback store");
        inner.fallback_until.store(
            now.as_micros().saturating_add(inner.probe_every_us),
            Ordering::Release,
        );
        self.decide_by_fallback(fallback.as_ref(), event, now).await
    }

    /// The fallback store decides; when it fails too, the check fails closed (and is counted
    /// so: every check ends in one of the five outcomes [`Stats::checks`] adds up).
    async fn decide_by_fallback(
        &self,
        fallback: &dyn Store,
        event: &Event,
        now: Timestamp,
    ) -> Result<Verdict, Error> {
        let inner = &self.inner;
        bump(&inner.counters.fallback_used);
        inner.metrics.fallback_used();
        self.decide(fallback, event, now).await.map_err(|err| {
            tracing::warn!(error = %err, "sentinel fallback store failed too; refusing");
            bump(&inner.counters.failed_closed);
            inner.metrics.failed_closed();
            Error::Store(err)
        })
    }

    /// The fail mode's answer to a primary store's error when it needs no store: open or
    /// closed (and a fallback mode without a fallback store, which is closed). `Err(err)` when
    /// the fallback store decides. Counts the error either way.
    fn fail_now(
        &self,
        err: StoreError,
        event: &Event,
    ) -> Result<Result<Verdict, Error>, StoreError> {
        let inner = &self.inner;
        bump(&inner.counters.store_errors);
        match (inner.fail_mode, &inner.fallback) {
            (FailMode::Fallback, Some(_)) => Err(err),
            (FailMode::Closed, _) | (FailMode::Fallback, None) => {
                tracing::warn!(error = %err, "sentinel store failed; refusing (fail closed)");
                bump(&inner.counters.failed_closed);
                inner.metrics.failed_closed();
                Ok(Err(Error::Store(err)))
            }
            (FailMode::Open, _) => {
                tracing::warn!(error = %err, "sentinel store failed; allowing (fail open)");
                bump(&inner.counters.failed_open);
                inner.metrics.failed_open();
                let (name, policy) = inner.policies.resolve_event(event);
                Ok(Ok(Verdict::Allowed(Allowed {
                    policy: inner.templates.get(name, policy).name,
                    decision: None,
                    degraded: true,
                })))
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

    /// Decides `event` with `store`: the plan from the policy's template, the deny cache,
    /// then one store operation.
    async fn decide(
        &self,
        store: &dyn Store,
        event: &Event,
        now: Timestamp,
    ) -> Result<Verdict, StoreError> {
        if let Some(sync) = store.as_sync()
            && let Some(decided) = self.decide_sync(store, sync, event, now)
        {
            return decided;
        }
        let inner = &self.inner;
        let (name, policy) = inner.policies.resolve_event(event);
        let template = inner.templates.get(name, policy);
        // A store that waits (Redis): the plan lives across the await, so it is built afresh
        // (a few small allocations, next to a network round trip). Also a synchronous store
        // on a thread being torn down (its plan buffer is gone).
        let mut buf = PlanBuf::new();
        inner
            .templates
            .fill(&mut buf, &template, policy, event, now, true);
        let plan = &buf.plan;
        let outcome = match self.cached(plan) {
            Some(outcome) => outcome,
            None => {
                let started = inner.metrics.store_timer();
                let result = store.evaluate(plan).await;
                inner
                    .metrics
                    .store_call(started, store, inner.store.as_ref(), &result);
                let outcome = result?;
                self.remember(plan, &outcome);
                outcome
            }
        };
        self.verdict(event, &template, policy, plan.now, outcome)
    }

    /// Decides `event` with a synchronous store: this thread's plan buffer, reused from check
    /// to check, and no future, so an allowed check allocates nothing. `None`, deciding
    /// nothing, only on a thread being torn down (see [`with_plan_buf`]).
    #[inline]
    fn decide_sync(
        &self,
        store: &dyn Store,
        sync: &dyn SyncStore,
        event: &Event,
        now: Timestamp,
    ) -> Option<Result<Verdict, StoreError>> {
        let inner = &self.inner;
        let (name, policy) = inner.policies.resolve_event(event);
        let template = inner.templates.get(name, policy);
        let blocks = sync.may_hold_blocks();
        // The closure returns the store's facts, not the verdict: the verdict (the larger
        // value) is built once, here, rather than moved out through the buffer's borrow.
        let outcome = with_plan_buf(|buf| {
            self.plan_outcome(buf, store, sync, &template, policy, event, now, blocks)
        })?;
        Some(outcome.and_then(|outcome| self.verdict(event, &template, policy, now, outcome)))
    }

    /// The store's facts for `event` under `policy`: the plan filled into `buf`, then the
    /// deny cache, else the synchronous store. Always inlined into its one caller (the plan
    /// buffer's closure), so the facts are written where the verdict is built from them.
    #[expect(
        clippy::too_many_arguments,
        reason = "the check's inputs, passed through to one inlined body"
    )]
    #[inline(always)]
    fn plan_outcome(
        &self,
        buf: &mut PlanBuf,
        store: &dyn Store,
        sync: &dyn SyncStore,
        template: &Template,
        policy: &Policy,
        event: &Event,
        now: Timestamp,
        blocks: bool,
    ) -> Result<PlanOutcome, StoreError> {
        let inner = &self.inner;
        inner
            .templates
            .fill(buf, template, policy, event, now, blocks);
        let plan = &buf.plan;
        if let Some(outcome) = self.cached(plan) {
            return Ok(outcome);
        }
        // Not timed: a synchronous store decides in tens of nanoseconds, less than reading
        // the clock twice would cost (the latency histogram is for stores that wait); its
        // errors are still counted.
        let result = sync.evaluate_sync(plan);
        inner
            .metrics
            .store_error(store, inner.store.as_ref(), &result);
        let outcome = result?;
        self.remember(plan, &outcome);
        Ok(outcome)
    }

    /// The deny cache's answer for `plan`, if it has one.
    #[inline]
    fn cached(&self, plan: &Plan) -> Option<PlanOutcome> {
        let cached = self.inner.deny.get(plan);
        self.inner.metrics.deny_cache(cached.as_ref());
        match cached? {
            Cached::Blocked(record) => Some(PlanOutcome::Blocked { index: 0, record }),
            Cached::Throttled { index, decision } => Some(PlanOutcome::Throttled {
                index,
                decision,
                escalated: None,
            }),
        }
    }

    /// Tells the deny cache what the store decided for `plan`.
    #[inline]
    fn remember(&self, plan: &Plan, outcome: &PlanOutcome) {
        let deny = &self.inner.deny;
        match outcome {
            PlanOutcome::Blocked { index, record } => deny.blocked(plan, *index, record),
            PlanOutcome::Throttled {
                escalated: Some(_), ..
            } => deny.clear(),
            PlanOutcome::Throttled {
                index, decision, ..
            } => deny.throttled(plan, *index, decision),
            PlanOutcome::Allowed { .. } => deny.allowed(plan),
            _ => {}
        }
    }

    /// The verdict for the facts a store returned for the plan of `event` under `policy`.
    ///
    /// # Errors
    /// [`StoreError::Protocol`] when the store names a limit the plan does not have.
    #[inline]
    fn verdict(
        &self,
        event: &Event,
        template: &Template,
        policy: &Policy,
        now: Timestamp,
        outcome: PlanOutcome,
    ) -> Result<Verdict, StoreError> {
        Ok(match outcome {
            PlanOutcome::Blocked { index, record } => {
                let subject = Self::block_subjects(event)
                    .nth(index)
                    .unwrap_or(Subject::Global);
                Verdict::Blocked(Blocked {
                    remaining: record.remaining(now),
                    subject,
                    record,
                })
            }
            PlanOutcome::Debounced => Verdict::Debounced(Debounced {
                policy: template.name,
                fingerprint: event
                    .fingerprint()
                    .copied()
                    .unwrap_or_else(|| crate::Fingerprint::of([])),
                window: policy.debounce_rule().map_or(Duration::ZERO, |d| d.window),
            }),
            PlanOutcome::Allowed { decision } => Verdict::Allowed(Allowed {
                policy: template.name,
                decision,
                degraded: false,
            }),
            PlanOutcome::Throttled {
                index,
                decision,
                escalated,
            } => {
                let Some(limit) = policy.limits().get(index) else {
                    return Err(StoreError::Protocol(format!(
                        "the store refused with limit {index} of a plan with {}",
                        policy.limits().len()
                    )));
                };
                if escalated.is_some() {
                    bump(&self.inner.counters.escalations);
                    if let Some(offender) = Self::offender(event) {
                        tracing::info!(subject = %offender, "sentinel escalation: blocked");
                    }
                }
                Verdict::Throttled(Throttled {
                    policy: template.name,
                    subject: Subject::for_event(limit.scope, event),
                    decision,
                    quota: limit.quota,
                    escalated: escalated.map(Box::new),
                })
            }
        })
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

    /// Every block in force, as (subject, record), in store key order.
    ///
    /// Subjects are decoded from the store keys ([`Subject::decode`]). A key that does not
    /// decode — a block on a custom subject whose name was hashed in its key, or a foreign key
    /// under this prefix — is **left out of the list** and logged at `warn` with its key
    /// (keys hold ids and hashes, never secrets); it never fails the call or panics. Such a
    /// block has no effect on [`check`](Self::check) anyway: checks consult only user and
    /// chat blocks. Unblock it with the subject it was made with.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::{sync::Arc, time::Duration};
    /// use sentinel_core::{ManualClock, Sentinel, Subject, Timestamp};
    /// use sentinel_storage_memory::MemoryStore;
    ///
    /// let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    /// let sentinel = Sentinel::builder()
    ///     .store(Arc::new(MemoryStore::new(clock.clone())))
    ///     .clock(clock)
    ///     .build()?;
    /// sentinel.block(&Subject::User(42), Some(Duration::from_secs(3_600)), "spam", "admin:1").await?;
    /// let blocked = sentinel.list_blocked().await?;
    /// assert_eq!(blocked[0].0, Subject::User(42));
    /// assert_eq!(
    ///     format!("{}: {}", blocked[0].0, blocked[0].1),
    ///     "user 42: blocked by admin:1 at 2023-11-14T22:13:20Z for 1h, until 2023-11-14T23:13:20Z: spam"
    /// );
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Store`] when the store fails.
    pub async fn list_blocked(&self) -> Result<Vec<(Subject, BlockRecord)>, Error> {
        let now = self.inner.clock.now();
        let keys = &self.inner.keys;
        let list = self
            .inner
            .store
            .list_blocked(&keys.block_key_prefix(), now)
            .await?;
        Ok(list
            .into_iter()
            .filter_map(|(key, record)| {
                let subject = keys.subject_of(&key).and_then(Subject::decode);
                if subject.is_none() {
                    tracing::warn!(key = %key, "sentinel list_blocked: skipped a block whose subject does not decode");
                }
                Some((subject?, record))
            })
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
        // Only the policy's own limits: the default's counters stay.
        for (i, rl) in policy.own_limits().iter().enumerate() {
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
        let (name, policy) = self.inner.policies.resolve_event(event);
        let now = self.inner.clock.now();
        let mut decisions = Vec::with_capacity(policy.limits().len());
        for (i, rl) in policy.limits().iter().enumerate() {
            let subject = Subject::for_event(rl.scope, event);
            let (owner, index) = policy.limit_key_parts(i, name);
            let key = self
                .inner
                .keys
                .limit_key(rl.algorithm, &subject, owner, index);
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
        let policies = Box::new(match self.policies {
            Some(p) => p,
            None => PolicyRegistry::builder().build()?,
        });
        let templates = Templates::new(&keys, &policies);
        let metrics = EngineMetrics::new(&policies, self.fallback.is_some());
        Ok(Sentinel {
            inner: Arc::new(Inner {
                store,
                fallback: self.fallback,
                clock: self.clock,
                keys,
                policies,
                templates,
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
