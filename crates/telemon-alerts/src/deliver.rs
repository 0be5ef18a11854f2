//! The delivery stage: a bounded outbox drained by one task — **the** retry owner. Each
//! [`Transport::send`] is one attempt (the Bot API sender runs without its own retries); the
//! worker retries transient failures with jittered exponential backoff
//! ([`Backoff`], the workspace's one jitter helper) up to [`RetryPolicy::max_attempts`] and
//! [`RetryPolicy::deadline`], honours 429 `retry_after` (one shared pause: the task is the only
//! sender), and re-sends as plain text when Telegram rejects the markup.
//!
//! * **Long flood waits** (a 429 asking for [`LONG_FLOOD_WAIT`] or more): the message is held,
//!   not dropped; what arrives meanwhile waits in the bounded outbox (overflow is dropped and
//!   counted). When the wait is over, one [`MessageKind::FloodWaitNotice`] goes first, saying
//!   how long Telegram held delivery, how many messages were held and how many alerts were
//!   dropped meanwhile.
//! * **Shutdown**: the worker collects what is queued, sends it **Critical first, then Warning,
//!   then Info**, per chat within that chat's pacing, and folds what cannot be sent one by one
//!   before the deadline into **one summary per chat** ("+N more alerts: …", listing each
//!   folded message's headline, Criticals first). So no Critical is dropped while a digest or
//!   an Info message goes out.
//!
//! Every message reaches the transport through one function, `Deliverer::hand_over`. Its text
//! has had the scrubber's last pass already (in `Pipeline::enqueue`, once per message rather
//! than once per attempt); summaries and notices are built only from those texts' headlines,
//! counts and durations.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use sentinel_telegram::sender::{Backoff, MAX_RETRY_AFTER};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::alert::Level;
use crate::format::{Doc, human_duration};
use crate::metrics::{Counters, DropReason, add, inc};
use crate::transport::{
    DeliveryError, Destination, MessageKind, OutgoingMessage, ParseMode, Transport,
};

/// Retry policy of the delivery task.
///
/// ```
/// use std::time::Duration;
/// use telemon_alerts::RetryPolicy;
/// let policy = RetryPolicy {
///     max_attempts: 5,
///     deadline: Duration::from_secs(120),
///     ..RetryPolicy::default()
/// };
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First backoff after a transient failure (then doubling, jittered into its upper half).
    pub initial_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
    /// Give up on a message this long after its first attempt (a retry that would start later
    /// is not made). Waits Telegram asks for with a 429 do not count: the message is held.
    pub deadline: Duration,
    /// Give up after this many failed attempts (transient failures; 429s do not count). The
    /// number of requests made for a message that keeps failing is exactly this, unless the
    /// deadline comes first. Default: `u32::MAX` (only the deadline limits).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            deadline: Duration::from_secs(600),
            max_attempts: u32::MAX,
        }
    }
}

/// A 429 asking to wait at least this long is a long flood wait: when it is over, one notice
/// reports how many messages were held and how many alerts were dropped meanwhile.
pub const LONG_FLOOD_WAIT: Duration = Duration::from_secs(60);

/// Time kept free before a shutdown deadline for the last request's round trip (at most a
/// fifth of the time left).
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(1);

/// Headlines listed in a shutdown summary before "… and N more".
const SUMMARY_ROWS: usize = 20;

/// Longest headline in a shutdown summary, in characters.
const HEADLINE_CHARS: usize = 150;

/// Room for a summary or notice (Telegram allows 4096).
const NOTICE_MAX_CHARS: usize = 4000;

/// What flows to the delivery task.
#[derive(Debug)]
pub(crate) enum Out {
    Message(OutgoingMessage),
    Flush(oneshot::Sender<()>),
    /// The intake worker's last word at shutdown: everything it had is queued before this.
    Shutdown(oneshot::Sender<()>),
}

/// A long flood wait under way, until its notice is sent.
#[derive(Debug, Clone, Copy)]
struct FloodWait {
    /// Every 429 wait since it began, added up.
    held_for: Duration,
    destination: Destination,
    drops_before: u64,
}

/// What one attempt came to.
enum Step {
    Sent,
    /// Markup rejected: the plain twin is ready, try again now.
    Again,
    Lost(DropReason),
    RateLimited(Duration),
    Transient,
}

pub(crate) struct Deliverer {
    pub transport: Arc<dyn Transport>,
    pub counters: Arc<Counters>,
    pub policy: RetryPolicy,
    /// The shutdown deadline, once `Telemon::shutdown` is called.
    pub stop: watch::Receiver<Option<Instant>>,
    /// End of the 429 pause the worker is honouring.
    paused_until: Option<Instant>,
    flood: Option<FloodWait>,
}

