//! Self-metrics: what the pipeline did with every alert, including every loss by reason.
//!
//! [`Telemon::metrics`](crate::Telemon::metrics) reads them in process. With the `metrics`
//! feature the same counts are also recorded through the [`metrics`](https://docs.rs/metrics)
//! facade under the names below (one count each, so the two views never disagree); the
//! application installs the recorder (exporter) **before** building `Telemon`, which
//! registers its handles once. Without the feature they are plain atomics.
//!
//! ```
//! assert_eq!(telemon_alerts::metrics::ALERTS_DROPPED_TOTAL, "sentinel_alerts_dropped_total");
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counter: alerts accepted by `report` (queued for the pipeline).
pub const ALERTS_REPORTED_TOTAL: &str = "sentinel_alerts_reported_total";
/// Counter: alerts dropped by ignore rules (paths, statuses, error types).
pub const ALERTS_IGNORED_TOTAL: &str = "sentinel_alerts_ignored_total";
/// Counter: repeats inside a cooldown, counted instead of sent.
pub const ALERTS_SUPPRESSED_TOTAL: &str = "sentinel_alerts_suppressed_total";
/// Counter: alerts folded into a flood digest instead of being sent one by one.
pub const ALERTS_FOLDED_TOTAL: &str = "sentinel_alerts_folded_total";
/// Counter: Warning alerts collected into a window digest.
pub const ALERTS_DIGESTED_TOTAL: &str = "sentinel_alerts_digested_total";
/// Counter: messages Telegram accepted, by `kind`: `alert`, `followup`, `digest` (window
/// and flood digests), `other` (daily report, health changes, shutdown summary, flood-wait
/// notice).
pub const ALERTS_SENT_TOTAL: &str = "sentinel_alerts_sent_total";
/// Counter: send attempts repeated after a failure or a 429.
pub const ALERTS_RETRIED_TOTAL: &str = "sentinel_alerts_retried_total";
/// Counter: messages re-sent as plain text after Telegram rejected the HTML.
pub const ALERTS_PLAIN_FALLBACKS_TOTAL: &str = "sentinel_alerts_plain_fallbacks_total";
/// Counter: messages folded into a delivered shutdown summary.
pub const ALERTS_SUMMARISED_TOTAL: &str = "sentinel_alerts_summarised_total";
/// Counter: coordination-store operations that failed (dedup fell back to this process).
pub const ALERTS_STORE_ERRORS_TOTAL: &str = "sentinel_alerts_store_errors_total";
/// Counter: panics caught inside the workers.
pub const ALERTS_INTERNAL_ERRORS_TOTAL: &str = "sentinel_alerts_internal_errors_total";
/// Counter: alerts or messages lost, by `reason`: `queue_full`, `outbox_full`, `rejected`,
/// `retries_exhausted`, `shutdown` (see [`DropReason`]).
pub const ALERTS_DROPPED_TOTAL: &str = "sentinel_alerts_dropped_total";
/// Gauge: alerts reported and not yet taken by the intake worker.
pub const ALERTS_INTAKE_QUEUE_DEPTH: &str = "sentinel_alerts_intake_queue_depth";
/// Gauge: messages queued for delivery and not yet sent, summarised or lost.
pub const ALERTS_DELIVERY_QUEUE_DEPTH: &str = "sentinel_alerts_delivery_queue_depth";
/// Histogram: seconds from the delivery worker taking a message to Telegram accepting it,
/// retries and 429 waits included.
pub const ALERTS_DELIVERY_DURATION_SECONDS: &str = "sentinel_alerts_delivery_duration_seconds";

/// Why an alert or a message was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// `report` found the intake queue full.
    QueueFull,
    /// The outgoing queue was full when a message was ready.
    OutboxFull,
    /// Telegram refused it permanently (chat not found, bot kicked, bad token).
    Rejected,
    /// Retries ran out (delivery deadline passed).
    RetriesExhausted,
    /// Still queued when `shutdown` reached its deadline, or reported after it.
    Shutdown,
}

/// Losses by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dropped {
    /// See [`DropReason::QueueFull`].
    pub queue_full: u64,
    /// See [`DropReason::OutboxFull`].
    pub outbox_full: u64,
    /// See [`DropReason::Rejected`].
    pub rejected: u64,
    /// See [`DropReason::RetriesExhausted`].
    pub retries_exhausted: u64,
    /// See [`DropReason::Shutdown`].
    pub shutdown: u64,
}

impl Dropped {
    /// All losses.
    pub fn total(&self) -> u64 {
        self.queue_full + self.outbox_full + self.rejected + self.retries_exhausted + self.shutdown
    }
}

