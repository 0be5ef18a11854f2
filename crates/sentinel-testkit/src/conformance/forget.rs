//! `forget`: after [`Sentinel::forget`] on the store under test, the store's own listing of
//! its keys holds no key of the forgotten subject, and every other key is still there.
//!
//! Which keys belong to a subject is decided here independently of
//! `sentinel_core::forget::SubjectKeys`, from the tag between the braces: a user's own tag
//! `u<id>` and the user in any chat `u<id>c<chat>`; a chat's own tag `c<id>` and any user in
//! it `u<user>c<id>`.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, Error, Escalation, Event, ManualClock, Policy, PolicyRegistry, Quota, Scope,
    Sentinel, Subject, Timestamp,
};

use super::{StoreFactory, namespace};

/// The tag (between the braces) of a key.
fn tag(key: &str) -> &str {
    key.split_once('{')
        .and_then(|(_, rest)| rest.split_once('}'))
        .map_or("", |(tag, _)| tag)
}

/// `(user, chat)` of a user-in-chat tag `u<user>c<chat>`.
fn user_in_chat(tag: &str) -> Option<(&str, &str)> {
    tag.strip_prefix('u')?.split_once('c')
}

fn of_user(key: &str, user: i64) -> bool {
    let t = tag(key);
    t == format!("u{user}") || user_in_chat(t).is_some_and(|(u, _)| u == user.to_string())
}

fn of_chat(key: &str, chat: i64) -> bool {
    let t = tag(key);
    t == format!("c{chat}") || user_in_chat(t).is_some_and(|(_, c)| c == chat.to_string())
}

/// The kind part of a key (`rl-sw`, `db`, ...), after the prefix.
fn kind<'k>(key: &'k str, prefix: &str) -> &'k str {
    key.strip_prefix(prefix)
        .and_then(|k| k.strip_prefix(':'))
        .and_then(|k| k.split_once(':'))
        .map_or("", |(kind, _)| kind)
}