/// Resolves with the shutdown deadline once one is set; never if the handle is gone.
async fn stopped(stop: &mut watch::Receiver<Option<Instant>>) -> Instant {
    loop {
        if let Some(deadline) = *stop.borrow_and_update() {
            return deadline;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Messages the worker makes itself (not queued by the pipeline, so not outstanding).
fn own(m: &OutgoingMessage) -> bool {
    matches!(
        m.kind,
        MessageKind::ShutdownSummary | MessageKind::FloodWaitNotice
    )
}

/// `d` from now, saturating instead of overflowing the `Instant`.
fn later(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365))
}

impl Deliverer {
    pub(crate) fn new(
        transport: Arc<dyn Transport>,
        counters: Arc<Counters>,
        policy: RetryPolicy,
        stop: watch::Receiver<Option<Instant>>,
    ) -> Self {
        Self {
            transport,
            counters,
            policy,
            stop,
            paused_until: None,
            flood: None,
        }
    }

    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Out>) {
        let mut held = Vec::new();
        loop {
            let item = tokio::select! {
                biased;
                _ = stopped(&mut self.stop) => break,
                item = rx.recv() => item,
            };
            match item {
                None => return,
                Some(Out::Message(m)) => {
                    let counted = !own(&m);
                    // A panicking transport loses this message (counted), not the worker.
                    match AssertUnwindSafe(self.deliver(m)).catch_unwind().await {
                        Ok(rest) if rest.is_empty() => {}
                        Ok(rest) => {
                            // Shutdown began during a wait: these join the shutdown plan.
                            held = rest;
                            break;
                        }
                        Err(_) => {
                            inc(&self.counters.internal_errors);
                            if counted {
                                self.counters.resolve(1);
                            }
                        }
                    }
                }
                Some(Out::Flush(done) | Out::Shutdown(done)) => {
                    let _ = done.send(());
                }
            }
        }
        let counters = self.counters.clone();
        if AssertUnwindSafe(self.shutdown(rx, held))
            .catch_unwind()
            .await
            .is_err()
        {
            inc(&counters.internal_errors);
        }
    }

    /// **The** point where rendered messages are handed to the transport: every alert,
    /// follow-up, digest, summary and notice passes here, once per attempt.
    async fn hand_over(&self, msg: &OutgoingMessage) -> Result<(), DeliveryError> {
        self.transport.send(msg).await
    }

    /// One attempt, its success counted and the plain-text fallback prepared.
    async fn attempt(&self, msg: &mut OutgoingMessage) -> Step {
        match self.hand_over(msg).await {
            Ok(()) => {
                let c = &self.counters;
                inc(&c.sent);
                match msg.kind {
                    MessageKind::Alert => inc(&c.sent_alerts),
                    MessageKind::FollowUp => inc(&c.sent_followups),
                    MessageKind::Digest | MessageKind::Flood => inc(&c.sent_digests),
                    _ => inc(&c.sent_other),
                }
                if !own(msg) {
                    c.resolve(1);
                }
                Step::Sent
            }
            Err(DeliveryError::RateLimited { retry_after }) => {
                Step::RateLimited(retry_after.min(MAX_RETRY_AFTER))
            }
            Err(DeliveryError::MarkupRejected(_)) if msg.parse_mode == ParseMode::Html => {
                inc(&self.counters.plain_fallbacks);
                *msg = msg.as_plain();
                Step::Again
            }
            Err(DeliveryError::MarkupRejected(_) | DeliveryError::Permanent(_)) => {
                Step::Lost(DropReason::Rejected)
            }
            Err(DeliveryError::Transient(_)) => Step::Transient,
        }
    }

    /// Counts a queued message as lost. The worker's own notices and summaries are not alert
    /// messages: losing one is logged, not counted as a dropped alert.
    fn lose(&self, msg: &OutgoingMessage, reason: DropReason) {
        if own(msg) {
            tracing::warn!(kind = %msg.kind, ?reason, "telemon could not deliver its own notice");
            return;
        }
        self.counters.lose(reason);
        self.counters.resolve(1);
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(self.policy.initial_backoff, self.policy.max_backoff)
    }

    /// Delivers `msg` (and a flood-wait notice before it, when one is due). Returns what is
    /// still unsent if shutdown began during a wait, else nothing.
    async fn deliver(&mut self, msg: OutgoingMessage) -> Vec<OutgoingMessage> {
        let mut queue = VecDeque::from([msg]);
        let mut started = Instant::now();
        let mut failures = 0_u32;
        while let Some(msg) = queue.front_mut() {
            let wait = match self.attempt(msg).await {
                Step::Sent => {
                    self.counters.delivered(started.elapsed());
                    if queue.pop_front().map(|m| m.kind) == Some(MessageKind::FloodWaitNotice) {
                        self.flood = None;
                    }
                    None
                }
                Step::Again => continue,
                Step::Lost(reason) => {
                    if let Some(m) = queue.pop_front() {
                        if m.kind == MessageKind::FloodWaitNotice {
                            self.flood = None;
                        }
                        self.lose(&m, reason);
                    }
                    None
                }
                Step::RateLimited(wait) => {
                    if let Some(f) = self.flood.as_mut() {
                        // Still held (the notice itself may be what was refused): one notice
                        // will cover the whole wait.
                        f.held_for = f.held_for.saturating_add(wait);
                    } else if wait >= LONG_FLOOD_WAIT {
                        tracing::warn!(
                            retry_after_s = wait.as_secs(),
                            "Telegram flood control: holding alert delivery; a notice follows"
                        );
                        self.flood = Some(FloodWait {
                            held_for: wait,
                            destination: msg.destination,
                            drops_before: self.counters.losses(),
                        });
                    }
                    Some(wait)
                }
                Step::Transient => {
                    failures = failures.saturating_add(1);
                    let wait = self.backoff().delay(failures - 1);
                    if failures >= self.policy.max_attempts
                        || started.elapsed().saturating_add(wait) > self.policy.deadline
                    {
                        if let Some(m) = queue.pop_front() {
                            self.lose(&m, DropReason::RetriesExhausted);
                        }
                        None
                    } else {
                        Some(wait)
                    }
                }
            };
            let Some(wait) = wait else {
                // Sent or given up: the next one (if any) starts fresh.
                started = Instant::now();
                failures = 0;
                continue;
            };
            inc(&self.counters.retried);
            let until = later(wait);
            self.paused_until = Some(until);
            tokio::select! {
                biased;
                _ = stopped(&mut self.stop) => return queue.into(),
                () = tokio::time::sleep_until(until) => {}
            }
            self.paused_until = None;
            if let Some(flood) = self.flood {
                // One notice, up to date: a refused earlier one is replaced.
                if queue.front().map(|m| m.kind) == Some(MessageKind::FloodWaitNotice) {
                    queue.pop_front();
                }
                queue.push_front(self.flood_notice(flood));
                started = Instant::now();
                failures = 0;
            }
        }
        Vec::new()
    }

    /// The notice sent when a long flood wait is over, before the held messages.
    fn flood_notice(&self, flood: FloodWait) -> OutgoingMessage {
        let held = self.counters.outstanding();
        let dropped = self.counters.losses().saturating_sub(flood.drops_before);
        let mut doc = Doc::default();
        let _ = doc.line().bold(format!(
            "⏸ Alert delivery was held for {} by Telegram flood control",
            human_duration(flood.held_for)
        ));
        let _ = doc.line().text(format!(
            "Telegram answered 429 Too Many Requests and asked this bot to wait {} s in all \
             (retry_after).",
            flood.held_for.as_secs()
        ));
        let _ = doc.line().text(format!(
            "{held} message(s) were held and follow this notice; {dropped} alert(s) or \
             message(s) were dropped while waiting (queues full)."
        ));
        let r = doc.render(NOTICE_MAX_CHARS);
        OutgoingMessage {
            destination: flood.destination,
            text: r.html,
            parse_mode: ParseMode::Html,
            plain_fallback: r.plain,
            disable_notification: false,
            kind: MessageKind::FloodWaitNotice,
            level: Level::Critical,
        }
    }

    /// Shutdown: collect what the pipeline still hands over, then send per chat, Critical
    /// first, within the chat's pacing, folding what does not fit into one summary.
    async fn shutdown(mut self, mut rx: mpsc::Receiver<Out>, mut queue: Vec<OutgoingMessage>) {
        let deadline = (*self.stop.borrow()).unwrap_or_else(Instant::now);
        let mut waiting = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(Out::Message(m))) => queue.push(m),
                Ok(Some(Out::Flush(done))) => waiting.push(done),
                Ok(Some(Out::Shutdown(done))) => {
                    waiting.push(done);
                    break;
                }
                // The pipeline is gone, or it did not finish in time.
                Ok(None) | Err(_) => break,
            }
        }
        let mut chats: Vec<(i64, Vec<OutgoingMessage>)> = Vec::new();
        for m in queue {
            match chats.iter_mut().find(|(c, _)| *c == m.destination.chat_id) {
                Some((_, v)) => v.push(m),
                None => chats.push((m.destination.chat_id, vec![m])),
            }
        }
        let this = &self;
        let sends = chats.into_iter().map(|(_, mut msgs)| async move {
            // Loudest first; FIFO within a level.
            msgs.sort_by_key(|m| std::cmp::Reverse(m.level));
            if let Some(to) = msgs.first().map(|m| m.destination) {
                let slots = this.slots(&to, deadline);
                this.send_chat(msgs, slots, deadline).await;
            }
        });
        futures_util::future::join_all(sends).await;
        self.paused_until = None;
        for done in waiting {
            let _ = done.send(());
        }
    }

    /// How many messages can go to `to` before `deadline`, one per pacing interval.
    fn slots(&self, to: &Destination, deadline: Instant) -> usize {
        let left = deadline.saturating_duration_since(Instant::now());
        let budget = left.saturating_sub(SHUTDOWN_MARGIN.min(left / 5));
        let paused = self.paused_until.map_or(Duration::ZERO, |p| {
            p.saturating_duration_since(Instant::now())
        });
        let wait = self.transport.next_send_in(to).max(paused);
        if wait > budget {
            return 0;
        }
        let every = self.transport.send_interval(to).as_micros();
        if every == 0 {
            return usize::MAX;
        }
        let more = (budget - wait).as_micros() / every;
        usize::try_from(more)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
    }

    /// Sends `msgs` (already in priority order) to one chat: all of them if they fit in
    /// `slots`, else the first `slots - 1` and one summary of the rest.
    async fn send_chat(&self, mut msgs: Vec<OutgoingMessage>, slots: usize, deadline: Instant) {
        if slots == 0 {
            // Nothing can reach this chat in time: they stay outstanding (abandoned).
            return;
        }
        let folded = if msgs.len() > slots {
            msgs.split_off(slots - 1)
        } else {
            Vec::new()
        };
        for m in msgs {
            self.send_by(m, deadline).await;
        }
        if folded.is_empty() {
            return;
        }
        let counted = folded.iter().filter(|m| !own(m)).count() as u64;
        let Some(to) = folded.first().map(|m| m.destination) else {
            return;
        };
        match self.send_by(summary(to, &folded), deadline).await {
            Some(true) => {
                self.counters.resolve(counted);
                add(&self.counters.summarised, counted);
            }
            Some(false) => {
                self.counters.drop_n(DropReason::Rejected, counted);
                self.counters.resolve(counted);
            }
            // Not in time: the folded messages stay outstanding (abandoned).
            None => {}
        }
    }

    /// Sends one message before `deadline`, retrying within it: `Some(true)` sent,
    /// `Some(false)` refused for good (counted here for a queued message), `None` not in time.
    async fn send_by(&self, mut msg: OutgoingMessage, deadline: Instant) -> Option<bool> {
        let mut failures = 0_u32;
        loop {
            if Instant::now() >= deadline {
                return None;
            }
            let wait = match tokio::time::timeout_at(deadline, self.attempt(&mut msg)).await {
                Err(_) => return None,
                Ok(Step::Sent) => return Some(true),
                Ok(Step::Again) => continue,
                Ok(Step::Lost(reason)) => {
                    self.lose(&msg, reason);
                    return Some(false);
                }
                Ok(Step::RateLimited(wait)) => wait,
                Ok(Step::Transient) => {
                    failures = failures.saturating_add(1);
                    if failures >= self.policy.max_attempts {
                        self.lose(&msg, DropReason::RetriesExhausted);
                        return Some(false);
                    }
                    self.backoff().delay(failures - 1)
                }
            };
            if later(wait) >= deadline {
                return None;
            }
            inc(&self.counters.retried);
            tokio::time::sleep(wait).await;
        }
    }
}

