//! Idle keys go away: a full sweep after a million keys, sweeping on access, bounded growth
//! under key rotation, and the background sweeper.

use std::fmt::Write;
#[cfg(feature = "sweeper")]
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, Clock, DebounceStore, ManualClock, Quota, Timestamp,
};
use sentinel_storage_memory::{MemoryConfig, MemoryStore};

mod common;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

/// Touches 1,000,000 distinct keys (all three algorithms and debounce), lets their periods
/// pass, and sweeps: the key count goes to 0 and the estimated memory back to its baseline.
#[test]
fn million_keys_swept_to_zero() {
    const N: usize = 1_000_000;
    let clock = ManualClock::new(T0);
    let store = MemoryStore::new(clock.clone());
    let baseline = store.memory_usage();
    let quota = Quota::per_minute(5).unwrap();
    let mut key = String::with_capacity(64);
    for i in 0..N {
        key.clear();
        write!(key, "sentinel:rl:{{u{i}}}:default").unwrap();
        let d = match i % 4 {
            0 => store.hit_sync(&key, Algorithm::SlidingWindow, &quota, 1, T0),
            1 => store.hit_sync(&key, Algorithm::Gcra, &quota, 1, T0),
            2 => store.hit_sync(&key, Algorithm::FixedWindow, &quota, 1, T0),
            _ => {
                let rt = common::block_on(store.debounce(&key, Duration::from_secs(60), T0));
                assert!(rt.unwrap());
                continue;
            }
        };
        assert!(d.unwrap().allowed);
    }
    assert_eq!(store.len(), N);
    let full = store.memory_usage();
    assert!(full > baseline + N * 40, "usage {full} for {N} keys");

    // Nothing is idle yet (GCRA at 5 per minute is full again 12 s after one unit).
    assert_eq!(store.sweep(T0.saturating_add(Duration::from_secs(11))), 0);
    assert_eq!(store.len(), N);

    clock.advance(Duration::from_secs(60));
    assert_eq!(store.sweep_now(), N);
    assert_eq!(store.len(), 0);
    assert!(store.is_empty());
    let after = store.memory_usage();
    assert!(
        after <= baseline + 4 * 1024,
        "memory back near baseline: {after} bytes after the sweep, {baseline} before the keys"
    );
}

/// Each new key looks at a few entries: a thousand idle keys are gone after a thousand new
/// ones arrive, without any explicit sweep.
#[test]
fn idle_keys_are_swept_on_access() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::with_config(
        clock.clone(),
        MemoryConfig::default().shards(1).sweep_per_insert(4),
    );
    let quota = Quota::per_second(1).unwrap();
    for i in 0..1_000 {
        store
            .hit_sync(&format!("old:{i}"), Algorithm::Gcra, &quota, 1, clock.now())
            .unwrap();
    }
    assert_eq!(store.len(), 1_000);
    clock.advance(Duration::from_secs(1));
    for i in 0..1_000 {
        store
            .hit_sync(
                &format!("new:{i}"),
                Algorithm::SlidingWindow,
                &quota,
                1,
                clock.now(),
            )
            .unwrap();
    }
    assert_eq!(
        store.len(),
        1_000,
        "every old key was idle and has been swept"
    );
    for i in 0..1_000 {
        let d = store.peek_sync(
            &format!("new:{i}"),
            Algorithm::SlidingWindow,
            &quota,
            clock.now(),
        );
        assert_eq!(d.remaining, 0, "live keys are kept");
    }
}

/// Rotating identities (a new key every millisecond, each idle after a second) cannot grow
/// the store without bound: it stays within twice the live keys.
#[test]
fn rotating_keys_stay_bounded() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::new(clock.clone());
    let quota = Quota::per_second(3).unwrap();
    let mut most = 0;
    for i in 0..100_000u32 {
        clock.advance(Duration::from_millis(1));
        store
            .hit_sync(
                &format!("ip:{i}"),
                Algorithm::SlidingWindow,
                &quota,
                1,
                clock.now(),
            )
            .unwrap();
        most = most.max(store.len());
    }
    // About 1,000 keys are live at any time.
    assert!(most <= 2_000, "store grew to {most} keys");
}

