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
        d.mul_f64(pct as f64 / 100.0)
    }

    async fn deliver(&mut self, mut msg: OutgoingMessage) {
        let started = tokio::time::Instant::now();
        let mut backoff = self.policy.initial_backoff;
        loop {
            match self.transport.send(&msg).await {
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
                Err(DeliveryError::RateLimited { retry_after }) => {
                    if started.elapsed() + retry_after > self.policy.deadline {
                        self.counters.lose(DropReason::RetriesExhausted);
                        return;
                    }
                    inc(&self.counters.retried);
                    tokio::time::sleep(retry_after).await;
                }
                Err(DeliveryError::MarkupRejected(_)) if msg.parse_mode == ParseMode::Html => {
                    inc(&self.counters.plain_fallbacks);
                    msg = msg.as_plain();
                }
                Err(DeliveryError::MarkupRejected(_) | DeliveryError::Permanent(_)) => {
                    self.counters.lose(DropReason::Rejected);
                    return;
                }
                Err(DeliveryError::Transient(_)) => {
                    let wait = self.jitter(backoff);
                    if started.elapsed() + wait > self.policy.deadline {
                        self.counters.lose(DropReason::RetriesExhausted);
                        return;
                    }
                    inc(&self.counters.retried);
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(self.policy.max_backoff);
                }
            }
        }
    }
}
