//! The policy registry through the engine: a named policy that also counts toward the
//! default shares the default's counters (all must pass, `retry_after` is the longest
//! refusal), and per-chat-type policies are chosen by the event's chat kind.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, ChatKind, ConfigError, Event, ManualClock, Policy, PolicyRegistry, Quota, Scope,
    Sentinel, Subject, Timestamp, Verdict,
};
use sentinel_storage_memory::MemoryStore;

fn per_minute(n: u32) -> Policy {
    Policy::new().rate_limit(
        Quota::per_minute(n).unwrap(),
        Algorithm::SlidingWindow,
        Scope::User,
    )
}

fn engine(clock: &ManualClock, registry: PolicyRegistry) -> Sentinel {
    Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock.clone())
        .policies(registry)
        .build()
        .unwrap()
}

async fn allowed(s: &Sentinel, e: &Event) -> bool {
    s.check(e).await.unwrap().is_allowed()
}

#[tokio::test]
async fn a_policy_counting_toward_the_default_shares_its_counters() {
    let clock = ManualClock::new(Timestamp::from_secs(1_000));
    let registry = PolicyRegistry::builder()
        .default_policy(per_minute(5))
        .policy("search", per_minute(3).also_counts_toward_default())
        .policy("alone", per_minute(3))
        .build()
        .unwrap();
    let s = engine(&clock, registry);
    let ev = |h: &str| Event::new().with_user(1).with_handler(h);
    // 3 searches, then the search limit refuses; the rest of the 5 elsewhere.
    let mut searches = 0;
    for _ in 0..10 {
        searches += usize::from(allowed(&s, &ev("search")).await);
    }
    assert_eq!(searches, 3);
    let mut others = 0;
    for _ in 0..10 {
        others += usize::from(allowed(&s, &ev("help")).await);
    }
    assert_eq!(others, 2, "3 searches counted toward the default's 5");
    // A policy that does not count toward the default has its own budget.
    for _ in 0..3 {
        assert!(allowed(&s, &ev("alone")).await);
    }
    // Half a minute later both the search limit and the default are still full.
    clock.advance(Duration::from_secs(30));
    match s.check(&ev("search")).await.unwrap() {
        Verdict::Throttled(t) => {
            assert_eq!(&*t.policy, "search");
            assert_eq!(
                t.decision.limit, 3,
                "both refuse: the longest wait is reported"
            );
        }
        v => panic!("{v:?}"),
    }
    // Resetting the named policy leaves the default's counters.
    s.reset(&Subject::User(1), Some("search")).await.unwrap();
    assert!(
        !allowed(&s, &ev("search")).await,
        "the default is still full"
    );
}

#[tokio::test]
async fn the_longest_refusal_is_reported() {
    let clock = ManualClock::new(Timestamp::from_secs(1_000));
    // Default: 2 per 10 minutes; search: 3 per minute, counting toward the default.
    let registry = PolicyRegistry::builder()
        .default_policy(Policy::new().rate_limit(
            Quota::new(2, Duration::from_secs(600)).unwrap(),
            Algorithm::SlidingWindow,
            Scope::User,
        ))
        .policy("search", per_minute(1).also_counts_toward_default())
        .build()
        .unwrap();
    let s = engine(&clock, registry);
    let ev = |h: &str| Event::new().with_user(1).with_handler(h);
    assert!(allowed(&s, &ev("help")).await);
    assert!(allowed(&s, &ev("search")).await);
    // Both refuse now: search's for 60 s, the default's for 600 s.
    let v = s.check(&ev("search")).await.unwrap();
    assert_eq!(v.retry_after(), Some(Duration::from_secs(600)));
}

#[tokio::test]
async fn chat_type_policies_are_chosen_by_the_chat_kind() {
    let clock = ManualClock::new(Timestamp::from_secs(1_000));
    let registry = PolicyRegistry::builder()
        .default_policy(per_minute(5))
        .chat_policy(ChatKind::Group, per_minute(1))
        .chat_policy(
            ChatKind::Supergroup,
            per_minute(2).also_counts_toward_default(),
        )
        .policy("start", per_minute(3))
        .build()
        .unwrap();
    let s = engine(&clock, registry);
    let group = Event::new()
        .with_user(1)
        .with_chat(-1)
        .with_chat_kind(ChatKind::Group);
    assert!(allowed(&s, &group).await);
    match s.check(&group).await.unwrap() {
        Verdict::Throttled(t) => assert_eq!(&*t.policy, "_group"),
        v => panic!("{v:?}"),
    }
    // A named handler wins over the chat type.
    assert!(allowed(&s, &group.clone().with_handler("start")).await);
    // The private chat has no policy of its own: the default's 5.
    let private = Event::new()
        .with_user(1)
        .with_chat(1)
        .with_chat_kind(ChatKind::Private);
    for _ in 0..5 {
        assert!(allowed(&s, &private).await);
    }
    assert!(!allowed(&s, &private).await);
    // The supergroup counts toward the default, which user 1 has used up.
    let sg = Event::new()
        .with_user(1)
        .with_chat(-2)
        .with_chat_kind(ChatKind::Supergroup);
    assert!(!allowed(&s, &sg).await);
    let sg2 = Event::new()
        .with_user(2)
        .with_chat(-2)
        .with_chat_kind(ChatKind::Supergroup);
    assert!(allowed(&s, &sg2).await);
    assert!(allowed(&s, &sg2).await);
    assert!(!allowed(&s, &sg2).await);
}

#[test]
fn registry_configuration_is_validated() {
    let err = PolicyRegistry::builder()
        .default_policy(per_minute(5).also_counts_toward_default())
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("also_counts_toward_default"),
        "{err}"
    );
    let dup = PolicyRegistry::builder()
        .chat_policy(ChatKind::Group, per_minute(1))
        .chat_policy(ChatKind::Group, per_minute(2))
        .build()
        .unwrap_err();
    assert!(matches!(dup, ConfigError::DuplicatePolicy(n) if n == "_group"));
    // The default's limits count against the composed policy's size and cost.
    let costly = PolicyRegistry::builder()
        .default_policy(per_minute(1))
        .policy(
            "big",
            per_minute(5).with_cost(2).also_counts_toward_default(),
        )
        .build()
        .unwrap_err();
    assert!(matches!(
        costly,
        ConfigError::CostExceedsLimit { cost: 2, limit: 1 }
    ));
    let registry = PolicyRegistry::builder()
        .chat_policy(ChatKind::Channel, per_minute(1))
        .build()
        .unwrap();
    assert_eq!(registry.by_name("_channel").unwrap().limits().len(), 1);
    assert!(registry.by_name("_group").is_none());
    assert!(registry.by_name("_").is_some());
}
