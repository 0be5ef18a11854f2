//! Self-metrics: what the pipeline did with every alert, including every loss by reason.

use std::sync::atomic::{AtomicU64, Ordering};

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

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub reported: AtomicU64,
    pub ignored: AtomicU64,
    pub suppressed: AtomicU64,
    pub folded: AtomicU64,
    pub digested: AtomicU64,
    pub sent: AtomicU64,
    pub sent_alerts: AtomicU64,
    pub sent_followups: AtomicU64,
    pub sent_digests: AtomicU64,
    pub retried: AtomicU64,
    pub plain_fallbacks: AtomicU64,
    pub summarised: AtomicU64,
    /// Alerts the intake worker has taken off its queue (`reported - taken` are waiting).
    pub taken: AtomicU64,
    /// Messages queued for delivery and not yet sent, summarised or counted as lost.
    pub outstanding: AtomicU64,
    pub store_errors: AtomicU64,
    pub internal_errors: AtomicU64,
    pub queue_full: AtomicU64,
    pub outbox_full: AtomicU64,
    pub rejected: AtomicU64,
    pub retries_exhausted: AtomicU64,
    pub shutdown: AtomicU64,
}

pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    /// `n` queued messages were sent, summarised or counted as lost.
    pub(crate) fn resolve(&self, n: u64) {
        let _ = self
            .outstanding
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
    }

    /// Messages queued for delivery and not yet resolved.
    pub(crate) fn outstanding(&self) -> u64 {
        self.outstanding.load(Ordering::Relaxed)
    }

    /// Alerts reported and not yet taken by the intake worker.
    pub(crate) fn unprocessed(&self) -> u64 {
        let reported = self.reported.load(Ordering::Relaxed);
        reported.saturating_sub(self.taken.load(Ordering::Relaxed))
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
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
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
