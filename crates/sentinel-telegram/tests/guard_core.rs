//! The framework-free guard core on raw Bot API JSON: exemptions, albums, replies in the
//! user's words, the one-time block notice, the notice limiter and callback answers.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sentinel_core::{
    Algorithm, Escalation, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Subject,
    Timestamp, Verdict,
};
use sentinel_storage_memory::MemoryStore;
use sentinel_telegram::guard::{
    AdminLookupError, ChatAdmins, Checked, GuardCore, Notice, NoticeKind, Outcome,
};
use sentinel_telegram::update::{ChatType, UpdateInfo};
use serde_json::json;

const T0: u64 = 1_700_000_000;

fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_secs(T0))
}

fn engine(clock: &ManualClock, policy: Policy) -> Sentinel {
    Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock.clone())
        .policies(PolicyRegistry::single(policy).unwrap())
        .build()
        .unwrap()
}

fn per_minute(n: u32) -> Policy {
    Policy::new().rate_limit(
        Quota::per_minute(n).unwrap(),
        Algorithm::SlidingWindow,
        Scope::User,
    )
}

/// A message from `user` in `chat` (`chat_type`), with an optional language and album.
fn message(
    id: i64,
    user: i64,
    chat: i64,
    chat_type: &str,
    lang: Option<&str>,
    album: Option<&str>,
) -> Vec<u8> {
    let mut from = json!({"id": user, "is_bot": false, "first_name": "U"});
    if let Some(l) = lang {
        from["language_code"] = l.into();
    }
    let mut m = json!({"message_id": id, "date": 0, "from": from,
        "chat": {"id": chat, "type": chat_type, "title": "c"}, "text": format!("m{id}")});
    if let Some(g) = album {
        m.as_object_mut().unwrap().remove("text");
        m["media_group_id"] = g.into();
        m["photo"] = json!([{"file_id": format!("f{id}"), "file_unique_id": format!("u{id}"),
            "width": 10, "height": 10}]);
    }
    serde_json::to_vec(&json!({"update_id": id, "message": m})).unwrap()
}

fn private(id: i64, user: i64) -> Vec<u8> {
    message(id, user, user, "private", None, None)
}

async fn check(guard: &GuardCore, body: &[u8]) -> Checked {
    guard.check_json(body).await.unwrap().1
}

#[tokio::test]
async fn exempt_users_chats_and_bypass_are_never_checked_nor_escalated() {
    let clock = clock();
    let policy =
        per_minute(2).escalation(Escalation::new(1, Duration::from_secs(60), None).unwrap());
    let sentinel = engine(&clock, policy);
    let guard = GuardCore::builder(sentinel.clone())
        .exempt_users([7])
        .exempt_chats([-500])
        .bypass(|info: &UpdateInfo| info.user_id == Some(9))
        .build();
    for i in 0..100 {
        assert_eq!(check(&guard, &private(i, 7)).await.outcome, Outcome::Exempt);
        let in_chat = message(1000 + i, 8, -500, "supergroup", None, None);
        assert_eq!(check(&guard, &in_chat).await.outcome, Outcome::Exempt);
        assert_eq!(
            check(&guard, &private(2000 + i, 9)).await.outcome,
            Outcome::Exempt
        );
    }
    assert_eq!(sentinel.stats().checks, 0, "the engine was never asked");
    for u in [7, 8, 9] {
        assert_eq!(sentinel.blocked(&Subject::User(u)).await.unwrap(), None);
    }
    // The same user outside the exempt chat is checked: 2 pass, the third escalates.
    assert!(check(&guard, &private(3000, 8)).await.passes());
    assert!(check(&guard, &private(3001, 8)).await.passes());
    assert!(!check(&guard, &private(3002, 8)).await.passes());
    assert!(sentinel.blocked(&Subject::User(8)).await.unwrap().is_some());
}

struct Admins {
    calls: AtomicU32,
    ids: Vec<i64>,
}

#[sentinel_core::async_trait]
impl ChatAdmins for Admins {
    async fn administrators(&self, _chat_id: i64) -> Result<Vec<i64>, AdminLookupError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(self.ids.clone())
    }
}

