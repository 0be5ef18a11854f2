//! The engine's metrics, recorded through the [`metrics`](https://docs.rs/metrics) facade when
//! the `metrics` feature is on. The application installs the recorder (a Prometheus exporter,
//! StatsD, ...) **before** building the [`Sentinel`](crate::Sentinel): the engine registers its
//! handles once, at [`build`](crate::SentinelBuilder::build), so an update pays no lookup of
//! a name and no allocation for a label.
//!
//! Without the feature, every recording call is an empty inline function (no code, no
//! state). The names are public either way, for dashboards and tests:
//!
//! ```
//! assert_eq!(sentinel_core::metrics::VERDICTS_TOTAL, "sentinel_verdicts_total");
//! ```
//!
//! Label values are bounded: policy names (`_` for the default policy), verdict kinds, store
//! roles and error kinds. Never a user id, a chat id or a key.

/// Counter: verdicts, by `policy` (its name, `_` for the default) and `verdict` (`allowed`,
/// `blocked`, `debounced`, `throttled`). A degraded `allowed` (fail open) counts here too.
pub const VERDICTS_TOTAL: &str = "sentinel_verdicts_total";
/// Counter: blocks created by escalation, by `policy`.
pub const ESCALATIONS_TOTAL: &str = "sentinel_escalations_total";
/// Histogram: seconds one plan evaluation took in a store that waits (Redis), by `store`
/// (`primary`, `fallback`, only with a fallback store), failed calls included. Deny-cache
/// answers make no store call; a synchronous store (memory) decides in nanoseconds and is not
/// timed (reading the clock would cost more than its decision).
pub const STORE_CALL_DURATION_SECONDS: &str = "sentinel_store_call_duration_seconds";
/// Counter: failed plan evaluations, by `store` (`primary`, `fallback`) and `kind`
/// (`unavailable`, `timeout`, `protocol`, `capacity`, `invalid`).
pub const STORE_ERRORS_TOTAL: &str = "sentinel_store_errors_total";
/// Counter: events the fail mode decided because the store failed, by `mode`: `open` (let
/// through, degraded), `closed` (refused with an error), `fallback` (decided by the fallback
/// store, including while it stands in before the next probe of the primary).
pub const FAIL_MODE_TOTAL: &str = "sentinel_fail_mode_total";
/// Counter: events answered by the process-local deny cache without a store call, by
/// `verdict` (`blocked`, `throttled`).
pub const DENY_CACHE_HITS_TOTAL: &str = "sentinel_deny_cache_hits_total";

#[cfg(feature = "metrics")]
mod imp {
    use std::collections::HashMap;
    use std::time::Instant;

    use metrics::{Counter, Histogram, counter, histogram};

    use super::{
        DENY_CACHE_HITS_TOTAL, ESCALATIONS_TOTAL, FAIL_MODE_TOTAL, STORE_CALL_DURATION_SECONDS,
        STORE_ERRORS_TOTAL, VERDICTS_TOTAL,
    };
    use crate::engine::deny_cache::Cached;
    use crate::policy::DEFAULT_POLICY_KEY;
    use crate::{Event, PolicyRegistry, Store, StoreError, Verdict};

    /// One policy's handles.
    #[derive(Debug)]
    struct PolicyHandles {
        allowed: Counter,
        blocked: Counter,
        debounced: Counter,
        throttled: Counter,
        escalations: Counter,
    }

    impl PolicyHandles {
        fn new(policy: &str) -> Self {
            let verdict = |v: &'static str| counter!(VERDICTS_TOTAL, "policy" => policy.to_owned(), "verdict" => v);
            Self {
                allowed: verdict("allowed"),
                blocked: verdict("blocked"),
                debounced: verdict("debounced"),
                throttled: verdict("throttled"),
                escalations: counter!(ESCALATIONS_TOTAL, "policy" => policy.to_owned()),
            }
        }
    }

