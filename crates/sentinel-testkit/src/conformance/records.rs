//! Debounce and blocklist scripts, and key isolation.

use std::time::Duration;

use sentinel_core::{Algorithm, BlockRecord, ManualClock, Quota, RateLimitStore, Store, Timestamp};

use super::{MAX_TIMESTAMP_US, StoreFactory, namespace};

const MS: u64 = 1_000;
const S: u64 = 1_000_000;
const T0: u64 = 1_700_000_000 * S;
const YEAR: u64 = 365 * 86_400 * S;

/// A store with its clock; every call first sets the clock to the call's time.
struct At<S> {
    store: S,
    clock: ManualClock,
    name: &'static str,
}

impl<S: Store> At<S> {
    async fn new<F: StoreFactory<Store = S>>(factory: &F, name: &'static str) -> Self {
        let clock = ManualClock::new(Timestamp::from_micros(T0));
        let store = factory.make(clock.clone()).await;
        Self { store, clock, name }
    }

    fn at(&self, t: u64) -> Timestamp {
        let now = Timestamp::from_micros(t);
        self.clock.set(now);
        now
    }

    async fn debounce(&self, key: &str, window_ms: u64, t: u64) -> bool {
        let now = self.at(t);
        let window = Duration::from_millis(window_ms);
        self.store
            .debounce(key, window, now)
            .await
            .unwrap_or_else(|e| panic!("conformance `{}`: debounce failed: {e}", self.name))
    }

    async fn expect_debounce(&self, key: &str, window_ms: u64, t: u64, first: bool) {
        let got = self.debounce(key, window_ms, t).await;
        assert_eq!(
            got,
            first,
            "conformance `{}`: debounce({key:?}, {window_ms} ms) at +{}µs",
            self.name,
            t.wrapping_sub(T0)
        );
    }

    async fn block(&self, key: &str, record: &BlockRecord) {
        self.store
            .block(key, record)
            .await
            .unwrap_or_else(|e| panic!("conformance `{}`: block failed: {e}", self.name));
    }

    async fn unblock(&self, key: &str) -> bool {
        self.store
            .unblock(key)
            .await
            .unwrap_or_else(|e| panic!("conformance `{}`: unblock failed: {e}", self.name))
    }

    async fn blocked(&self, key: &str, t: u64) -> Option<BlockRecord> {
        let now = self.at(t);
        self.store
            .blocked(key, now)
            .await
            .unwrap_or_else(|e| panic!("conformance `{}`: blocked failed: {e}", self.name))
    }

    async fn list(&self, prefix: &str, t: u64) -> Vec<(String, BlockRecord)> {
        let now = self.at(t);
        let mut list = self
            .store
            .list_blocked(prefix, now)
            .await
            .unwrap_or_else(|e| panic!("conformance `{}`: list_blocked failed: {e}", self.name));
        list.sort_by(|a, b| a.0.cmp(&b.0));
        list
    }

    async fn keys_listed(&self, prefix: &str, t: u64) -> Vec<String> {
        self.list(prefix, t)
            .await
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }
}

/// Debounce: the first sighting passes, repeats inside the window are suppressed, the window
/// is half-open, is not extended by repeats, and has the length given at the first sighting.
///
/// # Panics
/// When the store answers differently.
pub async fn debounce_scripts<F: StoreFactory>(factory: &F) {
    let s = At::new(factory, "debounce").await;
    let ns = namespace("db");
    let a = format!("{ns}:a");
    s.expect_debounce(&a, 2_000, T0, true).await;
    s.expect_debounce(&a, 2_000, T0, false).await;
    s.expect_debounce(&a, 2_000, T0 + S, false).await;
    s.expect_debounce(&a, 2_000, T0 + 2 * S - 1, false).await;
    // Exactly at first + window: a new first sighting.
    s.expect_debounce(&a, 2_000, T0 + 2 * S, true).await;
    s.expect_debounce(&a, 2_000, T0 + 3 * S, false).await;
    s.expect_debounce(&a, 2_000, T0 + 4 * S - 1, false).await;
    s.expect_debounce(&a, 2_000, T0 + 4 * S, true).await;
    // A long gap.
    s.expect_debounce(&a, 2_000, T0 + YEAR, true).await;

    // Repeats do not extend the window.
    let b = format!("{ns}:b");
    s.expect_debounce(&b, 2_000, T0 + YEAR, true).await;
    s.expect_debounce(&b, 2_000, T0 + YEAR + 1_500 * MS, false)
        .await;
    s.expect_debounce(&b, 2_000, T0 + YEAR + 2 * S, true).await;

    // The window is the one given at the first sighting.
    let c = format!("{ns}:c");
    let t = T0 + 2 * YEAR;
    s.expect_debounce(&c, 10_000, t, true).await;
    s.expect_debounce(&c, 1_000, t + 5 * S, false).await;
    s.expect_debounce(&c, 1_000, t + 10 * S, true).await;
    s.expect_debounce(&c, 10_000, t + 10_500 * MS, false).await;
    s.expect_debounce(&c, 10_000, t + 11 * S, true).await;

    // The shortest window, and far in the future.
    let d = format!("{ns}:d");
    let t = MAX_TIMESTAMP_US - 10 * S;
    s.expect_debounce(&d, 1, t, true).await;
    s.expect_debounce(&d, 1, t + MS - 1, false).await;
    s.expect_debounce(&d, 1, t + MS, true).await;
}