/// Expired blocklist records and ended debounce windows are swept too; active records stay.
#[tokio::test]
async fn sweep_removes_expired_records_and_windows() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::new(clock.clone());
    let short = BlockRecord::new("spam", "admin", T0, Some(Duration::from_secs(10)));
    let forever = BlockRecord::new("spam", "admin", T0, None);
    store.block("bl:short", &short).await.unwrap();
    store.block("bl:forever", &forever).await.unwrap();
    assert!(
        store
            .debounce("db:a", Duration::from_secs(5), T0)
            .await
            .unwrap()
    );
    assert_eq!(store.len(), 3);
    assert_eq!(store.sweep(T0.saturating_add(Duration::from_secs(5))), 1);
    assert_eq!(store.sweep(T0.saturating_add(Duration::from_secs(10))), 1);
    assert_eq!(store.len(), 1);
    assert_eq!(
        store
            .blocked("bl:forever", T0.saturating_add(Duration::from_secs(100)))
            .await
            .unwrap(),
        Some(forever)
    );
    assert_eq!(
        store.sweep(T0.saturating_add(Duration::from_secs(86_400 * 365))),
        0
    );
}

#[cfg(feature = "sweeper")]
/// The background sweeper removes idle keys, and stops once the store is dropped.
#[tokio::test(start_paused = true)]
async fn sweeper_sweeps_and_stops_with_the_store() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let handle = store.spawn_sweeper(Duration::from_secs(1)).unwrap();
    let quota = Quota::per_second(10).unwrap();
    for i in 0..100 {
        store
            .hit_sync(&format!("k{i}"), Algorithm::Gcra, &quota, 1, clock.now())
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        store.len(),
        100,
        "nothing is idle while the manual clock stands still"
    );

    clock.advance(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(store.len(), 0, "the sweeper removed the idle keys");

    assert!(!handle.is_finished());
    drop(store);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        handle.is_finished(),
        "the sweeper stops once the store is gone"
    );
}

#[cfg(feature = "sweeper")]
/// Dropping the handle stops the sweeper: idle keys then stay until swept by hand.
#[tokio::test(start_paused = true)]
async fn dropping_the_handle_stops_the_sweeper() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new(clock.clone()));
    let handle = store.spawn_sweeper(Duration::from_secs(1)).unwrap();
    drop(handle);
    let quota = Quota::per_second(10).unwrap();
    store
        .hit_sync("k", Algorithm::Gcra, &quota, 1, clock.now())
        .unwrap();
    clock.advance(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(store.len(), 1);
    assert_eq!(store.sweep_now(), 1);
}

#[cfg(feature = "sweeper")]
#[test]
fn spawn_sweeper_outside_a_runtime_is_an_error() {
    let store = Arc::new(MemoryStore::new(ManualClock::new(T0)));
    let err = store.spawn_sweeper(Duration::from_secs(1)).unwrap_err();
    assert!(err.to_string().contains("tokio runtime"));
}

/// A new key takes the place of an ended one (the sweep on insert replaces it in place): the
/// ended key is gone, the new one is found, every other key is untouched, the count and the
/// heap figure follow. Keys longer than the inline limit make the heap figure move.
#[test]
fn a_new_key_replaces_an_ended_one_in_place() {
    let clock = ManualClock::new(T0);
    // One shard, so the sweep's cursor walks the keys in insertion order.
    let store = MemoryStore::with_config(clock.clone(), MemoryConfig::default().shards(1));
    let window = Duration::from_secs(1);
    let long = |i: usize| format!("sentinel:db:{{u{i}}}:{}", "x".repeat(80));
    // Whether `key` is a first sighting (a new window).
    let first = |key: &str, window: Duration, now: Timestamp| {
        common::block_on(store.debounce(key, window, now)).unwrap()
    };
    // Ten long keys whose windows end, then one live short key.
    for i in 0..10 {
        assert!(first(&long(i), window, T0));
    }
    let later = T0.saturating_add(Duration::from_secs(5));
    clock.set(later);
    assert!(first("live", Duration::from_secs(60), later));
    let heap_before = store.memory_usage();
    let len_before = store.len();
    // A new long key: the sweep removes ended keys, the new one takes a place.
    assert!(first(&long(100), window, later));
    assert!(store.len() < len_before, "ended keys were swept");
    assert!(
        store.memory_usage() < heap_before,
        "their heap bytes went with them"
    );
    // The new key is there (a repeat), the live one too, and a swept one is new again.
    assert!(!first(&long(100), window, later));
    assert!(!first("live", Duration::from_secs(60), later));
    assert!(first(&long(0), window, later));
    // Sweeping everything that ended leaves exactly the live keys: the new one, `live`, and
    // the re-opened first key; the count agrees with what the store holds.
    clock.set(later.saturating_add(Duration::from_millis(999)));
    store.sweep_now();
    assert_eq!(store.len(), 3);
}
