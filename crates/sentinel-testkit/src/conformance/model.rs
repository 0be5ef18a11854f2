//! Naive reference models, written from the definitions and independently of `sentinel-core`'s
//! algorithm code. Time only moves forward in the property tests, so the models need not
//! handle a clock stepping back. Arithmetic is in `u128`, so nothing here can overflow.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use sentinel_core::{Algorithm, BlockRecord, Decision};

/// Limit and period of a quota, as the models see them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Q {
    pub(crate) limit: u32,
    pub(crate) period: u64,
}

fn us(v: u128) -> Duration {
    Duration::from_micros(u64::try_from(v).unwrap())
}

fn decision(q: Q, allowed: bool, remaining: u128, retry: Option<u128>, reset: u128) -> Decision {
    Decision {
        allowed,
        limit: q.limit,
        remaining: u32::try_from(remaining).unwrap(),
        retry_after: retry.map(us),
        reset_after: us(reset),
    }
}

/// One key's rate-limit state under some algorithm.
#[derive(Debug, Clone)]
pub(crate) enum RateModel {
    /// Every granted `(ts, cost)`, never pruned.
    Sliding(Vec<(u128, u128)>),
    /// Granted units per window index `floor(ts / period)`.
    Fixed(HashMap<u128, u128>),
    /// The textbook theoretical arrival time (`None` before the first cell).
    Gcra(Option<u128>),
}

impl RateModel {
    pub(crate) fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Gcra => Self::Gcra(None),
            Algorithm::FixedWindow => Self::Fixed(HashMap::new()),
            _ => Self::Sliding(Vec::new()),
        }
    }

    /// Asks for `cost` units at `now`.
    pub(crate) fn hit(&mut self, q: Q, now: u64, cost: u32) -> Decision {
        let (now, cost, limit) = (u128::from(now), u128::from(cost), u128::from(q.limit));
        match self {
            Self::Sliding(events) => {
                let period = u128::from(q.period);
                let used = sliding_used(events, period, now);
                let reset = sliding_reset(events, period, now);
                if cost > limit {
                    decision(q, false, limit - used, None, reset)
                } else if used + cost <= limit {
                    events.push((now, cost));
                    decision(q, true, limit - used - cost, Some(0), period)
                } else {
                    let wait = sliding_wait(events, period, now, limit, cost);
                    decision(q, false, limit - used, Some(wait), reset)
                }
            }
            Self::Fixed(counts) => {
                let period = u128::from(q.period);
                let window = now / period;
                let end_in = (window + 1) * period - now;
                let used = counts.get(&window).copied().unwrap_or(0);
                if cost > limit {
                    let reset = if used > 0 { end_in } else { 0 };
                    decision(q, false, limit - used, None, reset)
                } else if used + cost <= limit {
                    counts.insert(window, used + cost);
                    decision(q, true, limit - used - cost, Some(0), end_in)
                } else {
                    decision(q, false, limit - used, Some(end_in), end_in)
                }
            }
            Self::Gcra(tat) => {
                let g = Gcra::new(q);
                // Virtual scheduling: a cell arriving at `now` sees TAT = max(TAT, now).
                let tat_now = tat.map_or(now, |t| t.max(now));
                if cost > limit {
                    return decision(q, false, g.available(tat_now, now), None, tat_now - now);
                }
                let earliest = g.earliest(tat_now, cost);
                if now >= earliest {
                    let new_tat = tat_now + cost * g.t;
                    *tat = Some(new_tat);
                    decision(q, true, g.available(new_tat, now), Some(0), new_tat - now)
                } else {
                    decision(
                        q,
                        false,
                        g.available(tat_now, now),
                        Some(earliest - now),
                        tat_now - now,
                    )
                }
            }
        }
    }

    /// What one unit would get at `now`, consuming nothing; `remaining` is what is available.
    pub(crate) fn peek(&self, q: Q, now: u64) -> Decision {
        let (now, limit) = (u128::from(now), u128::from(q.limit));
        match self {
            Self::Sliding(events) => {
                let period = u128::from(q.period);
                let used = sliding_used(events, period, now);
                let reset = sliding_reset(events, period, now);
                let retry = if used < limit {
                    0
                } else {
                    sliding_wait(events, period, now, limit, 1)
                };
                decision(q, used < limit, limit - used, Some(retry), reset)
            }
            Self::Fixed(counts) => {
                let period = u128::from(q.period);
                let window = now / period;
                let end_in = (window + 1) * period - now;
                let used = counts.get(&window).copied().unwrap_or(0);
                let reset = if used > 0 { end_in } else { 0 };
                let retry = if used < limit { 0 } else { end_in };
                decision(q, used < limit, limit - used, Some(retry), reset)
            }
            Self::Gcra(tat) => {
                let g = Gcra::new(q);
                let tat_now = tat.map_or(now, |t| t.max(now));
                let earliest = g.earliest(tat_now, 1);
                let retry = earliest.saturating_sub(now);
                decision(
                    q,
                    now >= earliest,
                    g.available(tat_now, now),
                    Some(retry),
                    tat_now - now,
                )
            }
        }
    }
}

