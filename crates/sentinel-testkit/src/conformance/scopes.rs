//! Scopes through the engine on the store under test: `Scope::Global` is one budget shared by
//! every user and chat (and events without either); `Scope::User` is one per user.

use std::sync::Arc;

use sentinel_core::{
    Algorithm, Event, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Timestamp,
};

use super::{StoreFactory, namespace};

/// An engine on a fresh store with one sliding-window limit of 3 per minute in `scope`.
async fn engine<F: StoreFactory>(factory: &F, scope: Scope, name: &str) -> Sentinel {
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let store = factory.make(clock.clone()).await;
    let policy = Policy::new().rate_limit(
        Quota::per_minute(3).unwrap(),
        Algorithm::SlidingWindow,
        scope,
    );
    Sentinel::builder()
        .store(Arc::new(store))
        .clock(clock)
        .prefix(namespace(name).replace([':', '_'], "-"))
        .policies(PolicyRegistry::single(policy).unwrap())
        .build()
        .unwrap()
}

/// `Scope::Global` and `Scope::User` configured on the store under test.
///
/// # Panics
/// When a global limit is not shared by everyone, or a per-user limit is.
pub async fn scopes<F: StoreFactory>(factory: &F) {
    let global = engine(factory, Scope::Global, "scope-global").await;
    let events = [
        Event::new().with_user(1).with_chat(1),
        Event::new().with_user(2).with_chat(-100),
        Event::new(),
    ];
    for (i, e) in events.iter().enumerate() {
        let v = global.check(e).await.unwrap();
        assert!(
            v.is_allowed(),
            "conformance `scopes`: global event {i} refused: {v:?}"
        );
    }
    for e in [
        Event::new().with_user(3).with_chat(3),
        Event::new().with_user(1),
    ] {
        let v = global.check(&e).await.unwrap();
        assert!(
            !v.is_allowed(),
            "conformance `scopes`: Scope::Global must be one budget for everyone, a fourth event passed: {v:?}"
        );
    }

    let per_user = engine(factory, Scope::User, "scope-user").await;
    for _ in 0..3 {
        assert!(
            per_user
                .check(&Event::new().with_user(1))
                .await
                .unwrap()
                .is_allowed()
        );
    }
    assert!(
        !per_user
            .check(&Event::new().with_user(1))
            .await
            .unwrap()
            .is_allowed()
    );
    for user in 2..=4 {
        let v = per_user.check(&Event::new().with_user(user)).await.unwrap();
        assert!(
            v.is_allowed(),
            "conformance `scopes`: user {user} paid for user 1: {v:?}"
        );
    }
}