#[tokio::test]
async fn chat_admins_are_exempt_and_the_list_is_cached_for_the_ttl() {
    let clock = clock();
    let sentinel = engine(&clock, per_minute(1));
    let source = Arc::new(Admins {
        calls: AtomicU32::new(0),
        ids: vec![7],
    });
    let guard = GuardCore::builder(sentinel)
        .exempt_chat_admins(Duration::from_secs(300))
        .chat_admins_source(source.clone())
        .build();
    let group = |id, user| message(id, user, -100, "supergroup", None, None);
    for i in 0..100 {
        assert_eq!(check(&guard, &group(i, 7)).await.outcome, Outcome::Exempt);
    }
    assert!(check(&guard, &group(200, 8)).await.passes());
    assert!(
        !check(&guard, &group(201, 8)).await.passes(),
        "not an admin"
    );
    assert_eq!(source.calls.load(Ordering::SeqCst), 1, "one lookup per TTL");
    // Not in private chats: there the admin is an ordinary user.
    assert!(check(&guard, &private(300, 7)).await.passes());
    assert!(!check(&guard, &private(301, 7)).await.passes());
    clock.advance(Duration::from_secs(299));
    check(&guard, &group(400, 7)).await;
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_secs(1));
    check(&guard, &group(401, 7)).await;
    assert_eq!(
        source.calls.load(Ordering::SeqCst),
        2,
        "asked again after the TTL"
    );
    // An anonymous admin writes as the group: exempt without a lookup.
    let anon = json!({"update_id": 500, "message": {"message_id": 500, "date": 0,
        "from": {"id": 1_087_968_824, "is_bot": true, "first_name": "Group"},
        "sender_chat": {"id": -100, "type": "supergroup", "title": "c"},
        "chat": {"id": -100, "type": "supergroup", "title": "c"}, "text": "x"}});
    let anon = serde_json::to_vec(&anon).unwrap();
    for _ in 0..5 {
        assert_eq!(check(&guard, &anon).await.outcome, Outcome::Exempt);
    }
}

#[tokio::test]
async fn a_ten_photo_album_is_one_event() {
    let clock = clock();
    let sentinel = engine(&clock, per_minute(2));
    let guard = GuardCore::builder(sentinel.clone()).build();
    let photo = |id, g| message(id, 42, 42, "private", None, Some(g));
    for i in 0..10 {
        let c = check(&guard, &photo(i, "album-1")).await;
        assert!(c.passes(), "item {i}");
        assert_eq!(c.album_follower, i > 0);
    }
    assert_eq!(sentinel.stats().checks, 1);
    assert!(
        check(&guard, &private(20, 42)).await.passes(),
        "the 2nd event"
    );
    // A third event, an album: its first item is refused and so is every later item,
    // silently after the first.
    let first = check(&guard, &photo(30, "album-2")).await;
    assert!(!first.passes());
    assert!(first.response.notice.is_some());
    for i in 31..40 {
        let c = check(&guard, &photo(i, "album-2")).await;
        assert!(!c.passes() && c.album_follower && c.response.is_empty());
    }
}

#[tokio::test]
async fn reply_with_gets_the_verdict_quota_and_the_updates_facts() {
    let clock = clock();
    let sentinel = engine(&clock, per_minute(1));
    let guard = GuardCore::builder(sentinel)
        .reply_with(|cx| {
            let q = cx.quota?;
            Some(Notice::new(format!(
                "{}/{}s {} wait {} {} {:?} {}",
                q.limit(),
                cx.window.as_secs(),
                cx.policy,
                cx.retry_after_secs(),
                cx.language().unwrap_or("-"),
                cx.chat_type(),
                matches!(cx.verdict, Verdict::Throttled(_)),
            )))
        })
        .build();
    check(&guard, &message(1, 42, -5, "group", Some("de"), None)).await;
    clock.advance(Duration::from_secs(20));
    let c = check(&guard, &message(2, 42, -5, "group", Some("de"), None)).await;
    let notice = c.response.notice.unwrap();
    assert_eq!(
        notice.text,
        format!("1/60s _ wait 40 de {:?} true", Some(&ChatType::Group))
    );
    assert_eq!(notice.kind, NoticeKind::Throttled);
    assert_eq!(notice.chat_id, -5);
    assert_eq!(notice.reply_to_message_id, Some(2), "in groups, a reply");
}