    /// One store role's handles (`primary` or `fallback`).
    #[derive(Debug)]
    struct StoreHandles {
        seconds: Histogram,
        unavailable: Counter,
        timeout: Counter,
        protocol: Counter,
        capacity: Counter,
        invalid: Counter,
    }

    impl StoreHandles {
        fn new(role: &'static str) -> Self {
            let error =
                |kind: &'static str| counter!(STORE_ERRORS_TOTAL, "store" => role, "kind" => kind);
            Self {
                seconds: histogram!(STORE_CALL_DURATION_SECONDS, "store" => role),
                unavailable: error("unavailable"),
                timeout: error("timeout"),
                protocol: error("protocol"),
                capacity: error("capacity"),
                invalid: error("invalid"),
            }
        }

        fn error(&self, e: &StoreError) -> &Counter {
            match e {
                StoreError::Unavailable(_) => &self.unavailable,
                StoreError::Timeout(_) => &self.timeout,
                StoreError::Protocol(_) => &self.protocol,
                StoreError::CapacityReached(_) => &self.capacity,
                StoreError::Invalid(_) => &self.invalid,
            }
        }
    }

    /// The engine's handles, registered once at build with the recorder in force then.
    #[derive(Debug)]
    pub(crate) struct EngineMetrics {
        default: PolicyHandles,
        named: HashMap<Box<str>, PolicyHandles>,
        primary: StoreHandles,
        /// Only with a fallback store (no idle `store="fallback"` series otherwise).
        fallback: Option<StoreHandles>,
        fail_open: Counter,
        fail_closed: Counter,
        fail_fallback: Counter,
        cache_blocked: Counter,
        cache_throttled: Counter,
    }

    /// When a store call began.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct StoreTimer(Instant);

    impl EngineMetrics {
        pub(crate) fn new(policies: &PolicyRegistry, with_fallback: bool) -> Self {
            let mode = |m: &'static str| counter!(FAIL_MODE_TOTAL, "mode" => m);
            let hit = |v: &'static str| counter!(DENY_CACHE_HITS_TOTAL, "verdict" => v);
            Self {
                default: PolicyHandles::new(DEFAULT_POLICY_KEY),
                named: policies
                    .named()
                    .chain(crate::ChatKind::ALL.iter().filter_map(|kind| {
                        policies
                            .chat_policy(*kind)
                            .map(|policy| (kind.policy_name(), policy))
                    }))
                    .map(|(name, _)| (Box::from(name), PolicyHandles::new(name)))
                    .collect(),
                primary: StoreHandles::new("primary"),
                fallback: with_fallback.then(|| StoreHandles::new("fallback")),
                fail_open: mode("open"),
                fail_closed: mode("closed"),
                fail_fallback: mode("fallback"),
                cache_blocked: hit("blocked"),
                cache_throttled: hit("throttled"),
            }
        }

        /// The handles of the policy named `name` (the default's without hashing its name).
        #[inline]
        fn by_name(&self, name: &str) -> &PolicyHandles {
            // No named policy (the usual single-policy engine): no name to compare.
            if self.named.is_empty() || name == DEFAULT_POLICY_KEY {
                return &self.default;
            }
            self.named.get(name).unwrap_or(&self.default)
        }

        /// The handles of the policy that applies to `event` (as the registry resolves it:
        /// named, then per chat type, then the default).
        fn policy(&self, policies: &PolicyRegistry, event: &Event) -> &PolicyHandles {
            let (name, _) = policies.resolve_event(event);
            self.by_name(name)
        }

