//! The intake worker: scrub → fingerprint → dedup → route, then hand rendered messages to the
//! delivery stage. Runs as one background task per [`Telemon`](crate::Telemon); every timer
//! (follow-ups, digests, flood, daily report) reads the configured [`Clock`](sentinel_core::Clock)
//! and is checked on a periodic tick and on every flush.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use sentinel_core::{Fingerprint, Quota, Timestamp};
use tokio::sync::{mpsc, oneshot};

use crate::alert::{Alert, Level};
use crate::coordination::{Coordinator, OnFailure};
use crate::daily::DailyState;
use crate::dedup::{Dedup, FollowUp, Verdict};
use crate::deliver::Out;
use crate::digest::{Flood, WindowSummary};
use crate::filter::IgnoreRules;
use crate::fingerprint::fingerprint_of;
use crate::format::{self, Origin, Rendered, Suppressed};
use crate::keys::ttl;
use crate::metrics::{Counters, DropReason, add, inc};
use crate::route::{Route, Routes, route_of};
use crate::scrub::Scrubber;
use crate::transport::{MessageKind, OutgoingMessage, ParseMode};

/// What flows into the intake worker.
pub(crate) enum Item {
    Alert(Box<Alert>),
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

/// Most workers' parts merged into one digest.
const MAX_DIGEST_PARTS: usize = 1_000;

/// A fingerprint whose repeats may need a follow-up.
struct Pending {
    due: Timestamp,
    sample: Alert,
}

/// Tunables of the worker.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub max_chars: usize,
    pub budget: Option<Quota>,
    pub max_tracked: usize,
    pub flood_interval: Duration,
    pub window: Duration,
    pub grace: Duration,
    pub digest_rows: usize,
    pub flood_rows: usize,
}

pub(crate) struct Pipeline {
    pub scrubber: Scrubber,
    pub ignore: IgnoreRules,
    pub dedup: Dedup,
    pub routes: Routes,
    pub origin: Origin,
    pub counters: Arc<Counters>,
    pub outbox: mpsc::Sender<Out>,
    pub settings: Settings,
    pub worker_id: String,
    pub daily: Option<DailyState>,
    pending: HashMap<Fingerprint, Pending>,
    flood: Flood,
    current: Option<(u64, WindowSummary)>,
    to_claim: Vec<(u64, Timestamp, WindowSummary)>,
}

fn secs(t: Timestamp) -> u64 {
    t.as_secs()
}

fn window_index(now: Timestamp, window: Duration) -> u64 {
    let w = u64::try_from(window.as_micros()).unwrap_or(u64::MAX).max(1);
    now.as_micros() / w
}

fn window_start(k: u64, window: Duration) -> Timestamp {
    let w = u64::try_from(window.as_micros()).unwrap_or(u64::MAX).max(1);
    Timestamp::from_micros(k.saturating_mul(w))
}