/// Blocklist: records in force until their expiry (exclusive), permanent records, replacing,
/// unblocking, listing by prefix.
///
/// # Panics
/// When the store answers differently.
pub async fn blocklist_scripts<F: StoreFactory>(factory: &F) {
    let s = At::new(factory, "blocklist").await;
    let ns = namespace("bl");
    let user1 = format!("{ns}:user:1");
    let user10 = format!("{ns}:user:10");
    let user2 = format!("{ns}:user:2");
    let chat1 = format!("{ns}:chat:1");

    assert_eq!(
        s.blocked(&user1, T0).await,
        None,
        "conformance `blocklist`: never blocked"
    );
    assert!(
        !s.unblock(&user1).await,
        "conformance `blocklist`: unblock of a key never blocked"
    );

    let now = Timestamp::from_micros(T0);
    let r1 = BlockRecord::new(
        "spam 🚫 \"quoted\"",
        "admin:7",
        now,
        Some(Duration::from_secs(60)),
    );
    let r10 = BlockRecord::new("flood", "admin:7", now, Some(Duration::from_secs(30)));
    let r2 = BlockRecord::new("abuse", "sentinel:escalation", now, None);
    let c1 = BlockRecord::new("", "", now, Some(Duration::from_secs(10)));
    for (k, r) in [(&user1, &r1), (&user10, &r10), (&user2, &r2), (&chat1, &c1)] {
        s.block(k, r).await;
    }

    assert_eq!(
        s.blocked(&user1, T0).await.as_ref(),
        Some(&r1),
        "conformance `blocklist`: record as stored"
    );
    assert_eq!(s.blocked(&user2, T0).await.as_ref(), Some(&r2));
    assert_eq!(
        s.keys_listed(&format!("{ns}:user:"), T0).await,
        [user1.clone(), user10.clone(), user2.clone()],
        "conformance `blocklist`: list by prefix"
    );
    let full = s.list(&format!("{ns}:"), T0).await;
    assert_eq!(
        full,
        vec![
            (chat1.clone(), c1.clone()),
            (user1.clone(), r1.clone()),
            (user10.clone(), r10.clone()),
            (user2.clone(), r2.clone()),
        ],
        "conformance `blocklist`: list returns the records"
    );
    assert!(s.list(&format!("{ns}:nobody"), T0).await.is_empty());

    // Expiry is exclusive.
    assert_eq!(s.blocked(&chat1, T0 + 10 * S - 1).await.as_ref(), Some(&c1));
    assert_eq!(
        s.blocked(&chat1, T0 + 10 * S).await,
        None,
        "conformance `blocklist`: expired"
    );
    assert_eq!(
        s.keys_listed(&format!("{ns}:"), T0 + 10 * S).await,
        [user1.clone(), user10.clone(), user2.clone()],
        "conformance `blocklist`: expired records are not listed"
    );

    // Replacing a record.
    let t = T0 + 10 * S;
    let again = BlockRecord::new(
        "again",
        "admin:8",
        Timestamp::from_micros(t),
        Some(Duration::from_secs(120)),
    );
    s.block(&user1, &again).await;
    assert_eq!(
        s.blocked(&user1, t).await.as_ref(),
        Some(&again),
        "conformance `blocklist`: replaced"
    );

    // Unblocking.
    assert!(
        s.unblock(&user10).await,
        "conformance `blocklist`: unblock of an active record"
    );
    assert!(
        !s.unblock(&user10).await,
        "conformance `blocklist`: second unblock"
    );
    assert_eq!(s.blocked(&user10, t).await, None);

    // The replaced record's own expiry counts; a permanent record stays.
    assert_eq!(
        s.blocked(&user1, t + 120 * S - 1).await.as_ref(),
        Some(&again)
    );
    assert_eq!(s.blocked(&user1, t + 120 * S).await, None);
    assert_eq!(s.blocked(&user2, T0 + 10 * YEAR).await.as_ref(), Some(&r2));
    let listed = s.keys_listed(&format!("{ns}:"), T0 + 10 * YEAR).await;
    assert_eq!(listed, std::slice::from_ref(&user2));
    assert!(s.unblock(&user2).await);
    assert_eq!(s.blocked(&user2, T0 + 10 * YEAR).await, None);
    assert!(s.list(&format!("{ns}:"), T0 + 10 * YEAR).await.is_empty());

    // A record whose expiry has already passed is never in force.
    let t = T0 + 11 * YEAR;
    let stale = BlockRecord::new(
        "stale",
        "admin:7",
        Timestamp::from_micros(t - 20 * S),
        Some(Duration::from_secs(10)),
    );
    s.at(t);
    s.block(&chat1, &stale).await;
    assert_eq!(
        s.blocked(&chat1, t).await,
        None,
        "conformance `blocklist`: stale record"
    );
    assert!(s.list(&format!("{ns}:"), t).await.is_empty());
}