/// Units of events still inside the window ending at `now`: those with `ts > now - period`.
fn sliding_used(events: &[(u128, u128)], period: u128, now: u128) -> u128 {
    events
        .iter()
        .filter(|&&(ts, _)| ts + period > now)
        .map(|&(_, c)| c)
        .sum()
}

/// Time until the newest counted event leaves the window (0 when none counts).
fn sliding_reset(events: &[(u128, u128)], period: u128, now: u128) -> u128 {
    events
        .iter()
        .filter(|&&(ts, _)| ts + period > now)
        .map(|&(ts, _)| ts + period - now)
        .max()
        .unwrap_or(0)
}

/// The shortest wait after which `cost` more units fit: the first moment, among those when an
/// event leaves the window, at which the count has dropped enough.
fn sliding_wait(events: &[(u128, u128)], period: u128, now: u128, limit: u128, cost: u128) -> u128 {
    let mut candidates: Vec<u128> = events
        .iter()
        .filter(|&&(ts, _)| ts + period > now)
        .map(|&(ts, _)| ts + period - now)
        .collect();
    candidates.sort_unstable();
    candidates
        .into_iter()
        .find(|&wait| sliding_used(events, period, now + wait) + cost <= limit)
        .unwrap()
}

/// GCRA parameters in the textbook's terms: increment `t` (emission interval, `period / limit`
/// rounded up to whole µs, at least 1) and limit `l = t * (limit - 1)` (the tolerance).
struct Gcra {
    t: u128,
    l: u128,
    limit: u128,
}

impl Gcra {
    fn new(q: Q) -> Self {
        let limit = u128::from(q.limit);
        let t = u128::from(q.period).div_ceil(limit).max(1);
        Self {
            t,
            l: t * (limit - 1),
            limit,
        }
    }

    /// Earliest time `n` cells arriving together conform: their last cell's theoretical
    /// arrival `tat + (n - 1) t` may be at most `l` ahead.
    fn earliest(&self, tat: u128, n: u128) -> u128 {
        (tat + (n - 1) * self.t).saturating_sub(self.l)
    }

    /// How many unit cells would conform at `now` if the TAT is `tat` (counted one by one).
    fn available(&self, tat: u128, now: u128) -> u128 {
        (1..=self.limit)
            .take_while(|&n| now >= self.earliest(tat, n))
            .count() as u128
    }
}

/// Debounce: the end of each key's open window.
#[derive(Debug, Default)]
pub(crate) struct DebounceModel {
    open_until: HashMap<String, u128>,
}

impl DebounceModel {
    pub(crate) fn sighting(&mut self, key: &str, window: Duration, now: u64) -> bool {
        let now = u128::from(now);
        match self.open_until.get(key) {
            Some(&end) if now < end => false,
            _ => {
                self.open_until
                    .insert(key.to_owned(), now + window.as_micros());
                true
            }
        }
    }
}

/// Blocklist: records by key.
#[derive(Debug, Default)]
pub(crate) struct BlocklistModel {
    records: BTreeMap<String, BlockRecord>,
}

/// What the model knows about a key's record.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RecordState {
    Active,
    Expired,
    Absent,
}

impl BlocklistModel {
    pub(crate) fn block(&mut self, key: &str, record: BlockRecord) {
        self.records.insert(key.to_owned(), record);
    }

    /// Removes the record, saying whether it was in force, expired or absent.
    pub(crate) fn unblock(&mut self, key: &str, now: u64) -> RecordState {
        let state = self.state(key, now);
        self.records.remove(key);
        state
    }

    pub(crate) fn state(&self, key: &str, now: u64) -> RecordState {
        match self.records.get(key) {
            None => RecordState::Absent,
            Some(r) if active(r, now) => RecordState::Active,
            Some(_) => RecordState::Expired,
        }
    }

    pub(crate) fn blocked(&self, key: &str, now: u64) -> Option<BlockRecord> {
        self.records.get(key).filter(|r| active(r, now)).cloned()
    }

    /// Records in force whose key starts with `prefix`, sorted by key.
    pub(crate) fn list(&self, prefix: &str, now: u64) -> Vec<(String, BlockRecord)> {
        self.records
            .iter()
            .filter(|(k, r)| k.starts_with(prefix) && active(r, now))
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect()
    }
}

/// A record is in force until its expiry, exclusive.
fn active(r: &BlockRecord, now: u64) -> bool {
    r.expires_at.is_none_or(|e| now < e.as_micros())
}