/// First lines of a message's plain text, as one short line.
fn headline(m: &OutgoingMessage) -> String {
    let mut lines = m
        .plain_fallback
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let mut h = lines.next().unwrap_or(m.kind.as_str()).to_owned();
    if let Some(second) = lines.next() {
        h.push_str(" — ");
        h.push_str(second);
    }
    if let Some((i, _)) = h.char_indices().nth(HEADLINE_CHARS) {
        h.truncate(i);
        h.push('…');
    }
    h
}

/// One message to `to` standing for `folded` (in priority order) at shutdown.
fn summary(to: Destination, folded: &[OutgoingMessage]) -> OutgoingMessage {
    let loudest = folded
        .iter()
        .map(|m| m.level)
        .max()
        .unwrap_or(Level::Critical);
    let mut doc = Doc::default();
    let _ = doc.line().bold(format!("+{} more alerts", folded.len()));
    let _ = doc.line().text(
        "Shutting down: this chat's pacing allows no more messages before the shutdown \
         deadline, so these are listed here instead of one by one:",
    );
    for m in folded.iter().take(SUMMARY_ROWS) {
        let _ = doc.line().text(format!("• [{}] {}", m.level, headline(m)));
    }
    if folded.len() > SUMMARY_ROWS {
        let _ = doc
            .line()
            .text(format!("… and {} more", folded.len() - SUMMARY_ROWS));
    }
    let r = doc.render(NOTICE_MAX_CHARS);
    OutgoingMessage {
        destination: to,
        text: r.html,
        parse_mode: ParseMode::Html,
        plain_fallback: r.plain,
        disable_notification: loudest == Level::Info,
        kind: MessageKind::ShutdownSummary,
        level: loudest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::MemoryTransport;

    fn deliverer(
        t: &MemoryTransport,
        policy: RetryPolicy,
    ) -> (Deliverer, Arc<Counters>, watch::Sender<Option<Instant>>) {
        let counters = Arc::new(Counters::default());
        let (stop, rx) = watch::channel(None);
        let d = Deliverer::new(Arc::new(t.clone()), counters.clone(), policy, rx);
        (d, counters, stop)
    }

    fn msg(level: Level, text: &str) -> OutgoingMessage {
        OutgoingMessage {
            destination: Destination::chat(-1),
            text: text.into(),
            parse_mode: ParseMode::Html,
            plain_fallback: text.into(),
            disable_notification: level == Level::Info,
            kind: MessageKind::Alert,
            level,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_retry_after_is_capped_held_then_reported() {
        let t = MemoryTransport::new();
        // One transient failure first, so some time has elapsed when the 429 arrives.
        t.fail_next(DeliveryError::Transient("blip".into()));
        t.fail_next(DeliveryError::RateLimited {
            retry_after: Duration::MAX,
        });
        let (mut d, counters, _stop) = deliverer(&t, RetryPolicy::default());
        counters
            .outstanding
            .store(1, std::sync::atomic::Ordering::Relaxed);
        let start = Instant::now();
        assert!(d.deliver(msg(Level::Critical, "db down")).await.is_empty());
        let m = counters.snapshot();
        assert_eq!(m.dropped.total(), 0);
        assert_eq!(m.internal_errors, 0);
        let sent = t.sent();
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(sent[0].kind, MessageKind::FloodWaitNotice);
        assert!(sent[0].plain_fallback.contains("1 message(s) were held"));
        assert!(sent[0].plain_fallback.contains("0 alert(s)"));
        assert_eq!(sent[1].text, "db down");
        // Held for the longest pause honoured, plus the one backoff.
        assert!(start.elapsed() >= MAX_RETRY_AFTER);
        assert_eq!(counters.outstanding(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn huge_backoffs_give_up_instead_of_panicking() {
        let t = MemoryTransport::new();
        t.fail_next(DeliveryError::Transient("down".into()));
        let policy = RetryPolicy {
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            ..RetryPolicy::default()
        };
        let (mut d, counters, _stop) = deliverer(&t, policy);
        assert!(d.deliver(msg(Level::Critical, "x")).await.is_empty());
        assert_eq!(counters.snapshot().dropped.retries_exhausted, 1);
        assert!(t.sent().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn max_attempts_is_the_exact_number_of_attempts() {
        let t = MemoryTransport::new();
        t.down(DeliveryError::Transient("502".into()));
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let (mut d, counters, _stop) = deliverer(&t, policy);
        assert!(d.deliver(msg(Level::Critical, "x")).await.is_empty());
        assert_eq!(t.attempts().len(), 3);
        let m = counters.snapshot();
        assert_eq!((m.retried, m.dropped.retries_exhausted), (2, 1));
    }

    #[test]
    fn summary_lists_criticals_first_and_counts_everything() {
        let mut folded: Vec<_> = (0..30)
            .map(|i| msg(Level::Info, &format!("info {i}")))
            .collect();
        folded.insert(0, msg(Level::Critical, "🔴 CRITICAL\npostgres is down"));
        let s = summary(Destination::chat(-1), &folded);
        assert_eq!(s.kind, MessageKind::ShutdownSummary);
        assert_eq!(s.level, Level::Critical);
        assert!(!s.disable_notification);
        assert!(s.plain_fallback.starts_with("+31 more alerts"));
        let first = s.plain_fallback.lines().nth(2).unwrap_or_default();
        assert_eq!(first, "• [critical] 🔴 CRITICAL — postgres is down");
        assert!(
            s.plain_fallback.ends_with("… and 11 more"),
            "{}",
            s.plain_fallback
        );
    }
}
