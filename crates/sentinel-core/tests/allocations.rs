//! The engine's allowed path on the memory store allocates nothing once its keys exist,
//! counted by a counting global allocator (`allocation-counter`, which counts the calling
//! thread's allocations only, so tests running beside this one do not disturb it).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sentinel_core::{
    Algorithm, Escalation, Event, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel,
    Subject, Timestamp, Verdict,
};
use sentinel_storage_memory::MemoryStore;

/// Polls a future to completion on this thread (the memory store never waits), so that
/// everything the check does is counted on this thread and no runtime allocates beside it.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn q(n: u32) -> Quota {
    Quota::per_second(n).unwrap()
}

fn registry() -> PolicyRegistry {
    PolicyRegistry::builder()
        .default_policy(Policy::new().rate_limit(q(1_000_000), Algorithm::Gcra, Scope::User))
        .policy(
            "two",
            // Two limits of different algorithms and scopes (several shards locked together).
            Policy::new()
                .rate_limit(q(1_000_000), Algorithm::FixedWindow, Scope::User)
                .rate_limit(q(1_000_000), Algorithm::Gcra, Scope::Chat),
        )
        .policy(
            "esc",
            // An escalating policy builds its strike step (keys, record) on every check.
            Policy::new()
                .rate_limit(q(1_000_000), Algorithm::Gcra, Scope::UserInChat)
                .escalation(Escalation::new(3, Duration::from_secs(60), None).unwrap()),
        )
        .policy(
            "sw",
            // The sliding log is recorded in place once it has grown to its limit.
            Policy::new()
                .rate_limit(q(10_000), Algorithm::SlidingWindow, Scope::User)
                .debounce(Duration::from_secs(1), Scope::User),
        )
        .policy(
            "custom",
            Policy::new().rate_limit(q(1_000_000), Algorithm::Gcra, Scope::Custom),
        )
        .policy(
            "stack",
            // Stacked limits with sliding logs: every limit is tried before any is consumed,
            // the logs where they lie.
            Policy::new()
                .rate_limit(q(10_000), Algorithm::SlidingWindow, Scope::User)
                .rate_limit(q(10_000), Algorithm::SlidingWindow, Scope::Chat)
                .rate_limit(q(1_000_000), Algorithm::Gcra, Scope::Global),
        )
        .build()
        .unwrap()
}

fn engine(clock: &ManualClock) -> Sentinel {
    Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock.clone())
        .policies(registry())
        .build()
        .unwrap()
}

fn events() -> Vec<Event> {
    let base = |u: i64| Event::new().with_user(u).with_chat(-u);
    vec![
        base(1),
        base(2).with_handler("two"),
        base(3).with_handler("esc"),
        // No content: the debounce rule does not apply.
        base(8).with_handler("sw"),
        base(4).with_handler("custom").with_custom_key("api-key-7"),
        // A custom key that is hashed into the key (long, or not plain).
        base(5)
            .with_handler("custom")
            .with_custom_key("a key: with {braces} and spaces that is long enough to hash"),
        // A handler without a policy of its own: the default.
        base(6).with_handler("help"),
        base(9).with_handler("stack"),
        // One user alone in the chat (its sliding log stays one entry long).
        Event::new().with_user(10).with_handler("stack"),
        Event::new().with_chat(-7),
    ]
}

/// Allocations made by `checks` rounds over `events` after one warm-up round.
fn allocations_after_warm_up(sentinel: &Sentinel, events: &[Event], checks: usize) -> u64 {
    for e in events {
        assert!(block_on(sentinel.check(e)).unwrap().is_allowed(), "{e:?}");
    }
    let info = allocation_counter::measure(|| {
        for _ in 0..checks {
            for e in events {
                let v = block_on(sentinel.check(e)).unwrap();
                assert!(matches!(v, Verdict::Allowed(_)));
            }
        }
    });
    info.count_total
}

#[test]
fn an_allowed_check_allocates_nothing_once_its_keys_exist() {
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let sentinel = engine(&clock);
    let events = events();
    // Rounds 100 ms apart: the sliding log (1 s) holds at most 10 entries, one per round, so
    // after a dozen rounds it keeps its size and is recorded in place.
    for _ in 0..12 {
        allocations_after_warm_up(&sentinel, &events, 1);
        clock.advance(Duration::from_millis(100));
    }
    assert_eq!(allocations_after_warm_up(&sentinel, &events, 100), 0);
}

/// With blocklist records in the store (so each check looks its block keys up) and with
/// denials in the deny cache (so each check asks it), allowed checks still allocate nothing.
#[test]
fn blocks_and_cached_denials_elsewhere_do_not_make_allowed_checks_allocate() {
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let sentinel = Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock.clone())
        .policies(
            PolicyRegistry::builder()
                .default_policy(Policy::new().rate_limit(
                    q(1_000_000),
                    Algorithm::Gcra,
                    Scope::User,
                ))
                .policy(
                    "tight",
                    Policy::new().rate_limit(q(1), Algorithm::SlidingWindow, Scope::User),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    block_on(sentinel.block(&Subject::User(99), None, "spam", "admin")).unwrap();
    let blocked = Event::new().with_user(99);
    assert!(matches!(
        block_on(sentinel.check(&blocked)).unwrap(),
        Verdict::Blocked(_)
    ));
    let tight = Event::new().with_user(98).with_handler("tight");
    assert!(block_on(sentinel.check(&tight)).unwrap().is_allowed());
    assert!(matches!(
        block_on(sentinel.check(&tight)).unwrap(),
        Verdict::Throttled(_)
    ));
    let allowed: Vec<Event> = (1..=5)
        .map(|u| Event::new().with_user(u).with_chat(u))
        .collect();
    assert_eq!(allocations_after_warm_up(&sentinel, &allowed, 100), 0);
    // The denials are still cached and answered (nothing above cleared them).
    assert!(matches!(
        block_on(sentinel.check(&tight)).unwrap(),
        Verdict::Throttled(_)
    ));
}

/// The counter does see the engine's allocations: the first check of a new user creates its
/// key, and a throttled verdict copies its subject.
#[test]
fn the_counter_sees_allocations_where_there_are_some() {
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let sentinel = engine(&clock);
    let custom = Event::new()
        .with_handler("custom")
        .with_custom_key("a key that is not plain: it is hashed into the store key");
    // Warm the thread's plan buffer with another user first.
    block_on(sentinel.check(&Event::new().with_user(1))).unwrap();
    let info = allocation_counter::measure(|| {
        block_on(sentinel.check(&custom)).unwrap();
    });
    assert!(info.count_total > 0);
}