impl Pipeline {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        scrubber: Scrubber,
        ignore: IgnoreRules,
        dedup: Dedup,
        routes: Routes,
        origin: Origin,
        counters: Arc<Counters>,
        outbox: mpsc::Sender<Out>,
        settings: Settings,
        worker_id: String,
        daily: Option<DailyState>,
    ) -> Self {
        Self {
            scrubber,
            ignore,
            dedup,
            routes,
            origin,
            counters,
            outbox,
            settings,
            worker_id,
            daily,
            pending: HashMap::new(),
            flood: Flood::default(),
            current: None,
            to_claim: Vec::new(),
        }
    }

    /// Runs until shut down or every handle is gone.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<Item>, tick: Duration) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut buf = Vec::with_capacity(256);
        loop {
            tokio::select! {
                n = rx.recv_many(&mut buf, 256) => {
                    if n == 0 {
                        let _ = AssertUnwindSafe(self.final_flush()).catch_unwind().await;
                        return;
                    }
                    // A bug here must not stop alerting: the batch is lost (and counted), the
                    // worker goes on.
                    match AssertUnwindSafe(self.process(std::mem::take(&mut buf))).catch_unwind().await {
                        Ok(true) => return,
                        Ok(false) => {}
                        Err(_) => inc(&self.counters.internal_errors),
                    }
                }
                _ = ticker.tick() => {
                    if AssertUnwindSafe(self.run_timers()).catch_unwind().await.is_err() {
                        inc(&self.counters.internal_errors);
                    }
                }
            }
        }
    }

    /// Handles a batch; `true` once shut down.
    async fn process(&mut self, items: Vec<Item>) -> bool {
        let mut alerts = Vec::new();
        for item in items {
            match item {
                Item::Alert(a) => {
                    inc(&self.counters.taken);
                    alerts.push(*a);
                }
                Item::Flush(done) => {
                    self.handle_alerts(std::mem::take(&mut alerts)).await;
                    self.run_timers().await;
                    let _ = self.outbox.send(Out::Flush(done)).await;
                }
                Item::Shutdown(done) => {
                    self.handle_alerts(std::mem::take(&mut alerts)).await;
                    self.final_flush().await;
                    let _ = self.outbox.send(Out::Shutdown(done)).await;
                    return true;
                }
            }
        }
        self.handle_alerts(alerts).await;
        false
    }

    /// Store access (with its timeouts and fallback) for dedup, digests, the budget and the
    /// daily report.
    fn shared(&self) -> &Coordinator {
        &self.dedup.shared
    }

    /// Hands a rendered message to delivery — after the scrubber's last pass over the whole
    /// text: formatting may assemble what no single field held (and digests carry other
    /// workers' text). When the pass finds anything, the message goes as plain text.
    fn enqueue(&self, level: Level, rendered: Rendered, kind: MessageKind) {
        let rendered = match self.scrubber.last_pass(&rendered.plain) {
            None => rendered,
            Some(clean) => format::plain_only(clean, self.settings.max_chars),
        };
        let msg = OutgoingMessage {
            destination: self.routes.get(level),
            text: rendered.html,
            parse_mode: ParseMode::Html,
            plain_fallback: rendered.plain,
            disable_notification: level == Level::Info,
            kind,
            level,
        };
        // Counted before it can be resolved by the delivery task.
        inc(&self.counters.outstanding);
        if self.outbox.try_send(Out::Message(msg)).is_err() {
            self.counters.resolve(1);
            self.counters.lose(DropReason::OutboxFull);
        }
    }

    /// One immediate message against the budget: a counter per budget window (aligned to the
    /// epoch) shared by every worker. A store that fails here and locally too allows it.
    async fn budget_allows(&self) -> bool {
        let Some(q) = &self.settings.budget else {
            return true;
        };
        let k = window_index(self.shared().now(), q.period());
        let key = self.shared().keys().budget(k);
        let lifetime = ttl(q.period().saturating_mul(2));
        self.shared()
            .add(OnFailure::Local, &key, 1, lifetime)
            .await
            .is_ok_and(|sent| sent <= u64::from(q.limit()))
    }

    async fn handle_alerts(&mut self, alerts: Vec<Alert>) {
        if alerts.is_empty() {
            return;
        }
        let now = self.shared().now();
        let mut groups: Vec<(Fingerprint, Alert, u64)> = Vec::new();
        let mut index: HashMap<Fingerprint, usize> = HashMap::new();
        for a in alerts {
            if a.error_type
                .as_deref()
                .is_some_and(|t| self.ignore.ignores_error_type(t))
            {
                inc(&self.counters.ignored);
                continue;
            }
            let a = self.scrubber.scrub_alert(a);
            match route_of(a.level) {
                Route::Digest => {
                    inc(&self.counters.digested);
                    self.window_add(now, &a).await;
                }
                Route::Immediate { .. } => {
                    let fp = fingerprint_of(&a);
                    match index.get(&fp) {
                        Some(&i) => groups[i].2 += 1,
                        None => {
                            index.insert(fp, groups.len());
                            groups.push((fp, a, 1));
                        }
                    }
                }
            }
        }
        if let Some(d) = self.daily.as_ref() {
            let occurrences: u64 = groups.iter().map(|g| g.2).sum();
            d.count_occurrences(self.shared(), now, occurrences).await;
        }
        for (fp, a, n) in groups {
            let verdict = self.dedup.occurrences(&fp, n).await;
            let winner = matches!(verdict, Verdict::Send(_));
            let suppressed_here = if winner { n - 1 } else { n };
            add(&self.counters.suppressed, suppressed_here);
            if suppressed_here > 0 {
                self.track(fp, &a, now);
            }
            if let Verdict::Send(s) = verdict {
                if self.budget_allows().await {
                    let r = format::render_alert(
                        &a,
                        &self.origin,
                        &fp.to_hex(),
                        s,
                        self.settings.max_chars,
                    );
                    self.enqueue(a.level, r, MessageKind::Alert);
                } else {
                    inc(&self.counters.folded);
                    self.flood.add(fp, &a, 1 + s.map_or(0, |s| s.count), now);
                }
            }
        }
    }

    fn track(&mut self, fp: Fingerprint, a: &Alert, now: Timestamp) {
        if self.pending.contains_key(&fp) {
            return;
        }
        if self.pending.len() >= self.settings.max_tracked {
            // Untracked repeats stay counted in the store and ride on the next alert.
            return;
        }
        self.pending.insert(
            fp,
            Pending {
                due: now.saturating_add(self.dedup.cooldown),
                sample: a.clone(),
            },
        );
    }

    async fn window_add(&mut self, now: Timestamp, a: &Alert) {
        let k = window_index(now, self.settings.window);
        if self.current.as_ref().is_some_and(|(ck, _)| *ck != k)
            && let Some((ck, sum)) = self.current.take()
        {
            self.publish(ck, sum, now).await;
        }
        self.current
            .get_or_insert_with(|| (k, WindowSummary::default()))
            .1
            .add(a);
    }

    fn window_label(&self, k: u64, note: &str) -> String {
        let start = window_start(k, self.settings.window);
        let end = start.saturating_add(self.settings.window);
        format!("{}{note}", format::window_span(secs(start), secs(end)))
    }

    fn send_digest(&self, k: u64, sum: &WindowSummary, note: &str) {
        if sum.is_empty() {
            return;
        }
        let (rows, total) = sum.rows(self.settings.digest_rows);
        let mut label = self.window_label(k, note);
        if sum.overflow > 0 {
            label.push_str(&format!(
                " · {} more alerts beyond the endpoint cap",
                sum.overflow
            ));
        }
        let r = format::render_digest(&self.origin, &label, &rows, total, self.settings.max_chars);
        self.enqueue(Level::Warning, r, MessageKind::Digest);
    }

    /// How long a window's published parts and its claim are kept.
    fn digest_keys_ttl(&self) -> Duration {
        self.settings
            .window
            .saturating_mul(4)
            .saturating_add(self.settings.grace.saturating_mul(4))
    }

    /// Publishes this worker's summary of window `k` for the claimer to merge.
    async fn publish(&mut self, k: u64, sum: WindowSummary, now: Timestamp) {
        if sum.is_empty() {
            return;
        }
        let end = window_start(k, self.settings.window).saturating_add(self.settings.window);
        let claim_at = end.saturating_add(self.settings.grace);
        if now >= claim_at {
            // Too late for the shared digest: send ours on its own.
            self.send_digest(
                k,
                &sum,
                " · reported late by one worker, after this window's digest was due",
            );
            return;
        }
        let key = self.shared().keys().digest_part(k, &self.worker_id);
        let stored = self
            .shared()
            .put(
                OnFailure::Fail,
                &key,
                sum.encode().as_bytes(),
                ttl(self.digest_keys_ttl()),
            )
            .await;
        if stored.is_ok() {
            self.to_claim.push((k, claim_at, sum));
        } else {
            self.send_digest(k, &sum, "");
        }
    }

    /// Claims window `k` and, if this worker wins, sends the merged digest.
    async fn claim_digest(&mut self, k: u64, own: WindowSummary) {
        let claim_key = self.shared().keys().digest_claim(k);
        match self
            .shared()
            .claim(OnFailure::Fail, &claim_key, ttl(self.digest_keys_ttl()))
            .await
        {
            Ok(true) => {
                let prefix = self.shared().keys().digest_parts(k);
                let own_key = self.shared().keys().digest_part(k, &self.worker_id);
                let listed = self
                    .shared()
                    .list(OnFailure::Fail, &prefix, MAX_DIGEST_PARTS)
                    .await;
                let mut merged = WindowSummary::default();
                match listed {
                    Ok(parts) => {
                        let mut saw_own = false;
                        for (key, value) in parts {
                            saw_own |= key == own_key;
                            if let Some(s) = std::str::from_utf8(&value)
                                .ok()
                                .and_then(WindowSummary::decode)
                            {
                                merged.merge(s);
                            }
                        }
                        if !saw_own {
                            merged.merge(own);
                        }
                        // Best effort: the parts expire anyway.
                        let _ = self
                            .shared()
                            .delete_prefix(OnFailure::Fail, &prefix, MAX_DIGEST_PARTS)
                            .await;
                    }
                    Err(_) => merged = own,
                }
                self.send_digest(k, &merged, "");
            }
            Ok(false) => {}
            Err(_) => self.send_digest(k, &own, ""),
        }
    }

    pub(crate) async fn run_timers(&mut self) {
        let now = self.shared().now();
        // Warning window ended: publish.
        if let Some((k, _)) = self.current.as_ref() {
            let end = window_start(*k, self.settings.window).saturating_add(self.settings.window);
            if now >= end
                && let Some((k, sum)) = self.current.take()
            {
                self.publish(k, sum, now).await;
            }
        }
        // Claims due.
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.to_claim)
            .into_iter()
            .partition(|(_, at, _)| now >= *at);
        self.to_claim = later;
        for (k, _, own) in due {
            self.claim_digest(k, own).await;
        }
        // Follow-ups.
        let due: Vec<Fingerprint> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.due)
            .map(|(fp, _)| *fp)
            .collect();
        for fp in due {
            match self.dedup.claim_followup(&fp).await {
                FollowUp::Nothing => {
                    self.pending.remove(&fp);
                }
                FollowUp::WindowOpen => {
                    if let Some(p) = self.pending.get_mut(&fp) {
                        p.due = now.saturating_add(self.dedup.cooldown);
                    }
                }
                FollowUp::Send(s) => {
                    if let Some(p) = self.pending.remove(&fp) {
                        self.send_followup(fp, &p.sample, s, now).await;
                    }
                }
            }
        }
        // Flood digest.
        if let Some(since) = self.flood.since
            && now >= since.saturating_add(self.settings.flood_interval)
        {
            self.send_flood();
        }
        // Daily report.
        if let Some(mut d) = self.daily.take() {
            if let Some(r) = d
                .due_report(
                    self.shared(),
                    &self.origin,
                    now,
                    &self.counters,
                    &self.scrubber,
                )
                .await
            {
                self.enqueue(Level::Info, r, MessageKind::Daily);
            }
            self.daily = Some(d);
        }
    }

    async fn send_followup(&mut self, fp: Fingerprint, a: &Alert, s: Suppressed, now: Timestamp) {
        if self.budget_allows().await {
            let r =
                format::render_followup(a, &self.origin, &fp.to_hex(), s, self.settings.max_chars);
            // A follow-up of an Info alert stays silent.
            self.enqueue(a.level, r, MessageKind::FollowUp);
        } else {
            inc(&self.counters.folded);
            self.flood.add(fp, a, s.count, now);
        }
    }

    fn send_flood(&mut self) {
        if self.flood.is_empty() {
            return;
        }
        let (entries, total, distinct) = self.flood.take(self.settings.flood_rows);
        let r = format::render_flood(
            &self.origin,
            &entries,
            total,
            distinct,
            self.settings.max_chars,
        );
        self.enqueue(Level::Critical, r, MessageKind::Flood);
    }

    /// At shutdown: what this worker holds goes out now.
    async fn final_flush(&mut self) {
        if let Some((k, sum)) = self.current.take() {
            self.send_digest(k, &sum, " (partial, worker stopping)");
        }
        for (k, _, own) in std::mem::take(&mut self.to_claim) {
            self.claim_digest(k, own).await;
        }
        self.send_flood();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_epoch() {
        let w = Duration::from_secs(60);
        assert_eq!(window_index(Timestamp::from_secs(119), w), 1);
        assert_eq!(window_index(Timestamp::from_secs(120), w), 2);
        assert_eq!(window_start(2, w), Timestamp::from_secs(120));
    }
}
