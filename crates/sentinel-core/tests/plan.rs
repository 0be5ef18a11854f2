//! Several rate limits per policy through the engine, on the memory store (one pass) and on a
//! store with only the default, step-by-step `evaluate`: all must pass, a refusal consumes
//! none, the throttled subject is the limit that refused.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod support;

use std::sync::Arc;

use sentinel_core::{
    Algorithm, Clock, Event, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Store,
    Subject, Timestamp, Verdict,
};
use sentinel_storage_memory::MemoryStore;
use support::TestStore;

fn policy() -> Policy {
    Policy::new()
        .rate_limit(Quota::per_minute(3).unwrap(), Algorithm::Gcra, Scope::User)
        .rate_limit(
            Quota::per_minute(2).unwrap(),
            Algorithm::SlidingWindow,
            Scope::Chat,
        )
}

async fn two_limits(store: Arc<dyn Store>) {
    let clock = ManualClock::new(Timestamp::from_secs(1_000));
    let sentinel = Sentinel::builder()
        .store(store.clone())
        .clock(clock.clone())
        .prefix("t")
        .policies(PolicyRegistry::single(policy()).unwrap())
        .build()
        .unwrap();
    let in_chat = |user, chat| Event::new().with_user(user).with_chat(chat);
    assert!(sentinel.check(&in_chat(1, -1)).await.unwrap().is_allowed());
    assert!(sentinel.check(&in_chat(2, -1)).await.unwrap().is_allowed());
    // The chat's limit refuses user 3: the verdict names the chat, and user 3's own limit
    // is not consumed.
    match sentinel.check(&in_chat(3, -1)).await.unwrap() {
        Verdict::Throttled(t) => assert_eq!(t.subject, Subject::Chat(-1)),
        other => panic!("expected throttled, got {other:?}"),
    }
    let user3 = sentinel
        .keys()
        .limit_key(Algorithm::Gcra, &Subject::User(3), "_", 0);
    let q = Quota::per_minute(3).unwrap();
    let left = store
        .peek(&user3, Algorithm::Gcra, &q, clock.now())
        .await
        .unwrap();
    assert_eq!(left.remaining, 3, "a refusal consumed another limit");
    // Elsewhere user 3 has the whole user budget; the allowed decision is the tightest limit.
    for chat in [-2, -3, -4] {
        let v = sentinel.check(&in_chat(3, chat)).await.unwrap();
        let Verdict::Allowed(a) = v else {
            panic!("expected allowed in chat {chat}, got {v:?}")
        };
        assert_eq!(
            a.decision.unwrap().remaining,
            if chat == -4 { 0 } else { 1 }
        );
    }
    match sentinel.check(&in_chat(3, -5)).await.unwrap() {
        Verdict::Throttled(t) => assert_eq!(t.subject, Subject::User(3)),
        other => panic!("expected throttled, got {other:?}"),
    }
    // Both limits reset for the subject.
    sentinel.reset(&Subject::User(3), None).await.unwrap();
    assert!(sentinel.check(&in_chat(3, -6)).await.unwrap().is_allowed());
}

#[tokio::test]
async fn several_limits_on_the_memory_store() {
    two_limits(Arc::new(MemoryStore::new(ManualClock::default()))).await;
}

#[tokio::test]
async fn several_limits_on_the_default_stepwise_evaluate() {
    two_limits(Arc::new(TestStore::default())).await;
}

#[test]
fn the_first_limit_keeps_its_key_and_the_others_are_distinct() {
    let keys = sentinel_core::KeyBuilder::new("p").unwrap();
    let s = Subject::User(1);
    let k0 = keys.limit_key(Algorithm::Gcra, &s, "h", 0);
    assert_eq!(
        k0,
        keys.key(sentinel_core::KeyKind::RateLimit(Algorithm::Gcra), &s, "h")
    );
    assert_ne!(k0, keys.limit_key(Algorithm::Gcra, &s, "h", 1));
}
