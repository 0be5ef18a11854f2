//! Deduplication across workers, on any [`Store`] (memory or Redis), with the core traits only.
//!
//! # How counting works without a counter operation
//!
//! The core store traits have `debounce` (first sighting in a window) and rate-limit `hit` /
//! `peek`, but no plain counter. A **counter** here is a [`FixedWindow`](Algorithm::FixedWindow)
//! key with a limit of `u32::MAX` and a long period ([`COUNTER_PERIOD`]): `hit(cost = n)` adds
//! `n` atomically and returns `limit - remaining` = the new total; `peek` reads it. Both the
//! memory and the Redis store implement these operations identically (the conformance suite
//! checks it), so the scheme behaves the same on both.
//!
//! Per fingerprint `fp` there are four keys:
//!
//! * `db` — debounce key, window = cooldown. `true` = first sighting: this worker alerts.
//! * `n`  — counter of every occurrence seen by any worker.
//! * `k`  — "acknowledged" counter: how many occurrences the alerts sent so far covered.
//! * `t`  — a register holding the UNIX second of the last alert (a counter advanced by
//!   `now - value`; only the worker that just won `db` writes it, so it behaves as a register).
//!
//! An occurrence batch of `n` repeats: `first = debounce(db)`, `T = add(n, n)`. The winner
//! reads `A = k`, reports `T - n - A` repeats "since last" (only if a previous alert exists)
//! and advances `k` by what it reported plus one (itself). Losers are only counted. When a worker's local timer finds `n - k > 0` after the
//! cooldown, it claims the next window with `debounce(db)` and, if it wins, sends the
//! follow-up "+N since last" and advances `k`; a real occurrence winning the window does the
//! same in its alert. `debounce` decides who speaks, so the follow-up goes out exactly once
//! across workers, and every occurrence is accounted for in exactly one message.
//!
//! Counters live in epoch-aligned windows of [`COUNTER_PERIOD`]: counts not yet reported when
//! a window rolls over (once every 30 days) restart from zero, so one follow-up may under-count.
//!
//! When the store fails (or exceeds the store timeout), the operation falls back to a private
//! in-process [`MemoryStore`]: alerts keep flowing, deduplicated per process, and
//! `store_errors` counts the failures.

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, Clock, DebounceStore, Decision, Fingerprint, Quota, RateLimitStore, Store,
    StoreError, Timestamp,
};
use sentinel_storage_memory::MemoryStore;

use crate::format::Suppressed;
use crate::metrics::{Counters, inc};

/// Period of the counter windows.
pub const COUNTER_PERIOD: Duration = Duration::from_secs(30 * 24 * 3600);

/// What to do with the first occurrence of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// First in its cooldown: send, mentioning the repeats since the last alert.
    Send(Option<Suppressed>),
    /// Inside the cooldown: counted.
    Suppressed,
}

/// Store access with timeouts and a local fallback.
pub(crate) struct Shared {
    store: Arc<dyn Store>,
    fallback: MemoryStore,
    clock: Arc<dyn Clock>,
    prefix: String,
    timeout: Duration,
    counters: Arc<Counters>,
    counter_quota: Quota,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn used(d: &Decision) -> u64 {
    u64::from(d.limit.saturating_sub(d.remaining))
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Shared {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        prefix: String,
        timeout: Duration,
        counters: Arc<Counters>,
    ) -> Result<Self, sentinel_core::ConfigError> {
        Ok(Self {
            store,
            fallback: MemoryStore::new(clock.clone()),
            clock,
            prefix,
            timeout,
            counters,
            counter_quota: Quota::new(u32::MAX, COUNTER_PERIOD)?,
        })
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn failed(&self, _e: &StoreError) {
        inc(&self.counters.store_errors);
    }

    async fn timed<T>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        }
    }

