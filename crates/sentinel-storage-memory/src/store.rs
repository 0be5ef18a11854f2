//! [`MemoryStore`]: the store itself.

use std::fmt;
use std::hash::BuildHasher;
use std::mem::size_of;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use async_trait::async_trait;
use foldhash::fast::RandomState;
use sentinel_core::plan::{longest_refusal, tightest};
use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, Clock, DebounceStore, Decision, LimitStep, MAX_LIMITS,
    Plan, PlanOutcome, Quota, RateLimitState, RateLimitStore, Store, StoreError, SyncStore,
    Timestamp,
};
use smallvec::SmallVec;

use crate::MemoryConfig;
use crate::debounce_group::{Grouped, Sight};

/// Per-limit scratch space of one update, inline up to [`MAX_LIMITS`] (a policy's most).
type Scratch<T> = SmallVec<[T; MAX_LIMITS]>;
use crate::entry::{Entry, gcra_step, window_end};
use crate::shard::Shard;

mod forget;
mod listing;

/// The in-process store: every storage trait of `sentinel-core`, in a sharded map.
///
/// # Layout
///
/// Keys are spread over a power-of-two number of shards ([`MemoryConfig::shards`]), each a
/// `RwLock` around a hash table of 4-byte indices into a dense, chunked slab of 80-byte
/// entries. Keys up to 54 bytes (every rate-limit key the engine makes for a user or a chat)
/// are stored inside their entry, longer ones on the heap. Keys are hashed once per call with
/// [foldhash] (seeded at random per store) and looked up by `&str`, without allocating. A
/// million live keys take about 91 bytes each; a sweep gives the memory back.
///
/// * **GCRA** state is one `AtomicU64` (the TAT) per key. A check takes the shard's *read*
///   lock and updates the word by compare-and-swap, running the core's
///   [`GcraState::step`](sentinel_core::GcraState::step) on a copy and retrying on conflict,
///   so checks on different keys of one shard run in parallel.
/// * **Sliding-window** logs of one entry are stored inline; longer logs are the core's
///   [`SlidingWindowState`](sentinel_core::SlidingWindowState) ring buffer. Sliding and fixed
///   windows, debounce and blocklist writes take the shard's write lock.
/// * Every decision is the core's: see [`RateLimitState`].
/// * The engine's whole update is one synchronous pass ([`MemoryStore::evaluate_sync`]):
///   blocklist (no lock at all while no key is blocked), debounce, the rate limits, strike
///   and block. One limit takes the GCRA fast path above; several are tried on copies of
///   their states and recorded only if all grant, under the write locks of their shards
///   (taken in shard order, so two updates cannot deadlock). Each step is atomic on its keys;
///   an admin block landing between two steps of one update is seen by the next update.
///
/// # Debounce windows
///
/// A debounce key `{head}:{member}` with a member of up to 22 bytes (the engine's keys end
/// with the content's 22-character fingerprint after the policy and subject) is held in one
/// entry per head: the subject's windows, two of them, each member stored whole (the entry
/// takes 80 bytes and a 96-byte box, where one window of its own took 80 bytes). A user's new
/// message reuses an ended slot instead of inserting a key and sweeping one, and a subject's
/// windows take one key of [`MemoryConfig::max_keys`]. When a third window opens while two
/// are open, it (and every new member after it, until the entry is swept) gets an entry of
/// its own under its full key, and the head's entry lives until those windows end too.
/// [`MemoryStore::keys`] lists the member keys; [`Store::forget`] counts them.
///
/// # Idle keys
///
/// A key is removed once it can no longer change a decision: its rate-limit state is back to
/// full capacity (the core's `reset_after` is zero, computed with the quota of its latest
/// call), its debounce window has ended, or its blocklist record has expired. There is no timer
/// per key. Instead:
///
/// * each insertion of a new key looks at a few entries of its shard
///   ([`MemoryConfig::sweep_per_insert`]) and removes the idle ones, so the store cannot grow
///   by more than a bounded factor over its live keys while keys keep arriving;
/// * [`MemoryStore::sweep`] removes every idle key at once;
/// * [`MemoryStore::spawn_sweeper`] (feature `sweeper`) sweeps in the background.
///
/// Sweeping reads the store's [`Clock`]; give the store the clock the engine uses. A key is
/// idle *at the sweep's time*: a call whose `now` is earlier than a sweep that ran before it
/// (a thread that read the clock, then waited for the shard's lock while another swept it)
/// finds the key gone and decides on fresh state, as if its clock had stepped back past the
/// key's forgotten history. With a shared clock that window is the time between reading the
/// clock and taking the lock.
///
/// # Capacity
///
/// Two budgets, so that one kind of key cannot starve the other:
///
/// * [`MemoryConfig::max_keys`] caps rate-limit and debounce keys. A new key arriving at the
///   cap first makes room among up to 64 entries of its shard (then, if that finds none, of
///   another shard): it removes the **idle** ones (state that can no longer change a
///   decision); if none is idle, one **live debounce window** (forgetting it lets one repeat
///   through to the rate limits, which still count it). **Live rate-limit state is never
///   evicted**: forgetting a subject's usage would give it a fresh budget, so an attacker
///   sending fresh ids could reset its own limit. When there is no room the new key is
///   refused with [`StoreError::CapacityReached`], which the engine handles by its
///   `FailMode` (open: the new subject passes unchecked, marked degraded; closed: it is
///   refused). Subjects already stored keep being decided exactly. Two deliberate exceptions
///   inside an update ([`MemoryStore::evaluate_sync`]): a new debounce key that finds no room
///   counts as a first sighting, unrecorded (the rate limits still decide); a new strike key
///   that finds no room is a strike not counted, and the event stays throttled.
/// * [`MemoryConfig::max_blocks`] (default [`DEFAULT_MAX_BLOCKS`](crate::DEFAULT_MAX_BLOCKS))
///   caps blocklist records. At the budget, expired records are removed first; a record that
///   still finds no room is refused: [`BlocklistStore::block`] fails with
///   `CapacityReached`, and an escalation does not block (the subject stays throttled by its
///   rate limits and keeps its strikes, so its next throttle tries again). Records are never
///   evicted while active.
///
/// Size `max_keys` for the live keys of your peak (each subject has one key per rate limit,
/// plus its strike and debounce keys while they matter) and run the sweeper: a bounded scan
/// can miss idle keys the sweeper would remove, and refuse a new key meanwhile. After a search
/// found no room, new keys are refused without searching until the earliest expiry it saw,
/// at most 100 ms later (keys removed by a sweep, `reset` or `forget` make room at once), so a
/// flood of fresh ids at the cap costs little per id. Making room
/// never waits for another shard's lock (waiting while holding its own could deadlock), so a
/// new key can also be refused, rarely, when the only room is in a shard another thread holds
/// at that instant. Calls on keys already present never fail.
///
/// # Time
///
/// Trait methods decide with the `now` they are given; timestamps are plain `u64`
/// microseconds and all arithmetic saturates, so any `now` is safe.
///
/// [foldhash]: https://docs.rs/foldhash
pub struct MemoryStore {
    shards: Box<[Padded]>,
    hasher: RandomState,
    mask: usize,
    /// Rate-limit and debounce entries (what `max_keys` caps).
    entries: AtomicUsize,
    /// At the key cap, the store clock's time (µs) before which a scan found no room.
    no_room_until: AtomicU64,
    /// Blocklist records alone (lets `blocked` skip the lock when there are none).
    records: AtomicUsize,
    clock: Box<dyn Clock>,
    config: MemoryConfig,
}

