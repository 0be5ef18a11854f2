//! Debounce windows of one key head are held in one entry (see `MemoryStore`'s "Debounce
//! windows"): the answers are those of one key per window, and the store holds one key per
//! subject however many messages it sends.

use std::time::Duration;

use sentinel_core::{
    DebounceStore, KeyBuilder, ManualClock, Store, Subject, SubjectKeys, Timestamp,
};
use sentinel_storage_memory::MemoryStore;

mod common;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn key(user: i64, member: &str) -> String {
    format!("sentinel:db:{{u{user}}}:=_:{member}")
}

#[test]
fn a_subject_writing_new_messages_holds_one_key() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::new(clock.clone());
    let window = Duration::from_secs(1);
    let mut now = T0;
    for n in 0..1_000 {
        let k = key(1, &format!("m{n}"));
        assert!(
            common::block_on(store.debounce(&k, window, now)).unwrap(),
            "message {n} is new"
        );
        assert!(
            !common::block_on(store.debounce(&k, window, now)).unwrap(),
            "its repeat is not"
        );
        // Two windows open at a time at most: the slots of one group suffice.
        now = now.saturating_add(Duration::from_millis(600));
        clock.set(now);
    }
    assert_eq!(store.len(), 1, "one entry for the subject's windows");
    // Another subject's windows are apart.
    assert!(common::block_on(store.debounce(&key(2, "m999"), window, now)).unwrap());
    assert_eq!(store.len(), 2);
}

#[test]
fn more_open_windows_than_a_group_holds_are_each_kept() {
    let store = MemoryStore::new(ManualClock::new(T0));
    let window = Duration::from_secs(60);
    let members = ["a", "b", "c", "d", "e", "f"];
    for m in members {
        assert!(
            common::block_on(store.debounce(&key(1, m), window, T0)).unwrap(),
            "{m} is new"
        );
    }
    for m in members {
        assert!(
            !common::block_on(store.debounce(&key(1, m), window, T0)).unwrap(),
            "{m} repeats"
        );
    }
    // Two in the group, four of their own; all six are listed.
    assert_eq!(store.len(), 5);
    let listed = store.keys();
    for m in members {
        assert!(listed.contains(&key(1, m)), "{m} listed in {listed:?}");
    }
    // Forgetting the subject removes all six windows (and counts them).
    let keys = SubjectKeys::new(&KeyBuilder::new("sentinel").unwrap(), &Subject::User(1)).unwrap();
    assert_eq!(common::block_on(store.forget(&keys)).unwrap(), 6);
    assert!(store.is_empty());
    for m in members {
        assert!(
            common::block_on(store.debounce(&key(1, m), window, T0)).unwrap(),
            "{m} is new again"
        );
    }
}

#[test]
fn a_group_outlives_the_windows_it_sent_to_keys_of_their_own() {
    let clock = ManualClock::new(T0);
    let store = MemoryStore::new(clock.clone());
    let short = Duration::from_secs(1);
    let long = Duration::from_secs(60);
    for m in ["a", "b"] {
        assert!(common::block_on(store.debounce(&key(1, m), short, T0)).unwrap());
    }
    // The group is full: `e` gets a key of its own, with a long window.
    assert!(common::block_on(store.debounce(&key(1, "e"), long, T0)).unwrap());
    // The group's own windows end; a sweep must not drop it while `e`'s window is open, or
    // `e` would find a fresh group and be taken for new.
    let later = T0.saturating_add(Duration::from_secs(2));
    clock.set(later);
    store.sweep_now();
    assert!(
        !common::block_on(store.debounce(&key(1, "e"), long, later)).unwrap(),
        "e repeats"
    );
    // The group's members' windows have ended: they open again.
    assert!(common::block_on(store.debounce(&key(1, "a"), short, later)).unwrap());
}
