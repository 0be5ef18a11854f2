//! Deduplication across workers, on any
//! [`CoordinationStore`](sentinel_core::CoordinationStore) (memory or Redis).
//!
//! Per fingerprint `fp` there are three keys (`keys::Keys`), all in the `{fp}` hash
//! slot:
//!
//! * `window` — a claim held for the cooldown. Winning it = this worker speaks.
//! * `seen` — a counter of every occurrence seen by any worker.
//! * `reported` — `"<covered>:<unix second of the last alert>"`: how many occurrences the
//!   messages sent so far covered. Only the worker that just won `window` writes it.
//!
//! An occurrence batch of `n` repeats: `first = claim(window)`, `T = add(seen, n)`. The winner
//! reads `reported`, reports `T - n - covered` repeats "since last" (only if a previous alert
//! exists) and writes `covered + reported + 1`. Losers are only counted. When a worker's local
//! timer finds `seen - covered > 0` after the cooldown, it claims the next window and, if it
//! wins, sends the follow-up "+N since last"; a real occurrence winning the window does the
//! same in its alert. The claim decides who speaks, so the follow-up goes out exactly once
//! across workers, and every occurrence is accounted for in exactly one message.
//!
//! `seen` and `reported` live for [`state_ttl`] after their last write (at least a day, four
//! cooldowns for long cooldowns); if `seen` expired while `reported` did not, the count starts
//! again from zero instead of hiding new repeats.
//!
//! When the store fails (or exceeds the store timeout), the call is answered by a private
//! in-process store: alerts keep flowing, deduplicated per process, and `store_errors` counts
//! the failures.

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::Fingerprint;

use crate::coordination::{Coordinator, OnFailure};
use crate::format::Suppressed;
use crate::keys::ttl;

/// How long an incident's counters outlive their last write: four cooldowns, at least a day.
pub fn state_ttl(cooldown: Duration) -> Duration {
    ttl(cooldown.saturating_mul(4).max(Duration::from_secs(86_400)))
}

/// What to do with the first occurrence of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// First in its cooldown: send, mentioning the repeats since the last alert.
    Send(Option<Suppressed>),
    /// Inside the cooldown: counted.
    Suppressed,
}

/// Per-fingerprint deduplication on top of the [`Coordinator`].
#[derive(Debug)]
pub(crate) struct Dedup {
    pub(crate) shared: Arc<Coordinator>,
    pub(crate) cooldown: Duration,
}

/// The `reported` record: occurrences covered, unix second of the last alert (0 = none).
fn decode_reported(v: Option<Vec<u8>>) -> (u64, u64) {
    let parse = |b: &[u8]| {
        let s = std::str::from_utf8(b).ok()?;
        let (c, t) = s.split_once(':')?;
        Some((c.parse().ok()?, t.parse().ok()?))
    };
    v.as_deref().and_then(parse).unwrap_or((0, 0))
}

impl Dedup {
    fn state_ttl(&self) -> Duration {
        state_ttl(self.cooldown)
    }

    /// Claims the cooldown window. A store that fails here and locally too reads as "first":
    /// an alert must not be lost.
    async fn claim_window(&self, fp: &Fingerprint) -> bool {
        let key = self.shared.keys().dedup_window(fp);
        self.shared
            .claim(OnFailure::Local, &key, ttl(self.cooldown))
            .await
            .unwrap_or(true)
    }

    async fn seen(&self, fp: &Fingerprint, n: u64) -> u64 {
        let key = self.shared.keys().dedup_seen(fp);
        let r = if n == 0 {
            self.shared.count(OnFailure::Local, &key).await
        } else {
            self.shared
                .add(OnFailure::Local, &key, n, self.state_ttl())
                .await
        };
        r.unwrap_or(0)
    }

    async fn reported(&self, fp: &Fingerprint) -> (u64, u64) {
        let key = self.shared.keys().dedup_reported(fp);
        decode_reported(
            self.shared
                .get(OnFailure::Local, &key)
                .await
                .unwrap_or(None),
        )
    }