    /// First sighting of `key` in `window`? (Fallback: this process's own memory.)
    pub(crate) async fn debounce(&self, key: &str, window: Duration) -> bool {
        let now = self.now();
        match self.timed(self.store.debounce(key, window, now)).await {
            Ok(b) => b,
            Err(e) => {
                self.failed(&e);
                self.fallback
                    .debounce(key, window, now)
                    .await
                    .unwrap_or(true)
            }
        }
    }

    /// Like [`Shared::debounce`], but a store failure reads as "not first": for claims that
    /// must not be made twice (digests, daily reports) rather than alerts that must not be lost.
    pub(crate) async fn claim(&self, key: &str, window: Duration) -> Result<bool, StoreError> {
        let now = self.now();
        self.timed(self.store.debounce(key, window, now))
            .await
            .inspect_err(|e| self.failed(e))
    }

    /// One rate-limit step (fallback: local).
    pub(crate) async fn hit(&self, key: &str, algorithm: Algorithm, quota: &Quota) -> bool {
        let now = self.now();
        match self
            .timed(self.store.hit(key, algorithm, quota, 1, now))
            .await
        {
            Ok(d) => d.allowed,
            Err(e) => {
                self.failed(&e);
                self.fallback
                    .hit(key, algorithm, quota, 1, now)
                    .await
                    .is_ok_and(|d| d.allowed)
            }
        }
    }

    /// Adds `n` to a counter and returns the new total.
    pub(crate) async fn add(&self, key: &str, n: u64) -> u64 {
        if n == 0 {
            return self.get(key).await;
        }
        let now = self.now();
        let q = self.counter_quota;
        let cost = to_u32(n);
        match self
            .timed(self.store.hit(key, Algorithm::FixedWindow, &q, cost, now))
            .await
        {
            Ok(d) => used(&d),
            Err(e) => {
                self.failed(&e);
                self.fallback
                    .hit(key, Algorithm::FixedWindow, &q, cost, now)
                    .await
                    .map_or(0, |d| used(&d))
            }
        }
    }

    /// Reads a counter.
    pub(crate) async fn get(&self, key: &str) -> u64 {
        let now = self.now();
        let q = self.counter_quota;
        match self
            .timed(self.store.peek(key, Algorithm::FixedWindow, &q, now))
            .await
        {
            Ok(d) => used(&d),
            Err(e) => {
                self.failed(&e);
                self.fallback
                    .peek(key, Algorithm::FixedWindow, &q, now)
                    .await
                    .map_or(0, |d| used(&d))
            }
        }
    }

    /// Sets a register (a counter only this caller advances) to `value`, returning the old
    /// value. Values never go backwards.
    pub(crate) async fn swap_register(&self, key: &str, value: u64) -> u64 {
        let old = self.get(key).await;
        if value > old {
            self.add(key, value - old).await;
        }
        old
    }
}

/// Per-fingerprint deduplication on top of [`Shared`].
#[derive(Debug)]
pub(crate) struct Dedup {
    pub(crate) shared: Arc<Shared>,
    pub(crate) cooldown: Duration,
}

impl Dedup {
    fn key(&self, fp: &Fingerprint, part: &str) -> String {
        format!("{}:a:{{{fp}}}:{part}", self.shared.prefix())
    }

    /// Records `n` occurrences of `fp` (the first of which is the candidate alert).
    pub(crate) async fn occurrences(&self, fp: &Fingerprint, n: u64) -> Verdict {
        let first = self
            .shared
            .debounce(&self.key(fp, "db"), self.cooldown)
            .await;
        let total = self.shared.add(&self.key(fp, "n"), n).await;
        if !first {
            return Verdict::Suppressed;
        }
        Verdict::Send(self.acknowledge(fp, total.saturating_sub(n), 1).await)
    }