/// A snapshot of the counters ([`Telemon::metrics`](crate::Telemon::metrics)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Alerts accepted by `report`.
    pub reported: u64,
    /// Alerts dropped by ignore rules (paths, statuses, error types).
    pub ignored: u64,
    /// Repeats inside a cooldown, counted instead of sent.
    pub suppressed: u64,
    /// Alerts folded into a flood digest instead of being sent one by one.
    pub folded: u64,
    /// Warning alerts collected into a window digest.
    pub digested: u64,
    /// Messages Telegram accepted (alerts, follow-ups, digests, reports).
    pub sent: u64,
    /// Of `sent`: immediate alerts.
    pub sent_alerts: u64,
    /// Of `sent`: follow-ups carrying suppressed counts.
    pub sent_followups: u64,
    /// Of `sent`: digests (warning windows and floods).
    pub sent_digests: u64,
    /// Send attempts repeated after a failure or a 429.
    pub retried: u64,
    /// Messages re-sent as plain text after Telegram rejected the HTML.
    pub plain_fallbacks: u64,
    /// Messages that could not be sent one by one before the shutdown deadline and were
    /// folded into a delivered shutdown summary ("+N more alerts: …").
    pub summarised: u64,
    /// Store operations that failed (dedup then falls back to this process).
    pub store_errors: u64,
    /// Panics caught inside the worker (a bug or a panicking transport); the worker went on.
    pub internal_errors: u64,
    /// Losses by reason.
    pub dropped: Dropped,
}

/// One count, kept in process and (feature `metrics`) exported: a counter, and/or a step of
/// a queue-depth gauge.
#[derive(Debug)]
pub(crate) struct Count {
    value: AtomicU64,
    #[cfg(feature = "metrics")]
    counter: Option<metrics::Counter>,
    /// The gauge this count moves, and by how much per unit (`+1` in, `-1` out).
    #[cfg(feature = "metrics")]
    gauge: Option<(metrics::Gauge, f64)>,
}

type Labels = &'static [(&'static str, &'static str)];

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl Count {
    /// In process only.
    fn local() -> Self {
        Self {
            value: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            counter: None,
            #[cfg(feature = "metrics")]
            gauge: None,
        }
    }

    /// Also exported as the counter `name` with fixed `labels` (no allocation per update).
    fn counter(name: &'static str, labels: Labels) -> Self {
        Self {
            #[cfg(feature = "metrics")]
            counter: Some(metrics::counter!(name, labels)),
            ..Self::local()
        }
    }

    /// Also moves the gauge `name` by `step` per unit.
    fn moving(self, name: &'static str, step: f64) -> Self {
        Self {
            #[cfg(feature = "metrics")]
            gauge: Some((metrics::gauge!(name), step)),
            ..self
        }
    }

    fn add(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
        self.export(n);
    }

    #[inline]
    fn export(&self, n: u64) {
        #[cfg(feature = "metrics")]
        {
            if let Some(c) = &self.counter {
                c.increment(n);
            }
            if let Some((g, step)) = &self.gauge {
                #[expect(clippy::cast_precision_loss, reason = "a gauge is an f64")]
                g.increment(step * n as f64);
            }
        }
    }

    fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    /// Sets the in-process value (tests that start from a given state; exports nothing).
    #[cfg(test)]
    pub(crate) fn store(&self, v: u64, order: Ordering) {
        self.value.store(v, order);
    }

    /// The count so far (as `AtomicU64::load`).
    pub(crate) fn load(&self, order: Ordering) -> u64 {
        self.value.load(order)
    }
}

#[derive(Debug)]
pub(crate) struct Counters {
    pub reported: Count,
    pub ignored: Count,
    pub suppressed: Count,
    pub folded: Count,
    pub digested: Count,
    /// Every message sent (in process only: exported as the sum of the four by kind).
    pub sent: Count,
    pub sent_alerts: Count,
    pub sent_followups: Count,
    pub sent_digests: Count,
    /// Of `sent`: every other kind (exported only, as `kind="other"`).
    pub sent_other: Count,
    pub retried: Count,
    pub plain_fallbacks: Count,
    pub summarised: Count,
    /// Alerts the intake worker has taken off its queue (`reported - taken` are waiting).
    pub taken: Count,
    /// Messages queued for delivery and not yet sent, summarised or counted as lost.
    pub outstanding: Count,
    pub store_errors: Count,
    pub internal_errors: Count,
    pub queue_full: Count,
    pub outbox_full: Count,
    pub rejected: Count,
    pub retries_exhausted: Count,
    pub shutdown: Count,
    #[cfg(feature = "metrics")]
    delivery_seconds: metrics::Histogram,
}