#[tokio::test]
async fn russian_speakers_get_the_russian_text_and_one_notice_per_window() {
    let clock = clock();
    let guard = GuardCore::builder(engine(&clock, per_minute(1))).build();
    let ru = |id| message(id, 42, 42, "private", Some("ru"), None);
    assert!(check(&guard, &ru(1)).await.passes());
    let c = check(&guard, &ru(2)).await;
    assert_eq!(
        c.response.notice.unwrap().text,
        "Слишком много сообщений — попробуйте через 60 с"
    );
    let again = check(&guard, &ru(3)).await;
    assert!(again.response.notice.is_none() && again.notice_suppressed);
    clock.advance(Duration::from_secs(59));
    assert!(check(&guard, &ru(4)).await.notice_suppressed);
    clock.advance(Duration::from_secs(1));
    assert!(check(&guard, &ru(5)).await.passes(), "the window ended");
    let c = check(&guard, &message(6, 42, 42, "private", Some("en-GB"), None)).await;
    assert_eq!(
        c.response.notice.unwrap().text,
        "Too many messages — try again in 60 s"
    );
}

#[tokio::test]
async fn the_throttle_that_blocks_sends_one_block_notice_with_the_end() {
    let clock = clock();
    let policy = per_minute(1).escalation(
        Escalation::new(2, Duration::from_secs(60), Some(Duration::from_secs(3600))).unwrap(),
    );
    let sentinel = engine(&clock, policy);
    let guard = GuardCore::builder(sentinel).block_notice(true).build();
    assert!(check(&guard, &private(1, 42)).await.passes());
    let first = check(&guard, &private(2, 42)).await;
    assert_eq!(first.response.notice.unwrap().kind, NoticeKind::Throttled);
    clock.advance(Duration::from_secs(1));
    let blocking = check(&guard, &private(3, 42)).await;
    let notice = blocking.response.notice.unwrap();
    assert_eq!(notice.kind, NoticeKind::Blocked);
    // T0 + 1 s + 1 h = 2023-11-14 23:13:21 UTC.
    assert_eq!(
        notice.text,
        "You are blocked until 2023-11-14 23:13:21 UTC for flooding"
    );
    for i in 4..20 {
        let c = check(&guard, &private(i, 42)).await;
        assert!(matches!(c.outcome, Outcome::Drop(Verdict::Blocked(_))));
        assert!(c.response.is_empty(), "no second notice");
    }
}

#[tokio::test]
async fn without_the_block_notice_the_blocking_throttle_says_try_again() {
    let clock = clock();
    let policy = per_minute(1).escalation(
        Escalation::new(1, Duration::from_secs(60), Some(Duration::from_secs(600))).unwrap(),
    );
    let guard = GuardCore::builder(engine(&clock, policy)).build();
    check(&guard, &private(1, 42)).await;
    let c = check(&guard, &private(2, 42)).await;
    let notice = c.response.notice.unwrap();
    assert_eq!(notice.kind, NoticeKind::Throttled);
    assert_eq!(notice.text, "Too many messages — try again in 600 s");
}

#[tokio::test]
async fn dropped_button_presses_are_always_answered() {
    let clock = clock();
    let policy = per_minute(1).debounce(Duration::from_secs(5), Scope::User);
    let guard = GuardCore::builder(engine(&clock, policy)).build();
    let press = |id: i64, data: &str| {
        serde_json::to_vec(
            &json!({"update_id": id, "callback_query": {"id": format!("q{id}"),
            "chat_instance": "ci", "data": data,
            "from": {"id": 42, "is_bot": false, "first_name": "U", "language_code": "ru"},
            "message": {"message_id": 9, "date": 0, "chat": {"id": 42, "type": "private"}}}}),
        )
        .unwrap()
    };
    assert!(check(&guard, &press(1, "a")).await.passes());
    let debounced = check(&guard, &press(2, "a")).await;
    let answer = debounced.response.callback.unwrap();
    assert_eq!(
        (answer.callback_query_id.as_str(), answer.text),
        ("q2", None)
    );
    let throttled = check(&guard, &press(3, "b")).await;
    let answer = throttled.response.callback.unwrap();
    assert_eq!(
        answer.text.as_deref(),
        Some("Слишком много сообщений — попробуйте через 60 с")
    );
    assert!(
        throttled.response.notice.is_none(),
        "a toast, not a message"
    );
}