        #[inline]
        pub(crate) fn verdict(&self, policies: &PolicyRegistry, event: &Event, verdict: &Verdict) {
            // The verdict names its policy (as the registry resolved it); only a block does not.
            let p = match verdict {
                Verdict::Allowed(a) => self.by_name(&a.policy),
                Verdict::Debounced(d) => self.by_name(&d.policy),
                Verdict::Throttled(t) => self.by_name(&t.policy),
                _ => self.policy(policies, event),
            };
            match verdict {
                Verdict::Allowed(_) => p.allowed.increment(1),
                Verdict::Blocked(_) => p.blocked.increment(1),
                Verdict::Debounced(_) => p.debounced.increment(1),
                Verdict::Throttled(t) => {
                    p.throttled.increment(1);
                    if t.escalated.is_some() {
                        p.escalations.increment(1);
                    }
                }
            }
        }

        pub(crate) fn store_timer(&self) -> StoreTimer {
            StoreTimer(Instant::now())
        }

        /// The handles of `store`: the primary's or the fallback's.
        fn store_handles(&self, store: &dyn Store, primary: &dyn Store) -> Option<&StoreHandles> {
            if std::ptr::addr_eq(store, primary) {
                Some(&self.primary)
            } else {
                self.fallback.as_ref()
            }
        }

        /// A plan evaluation by `store` ended with `result`.
        pub(crate) fn store_call<T>(
            &self,
            started: StoreTimer,
            store: &dyn Store,
            primary: &dyn Store,
            result: &Result<T, StoreError>,
        ) {
            if let Some(handles) = self.store_handles(store, primary) {
                handles.seconds.record(started.0.elapsed());
            }
            self.store_error(store, primary, result);
        }

        /// A plan evaluation by `store` ended with `result`, not timed (a synchronous store).
        pub(crate) fn store_error<T>(
            &self,
            store: &dyn Store,
            primary: &dyn Store,
            result: &Result<T, StoreError>,
        ) {
            if let Err(e) = result
                && let Some(handles) = self.store_handles(store, primary)
            {
                handles.error(e).increment(1);
            }
        }

        pub(crate) fn deny_cache(&self, cached: Option<&Cached>) {
            match cached {
                Some(Cached::Blocked(_)) => self.cache_blocked.increment(1),
                Some(Cached::Throttled { .. }) => self.cache_throttled.increment(1),
                None => {}
            }
        }

        pub(crate) fn failed_open(&self) {
            self.fail_open.increment(1);
        }

        pub(crate) fn failed_closed(&self) {
            self.fail_closed.increment(1);
        }

        pub(crate) fn fallback_used(&self) {
            self.fail_fallback.increment(1);
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod imp {
    //! The feature is off: zero-sized handles, empty inline calls.

    use crate::engine::deny_cache::Cached;
    use crate::{Event, PolicyRegistry, Store, StoreError, Verdict};

    #[derive(Debug)]
    pub(crate) struct EngineMetrics;

    #[derive(Debug, Clone, Copy)]
    pub(crate) struct StoreTimer;

    impl EngineMetrics {
        #[inline(always)]
        pub(crate) fn new(_: &PolicyRegistry, _: bool) -> Self {
            Self
        }
        #[inline(always)]
        pub(crate) fn verdict(&self, _: &PolicyRegistry, _: &Event, _: &Verdict) {}
        #[inline(always)]
        pub(crate) fn store_timer(&self) -> StoreTimer {
            StoreTimer
        }
        #[inline(always)]
        pub(crate) fn store_call<T>(
            &self,
            _: StoreTimer,
            _: &dyn Store,
            _: &dyn Store,
            _: &Result<T, StoreError>,
        ) {
        }
        #[inline(always)]
        pub(crate) fn store_error<T>(
            &self,
            _: &dyn Store,
            _: &dyn Store,
            _: &Result<T, StoreError>,
        ) {
        }
        #[inline(always)]
        pub(crate) fn deny_cache(&self, _: Option<&Cached>) {}
        #[inline(always)]
        pub(crate) fn failed_open(&self) {}
        #[inline(always)]
        pub(crate) fn failed_closed(&self) {}
        #[inline(always)]
        pub(crate) fn fallback_used(&self) {}
    }
}

pub(crate) use imp::EngineMetrics;