    /// After winning the window: everything up to `upto` plus `extra` is covered by the
    /// message about to be sent. Returns the repeats since the last alert.
    ///
    /// The first alert of an incident (no previous alert recorded) reports nothing: repeats
    /// counted by other workers at the same moment belong to *this* alert's cooldown and are
    /// left for the follow-up, so "+N since last" only ever counts after a real previous alert.
    async fn acknowledge(&self, fp: &Fingerprint, upto: u64, extra: u64) -> Option<Suppressed> {
        let now_s = self.shared.now().as_secs();
        let last = self.shared.swap_register(&self.key(fp, "t"), now_s).await;
        let acked_key = self.key(fp, "k");
        let acked = self.shared.get(&acked_key).await;
        let since = if last == 0 && extra > 0 {
            0
        } else {
            upto.saturating_sub(acked)
        };
        self.shared.add(&acked_key, since + extra).await;
        let over = (last > 0 && last <= now_s).then(|| Duration::from_secs(now_s - last));
        (since > 0).then_some(Suppressed { count: since, over })
    }

    /// Occurrences not yet covered by any message.
    pub(crate) async fn pending(&self, fp: &Fingerprint) -> u64 {
        let total = self.shared.get(&self.key(fp, "n")).await;
        let acked = self.shared.get(&self.key(fp, "k")).await;
        total.saturating_sub(acked)
    }

    /// After the cooldown: claims the next window and returns the follow-up to send, if
    /// there are unreported repeats and this worker won the claim.
    pub(crate) async fn claim_followup(&self, fp: &Fingerprint) -> FollowUp {
        if self.pending(fp).await == 0 {
            return FollowUp::Nothing;
        }
        if !self
            .shared
            .debounce(&self.key(fp, "db"), self.cooldown)
            .await
        {
            return FollowUp::WindowOpen;
        }
        let total = self.shared.get(&self.key(fp, "n")).await;
        match self.acknowledge(fp, total, 0).await {
            Some(s) => FollowUp::Send(s),
            None => FollowUp::Nothing,
        }
    }
}

/// Outcome of [`Dedup::claim_followup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FollowUp {
    /// Nothing left to report.
    Nothing,
    /// The cooldown window is still open (another occurrence or worker opened it).
    WindowOpen,
    /// Send this.
    Send(Suppressed),
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentinel_core::ManualClock;

    fn dedup(clock: &ManualClock, store: Arc<dyn Store>) -> Dedup {
        let shared = Shared::new(
            store,
            Arc::new(clock.clone()),
            "t".into(),
            Duration::from_secs(1),
            Arc::new(Counters::default()),
        )
        .unwrap();
        Dedup {
            shared: Arc::new(shared),
            cooldown: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn first_then_counted_then_followup_once() {
        let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(clock.clone()));
        let a = dedup(&clock, store.clone());
        let b = dedup(&clock, store);
        let fp = Fingerprint::of("x");
        assert_eq!(a.occurrences(&fp, 1).await, Verdict::Send(None));
        assert_eq!(b.occurrences(&fp, 4999).await, Verdict::Suppressed);
        assert_eq!(a.occurrences(&fp, 5000).await, Verdict::Suppressed);
        assert_eq!(a.claim_followup(&fp).await, FollowUp::WindowOpen);
        clock.advance(Duration::from_secs(61));
        let s = a.claim_followup(&fp).await;
        assert_eq!(
            s,
            FollowUp::Send(Suppressed {
                count: 9_999,
                over: Some(Duration::from_secs(61))
            })
        );
        assert_eq!(b.claim_followup(&fp).await, FollowUp::Nothing);
        // A new occurrence after another cooldown alerts at once with nothing pending.
        clock.advance(Duration::from_secs(61));
        assert_eq!(b.occurrences(&fp, 1).await, Verdict::Send(None));
    }

    #[tokio::test]
    async fn next_real_occurrence_carries_the_count() {
        let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(clock.clone()));
        let a = dedup(&clock, store);
        let fp = Fingerprint::of("y");
        assert_eq!(a.occurrences(&fp, 3).await, Verdict::Send(None));
        clock.advance(Duration::from_secs(90));
        assert_eq!(
            a.occurrences(&fp, 1).await,
            Verdict::Send(Some(Suppressed {
                count: 2,
                over: Some(Duration::from_secs(90))
            }))
        );
        assert_eq!(a.pending(&fp).await, 0);
    }
}
