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
//!   With several limits, the ones that granted are watched: the one that refused cannot
//!   change before its retry time, but another plan consuming a granting limit could make it
//!   the longer refusal, so an allowed plan that touches a watched key clears the cache.
//! * Anything that blocks or unblocks through this engine (admin calls, escalation) clears
//!   the cache. Changes made by other processes reach this one within the cap.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// The question, in full: a tag (`b` blocked, `t` throttled) and each key after a
    /// newline (keys never hold one). Compared on every hit, so a hash collision is a miss.
    question: String,
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

/// The keys of the question a plan asks, for one kind of denial.
#[derive(Clone, Copy)]
enum Question<'p> {
    /// Is the plan's first block key blocked?
    Blocked(&'p str),
    /// Does the plan (its block and limit keys, cost 1) get the same refusal?
    Throttled(&'p Plan),
}

impl<'p> Question<'p> {
    /// The throttle question of `plan`, when its answer can be cached: no debounce step (a
    /// repeat would be `Debounced`, a first sighting opens a window), no escalation (each
    /// throttle must count its strike in the store), at least one limit, cost 1.
    fn throttled(plan: &'p Plan) -> Option<Self> {
        if plan.debounce.is_some() || plan.strike.is_some() || plan.limits.is_empty() {
            return None;
        }
        if plan.limits.iter().any(|l| l.cost != 1) {
            return None;
        }
        Some(Self::Throttled(plan))
    }

    fn tag(self) -> char {
        match self {
            Self::Blocked(_) => 'b',
            Self::Throttled(_) => 't',
        }
    }

    fn keys(self) -> impl Iterator<Item = &'p str> {
        let (one, plan) = match self {
            Self::Blocked(k) => (Some(k), None),
            Self::Throttled(p) => (None, Some(p)),
        };
        let blocks = plan
            .into_iter()
            .flat_map(|p| p.blocks.iter().map(String::as_str));
        let limits = plan
            .into_iter()
            .flat_map(|p| p.limits.iter().map(|l| l.key.as_str()));
        one.into_iter().chain(blocks).chain(limits)
    }

    fn hash(self, state: &RandomState) -> u64 {
        let mut h = state.build_hasher();
        h.write_u32(u32::from(self.tag()));
        for k in self.keys() {
            h.write(k.as_bytes());
            h.write_u8(b'\n');
        }
        h.finish()
    }

    /// Whether `question` (an entry's) is this one. Allocation-free.
    fn is(self, question: &str) -> bool {
        let Some(mut rest) = question.strip_prefix(self.tag()) else {
            return false;
        };
        for k in self.keys() {
            match rest.strip_prefix('\n').and_then(|r| r.strip_prefix(k)) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    fn to_text(self) -> String {
        let mut out = String::new();
        out.push(self.tag());
        for k in self.keys() {
            out.push('\n');
            out.push_str(k);
        }
        out
    }
}

#[derive(Debug)]
pub(crate) struct DenyCache {
    ttl: Duration,
    /// Entries held, readable without the lock: a check on an empty cache takes no lock.
    len: AtomicUsize,
    hasher: RandomState,
    entries: Mutex<HashMap<u64, Entry>>,
    /// Hashes of the limit keys that granted in a cached throttle of several limits. Another
    /// plan that consumes one of them may make it refuse for longer than the cached refusal,
    /// changing which refusal the verdict reports: an allowed plan touching one clears the
    /// cache. (The limit that refused cannot change before its `retry_after`: nothing can
    /// consume it.)
    watched: Mutex<HashSet<u64>>,
    /// `watched.len()`, readable without the lock: an allowed check takes no lock while no
    /// throttle of several limits is cached.
    watched_len: AtomicUsize,
}

impl DenyCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            len: AtomicUsize::new(0),
            hasher: RandomState::new(),
            entries: Mutex::new(HashMap::new()),
            watched: Mutex::new(HashSet::new()),
            watched_len: AtomicUsize::new(0),
        }
    }

    fn key_hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key.as_bytes())
    }

    pub(crate) fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The entry answering `question`, if any.
    fn lookup<'m>(
        &self,
        map: &'m HashMap<u64, Entry>,
        question: Question<'_>,
    ) -> Option<&'m Entry> {
        map.get(&question.hash(&self.hasher))
            .filter(|e| question.is(&e.question))
    }

    /// The cached answer for `plan`, if one is in force at `plan.now`. Allocation-free; an
    /// empty cache (every check of a well-behaved user) answers inline, without a call.
    #[inline]
    pub(crate) fn get(&self, plan: &Plan) -> Option<Cached> {
        if !self.enabled() || self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.get_held(plan)
    }

    /// [`get`](Self::get) when the cache holds something.
    fn get_held(&self, plan: &Plan) -> Option<Cached> {
        let now = plan.now;
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(first) = plan.blocks.first()
            && let Some(Entry {
                until,
                denial: Denial::Blocked(record),
                ..
            }) = self.lookup(&entries, Question::Blocked(first))
            && now < *until
        {
            return Some(Cached::Blocked(record.clone()));
        }
        let question = Question::throttled(plan)?;
        match self.lookup(&entries, question) {
            Some(Entry {
                until,
                denial:
                    Denial::Throttled {
                        index,
                        decision,
                        at,
                    },
                ..
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

    fn insert(&self, question: Question<'_>, until: Timestamp, denial: Denial, now: Timestamp) {
        let hash = question.hash(&self.hasher);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&hash) {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        // A different question with the same hash is replaced: it is asked of the store again.
        entries.insert(
            hash,
            Entry {
                question: question.to_text(),
                until,
                denial,
            },
        );
        self.len.store(entries.len(), Ordering::Relaxed);
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
                Question::Blocked(key),
                until,
                Denial::Blocked(record.clone()),
                plan.now,
            );
        }
    }

    /// Remembers that `plan` was throttled by `limits[index]` with `decision`.
    pub(crate) fn throttled(&self, plan: &Plan, index: usize, decision: &Decision) {
        if !self.enabled() {
            return;
        }
        let Some(question) = Question::throttled(plan) else {
            return;
        };
        let cap = plan.now.saturating_add(self.ttl);
        let until = decision
            .retry_after
            .map_or(cap, |r| plan.now.saturating_add(r).min(cap));
        if plan.now < until {
            if plan.limits.len() > 1 {
                let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
                for (i, l) in plan.limits.iter().enumerate() {
                    if i != index {
                        watched.insert(self.key_hash(&l.key));
                    }
                }
                self.watched_len.store(watched.len(), Ordering::Relaxed);
            }
            self.insert(
                question,
                until,
                Denial::Throttled {
                    index,
                    decision: *decision,
                    at: plan.now,
                },
                plan.now,
            );
        }
    }

    /// The store granted `plan` (its limits consumed): forgets every cached answer if one of
    /// its limit keys is watched.
    #[inline]
    pub(crate) fn allowed(&self, plan: &Plan) {
        if self.watched_len.load(Ordering::Relaxed) != 0 {
            self.allowed_watched(plan);
        }
    }

    /// [`allowed`](Self::allowed) while some limit keys are watched.
    fn allowed_watched(&self, plan: &Plan) {
        let touched = {
            let watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
            plan.limits
                .iter()
                .any(|l| watched.contains(&self.key_hash(&l.key)))
        };
        if touched {
            self.clear();
        }
    }

    /// Forgets everything (a block or unblock through this engine).
    pub(crate) fn clear(&self) {
        if self.enabled() {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            entries.clear();
            self.len.store(0, Ordering::Relaxed);
            let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
            watched.clear();
            self.watched_len.store(0, Ordering::Relaxed);
        }
    }
}
