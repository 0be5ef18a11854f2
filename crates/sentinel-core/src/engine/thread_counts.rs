//! [`ThreadCounts`]: the verdict counters, kept per thread so that counting a check takes no
//! locked instruction.
//!
//! Every check bumps one verdict counter. A shared atomic add is a locked instruction: it
//! waits for the thread's pending stores to drain and, with several threads, bounces the
//! counter's cache line between cores. Here each thread that checks with an engine gets a set
//! of counters of its own, which only that thread writes (a plain load and store of an atomic,
//! exact because there is one writer); reading the stats sums the sets.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The counted verdicts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VerdictCount {
    Allowed = 0,
    Blocked = 1,
    Debounced = 2,
    Throttled = 3,
}

const KINDS: usize = 4;

/// One thread's counts for one engine.
#[derive(Debug, Default)]
struct CountSet([AtomicU64; KINDS]);

/// The verdict counts of one engine, across threads.
#[derive(Debug)]
pub(crate) struct ThreadCounts {
    /// Tells this engine's sets apart in a thread's list (never reused, unlike an address).
    id: u64,
    /// Every thread's set (kept after its thread ends, so no count is lost).
    sets: Mutex<Vec<Arc<CountSet>>>,
    /// For counts made while the thread's list is unavailable (the thread is being torn down,
    /// or the list is borrowed by a count in progress, which cannot happen today).
    shared: CountSet,
}

thread_local! {
    /// This thread's sets, by engine id.
    static MINE: RefCell<Vec<(u64, Arc<CountSet>)>> = const { RefCell::new(Vec::new()) };
}

impl Default for ThreadCounts {
    fn default() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            sets: Mutex::default(),
            shared: CountSet::default(),
        }
    }
}

impl ThreadCounts {
    /// Counts one `verdict` on this thread's set.
    #[inline]
    pub(crate) fn add(&self, verdict: VerdictCount) {
        let i = verdict as usize;
        let counted = MINE
            .try_with(|mine| {
                let Ok(mut mine) = mine.try_borrow_mut() else {
                    return false;
                };
                let set = match mine.iter().position(|(id, _)| *id == self.id) {
                    Some(at) => &mine[at].1,
                    None => self.register(&mut mine),
                };
                if let Some(c) = set.0.get(i) {
                    // This thread is the set's only writer, so load-then-store loses nothing.
                    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
                }
                true
            })
            .unwrap_or(false);
        if !counted && let Some(c) = self.shared.0.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A new set for this thread, listed with the engine and in the thread's list (which
    /// drops the sets of engines that no longer exist).
    #[cold]
    fn register<'a>(&self, mine: &'a mut Vec<(u64, Arc<CountSet>)>) -> &'a Arc<CountSet> {
        let set = Arc::new(CountSet::default());
        self.sets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&set));
        mine.retain(|(_, s)| Arc::strong_count(s) > 1);
        mine.push((self.id, set));
        let last = mine.len() - 1;
        &mine[last].1
    }

    /// The count of `verdict` across all threads.
    pub(crate) fn get(&self, verdict: VerdictCount) -> u64 {
        let i = verdict as usize;
        let read = |set: &CountSet| set.0.get(i).map_or(0, |c| c.load(Ordering::Relaxed));
        let sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        sets.iter()
            .map(|s| read(s))
            .fold(read(&self.shared), u64::wrapping_add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up_exactly() {
        let counts = Arc::new(ThreadCounts::default());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let counts = Arc::clone(&counts);
                std::thread::spawn(move || {
                    for _ in 0..1_000 * (t + 1) {
                        counts.add(VerdictCount::Allowed);
                    }
                    counts.add(VerdictCount::Throttled);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // The threads have ended: their counts stay.
        assert_eq!(counts.get(VerdictCount::Allowed), 10_000);
        assert_eq!(counts.get(VerdictCount::Throttled), 4);
        assert_eq!(counts.get(VerdictCount::Blocked), 0);
    }

    #[test]
    fn two_engines_on_one_thread_count_apart_and_a_dropped_one_is_forgotten() {
        let a = ThreadCounts::default();
        let b = ThreadCounts::default();
        a.add(VerdictCount::Debounced);
        b.add(VerdictCount::Debounced);
        b.add(VerdictCount::Debounced);
        assert_eq!(a.get(VerdictCount::Debounced), 1);
        assert_eq!(b.get(VerdictCount::Debounced), 2);
        drop(a);
        // A new engine's first count drops the dead engine's set from this thread's list.
        let c = ThreadCounts::default();
        c.add(VerdictCount::Blocked);
        MINE.with(|mine| assert_eq!(mine.borrow().len(), 2));
        assert_eq!(c.get(VerdictCount::Blocked), 1);
        assert_eq!(b.get(VerdictCount::Debounced), 2);
    }
}
