//! The key cap: idle keys are evicted first, then the soonest to become idle; blocklist
//! records never; `CapacityReached` when nothing can go. Plus `len` and `memory_usage`.

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

/// One shard, so that the eviction sample covers the whole (small) store.
fn capped(clock: &ManualClock, max: usize) -> MemoryStore {
    MemoryStore::with_config(
        clock.clone(),
        MemoryConfig::default()
            .shards(1)
            .max_keys(Some(max))
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

#[test]
fn with_no_idle_key_the_one_idle_soonest_is_evicted() {
    let clock = ManualClock::new(T0);
    let store = capped(&clock, 3);
    let q = Quota::per_minute(5).unwrap();
    store
        .hit_sync("oldest", Algorithm::SlidingWindow, &q, 1, T0)
        .unwrap();
    store
        .hit_sync("middle", Algorithm::SlidingWindow, &q, 1, at(10))
        .unwrap();
    store
        .hit_sync("newest", Algorithm::SlidingWindow, &q, 1, at(20))
        .unwrap();
    clock.set(at(30));
    store
        .hit_sync("fourth", Algorithm::SlidingWindow, &q, 1, at(30))
        .unwrap();
    assert_eq!(store.len(), 3);
    // The least recently used key lost its state (a fresh budget), the others kept theirs.
    assert_eq!(remaining(&store, "oldest", &q, at(30)), 5);
    assert_eq!(remaining(&store, "middle", &q, at(30)), 4);
    assert_eq!(remaining(&store, "fourth", &q, at(30)), 4);
}

#[tokio::test]
async fn blocklist_records_are_never_evicted() {
    let clock = ManualClock::new(T0);
    let store = capped(&clock, 3);
    let q = Quota::per_minute(5).unwrap();
    let record = BlockRecord::new("spam", "admin", T0, None);
    store.block("bl:1", &record).await.unwrap();
    store
        .hit_sync("rl:1", Algorithm::SlidingWindow, &q, 1, T0)
        .unwrap();
    assert!(
        store
            .debounce("db:1", Duration::from_secs(60), T0)
            .await
            .unwrap()
    );
    // Each new block record pushes out a rate-limit or debounce key...
    store.block("bl:2", &record).await.unwrap();
    store.block("bl:3", &record).await.unwrap();
    assert_eq!(store.len(), 3);
    // ...until only records are left: then nothing can be evicted.
    let err = store.block("bl:4", &record).await.unwrap_err();
    assert!(matches!(err, StoreError::CapacityReached(3)), "{err:?}");
    assert!(!err.is_transient());
    let err = store
        .hit_sync("rl:2", Algorithm::Gcra, &q, 1, T0)
        .unwrap_err();
    assert!(matches!(err, StoreError::CapacityReached(3)), "{err:?}");
    let err = store
        .debounce("db:2", Duration::from_secs(1), T0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CapacityReached(3)), "{err:?}");
    for k in ["bl:1", "bl:2", "bl:3"] {
        assert_eq!(
            store.blocked(k, T0).await.unwrap(),
            Some(record.clone()),
            "{k}"
        );
    }
    // Replacing an existing record needs no room; unblocking makes room.
    store.block("bl:1", &record).await.unwrap();
    assert!(store.unblock("bl:3").await.unwrap());
    assert!(
        store
            .hit_sync("rl:2", Algorithm::Gcra, &q, 1, T0)
            .unwrap()
            .allowed
    );
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
    let q = Quota::per_minute(5).unwrap();
    for i in 0..10_000 {
        store
            .hit_sync(&format!("k{i}"), Algorithm::Gcra, &q, 1, T0)
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
