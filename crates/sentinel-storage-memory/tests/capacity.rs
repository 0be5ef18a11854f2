//! The key cap: idle keys make room, then live debounce windows; live rate-limit state never
//! (`CapacityReached` instead). Blocklist records have their own budget (`max_blocks`):
//! expired records make room, active ones never. Plus `len` and `memory_usage`.

use std::time::Duration;

use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, ManualClock, Quota, RateLimitStore,
    StoreError, Timestamp,
};
use sentinel_storage_memory::{MemoryConfig, MemoryStore};

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn at(s: u64) -> Timestamp {
    T0.saturating_add(Duration::from_secs(s))
}

/// One shard, so that the scan for room covers the whole (small) store.
fn capped(clock: &ManualClock, max: usize) -> MemoryStore {
    MemoryStore::with_config(
        clock.clone(),
        MemoryConfig::default()
            .shards(1)
            .max_keys(Some(max))
            .sweep_per_insert(0),
    )
}

fn capped_blocks(clock: &ManualClock, max_keys: usize, max_blocks: usize) -> MemoryStore {
    MemoryStore::with_config(
        clock.clone(),
        MemoryConfig::default()
            .shards(1)
            .max_keys(Some(max_keys))
            .max_blocks(Some(max_blocks))
            .sweep_per_insert(0),
    )
}

fn remaining(store: &MemoryStore, key: &str, q: &Quota, now: Timestamp) -> u32 {
    store
        .peek_sync(key, Algorithm::SlidingWindow, q, now)
        .remaining
}

#[test]
fn at_the_cap_an_idle_key_is_evicted_first() {
    let clock = ManualClock::new(T0);
    let store = capped(&clock, 3);
    let short = Quota::per_second(5).unwrap();
    let long = Quota::per_hour(5).unwrap();
    store
        .hit_sync("long-a", Algorithm::SlidingWindow, &long, 1, T0)
        .unwrap();
    store
        .hit_sync("short", Algorithm::SlidingWindow, &short, 1, T0)
        .unwrap();
    store
        .hit_sync("long-b", Algorithm::SlidingWindow, &long, 1, T0)
        .unwrap();
    clock.set(at(2));
    // "short" is idle at 2 s: it goes, the long-lived keys stay.
    store
        .hit_sync("new", Algorithm::SlidingWindow, &long, 1, at(2))
        .unwrap();
    assert_eq!(store.len(), 3);
    assert_eq!(remaining(&store, "long-a", &long, at(2)), 4);
    assert_eq!(remaining(&store, "long-b", &long, at(2)), 4);
    assert_eq!(remaining(&store, "new", &long, at(2)), 4);
}

/// With no idle key, live rate-limit state stays and the new key is refused: evicting the
/// oldest (the old rule) gave that subject a fresh budget.
#[test]
fn with_no_idle_key_the_new_key_is_refused_and_live_state_kept() {
    let clock = ManualClock::new(T0);
    let store = capped(&clock, 3);
    let q = Quota::per_minute(5).unwrap();
    for (key, s) in [("oldest", 0), ("middle", 10), ("newest", 20)] {
        store
            .hit_sync(key, Algorithm::SlidingWindow, &q, 1, at(s))
            .unwrap();
    }
    clock.set(at(30));
    for alg in Algorithm::ALL {
        let err = store.hit_sync("fourth", alg, &q, 1, at(30)).unwrap_err();
        assert!(matches!(err, StoreError::CapacityReached(3)), "{err:?}");
        assert!(!err.is_transient());
    }
    assert_eq!(store.len(), 3);
    for key in ["oldest", "middle", "newest"] {
        assert_eq!(remaining(&store, key, &q, at(30)), 4, "{key}");
    }
    // Once the oldest is idle (60 s after its call), it makes room.
    clock.set(at(60));
    assert!(
        store
            .hit_sync("fourth", Algorithm::SlidingWindow, &q, 1, at(60))
            .unwrap()
            .allowed
    );
    assert_eq!(remaining(&store, "middle", &q, at(60)), 4);
    assert_eq!(remaining(&store, "newest", &q, at(60)), 4);
}

/// A live debounce window may make room (forgetting it lets one repeat through to the rate
/// limits); a new debounce key with no room at all is a first sighting, not recorded.
#[tokio::test]
async fn debounce_windows_give_way_rate_limits_do_not() {
    let clock = ManualClock::new(T0);
    let store = capped(&clock, 2);
    let q = Quota::per_minute(5).unwrap();
    let minute = Duration::from_secs(60);
    store
        .hit_sync("rl:1", Algorithm::SlidingWindow, &q, 1, T0)
        .unwrap();
    assert!(store.debounce("db:1", minute, T0).await.unwrap());
    assert!(!store.debounce("db:1", minute, T0).await.unwrap());
    // The new rate-limit key takes the debounce window's place.
    store
        .hit_sync("rl:2", Algorithm::SlidingWindow, &q, 1, T0)
        .unwrap();
    assert_eq!(store.len(), 2);
    assert!(
        store.debounce("db:1", minute, T0).await.unwrap(),
        "forgotten"
    );
    // Only rate-limit state now: debounce keys pass as first sightings and are not stored.
    assert!(store.debounce("db:1", minute, T0).await.unwrap());
    assert_eq!(store.len(), 2);
    assert_eq!(remaining(&store, "rl:1", &q, T0), 4);
    assert_eq!(remaining(&store, "rl:2", &q, T0), 4);
}

