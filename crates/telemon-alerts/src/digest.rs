//! Digests: Warning alerts per window (per endpoint: count, max, p95), merged across workers
//! and sent exactly once; and the flood digest that folds immediate alerts beyond the budget.
//!
//! # Exactly once across workers
//!
//! Windows are aligned to the epoch (`k = now / window`). At the end of window `k` each
//! worker publishes its own summary into the store as a blocklist record (the core traits'
//! only key–value-with-listing operation; the summary is JSON in `reason`, with an expiry) under
//! `{prefix}:dg:{k}:{worker}`. After a grace period, every worker that published tries to claim
//! `{prefix}:dgc:{k}` with `debounce`; the single winner lists `{prefix}:dg:{k}:`, merges the
//! summaries, sends one digest and deletes them. A worker that reaches a window later than the
//! grace (or whose publish fails) sends its own summary directly, so nothing is lost.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::format::{DigestRow, FloodEntry};

/// Most endpoints tracked per window per worker.
const MAX_ENDPOINTS: usize = 200;
/// Most latency samples kept per endpoint per worker (for p95).
const MAX_SAMPLES: usize = 256;

/// One endpoint's statistics in a window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EndpointStats {
    /// Occurrences.
    pub c: u64,
    /// Largest latency, µs.
    pub max: Option<u64>,
    /// Latency samples, µs (capped; every k-th kept once full).
    pub lat: Vec<u64>,
    /// One sample message (scrubbed).
    pub s: String,
}

/// One worker's summary of one window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WindowSummary {
    /// Endpoint → stats.
    pub e: HashMap<String, EndpointStats>,
    /// Alerts beyond the endpoint cap, counted only.
    pub overflow: u64,
}

impl WindowSummary {
    pub(crate) fn is_empty(&self) -> bool {
        self.e.is_empty() && self.overflow == 0
    }

    /// Adds one (scrubbed) Warning alert.
    pub(crate) fn add(&mut self, a: &Alert) {
        let endpoint = match a.http.as_ref() {
            Some(h) if !h.route.is_empty() => format!("{} {}", h.method, h.route).trim().to_owned(),
            _ => a.title.clone(),
        };
        let latency = a
            .http
            .as_ref()
            .and_then(|h| h.latency)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        if !self.e.contains_key(&endpoint) && self.e.len() >= MAX_ENDPOINTS {
            self.overflow += 1;
            return;
        }
        let st = self.e.entry(endpoint).or_default();
        st.c += 1;
        if let Some(l) = latency {
            st.max = Some(st.max.map_or(l, |m| m.max(l)));
            push_sample(&mut st.lat, l, st.c);
        }
        if st.s.is_empty() {
            st.s = if a.message.is_empty() {
                a.title.chars().take(120).collect()
            } else {
                a.message
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(120)
                    .collect()
            };
        }
    }

    /// Merges another worker's summary into this one.
    pub(crate) fn merge(&mut self, other: WindowSummary) {
        // Saturating: `other` was decoded from the store and may be anything.
        self.overflow = self.overflow.saturating_add(other.overflow);
        for (k, v) in other.e {
            let st = self.e.entry(k).or_default();
            let mine = st.c;
            st.c = st.c.saturating_add(v.c);
            st.max = match (st.max, v.max) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            merge_samples(&mut st.lat, mine, v.lat, v.c);
            if st.s.is_empty() {
                st.s = v.s;
            }
        }
    }

    /// Rows sorted by count, the top `limit`, and the total number of endpoints.
    pub(crate) fn rows(&self, limit: usize) -> (Vec<DigestRow>, usize) {
        let mut rows: Vec<DigestRow> = self
            .e
            .iter()
            .map(|(k, v)| DigestRow {
                endpoint: k.clone(),
                count: v.c,
                max: v.max.map(Duration::from_micros),
                p95: p95(&v.lat).map(Duration::from_micros),
                sample: if v.lat.is_empty() {
                    v.s.clone()
                } else {
                    String::new()
                },
            })
            .collect();
        rows.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.endpoint.cmp(&b.endpoint))
        });
        let total = rows.len();
        rows.truncate(limit);
        (rows, total)
    }

    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(crate) fn decode(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }
}