/// Two keys never affect each other, in every trait; keys that are prefixes of each other or
/// differ only in case included.
///
/// # Panics
/// When one key's state leaks into another's.
pub async fn key_isolation<F: StoreFactory>(factory: &F) {
    let s = At::new(factory, "isolation").await;
    let ns = namespace("iso");
    let keys = [
        format!("{ns}:k"),
        format!("{ns}:k2"),
        format!("{ns}:K"),
        format!("{ns}:k:"),
    ];
    let q = Quota::per_minute(3).unwrap();
    let now = s.at(T0);
    for algorithm in Algorithm::ALL {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| format!("{k}{}", algorithm.as_str()))
            .collect();
        // Exhaust the first key.
        for _ in 0..3 {
            assert!(
                s.store
                    .hit(&keys[0], algorithm, &q, 1, now)
                    .await
                    .unwrap()
                    .allowed
            );
        }
        assert!(
            !s.store
                .hit(&keys[0], algorithm, &q, 1, now)
                .await
                .unwrap()
                .allowed
        );
        // Every other key starts full.
        for k in &keys[1..] {
            let d = s.store.hit(k, algorithm, &q, 1, now).await.unwrap();
            assert!(
                d.allowed && d.remaining == 2,
                "conformance `isolation`: {k} affected by {} ({algorithm:?}): {d:?}",
                keys[0]
            );
        }
        // Resetting one key leaves the others as they were.
        s.store.reset(&keys[1]).await.unwrap();
        assert!(
            !s.store
                .hit(&keys[0], algorithm, &q, 1, now)
                .await
                .unwrap()
                .allowed
        );
        let d = s.store.peek(&keys[2], algorithm, &q, now).await.unwrap();
        assert_eq!(
            d.remaining, 2,
            "conformance `isolation`: reset leaked ({algorithm:?})"
        );
        let d = s.store.peek(&keys[1], algorithm, &q, now).await.unwrap();
        assert_eq!(
            d.remaining, 3,
            "conformance `isolation`: reset did not forget ({algorithm:?})"
        );
    }

    for k in &keys {
        s.expect_debounce(&format!("{k}:db"), 1_000, T0, true).await;
    }
    for k in &keys {
        s.expect_debounce(&format!("{k}:db"), 1_000, T0, false)
            .await;
    }

    let record = BlockRecord::new("x", "y", now, None);
    s.block(&format!("{}:bl", keys[0]), &record).await;
    for k in &keys[1..] {
        assert_eq!(
            s.blocked(&format!("{k}:bl"), T0).await,
            None,
            "conformance `isolation`: block of {} leaked to {k}",
            keys[0]
        );
    }
    assert!(s.keys_listed(&keys[1], T0).await.is_empty());
    assert_eq!(
        s.keys_listed(&keys[0], T0).await,
        [format!("{}:bl", keys[0])]
    );
}