    /// Records `n` occurrences of `fp` (the first of which is the candidate alert).
    pub(crate) async fn occurrences(&self, fp: &Fingerprint, n: u64) -> Verdict {
        let first = self.claim_window(fp).await;
        let total = self.seen(fp, n).await;
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
        let (covered, last) = self.reported(fp).await;
        // `seen` expired and started again: what it counts now is all unreported.
        let covered = if covered > upto { 0 } else { covered };
        let since = if last == 0 && extra > 0 {
            0
        } else {
            upto - covered
        };
        let record = format!("{}:{now_s}", covered + since + extra);
        let key = self.shared.keys().dedup_reported(fp);
        // Best effort: a lost record means a later message may count some repeats again.
        let _ = self
            .shared
            .put(OnFailure::Local, &key, record.as_bytes(), self.state_ttl())
            .await;
        let over = (last > 0 && last <= now_s).then(|| Duration::from_secs(now_s - last));
        (since > 0).then_some(Suppressed { count: since, over })
    }

    /// Occurrences not yet covered by any message.
    pub(crate) async fn pending(&self, fp: &Fingerprint) -> u64 {
        let total = self.seen(fp, 0).await;
        let (covered, _) = self.reported(fp).await;
        if covered > total {
            total
        } else {
            total - covered
        }
    }

    /// After the cooldown: claims the next window and returns the follow-up to send, if
    /// there are unreported repeats and this worker won the claim.
    pub(crate) async fn claim_followup(&self, fp: &Fingerprint) -> FollowUp {
        if self.pending(fp).await == 0 {
            return FollowUp::Nothing;
        }
        if !self.claim_window(fp).await {
            return FollowUp::WindowOpen;
        }
        let total = self.seen(fp, 0).await;
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
    use crate::keys::Keys;
    use crate::metrics::Counters;
    use sentinel_core::{CoordinationStore, ManualClock, Timestamp};
    use sentinel_storage_memory::MemoryCoordinationStore;

    fn dedup(clock: &ManualClock, store: Arc<dyn CoordinationStore>) -> Dedup {
        let shared = Coordinator::new(
            store,
            Arc::new(clock.clone()),
            Keys::new("t"),
            Duration::from_secs(1),
            Arc::new(Counters::default()),
        );
        Dedup {
            shared: Arc::new(shared),
            cooldown: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn first_then_counted_then_followup_once() {
        let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
        let store: Arc<dyn CoordinationStore> =
            Arc::new(MemoryCoordinationStore::new(clock.clone()));
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
    async fn the_cooldown_ends_at_exactly_its_length() {
        let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
        let a = dedup(
            &clock,
            Arc::new(MemoryCoordinationStore::new(clock.clone())),
        );
        let fp = Fingerprint::of("z");
        assert_eq!(a.occurrences(&fp, 1).await, Verdict::Send(None));
        clock.advance(Duration::from_millis(59_999));
        assert_eq!(a.occurrences(&fp, 1).await, Verdict::Suppressed);
        clock.advance(Duration::from_millis(1));
        assert!(matches!(
            a.occurrences(&fp, 1).await,
            Verdict::Send(Some(_))
        ));
    }

    #[tokio::test]
    async fn next_real_occurrence_carries_the_count() {
        let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
        let store: Arc<dyn CoordinationStore> =
            Arc::new(MemoryCoordinationStore::new(clock.clone()));
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

    #[tokio::test]
    async fn an_expired_counter_starts_again_instead_of_hiding_repeats() {
        let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
        let store: Arc<dyn CoordinationStore> =
            Arc::new(MemoryCoordinationStore::new(clock.clone()));
        let a = dedup(&clock, store.clone());
        let fp = Fingerprint::of("w");
        assert_eq!(a.occurrences(&fp, 50).await, Verdict::Send(None));
        clock.advance(Duration::from_secs(61));
        assert!(matches!(a.claim_followup(&fp).await, FollowUp::Send(_)));
        // `seen` (50) disappears, `reported` (50 covered) stays.
        store
            .delete_prefix(&a.shared.keys().dedup_seen(&fp), 1)
            .await
            .unwrap();
        clock.advance(Duration::from_secs(61));
        assert!(matches!(a.occurrences(&fp, 4).await, Verdict::Send(_)));
        assert_eq!(
            a.pending(&fp).await,
            3,
            "the alert covers 1 of its batch of 4"
        );
        assert_eq!(a.occurrences(&fp, 3).await, Verdict::Suppressed);
        assert_eq!(
            a.pending(&fp).await,
            6,
            "new repeats are not hidden by the old total"
        );
    }
}