impl Default for Counters {
    /// Registers every series (feature `metrics`) in the recorder in force now.
    fn default() -> Self {
        let dropped = |labels: Labels| Count::counter(ALERTS_DROPPED_TOTAL, labels);
        Self {
            reported: Count::counter(ALERTS_REPORTED_TOTAL, &[])
                .moving(ALERTS_INTAKE_QUEUE_DEPTH, 1.0),
            ignored: Count::counter(ALERTS_IGNORED_TOTAL, &[]),
            suppressed: Count::counter(ALERTS_SUPPRESSED_TOTAL, &[]),
            folded: Count::counter(ALERTS_FOLDED_TOTAL, &[]),
            digested: Count::counter(ALERTS_DIGESTED_TOTAL, &[]),
            sent: Count::local(),
            sent_alerts: Count::counter(ALERTS_SENT_TOTAL, &[("kind", "alert")]),
            sent_followups: Count::counter(ALERTS_SENT_TOTAL, &[("kind", "followup")]),
            sent_digests: Count::counter(ALERTS_SENT_TOTAL, &[("kind", "digest")]),
            sent_other: Count::counter(ALERTS_SENT_TOTAL, &[("kind", "other")]),
            retried: Count::counter(ALERTS_RETRIED_TOTAL, &[]),
            plain_fallbacks: Count::counter(ALERTS_PLAIN_FALLBACKS_TOTAL, &[]),
            summarised: Count::counter(ALERTS_SUMMARISED_TOTAL, &[]),
            taken: Count::local().moving(ALERTS_INTAKE_QUEUE_DEPTH, -1.0),
            outstanding: Count::local().moving(ALERTS_DELIVERY_QUEUE_DEPTH, 1.0),
            store_errors: Count::counter(ALERTS_STORE_ERRORS_TOTAL, &[]),
            internal_errors: Count::counter(ALERTS_INTERNAL_ERRORS_TOTAL, &[]),
            queue_full: dropped(&[("reason", "queue_full")]),
            outbox_full: dropped(&[("reason", "outbox_full")]),
            rejected: dropped(&[("reason", "rejected")]),
            retries_exhausted: dropped(&[("reason", "retries_exhausted")]),
            shutdown: dropped(&[("reason", "shutdown")]),
            #[cfg(feature = "metrics")]
            delivery_seconds: metrics::histogram!(ALERTS_DELIVERY_DURATION_SECONDS),
        }
    }
}

pub(crate) fn inc(c: &Count) {
    c.add(1);
}

pub(crate) fn add(c: &Count, n: u64) {
    c.add(n);
}

impl Counters {
    /// `n` queued messages were sent, summarised or counted as lost.
    pub(crate) fn resolve(&self, n: u64) {
        let before = self
            .outstanding
            .value
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            })
            .unwrap_or_else(|v| v);
        #[cfg(feature = "metrics")]
        if let Some((g, _)) = &self.outstanding.gauge {
            #[expect(clippy::cast_precision_loss, reason = "a gauge is an f64")]
            g.decrement(before.min(n) as f64);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = before;
    }

    /// A message reached Telegram `took` after the delivery worker took it.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    #[inline]
    pub(crate) fn delivered(&self, took: Duration) {
        #[cfg(feature = "metrics")]
        self.delivery_seconds.record(took);
    }

    /// Messages queued for delivery and not yet resolved.
    pub(crate) fn outstanding(&self) -> u64 {
        self.outstanding.get()
    }

    /// Alerts reported and not yet taken by the intake worker.
    pub(crate) fn unprocessed(&self) -> u64 {
        self.reported.get().saturating_sub(self.taken.get())
    }

    /// Losses so far, for any reason but shutdown.
    pub(crate) fn losses(&self) -> u64 {
        let d = self.snapshot().dropped;
        d.total() - d.shutdown
    }

    pub(crate) fn lose(&self, reason: DropReason) {
        self.drop_n(reason, 1);
    }

    pub(crate) fn drop_n(&self, reason: DropReason, n: u64) {
        let c = match reason {
            DropReason::QueueFull => &self.queue_full,
            DropReason::OutboxFull => &self.outbox_full,
            DropReason::Rejected => &self.rejected,
            DropReason::RetriesExhausted => &self.retries_exhausted,
            DropReason::Shutdown => &self.shutdown,
        };
        add(c, n);
    }

    pub(crate) fn snapshot(&self) -> Metrics {
        let g = Count::get;
        Metrics {
            reported: g(&self.reported),
            ignored: g(&self.ignored),
            suppressed: g(&self.suppressed),
            folded: g(&self.folded),
            digested: g(&self.digested),
            sent: g(&self.sent),
            sent_alerts: g(&self.sent_alerts),
            sent_followups: g(&self.sent_followups),
            sent_digests: g(&self.sent_digests),
            retried: g(&self.retried),
            plain_fallbacks: g(&self.plain_fallbacks),
            summarised: g(&self.summarised),
            store_errors: g(&self.store_errors),
            internal_errors: g(&self.internal_errors),
            dropped: Dropped {
                queue_full: g(&self.queue_full),
                outbox_full: g(&self.outbox_full),
                rejected: g(&self.rejected),
                retries_exhausted: g(&self.retries_exhausted),
                shutdown: g(&self.shutdown),
            },
        }
    }
}