/// Keeps at most [`MAX_SAMPLES`]: once full, sample `n` replaces slot `n % MAX_SAMPLES`
/// (deterministic, spreads over the window).
fn push_sample(lat: &mut Vec<u64>, l: u64, n: u64) {
    if lat.len() < MAX_SAMPLES {
        lat.push(l);
    } else {
        let i = usize::try_from(n).unwrap_or(0) % MAX_SAMPLES;
        lat[i] = l;
    }
}

/// Joins two sample sets standing for `mine` and `theirs` occurrences; beyond
/// [`MAX_SAMPLES`] each side keeps a share proportional to its occurrences, thinned evenly
/// over its sorted order, so the merged percentiles weigh every worker fairly.
fn merge_samples(lat: &mut Vec<u64>, mine: u64, other: Vec<u64>, theirs: u64) {
    if lat.len() + other.len() <= MAX_SAMPLES {
        lat.extend(other);
        return;
    }
    let total = u128::from(mine) + u128::from(theirs);
    let share = (MAX_SAMPLES as u128 * u128::from(mine) + total / 2)
        .checked_div(total)
        .map_or(MAX_SAMPLES / 2, |s| {
            usize::try_from(s).unwrap_or(MAX_SAMPLES)
        });
    let keep_other = other.len().min(MAX_SAMPLES - share.min(MAX_SAMPLES));
    let keep_mine = lat.len().min(MAX_SAMPLES - keep_other);
    let mut merged = thin(std::mem::take(lat), keep_mine);
    merged.extend(thin(other, MAX_SAMPLES - merged.len()));
    *lat = merged;
}

/// `k` samples spread evenly over the sorted `v` (all of `v` if it is not longer).
fn thin(mut v: Vec<u64>, k: usize) -> Vec<u64> {
    let n = v.len();
    if n <= k {
        return v;
    }
    v.sort_unstable();
    (0..k).filter_map(|i| v.get(i * n / k).copied()).collect()
}

/// Nearest-rank 95th percentile.
pub(crate) fn p95(samples: &[u64]) -> Option<u64> {
    if samples.is_empty() {
        return None;
    }
    let mut v = samples.to_vec();
    v.sort_unstable();
    let rank = (v.len() * 95).div_ceil(100).max(1);
    v.get(rank - 1).copied()
}

/// Immediate alerts folded by flood protection, waiting for their digest.
#[derive(Debug, Default)]
pub(crate) struct Flood {
    entries: HashMap<sentinel_core::Fingerprint, FloodEntry>,
    order: Vec<sentinel_core::Fingerprint>,
    pub(crate) total: u64,
    pub(crate) distinct: u64,
    pub(crate) since: Option<sentinel_core::Timestamp>,
}

/// Most distinct entries kept for the flood digest (the rest are counted).
const MAX_FLOOD_ENTRIES: usize = 1000;