/// Blocklist records have their own budget: they neither count toward `max_keys` nor are
/// evicted while active; expired ones make room; with none expired a new one is refused.
#[tokio::test]
async fn blocklist_records_have_their_own_budget() {
    let clock = ManualClock::new(T0);
    let store = capped_blocks(&clock, 1, 2);
    let q = Quota::per_minute(5).unwrap();
    let forever = BlockRecord::new("spam", "admin", T0, None);
    let brief = BlockRecord::new("flood", "admin", T0, Some(Duration::from_secs(10)));
    store.block("bl:1", &forever).await.unwrap();
    store.block("bl:2", &brief).await.unwrap();
    // Records do not take the rate-limit key's room.
    store
        .hit_sync("rl:1", Algorithm::SlidingWindow, &q, 1, T0)
        .unwrap();
    assert_eq!(store.len(), 3);
    let err = store.block("bl:3", &forever).await.unwrap_err();
    assert!(matches!(err, StoreError::CapacityReached(2)), "{err:?}");
    assert_eq!(store.blocked("bl:3", T0).await.unwrap(), None);
    // Replacing an existing record needs no room.
    store.block("bl:1", &forever).await.unwrap();
    // Once `bl:2` has expired, it makes room; `bl:1` (permanent) stays.
    clock.set(at(10));
    store.block("bl:3", &forever).await.unwrap();
    assert_eq!(store.len(), 3);
    for k in ["bl:1", "bl:3"] {
        assert_eq!(
            store.blocked(k, at(10)).await.unwrap(),
            Some(forever.clone()),
            "{k}"
        );
    }
    // Unblocking makes room too.
    assert!(store.unblock("bl:3").await.unwrap());
    store.block("bl:4", &forever).await.unwrap();
    // The default budget is documented and set; `None` lifts it.
    assert_eq!(
        MemoryConfig::default(),
        MemoryConfig::default().max_blocks(Some(sentinel_storage_memory::DEFAULT_MAX_BLOCKS))
    );
    let unbounded = MemoryStore::with_config(
        clock.clone(),
        MemoryConfig::default()
            .shards(1)
            .max_keys(Some(1))
            .max_blocks(None),
    );
    for i in 0..5 {
        unbounded.block(&format!("bl:{i}"), &forever).await.unwrap();
    }
    assert_eq!(unbounded.len(), 5);
}

#[test]
fn keys_already_stored_never_fail_at_the_cap() {
    let clock = ManualClock::new(T0);
    let store = capped(&clock, 2);
    let q = Quota::per_minute(100).unwrap();
    for alg in [Algorithm::Gcra, Algorithm::SlidingWindow] {
        store.hit_sync(alg.as_str(), alg, &q, 1, T0).unwrap();
    }
    for i in 0..99 {
        for alg in [Algorithm::Gcra, Algorithm::SlidingWindow] {
            let d = store
                .hit_sync(alg.as_str(), alg, &q, 1, at(i / 10))
                .unwrap();
            assert!(d.allowed);
        }
    }
    assert_eq!(store.len(), 2);
}

/// Spread over many shards, the cap still holds exactly.
#[test]
fn the_cap_holds_across_shards() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::with_config(
        clock.clone(),
        MemoryConfig::default().shards(16).max_keys(Some(100)),
    );
    let q = Quota::per_second(5).unwrap();
    for i in 0..10_000 {
        // 100 new keys per second: each second's keys are idle by the next.
        let now = at(i / 100);
        clock.set(now);
        store
            .hit_sync(&format!("k{i}"), Algorithm::Gcra, &q, 1, now)
            .unwrap();
        assert!(store.len() <= 100);
    }
    assert_eq!(store.len(), 100);
}

#[tokio::test]
async fn len_counts_every_kind_of_key() {
    let store = MemoryStore::new(ManualClock::new(T0));
    let q = Quota::per_minute(5).unwrap();
    assert!(store.is_empty());
    // A refused first call (cost above the limit) stores nothing.
    assert!(
        store
            .hit_sync("never", Algorithm::Gcra, &q, 6, T0)
            .unwrap()
            .is_never()
    );
    assert!(store.is_empty());
    for alg in Algorithm::ALL {
        store.hit(alg.as_str(), alg, &q, 1, T0).await.unwrap();
    }
    store
        .debounce("db", Duration::from_secs(1), T0)
        .await
        .unwrap();
    store
        .block("bl", &BlockRecord::new("r", "b", T0, None))
        .await
        .unwrap();
    assert_eq!(store.len(), 5);
    store.reset("gcra").await.unwrap();
    store.reset("unknown").await.unwrap();
    assert!(store.unblock("bl").await.unwrap());
    assert!(!store.unblock("bl").await.unwrap());
    assert_eq!(store.len(), 3);
}

#[test]
fn memory_usage_follows_the_keys() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::new(clock.clone());
    let empty = store.memory_usage();
    let q = Quota::per_minute(5).unwrap();
    for i in 0..10_000 {
        store
            .hit_sync(
                &format!("sentinel:rl-sw:{{u{i}}}:default"),
                Algorithm::SlidingWindow,
                &q,
                1,
                T0,
            )
            .unwrap();
    }
    let full = store.memory_usage();
    let per_key = (full - empty) / 10_000;
    // 40-byte entry + 48-byte key allocation + table and slab slack.
    assert!((88..=160).contains(&per_key), "{per_key} bytes per key");
    // A second unit at another time grows the log out of line: the estimate sees it.
    for i in 0..10_000 {
        store
            .hit_sync(
                &format!("sentinel:rl-sw:{{u{i}}}:default"),
                Algorithm::SlidingWindow,
                &q,
                1,
                at(1),
            )
            .unwrap();
    }
    assert!(store.memory_usage() > full + 10_000 * 64);
    clock.set(at(61));
    store.sweep_now();
    assert!(store.memory_usage() <= empty + 4096);
}