/// Checks [`Sentinel::forget`] (and so [`Store::forget`](sentinel_core::Store::forget)) on
/// the store under test. `list_keys(store, prefix)` must list every key the store holds under
/// `prefix` by the store's own means (Redis: `SCAN` on every node; memory: its key listing).
///
/// Users 1, 12, 2 and 21 and chats -100, -1001 and 100 send updates through two policies
/// with limits per user, per user in chat and per chat, a debounce per user in chat and an
/// escalation, so every kind of key exists (rate limits of three algorithms, debounce
/// fingerprints, strikes, blocks). Then:
///
/// * `forget(User(1))` deletes exactly the keys tagged `u1` or `u1c<chat>` (not `u12`,
///   `u21c…`), and returns their number;
/// * `forget(Chat(-100))` deletes exactly the keys tagged `c-100` or `u<user>c-100` (not
///   `c-1001`), and returns their number;
/// * a second `forget` deletes nothing; `forget(Global)` is refused;
/// * user 1 is no longer blocked and is allowed again.
///
/// # Panics
/// When a key of the subject survives, another subject's key is deleted, or the count is
/// wrong.
pub async fn forget<F, L, Fut>(factory: &F, list_keys: L)
where
    F: StoreFactory,
    L: Fn(Arc<F::Store>, String) -> Fut,
    Fut: Future<Output = Vec<String>>,
{
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let store = Arc::new(factory.make(clock.clone()).await);
    let prefix = namespace("forget").replace([':', '_'], "-");
    let minute = |n| Quota::per_minute(n).unwrap();
    let policies = PolicyRegistry::builder()
        .default_policy(
            Policy::new()
                .rate_limit(minute(3), Algorithm::SlidingWindow, Scope::User)
                .rate_limit(minute(1), Algorithm::Gcra, Scope::UserInChat)
                .rate_limit(minute(1000), Algorithm::FixedWindow, Scope::Chat)
                .debounce(Duration::from_secs(10), Scope::UserInChat)
                .escalation(
                    Escalation::new(5, Duration::from_secs(60), Some(Duration::from_secs(3600)))
                        .unwrap(),
                ),
        )
        .policy(
            "start",
            Policy::new()
                .rate_limit(minute(5), Algorithm::SlidingWindow, Scope::User)
                .debounce(Duration::from_secs(10), Scope::User),
        )
        .build()
        .unwrap();
    let sentinel = Sentinel::builder()
        .store(store.clone())
        .clock(clock.clone())
        .prefix(prefix.clone())
        .policies(policies)
        .build()
        .unwrap();

    let pairs = [
        (1, -100),
        (1, -1001),
        (1, 100),
        (12, -100),
        (2, -1001),
        (2, 100),
        (21, -100),
    ];
    for (user, chat) in pairs {
        let e = |text: &str| {
            Event::new()
                .with_user(user)
                .with_chat(chat)
                .with_content(text)
        };
        // The second policy; then a first sighting, a repeat (debounced), and another text
        // over the per-user-in-chat limit (a strike).
        sentinel.check(&e("s").with_handler("start")).await.unwrap();
        for text in ["a", "a", "b"] {
            sentinel.check(&e(text)).await.unwrap();
        }
    }
    for user in [1, 12] {
        sentinel
            .block(&Subject::User(user), None, "spam", "conformance")
            .await
            .unwrap();
    }
    sentinel
        .block(&Subject::Chat(-100), None, "spam", "conformance")
        .await
        .unwrap();
    sentinel
        .block(&Subject::Chat(100), None, "spam", "conformance")
        .await
        .unwrap();

    let listed = |store: Arc<F::Store>| {
        let fut = list_keys(store, prefix.clone());
        async move { fut.await.into_iter().collect::<BTreeSet<String>>() }
    };
    let before = listed(store.clone()).await;
    assert!(
        before.iter().all(|k| k.starts_with(&format!("{prefix}:"))),
        "conformance `forget`: list_keys returned keys outside the prefix"
    );
    // Every kind of key exists before, for the user and the chat.
    for (kind_tag, wanted) in [
        ("rl-sw", "u1"),
        ("rl-gcra", "u1c-100"),
        ("db", "u1c-100"),
        ("db", "u1"),
        ("st", "u1"),
        ("bl", "u1"),
        ("rl-fw", "c-100"),
        ("bl", "c-100"),
    ] {
        assert!(
            before
                .iter()
                .any(|k| kind(k, &prefix) == kind_tag && tag(k) == wanted),
            "conformance `forget`: setup made no {kind_tag} key for {{{wanted}}}: {before:#?}"
        );
    }

    // Forget user 1.
    let expected: BTreeSet<String> = before.iter().filter(|k| of_user(k, 1)).cloned().collect();
    let deleted = sentinel.forget(&Subject::User(1)).await.unwrap();
    let after = listed(store.clone()).await;
    let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert!(
        after.iter().all(|k| !of_user(k, 1)),
        "conformance `forget`: keys of user 1 survived forget: {:#?}",
        after.iter().filter(|k| of_user(k, 1)).collect::<Vec<_>>()
    );
    assert_eq!(
        gone, expected,
        "conformance `forget`: forget(User(1)) must delete exactly user 1's keys"
    );
    assert!(
        after.is_subset(&before),
        "conformance `forget`: forget created keys"
    );
    assert_eq!(
        deleted,
        expected.len() as u64,
        "conformance `forget`: forget(User(1)) returned the wrong count"
    );
    assert!(
        after.iter().any(|k| tag(k) == "u12") && after.iter().any(|k| tag(k) == "u21c-100"),
        "conformance `forget`: users 12 and 21 must keep their keys"
    );

    // Forget chat -100.
    let before = after;
    let expected: BTreeSet<String> = before
        .iter()
        .filter(|k| of_chat(k, -100))
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    let deleted = sentinel.forget(&Subject::Chat(-100)).await.unwrap();
    let after = listed(store.clone()).await;
    let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(
        gone, expected,
        "conformance `forget`: forget(Chat(-100)) must delete exactly chat -100's keys"
    );
    assert!(after.is_subset(&before));
    assert_eq!(deleted, expected.len() as u64);
    assert!(
        after.iter().any(|k| tag(k) == "c-1001") && after.iter().any(|k| tag(k) == "u2c-1001"),
        "conformance `forget`: chat -1001 must keep its keys"
    );

    // Nothing left to forget; Global is refused.
    assert_eq!(sentinel.forget(&Subject::User(1)).await.unwrap(), 0);
    assert!(matches!(
        sentinel.forget(&Subject::Global).await,
        Err(Error::Config(_))
    ));
    assert_eq!(listed(store.clone()).await, after);

    // User 1 starts afresh: no block, a new update passes.
    assert!(
        sentinel.blocked(&Subject::User(1)).await.unwrap().is_none(),
        "conformance `forget`: user 1 is still blocked after forget"
    );
    let v = sentinel
        .check(&Event::new().with_user(1).with_chat(-1001).with_content("a"))
        .await
        .unwrap();
    assert!(
        v.is_allowed(),
        "conformance `forget`: user 1 is still limited after forget: {v:?}"
    );
}
