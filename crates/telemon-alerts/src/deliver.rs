//! The delivery stage: a bounded outbox drained by one task that sends through the
//! [`Transport`], honouring `retry_after` (one shared pause: the task is the only sender),
//! retrying transient failures with jittered exponential backoff up to a delivery deadline,
//! and re-sending as plain text when Telegram rejects the markup.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::{Counters, DropReason, inc};
use crate::transport::{DeliveryError, OutgoingMessage, ParseMode, Transport};

/// Retry policy of the delivery task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First backoff after a transient failure.
    pub initial_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
    /// Give up on a message this long after its first attempt.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            deadline: Duration::from_secs(600),
        }
    }
}

/// What flows to the delivery task.
#[derive(Debug)]
pub(crate) enum Out {
    Message(OutgoingMessage),
    Flush(oneshot::Sender<()>),
}

pub(crate) struct Deliverer {
    pub transport: Arc<dyn Transport>,
    pub counters: Arc<Counters>,
    pub policy: RetryPolicy,
    pub seed: u64,
}

impl Deliverer {
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Out>) {
        while let Some(item) = rx.recv().await {
            match item {
                Out::Message(m) => {
                    // A panicking transport loses this message (counted), not the worker.
                    if AssertUnwindSafe(self.deliver(m))
                        .catch_unwind()
                        .await
                        .is_err()
                    {
                        inc(&self.counters.internal_errors);
                    }
                }
                Out::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    fn jitter(&mut self, d: Duration) -> Duration {
        // xorshift64: deterministic per worker, spreads retries of different workers.
        let mut x = self.seed | 1;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        // 75%..125% of d.
        let pct = 75 + (x % 51);
        Duration::try_from_secs_f64(d.as_secs_f64() * pct as f64 / 100.0).unwrap_or(Duration::MAX)
    }

    async fn deliver(&mut self, mut msg: OutgoingMessage) {
        let started = tokio::time::Instant::now();
        let mut backoff = self.policy.initial_backoff;
        loop {
            let wait = match self.transport.send(&msg).await {
                Ok(()) => {
                    let c = &self.counters;
                    inc(&c.sent);
                    match msg.kind {
                        "alert" => inc(&c.sent_alerts),
                        "followup" => inc(&c.sent_followups),
                        "digest" | "flood" => inc(&c.sent_digests),
                        _ => {}
                    }
                    return;
                }
                // `retry_after` comes from Telegram: the deadline check below never overflows.
                Err(DeliveryError::RateLimited { retry_after }) => retry_after,
                Err(DeliveryError::MarkupRejected(_)) if msg.parse_mode == ParseMode::Html => {
                    inc(&self.counters.plain_fallbacks);
                    msg = msg.as_plain();
                    continue;
                }
                Err(DeliveryError::MarkupRejected(_) | DeliveryError::Permanent(_)) => {
                    self.counters.lose(DropReason::Rejected);
                    return;
                }
                Err(DeliveryError::Transient(_)) => {
                    let wait = self.jitter(backoff);
                    backoff = backoff.saturating_mul(2).min(self.policy.max_backoff);
                    wait
                }
            };
            if started.elapsed().saturating_add(wait) > self.policy.deadline {
                self.counters.lose(DropReason::RetriesExhausted);
                return;
            }
            inc(&self.counters.retried);
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Destination, MemoryTransport};

    fn deliverer(t: &MemoryTransport, policy: RetryPolicy) -> (Deliverer, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        let d = Deliverer {
            transport: Arc::new(t.clone()),
            counters: counters.clone(),
            policy,
            seed: 7,
        };
        (d, counters)
    }

    fn msg() -> OutgoingMessage {
        OutgoingMessage {
            destination: Destination::chat(-1),
            text: "x".into(),
            parse_mode: ParseMode::Html,
            plain_fallback: "x".into(),
            disable_notification: false,
            kind: "alert",
        }
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_retry_after_gives_up_instead_of_panicking() {
        let t = MemoryTransport::new();
        // One transient failure first, so some time has elapsed when the 429 arrives.
        t.fail_next(DeliveryError::Transient("blip".into()));
        t.fail_next(DeliveryError::RateLimited {
            retry_after: Duration::MAX,
        });
        let (mut d, counters) = deliverer(&t, RetryPolicy::default());
        d.deliver(msg()).await;
        let m = counters.snapshot();
        assert_eq!(m.dropped.retries_exhausted, 1);
        assert_eq!(m.internal_errors, 0);
        assert!(t.sent().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn huge_backoffs_give_up_instead_of_panicking() {
        let t = MemoryTransport::new();
        t.fail_next(DeliveryError::Transient("down".into()));
        let policy = RetryPolicy {
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            deadline: Duration::from_secs(600),
        };
        let (mut d, counters) = deliverer(&t, policy);
        d.deliver(msg()).await;
        assert_eq!(counters.snapshot().dropped.retries_exhausted, 1);
        assert!(t.sent().is_empty());
    }
}
