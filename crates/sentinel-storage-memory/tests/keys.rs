//! Keys of every length — stored inline (up to 54 bytes) or on the heap — are distinct,
//! found again, reset and swept alike.

use std::time::Duration;

use sentinel_core::{Algorithm, DebounceStore, ManualClock, Quota, RateLimitStore, Timestamp};
use sentinel_storage_memory::{MemoryConfig, MemoryStore};

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

#[tokio::test]
async fn short_boundary_and_long_keys_are_distinct() {
    let store = MemoryStore::with_config(ManualClock::new(T0), MemoryConfig::default().shards(1));
    let q = Quota::per_minute(3).unwrap();
    let base = "k".repeat(53);
    // Lengths 0, 1, 53, 54 (the longest inline), 55, 56 and 300; some differ only in their
    // last byte, past the inline length, or in UTF-8 beyond ASCII.
    let keys = [
        String::new(),
        "k".to_owned(),
        base.clone(),
        format!("{base}a"),
        format!("{base}b"),
        format!("{base}ab"),
        format!("{base}ac"),
        "é".repeat(150),
        "é".repeat(149) + "e",
    ];
    for (i, k) in keys.iter().enumerate() {
        // Key i gets i % 3 + 1 units.
        for _ in 0..=(i % 3) {
            assert!(
                store
                    .hit(k, Algorithm::SlidingWindow, &q, 1, T0)
                    .await
                    .unwrap()
                    .allowed
            );
        }
    }
    assert_eq!(store.len(), keys.len());
    for (i, k) in keys.iter().enumerate() {
        let d = store
            .peek(k, Algorithm::SlidingWindow, &q, T0)
            .await
            .unwrap();
        assert_eq!(
            d.remaining,
            3 - (i as u32 % 3 + 1),
            "key of length {}",
            k.len()
        );
    }
    store.reset(&keys[4]).await.unwrap();
    store.reset(&keys[6]).await.unwrap();
    assert_eq!(store.len(), keys.len() - 2);
    assert_eq!(
        store
            .peek(&keys[3], Algorithm::SlidingWindow, &q, T0)
            .await
            .unwrap()
            .remaining,
        2
    );
    assert_eq!(
        store
            .peek(&keys[5], Algorithm::SlidingWindow, &q, T0)
            .await
            .unwrap()
            .remaining,
        0
    );

    let long = "d".repeat(200);
    assert!(
        store
            .debounce(&long, Duration::from_secs(1), T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .debounce(&long, Duration::from_secs(1), T0)
            .await
            .unwrap()
    );
    assert_eq!(
        store.sweep(T0.saturating_add(Duration::from_secs(60))),
        keys.len() - 2 + 1
    );
    assert!(store.is_empty());
}