/// A shard on cache lines of its own, so that taking one shard's lock never invalidates the
/// line another core reads for a neighbouring shard.
#[derive(Debug)]
#[repr(align(128))]
struct Padded(RwLock<Shard>);

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.len())
            .field("config", &self.config)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// The longest a failed search for room at the key cap lets later new keys be refused
/// without searching again: 100 ms.
const NO_ROOM_HINT: u64 = 100_000;

impl MemoryStore {
    /// A store with the default [`MemoryConfig`]. `clock` is read only to sweep idle keys;
    /// decisions use the `now` passed to each call.
    ///
    /// ```
    /// use sentinel_core::SystemClock;
    /// use sentinel_storage_memory::MemoryStore;
    /// let store = MemoryStore::new(SystemClock);
    /// assert_eq!(store.len(), 0);
    /// ```
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self::with_config(clock, MemoryConfig::default())
    }

    /// A store laid out as `config` says.
    pub fn with_config(clock: impl Clock + 'static, config: MemoryConfig) -> Self {
        let shards: Box<[Padded]> = (0..config.shards)
            .map(|_| Padded(RwLock::new(Shard::default())))
            .collect();
        Self {
            mask: shards.len() - 1,
            shards,
            hasher: RandomState::default(),
            entries: AtomicUsize::new(0),
            no_room_until: AtomicU64::new(0),
            records: AtomicUsize::new(0),
            clock: Box::new(clock),
            config,
        }
    }

    /// The configuration the store was built with.
    pub fn config(&self) -> &MemoryConfig {
        &self.config
    }

    #[inline]
    fn locate(&self, key: &[u8]) -> (u64, &RwLock<Shard>) {
        let hash = self.hasher.hash_one(key);
        // The table uses the low bits and the top 7; shards take bits from the middle.
        let i = (hash >> 32) as usize & self.mask;
        (hash, &self.shards[i].0)
    }

    #[inline]
    fn read(shard: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
        shard.read().unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    fn write(shard: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
        shard.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`RateLimitStore::hit`] without the future: the same decision, computed synchronously
    /// on the calling thread (what the async method calls).
    ///
    /// ```
    /// use sentinel_core::{Algorithm, ManualClock, Quota, Timestamp};
    /// use sentinel_storage_memory::MemoryStore;
    ///
    /// let store = MemoryStore::new(ManualClock::default());
    /// let q = Quota::per_second(2)?;
    /// let now = Timestamp::from_secs(1);
    /// assert!(store.hit_sync("k", Algorithm::Gcra, &q, 2, now)?.allowed);
    /// assert!(!store.hit_sync("k", Algorithm::Gcra, &q, 1, now)?.allowed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`StoreError::CapacityReached`] only for a key not yet stored, when the store is at
    /// [`MemoryConfig::max_keys`] and no key can be evicted.
    // Always inlined: a plan's rate limit (the engine's every check) then builds its outcome
    // from the decision in place, instead of copying it out of a returned value.
    #[inline(always)]
    pub fn hit_sync(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        let (hash, lock) = self.locate(key.as_bytes());
        if algorithm == Algorithm::Gcra {
            // Fast path: shared lock, compare-and-swap on the key's word.
            let shard = Self::read(lock);
            if let Some(tat) = shard.find_entry(hash, key.as_bytes()).and_then(Entry::gcra) {
                return Ok(gcra_step(tat, quota, cost, now));
            }
        }
        let mut shard = Self::write(lock);
        self.hit_locked(&mut shard, hash, key, algorithm, quota, cost, now)
    }

    /// One rate-limit step on `key` in its write-locked `shard`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the step's inputs, passed through"
    )]
    fn hit_locked(
        &self,
        shard: &mut Shard,
        hash: u64,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        if let Some(i) = shard.find(hash, key.as_bytes())
            && let Some(d) = shard.update(i, |e| e.hit(algorithm, quota, cost, now))
        {
            return Ok(d);
        }
        let (d, entry) = Entry::first_hit(key, algorithm, quota, cost, now);
        if let Some(entry) = entry {
            self.admit(shard, hash, entry)?;
        }
        Ok(d)
    }

    /// [`Store::evaluate`] without the future: the whole plan in one pass on the calling
    /// thread. Several rate limits are decided together under the write locks of their shards
    /// (taken in shard order): each is tried on a copy of its state first, and only when all
    /// grant are they recorded, so a refusal consumes none.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, LimitStep, ManualClock, Plan, PlanOutcome, Quota, Timestamp};
    /// use sentinel_storage_memory::MemoryStore;
    ///
    /// let store = MemoryStore::new(ManualClock::default());
    /// let mut plan = Plan::new(Timestamp::from_secs(1));
    /// let step = |key: &str, limit| LimitStep {
    ///     key: key.into(), algorithm: Algorithm::Gcra, quota: Quota::per_second(limit).unwrap(), cost: 1,
    /// };
    /// plan.limits = vec![step("a", 5), step("b", 1)];
    /// assert!(matches!(store.evaluate_sync(&plan)?, PlanOutcome::Allowed { .. }));
    /// // `b` refuses, so `a` is not consumed: it still has 4 of 5.
    /// assert!(matches!(store.evaluate_sync(&plan)?, PlanOutcome::Throttled { index: 1, .. }));
    /// assert_eq!(store.peek_sync("a", Algorithm::Gcra, &Quota::per_second(5)?, plan.now).remaining, 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`StoreError::CapacityReached`] as for [`MemoryStore::hit_sync`].
    pub fn evaluate_sync(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        let now = plan.now;
        for (index, key) in plan.blocks.iter().enumerate() {
            if let Some(record) = self.blocked_sync(key, now) {
                return Ok(PlanOutcome::Blocked { index, record });
            }
        }
        if let Some(d) = &plan.debounce
            && !self.debounce_sync(&d.key, d.window, now)?
        {
            return Ok(PlanOutcome::Debounced);
        }
        let (index, decision) = match plan.limits.as_slice() {
            [] => return Ok(PlanOutcome::Allowed { decision: None }),
            [l] => {
                let d = self.hit_sync(&l.key, l.algorithm, &l.quota, l.cost, now)?;
                if d.allowed {
                    return Ok(PlanOutcome::Allowed { decision: Some(d) });
                }
                (0, d)
            }
            many => match self.hit_all(many, now)? {
                Ok(decision) => return Ok(PlanOutcome::Allowed { decision }),
                Err(refusal) => refusal,
            },
        };
        let mut escalated = None;
        if let Some(s) = &plan.strike {
            // A strike key refused at the key cap is a strike not counted: the event stays
            // throttled (a store error here would hand a refused event to the fail mode).
            let strike = match self.hit_sync(&s.key, Algorithm::SlidingWindow, &s.quota, 1, now) {
                Err(StoreError::CapacityReached(_)) => None,
                other => Some(other?),
            };
            // At `max_blocks` with no expired record the block is not stored: the subject
            // stays throttled by its rate limits (never evicted) and the strikes are kept, so
            // its next throttle tries again.
            if strike.is_some_and(|strike| !strike.allowed || strike.remaining == 0)
                && self.block_sync(&s.block_key, &s.record).is_ok()
            {
                self.reset_sync(&s.key);
                escalated = Some(s.record.clone());
            }
        }
        Ok(PlanOutcome::Throttled {
            index,
            decision,
            escalated,
        })
    }

    /// Several limits together: `Ok(tightest decision)` when all granted (and were recorded),
    /// `Err((index, refusal))` when one refused (nothing recorded).
    fn hit_all(
        &self,
        limits: &[LimitStep],
        now: Timestamp,
    ) -> Result<Result<Option<Decision>, (usize, Decision)>, StoreError> {
        // On the stack up to MAX_LIMITS (a policy's most): an allowed update allocates nothing.
        let located: Scratch<(u64, usize)> = limits
            .iter()
            .map(|l| {
                let hash = self.hasher.hash_one(l.key.as_bytes());
                (hash, (hash >> 32) as usize & self.mask)
            })
            .collect();
        let mut order: Scratch<usize> = located.iter().map(|&(_, s)| s).collect();
        order.sort_unstable();
        order.dedup();
        let mut guards: Scratch<(usize, RwLockWriteGuard<'_, Shard>)> = order
            .into_iter()
            .filter_map(|i| {
                self.shards
                    .get(i)
                    .map(|Padded(lock)| (i, Self::write(lock)))
            })
            .collect();
        let mut trials: Scratch<Decision> = SmallVec::new();
        for (l, &(hash, si)) in limits.iter().zip(&located) {
            let Some((_, shard)) = guards.iter().find(|(i, _)| *i == si) else {
                return Err(StoreError::Protocol("shard not locked".into()));
            };
            let d = match shard.find_entry(hash, l.key.as_bytes()) {
                Some(e) => e.trial(l.algorithm, &l.quota, l.cost, now),
                None => Entry::trial_fresh(l.algorithm, &l.quota, l.cost, now),
            };
            trials.push(d);
        }
        if let Some(i) = longest_refusal(&trials) {
            return Ok(Err((i, trials[i])));
        }
        let mut decisions: Scratch<Decision> = SmallVec::new();
        for (l, &(hash, si)) in limits.iter().zip(&located) {
            let Some((_, shard)) = guards.iter_mut().find(|(i, _)| *i == si) else {
                return Err(StoreError::Protocol("shard not locked".into()));
            };
            decisions.push(self.hit_locked(
                shard,
                hash,
                &l.key,
                l.algorithm,
                &l.quota,
                l.cost,
                now,
            )?);
        }
        Ok(Ok(tightest(&decisions)))
    }

    /// [`RateLimitStore::peek`] without the future.
    pub fn peek_sync(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Decision {
        let (hash, lock) = self.locate(key.as_bytes());
        let shard = Self::read(lock);
        shard
            .find(hash, key.as_bytes())
            .and_then(|i| shard.get(i))
            .and_then(|e| e.peek(algorithm, quota, now))
            .unwrap_or_else(|| RateLimitState::new(algorithm).peek(now, quota))
    }

    /// Inserts `entry` (a key not present) into the locked `shard`: sweeps a few entries,
    /// makes room under the cap, then stores it.
    fn admit(&self, shard: &mut Shard, hash: u64, entry: Entry) -> Result<(), StoreError> {
        let budget = self.config.sweep_per_insert;
        let now = if budget > 0 {
            self.clock.now().as_micros()
        } else {
            0
        };
        let (removed, placed) = shard.sweep_for(now, budget, hash, entry, &self.hasher);
        let stored = match placed {
            Ok(at) => at,
            Err(entry) => {
                if removed == 0 {
                    self.reserve(shard)?;
                }
                shard.insert(hash, entry, &self.hasher)
            }
        };
        // With something removed, the new key took the room of one of them, so the cap
        // cannot be passed and the count moves by `1 - removed`: not at all in the usual
        // one-for-one (a new debounce window in the place of an ended one).
        if removed > 1 {
            self.entries.fetch_sub(removed - 1, Ordering::Relaxed);
        }
        if stored.is_none() {
            self.entries.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::CapacityReached(self.len()));
        }
        Ok(())
    }

    /// Counts one more entry; at the cap, first makes room without forgetting live
    /// rate-limit state ([`Shard::make_room`]), in `shard`, else in another shard not locked
    /// right now; `CapacityReached` if there is none.
    fn reserve(&self, shard: &mut Shard) -> Result<(), StoreError> {
        let Some(max) = self.config.max_keys else {
            self.entries.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        loop {
            if increment_below(&self.entries, max) {
                return Ok(());
            }
            let now = self.clock.now().as_micros();
            if now < self.no_room_until.load(Ordering::Relaxed) {
                return Err(StoreError::CapacityReached(max));
            }
            let removed = match shard.make_room(now, &self.hasher) {
                Ok(removed) => removed,
                Err(earliest) => match self.make_room_elsewhere(now) {
                    Ok(removed) => removed,
                    Err(elsewhere) => {
                        // Nothing will be idle before the earliest expiry seen; until then
                        // (at most NO_ROOM_HINT) new keys are refused without a scan, so a
                        // flood of fresh ids at the cap costs O(1) each.
                        let until = earliest
                            .min(elsewhere)
                            .min(now.saturating_add(NO_ROOM_HINT));
                        self.no_room_until.fetch_max(until, Ordering::Relaxed);
                        return Err(StoreError::CapacityReached(max));
                    }
                },
            };
            self.entries.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// [`Shard::make_room`] in the first other shard that has room and is not locked right
    /// now (waiting for another shard's lock while holding one could deadlock). `Err` with
    /// the earliest expiry seen when none had room.
    fn make_room_elsewhere(&self, now: u64) -> Result<usize, u64> {
        let mut earliest = u64::MAX;
        for Padded(lock) in &self.shards {
            let Ok(mut shard) = lock.try_write() else {
                // A shard held by another thread may have room: look again soon.
                earliest = earliest.min(now);
                continue;
            };
            match shard.make_room(now, &self.hasher) {
                Ok(removed) => return Ok(removed),
                Err(t) => earliest = earliest.min(t),
            }
        }
        Err(earliest)
    }

    /// Counts one more blocklist record; at [`MemoryConfig::max_blocks`], first removes the
    /// expired records of `shard`, else of another shard not locked right now;
    /// `CapacityReached` if none has expired.
    fn reserve_record(&self, shard: &mut Shard) -> Result<(), StoreError> {
        let Some(max) = self.config.max_blocks else {
            self.records.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        loop {
            if increment_below(&self.records, max) {
                return Ok(());
            }
            let now = self.clock.now().as_micros();
            let mut removed = shard.purge_expired_records(now);
            if removed == 0 {
                removed = self
                    .shards
                    .iter()
                    .filter_map(|Padded(lock)| lock.try_write().ok())
                    .map(|mut shard| shard.purge_expired_records(now))
                    .find(|&removed| removed > 0)
                    .unwrap_or(0);
            }
            if removed == 0 {
                return Err(StoreError::CapacityReached(max));
            }
            self.records.fetch_sub(removed, Ordering::Relaxed);
        }
    }

    /// Removes every key that can no longer change a decision at `now` — rate-limit state back
    /// to full capacity, ended debounce windows, expired blocklist records — and frees the
    /// memory they held. Returns how many keys it removed.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, ManualClock, Quota, Timestamp};
    /// use sentinel_storage_memory::MemoryStore;
    ///
    /// let store = MemoryStore::new(ManualClock::default());
    /// let q = Quota::per_second(5)?;
    /// store.hit_sync("a", Algorithm::SlidingWindow, &q, 1, Timestamp::from_secs(10))?;
    /// assert_eq!(store.sweep(Timestamp::from_secs(10)), 0); // still in its window
    /// assert_eq!(store.sweep(Timestamp::from_secs(11)), 1); // one period later: idle
    /// assert!(store.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sweep(&self, now: Timestamp) -> usize {
        (0..self.shards.len())
            .map(|i| self.sweep_shard(i, now))
            .sum()
    }

    /// [`MemoryStore::sweep`] at the store clock's current time.
    pub fn sweep_now(&self) -> usize {
        self.sweep(self.clock.now())
    }

    /// Sweeps shard `i` (holding its write lock for the pass).
    pub(crate) fn sweep_shard(&self, i: usize, now: Timestamp) -> usize {
        let Some(Padded(lock)) = self.shards.get(i) else {
            return 0;
        };
        let (entries, records) = Self::write(lock).sweep_all(now.as_micros(), &self.hasher);
        self.entries.fetch_sub(entries, Ordering::Relaxed);
        self.records.fetch_sub(records, Ordering::Relaxed);
        entries + records
    }

    /// The number of shards.
    #[cfg(feature = "sweeper")]
    pub(crate) fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The store's clock.
    #[cfg(feature = "sweeper")]
    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// The number of keys held: rate-limit, debounce and blocklist keys, idle ones not yet
    /// swept included. The debounce windows of one key head (one subject and policy) are held
    /// together and count once, as they do against [`MemoryConfig::max_keys`] (see
    /// [Debounce windows](MemoryStore#debounce-windows)).
    pub fn len(&self) -> usize {
        self.entries.load(Ordering::Relaxed) + self.records.load(Ordering::Relaxed)
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An estimate of the memory the store holds, in bytes: the store itself, every shard's
    /// hash table (its exact allocation), entry slabs, key strings, sliding-window logs and
    /// blocklist records, each heap allocation rounded the way glibc's `malloc` rounds it (8
    /// bytes of header, 16-byte granules). Free memory kept by the allocator is not counted,
    /// so the process's resident set is somewhat larger. Takes each shard's read lock in turn.
    pub fn memory_usage(&self) -> usize {
        let shards: usize = self
            .shards
            .iter()
            .map(|Padded(lock)| Self::read(lock).heap_bytes())
            .sum();
        size_of::<Self>() + self.shards.len() * size_of::<Padded>() + shards
    }

    fn debounce_sync(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let now = now.as_micros();
        if let Some(group) = Grouped::split(key)
            && let Some(first) = self.debounce_grouped(&group, window, now)?
        {
            return Ok(first);
        }
        let (hash, lock) = self.locate(key.as_bytes());
        let mut shard = Self::write(lock);
        if let Some(i) = shard.find(hash, key.as_bytes())
            && let Some(first) = shard.update(i, |e| e.sight(window, now))
        {
            return Ok(first);
        }
        self.open_window(
            &mut shard,
            hash,
            Entry::debounce(key, window_end(now, window)),
        )
    }

    /// Stores `entry`, a new debounce window (of its own or a group's): always a first
    /// sighting. At the key cap with only live rate-limit state in sight, a first sighting
    /// that is not recorded: debounce only spares the rate limits a duplicate; they still
    /// decide (and count) this event, so nothing an attacker could use is lost.
    fn open_window(&self, shard: &mut Shard, hash: u64, entry: Entry) -> Result<bool, StoreError> {
        match self.admit(shard, hash, entry) {
            Err(StoreError::CapacityReached(_)) | Ok(()) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// A debounce sighting in `group` (see [`crate::debounce_group`]): `Some(first)`, or
    /// `None` when the member keeps a window under its own key (the group is full).
    fn debounce_grouped(
        &self,
        group: &Grouped<'_>,
        window: Duration,
        now: u64,
    ) -> Result<Option<bool>, StoreError> {
        let (hash, lock) = self.locate(group.key());
        let mut shard = Self::write(lock);
        if let Some(i) = shard.find(hash, group.key()) {
            let sight = shard
                .get_mut(i)
                .map(|e| e.sight_member(group.member, window, now));
            return Ok(match sight {
                Some(Sight::First) => Some(true),
                Some(Sight::Repeat) => Some(false),
                Some(Sight::Elsewhere) | None => None,
            });
        }
        let entry = Entry::debounce_group(group, window, now);
        self.open_window(&mut shard, hash, entry).map(Some)
    }

    fn reset_sync(&self, key: &str) {
        let (hash, lock) = self.locate(key.as_bytes());
        let mut shard = Self::write(lock);
        if let Some(i) = shard.find(hash, key.as_bytes())
            && shard.remove(i, &self.hasher).is_some()
        {
            self.entries.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn block_sync(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        let (_, lock) = self.locate(key.as_bytes());
        let mut shard = Self::write(lock);
        if let Some(old) = shard.blocks.get_mut(key) {
            old.clone_from(record);
            return Ok(());
        }
        self.reserve_record(&mut shard)?;
        shard.blocks.insert(key.into(), record.clone());
        Ok(())
    }

    fn unblock_sync(&self, key: &str) -> bool {
        let (_, lock) = self.locate(key.as_bytes());
        let removed = Self::write(lock).blocks.remove(key).is_some();
        if removed {
            self.records.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    fn blocked_sync(&self, key: &str, now: Timestamp) -> Option<BlockRecord> {
        if self.records.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let (_, lock) = self.locate(key.as_bytes());
        Self::read(lock)
            .blocks
            .get(key)
            .filter(|r| r.is_active(now))
            .cloned()
    }

    fn list_blocked_sync(&self, prefix: &str, now: Timestamp) -> Vec<(String, BlockRecord)> {
        let mut out = Vec::new();
        if self.records.load(Ordering::Relaxed) == 0 {
            return out;
        }
        for Padded(lock) in &self.shards {
            let shard = Self::read(lock);
            out.extend(
                shard
                    .blocks
                    .iter()
                    .filter(|(k, r)| k.starts_with(prefix) && r.is_active(now))
                    .map(|(k, r)| (k.to_string(), r.clone())),
            );
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

#[async_trait]
impl RateLimitStore for MemoryStore {
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        self.hit_sync(key, algorithm, quota, cost, now)
    }

    async fn peek(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        Ok(self.peek_sync(key, algorithm, quota, now))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.reset_sync(key);
        Ok(())
    }
}

#[async_trait]
impl DebounceStore for MemoryStore {
    /// A repeat at exactly `first + window` is a new first sighting (half-open windows).
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.debounce_sync(key, window, now)
    }
}

/// The whole plan in one synchronous pass ([`MemoryStore::evaluate_sync`]); the engine calls
/// it directly through [`Store::as_sync`], without a future.
#[async_trait]
impl Store for MemoryStore {
    async fn evaluate(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        self.evaluate_sync(plan)
    }

    async fn forget(&self, keys: &sentinel_core::SubjectKeys) -> Result<u64, StoreError> {
        Ok(self.forget_sync(keys))
    }

    fn as_sync(&self) -> Option<&dyn SyncStore> {
        Some(self)
    }
}

impl SyncStore for MemoryStore {
    fn evaluate_sync(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        MemoryStore::evaluate_sync(self, plan)
    }

    fn may_hold_blocks(&self) -> bool {
        self.records.load(Ordering::Relaxed) > 0
    }
}

#[async_trait]
impl BlocklistStore for MemoryStore {
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        self.block_sync(key, record)
    }

    async fn unblock(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.unblock_sync(key))
    }

    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        Ok(self.blocked_sync(key, now))
    }

    /// Sorted by key.
    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        Ok(self.list_blocked_sync(prefix, now))
    }
}

/// Adds one to `counter` if it is below `max` (atomically, against concurrent callers);
/// `false` when it is at `max` already (the caller makes room and tries again).
fn increment_below(counter: &AtomicUsize, max: usize) -> bool {
    counter
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
            (current < max).then_some(current + 1)
        })
        .is_ok()
}

#[cfg(test)]
mod tests {
    use sentinel_core::ManualClock;

    use super::*;

    /// At the cap, making room never waits for another shard's lock (waiting while holding
    /// its own could deadlock): when the only idle key sits in a shard another thread holds at
    /// that instant, a new key fails with `CapacityReached`, as the docs say.
    #[test]
    fn at_the_cap_a_busy_shard_is_skipped_not_waited_for() {
        let clock = ManualClock::default();
        let store = MemoryStore::with_config(
            clock.clone(),
            MemoryConfig::default()
                .shards(2)
                .max_keys(Some(1))
                .sweep_per_insert(0),
        );
        let q = Quota::per_second(1).unwrap();
        let a = "a";
        let (_, lock_a) = store.locate(a.as_bytes());
        let b = (0..)
            .map(|i| format!("b{i}"))
            .find(|b| !std::ptr::eq(store.locate(b.as_bytes()).1, lock_a))
            .unwrap();
        store
            .hit_sync(a, Algorithm::Gcra, &q, 1, Timestamp::from_secs(1))
            .unwrap();
        // One second later `a` is idle: room for `b`, once its shard can be taken.
        clock.set(Timestamp::from_secs(2));
        let now = Timestamp::from_secs(2);
        {
            let _busy = MemoryStore::read(lock_a);
            assert!(matches!(
                store.hit_sync(&b, Algorithm::Gcra, &q, 1, now),
                Err(StoreError::CapacityReached(1))
            ));
        }
        assert!(
            store
                .hit_sync(&b, Algorithm::Gcra, &q, 1, now)
                .unwrap()
                .allowed
        );
        assert_eq!(store.len(), 1);
    }
}
