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
    /// The set of every thread that has counted and may still count.
    sets: Mutex<Vec<Arc<CountSet>>>,
    /// The counts of threads that have ended (folded in when the next thread registers, so
    /// the list stays as long as the live threads: a thread per task does not grow it), and
    /// counts made while a thread's list is unavailable (the thread is being torn down).
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
    /// drops the sets of engines that no longer exist). The engine's list folds the sets of
    /// ended threads (only the engine holds them) into `shared` and drops them.
    #[cold]
    fn register<'a>(&self, mine: &'a mut Vec<(u64, Arc<CountSet>)>) -> &'a Arc<CountSet> {
        let set = Arc::new(CountSet::default());
        {
            let mut sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
            sets.retain(|s| {
                if Arc::strong_count(s) > 1 {
                    return true;
                }
                // Its thread has ended: its counts are final.
                for (total, c) in self.shared.0.iter().zip(&s.0) {
                    total.fetch_add(c.load(Ordering::Relaxed), Ordering::Relaxed);
                }
                false
            });
            sets.push(Arc::clone(&set));
        }
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
    fn ended_threads_are_folded_so_a_thread_per_task_keeps_the_list_short() {
        let counts = Arc::new(ThreadCounts::default());
        for _ in 0..50 {
            let counts = Arc::clone(&counts);
            std::thread::spawn(move || {
                counts.add(VerdictCount::Allowed);
                counts.add(VerdictCount::Debounced);
            })
            .join()
            .unwrap();
        }
        // Each new thread folded the one before it: one set is listed, none is lost.
        assert_eq!(counts.sets.lock().unwrap().len(), 1);
        assert_eq!(counts.get(VerdictCount::Allowed), 50);
        assert_eq!(counts.get(VerdictCount::Debounced), 50);
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
