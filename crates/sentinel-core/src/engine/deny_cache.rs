//! The process-local deny cache: after a `Blocked` or `Throttled` verdict, the same question
//! is answered without the store until the answer can change, capped at `deny_cache_ttl`.
//!
//! Entries are exact within one process, so verdict sequences with and without the cache are
//! identical (a property test in `tests/deny_cache.rs` checks it):
//!
//! * **Blocked**: keyed by the block key; valid until the block ends (or the cap). The store
//!   checks block keys in order, so only the event's first block key (its user, else its
//!   chat) is answered from the cache: a block there decides whatever the others hold.
//! * **Throttled**: keyed by the plan's block keys and limit keys together; valid until the
//!   refusal's `retry_after` (or the cap). Only for plans without a debounce step (a repeat
//!   would be `Debounced`, a first sighting opens a window), without escalation (each throttle
//!   must count its strike in the store), and with cost 1 (then `remaining` stays 0 until the
//!   retry time, and `reset_after` falls linearly, so the decision can be recomputed exactly).
//! * Anything that blocks or unblocks through this engine (admin calls, escalation) clears
//!   the cache. Changes made by other processes reach this one within the cap.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::{BlockRecord, Decision, Plan, Timestamp};

/// Most entries; when full, expired entries go, and if none had expired, all of them.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone)]
enum Denial {
    Blocked(BlockRecord),
    Throttled {
        index: usize,
        decision: Decision,
        /// When the decision was made.
        at: Timestamp,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    until: Timestamp,
    denial: Denial,
}

/// What the cache answered.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    /// `blocks[0]` is blocked.
    Blocked(BlockRecord),
    /// `limits[index]` refuses with `decision`.
    Throttled { index: usize, decision: Decision },
}

#[derive(Debug)]
pub(crate) struct DenyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

/// The cache key of a throttle: every block and limit key, and the cost.
fn throttle_key(plan: &Plan) -> Option<String> {
    if plan.debounce.is_some() || plan.strike.is_some() || plan.limits.is_empty() {
        return None;
    }
    if plan.limits.iter().any(|l| l.cost != 1) {
        return None;
    }
    let mut key = String::from("t");
    for k in plan.blocks.iter().chain(plan.limits.iter().map(|l| &l.key)) {
        key.push('\n');
        key.push_str(k);
    }
    Some(key)
}

impl DenyCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The cached answer for `plan`, if one is in force at `plan.now`.
    pub(crate) fn get(&self, plan: &Plan) -> Option<Cached> {
        if !self.enabled() {
            return None;
        }
        let now = plan.now;
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.is_empty() {
            return None;
        }
        if let Some(first) = plan.blocks.first()
            && let Some(Entry {
                until,
                denial: Denial::Blocked(record),
            }) = entries.get(first)
            && now < *until
        {
            return Some(Cached::Blocked(record.clone()));
        }
        let key = throttle_key(plan)?;
        match entries.get(&key) {
            Some(Entry {
                until,
                denial:
                    Denial::Throttled {
                        index,
                        decision,
                        at,
                    },
            }) if now < *until && now >= *at => {
                let elapsed = now.saturating_since(*at);
                let mut d = *decision;
                d.retry_after = d.retry_after.map(|r| r.saturating_sub(elapsed));
                d.reset_after = d.reset_after.saturating_sub(elapsed);
                Some(Cached::Throttled {
                    index: *index,
                    decision: d,
                })
            }
            _ => None,
        }
    }

    fn insert(&self, key: String, entry: Entry, now: Timestamp) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, entry);
    }

    /// Remembers that `plan.blocks[index]` holds `record` (only the first block key is ever
    /// answered from the cache).
    pub(crate) fn blocked(&self, plan: &Plan, index: usize, record: &BlockRecord) {
        if !self.enabled() || index != 0 {
            return;
        }
        let Some(key) = plan.blocks.first() else {
            return;
        };
        let cap = plan.now.saturating_add(self.ttl);
        let until = record.expires_at.map_or(cap, |end| end.min(cap));
        if plan.now < until {
            self.insert(
                key.clone(),
                Entry {
                    until,
                    denial: Denial::Blocked(record.clone()),
                },
                plan.now,
            );
        }
    }

    /// Remembers that `plan` was throttled by `limits[index]` with `decision`.
    pub(crate) fn throttled(&self, plan: &Plan, index: usize, decision: &Decision) {
        if !self.enabled() {
            return;
        }
        let Some(key) = throttle_key(plan) else {
            return;
        };
        let cap = plan.now.saturating_add(self.ttl);
        let until = decision
            .retry_after
            .map_or(cap, |r| plan.now.saturating_add(r).min(cap));
        if plan.now < until {
            self.insert(
                key,
                Entry {
                    until,
                    denial: Denial::Throttled {
                        index,
                        decision: *decision,
                        at: plan.now,
                    },
                },
                plan.now,
            );
        }
    }

    /// Forgets everything (a block or unblock through this engine).
    pub(crate) fn clear(&self) {
        if self.enabled() {
            self.entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }
}