impl Flood {
    pub(crate) fn add(
        &mut self,
        fp: sentinel_core::Fingerprint,
        a: &Alert,
        n: u64,
        now: sentinel_core::Timestamp,
    ) {
        self.since.get_or_insert(now);
        self.total += n;
        if let Some(e) = self.entries.get_mut(&fp) {
            e.count += n;
            return;
        }
        self.distinct += 1;
        if self.entries.len() < MAX_FLOOD_ENTRIES {
            self.order.push(fp);
            self.entries.insert(
                fp,
                FloodEntry {
                    title: a.title.clone(),
                    message: a.message.chars().take(200).collect(),
                    count: n,
                },
            );
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Takes the content: top entries by count (then first seen), totals.
    pub(crate) fn take(&mut self, top: usize) -> (Vec<FloodEntry>, u64, u64) {
        let mut list: Vec<(usize, FloodEntry)> = self
            .order
            .iter()
            .enumerate()
            .filter_map(|(i, fp)| self.entries.get(fp).map(|e| (i, e.clone())))
            .collect();
        list.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
        list.truncate(top);
        let out = (
            list.into_iter().map(|(_, e)| e).collect(),
            self.total,
            self.distinct,
        );
        *self = Self::default();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_nearest_rank() {
        assert_eq!(p95(&[]), None);
        assert_eq!(p95(&[5]), Some(5));
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(p95(&v), Some(95));
        let v: Vec<u64> = (1..=20).collect();
        assert_eq!(p95(&v), Some(19));
    }

    #[test]
    fn summaries_merge_and_round_trip() {
        let slow = |ms: u64| {
            Alert::warning("slow request")
                .route("GET", "/a")
                .latency(Duration::from_millis(ms))
        };
        let mut a = WindowSummary::default();
        a.add(&slow(100));
        a.add(&slow(300));
        let mut b = WindowSummary::default();
        b.add(&slow(200));
        b.add(&Alert::warning("disk 91% full"));
        let b = WindowSummary::decode(&b.encode()).unwrap();
        a.merge(b);
        let (rows, total) = a.rows(10);
        assert_eq!(total, 2);
        assert_eq!(rows[0].endpoint, "GET /a");
        assert_eq!(rows[0].count, 3);
        assert_eq!(rows[0].max, Some(Duration::from_millis(300)));
        assert_eq!(rows[0].p95, Some(Duration::from_millis(300)));
        assert_eq!(rows[1].endpoint, "disk 91% full");
    }

    fn full(ms: u64) -> WindowSummary {
        let mut s = WindowSummary::default();
        for _ in 0..MAX_SAMPLES {
            s.add(
                &Alert::warning("slow request")
                    .route("GET", "/a")
                    .latency(Duration::from_millis(ms)),
            );
        }
        s
    }

    #[test]
    fn merged_p95_covers_every_worker_when_samples_are_full() {
        // Half the occurrences took 1 s: the merged p95 is 1 s whichever side merges.
        for (mine, theirs) in [(1, 1000), (1000, 1)] {
            let mut a = full(mine);
            a.merge(full(theirs));
            let (rows, _) = a.rows(1);
            assert_eq!(rows[0].count, 2 * MAX_SAMPLES as u64);
            assert_eq!(
                rows[0].p95,
                Some(Duration::from_secs(1)),
                "{mine} + {theirs}"
            );
            assert_eq!(a.e["GET /a"].lat.len(), MAX_SAMPLES);
        }
        // And a fast worker's samples still count: 3 fast workers, 1 slow one.
        let mut a = full(1);
        a.merge(full(1));
        a.merge(full(1));
        a.merge(full(1000));
        let (rows, _) = a.rows(1);
        assert_eq!(rows[0].p95, Some(Duration::from_secs(1)));
        let fast = a.e["GET /a"].lat.iter().filter(|&&l| l == 1_000).count();
        assert_eq!(fast, 3 * MAX_SAMPLES / 4);
    }

    #[test]
    fn merging_a_corrupt_stored_summary_does_not_overflow() {
        let mut a = WindowSummary::default();
        a.add(&Alert::warning("w"));
        a.overflow = 3;
        let corrupt = WindowSummary::decode(&format!(
            r#"{{"e":{{"w":{{"c":{max},"max":null,"lat":[],"s":""}}}},"overflow":{max}}}"#,
            max = u64::MAX
        ))
        .unwrap();
        a.merge(corrupt);
        assert_eq!(a.e["w"].c, u64::MAX);
        assert_eq!(a.overflow, u64::MAX);
    }

    #[test]
    fn endpoint_cap_counts_overflow() {
        let mut s = WindowSummary::default();
        for i in 0..(MAX_ENDPOINTS + 5) {
            s.add(&Alert::warning(format!("w{i}")));
        }
        assert_eq!(s.e.len(), MAX_ENDPOINTS);
        assert_eq!(s.overflow, 5);
    }
}
