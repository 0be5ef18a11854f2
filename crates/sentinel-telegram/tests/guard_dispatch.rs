//! The guard as a dptree step, dispatched directly (no polling): subscriptions, per-handler
//! policies, drops, answers, fail modes. Replies go to a fake Bot API.
#![cfg(feature = "teloxide")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "guard_support/harness.rs"]
mod harness;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use harness::{Counter, clock, memory_sentinel, observed, observed_by_entry, update};
use sentinel_core::{
    Algorithm, BlockRecord, Decision, Event, FailMode, Policy, PolicyRegistry, Quota, Scope,
    Sentinel, StoreError, Subject, Timestamp, async_trait,
    store::{BlocklistStore, DebounceStore, RateLimitStore, Store},
};
use sentinel_telegram::teloxide::{DEFAULT_REPLY, Guard, Outcome};
use sentinel_telegram::update::{HandlerNamer, UpdateInfo, UpdateKind};
use sentinel_testkit::fake_bot_api::FakeBotApi;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::dptree::{self, Type, deps};
use teloxide::types::{Me, Update};
use teloxide::{Bot, RequestError};

type Tree = UpdateHandler<RequestError>;

/// A named branch constructor.
type Branch = (&'static str, fn() -> Tree);

fn per_second(n: u32) -> Policy {
    Policy::new().rate_limit(
        Quota::per_second(n).unwrap(),
        Algorithm::SlidingWindow,
        Scope::User,
    )
}

fn bot(api: &FakeBotApi) -> Bot {
    Bot::new(api.token()).set_api_url(api.url())
}

/// A tree: guard, then a message branch and a callback branch that count their calls.
fn tree(guard: &Guard, messages: &Counter, callbacks: &Counter) -> Tree {
    let (m, c) = (messages.clone(), callbacks.clone());
    dptree::entry()
        .chain(guard.handler())
        .branch(Update::filter_message().endpoint(move || {
            m.bump();
            async { Ok(()) }
        }))
        .branch(Update::filter_callback_query().endpoint(move || {
            c.bump();
            async { Ok(()) }
        }))
}

async fn run(tree: &Tree, bot: &Bot, upd: Update) -> bool {
    matches!(
        tree.dispatch(deps![upd, bot.clone()]).await,
        ControlFlow::Break(Ok(()))
    )
}

#[test]
fn guard_keeps_allowed_updates_exact() {
    let clock = clock();
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(5)).unwrap(),
    ));
    let branches: Vec<Branch> = vec![
        ("messages", || {
            Update::filter_message().endpoint(|| async { Ok(()) })
        }),
        ("callbacks", || {
            Update::filter_callback_query().endpoint(|| async { Ok(()) })
        }),
        ("inline", || {
            Update::filter_inline_query().endpoint(|| async { Ok(()) })
        }),
        ("chat_member", || {
            Update::filter_chat_member().endpoint(|| async { Ok(()) })
        }),
        ("reactions", || {
            Update::filter_message_reaction_updated().endpoint(|| async { Ok(()) })
        }),
    ];
    // Every subset of the branches, guarded and not, subscribes to the same types.
    for mask in 1u32..(1 << branches.len()) {
        let pick = || {
            branches
                .iter()
                .enumerate()
                .filter(move |(i, _)| mask & (1 << i) != 0)
                .map(|(_, (_, b))| b())
        };
        let plain = pick().fold(dptree::entry(), |t: Tree, b| t.branch(b));
        let guarded = pick().fold(dptree::entry().chain(guard.handler()), |t: Tree, b| {
            t.branch(b)
        });
        let named = pick().fold(
            dptree::entry().chain(guard.named("x").handler()),
            |t: Tree, b| t.branch(b),
        );
        let want = observed(plain.description());
        assert!(!want.is_empty());
        assert_eq!(observed(guarded.description()), want, "mask {mask:b}");
        assert_eq!(observed(named.description()), want, "mask {mask:b} (named)");
    }
    // The guard alone observes nothing.
    let alone: Tree = guard.handler();
    assert_eq!(observed(alone.description()), observed_by_entry());
    // The reachability branch adds exactly `my_chat_member`.
    let with_reach: Tree = dptree::entry()
        .chain(guard.handler())
        .branch(Update::filter_message().endpoint(|| async { Ok(()) }))
        .branch(guard.reachability_handler());
    let mut want: Vec<String> = vec!["Kind(Message)".into(), "Kind(MyChatMember)".into()];
    want.sort();
    assert_eq!(
        observed(with_reach.description())
            .into_iter()
            .collect::<Vec<_>>(),
        want
    );
    // The pitfall this avoids: a plain filter at the root subscribes to every type.
    let naive: Tree = dptree::entry()
        .filter_async(|| async { true })
        .branch(Update::filter_message().endpoint(|| async { Ok(()) }));
    assert!(observed(naive.description()).len() > 20);
}

#[test]
fn dispatcher_type_check_accepts_the_guarded_tree() {
    let clock = clock();
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(5)).unwrap(),
    ));
    let t = tree(&guard, &Counter::default(), &Counter::default());
    // What `Dispatcher::build` checks: the bot in the dependencies, Update and Me assumed.
    let bot = Bot::new("1:x");
    dptree::type_check(
        t.sig(),
        &deps![bot],
        &[Type::of::<Update>(), Type::of::<Me>()],
    );
    // `handler()` names no bot type, so a dispatcher with any bot type (here a `u8`) passes.
    dptree::type_check(
        t.sig(),
        &deps![42u8],
        &[Type::of::<Update>(), Type::of::<Me>()],
    );
    // `handler_for::<R>` names `R`: a dispatcher for another bot type fails at start-up, not
    // silently at run time.
    let named: Tree = dptree::entry().chain(guard.handler_for::<Bot, _>());
    let sig = named.sig().clone();
    let wrong = std::panic::catch_unwind(move || {
        dptree::type_check(
            &sig,
            &deps![42u8],
            &[Type::of::<Update>(), Type::of::<Me>()],
        );
    });
    assert!(
        wrong.is_err(),
        "handler_for declares the bot type it answers with"
    );
}

#[tokio::test]
async fn flood_passes_exactly_the_quota_and_replies_once_per_window() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(5)).unwrap(),
    ));
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&guard, &messages, &callbacks);
    for i in 0..100 {
        let u = update(api.message(7, 7, &format!("spam {i}")), i);
        assert!(run(&t, &bot, u).await);
    }
    assert_eq!(messages.get(), 5);
    let s = guard.stats();
    assert_eq!((s.engine.allowed, s.engine.throttled), (5, 95));
    assert_eq!((s.notices_sent, s.notices_suppressed), (1, 94));
    let sent = api.sent_to(7);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "Too many messages — try again in 1 s");
    assert!(
        sent[0].body.get("reply_parameters").is_none(),
        "a private chat needs no quote"
    );
    // One second later the budget is back, and so is one notice.
    clock.advance(Duration::from_secs(1));
    for i in 100..120 {
        run(&t, &bot, update(api.message(7, 7, &format!("more {i}")), i)).await;
    }
    assert_eq!(messages.get(), 10);
    assert_eq!(api.sent_to(7).len(), 2);
}

#[tokio::test]
async fn retry_seconds_are_rounded_up_and_the_template_is_used() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let policy = Policy::new().rate_limit(
        Quota::new(2, Duration::from_secs(10)).unwrap(),
        Algorithm::SlidingWindow,
        Scope::User,
    );
    let guard = Guard::builder(memory_sentinel(
        &clock,
        PolicyRegistry::single(policy).unwrap(),
    ))
    .reply_text("Slow down: {secs}s")
    .build();
    let t = tree(&guard, &Counter::default(), &Counter::default());
    run(&t, &bot, update(api.message(7, 7, "a"), 1)).await;
    clock.advance(Duration::from_millis(2_500));
    run(&t, &bot, update(api.message(7, 7, "b"), 2)).await;
    run(&t, &bot, update(api.message(7, 7, "c"), 3)).await;
    // The first slot frees at 10 s; 7.5 s left → 8.
    assert_eq!(api.sent_to(7)[0].text, "Slow down: 8s");
    assert!(DEFAULT_REPLY.contains("{secs}"));
}

#[tokio::test]
async fn a_second_user_in_the_same_chat_is_unaffected() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(3)).unwrap(),
    ));
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&guard, &messages, &callbacks);
    for i in 0..50 {
        run(&t, &bot, update(api.message(1, -100, &format!("a{i}")), i)).await;
    }
    assert_eq!(messages.get(), 3);
    for i in 0..3 {
        run(
            &t,
            &bot,
            update(api.message(2, -100, &format!("b{i}")), 100 + i),
        )
        .await;
    }
    assert_eq!(messages.get(), 6, "user 2 got all three through");
    let notices = api.sent_to(-100);
    assert_eq!(notices.len(), 1, "one notice, for user 1");
    // In a group the notice answers the flooder's message (the fourth one, the first refused).
    let first_refused =
        api.calls_of("sendMessage")[0].body["reply_parameters"]["message_id"].clone();
    assert_eq!(first_refused, 4);
}

#[tokio::test]
async fn button_presses_are_debounced_and_every_press_is_answered() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let policies = PolicyRegistry::builder()
        .default_policy(per_second(30))
        .policy(
            "callback_query",
            Policy::new().debounce(Duration::from_secs(1), Scope::UserInChat),
        )
        .build()
        .unwrap();
    let guard = Guard::builder(memory_sentinel(&clock, policies))
        .namer(HandlerNamer::command_or_kind())
        .build();
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&guard, &messages, &callbacks);
    for i in 0..20 {
        run(&t, &bot, update(api.callback_query(5, 5, "like:1"), i)).await;
    }
    assert_eq!(callbacks.get(), 1);
    let answers = api.calls_of("answerCallbackQuery");
    // The endpoint above does not answer; the guard answered the 19 it dropped, silently.
    assert_eq!(answers.len(), 19);
    assert!(answers.iter().all(|c| c.body.get("text").is_none()));
    assert_eq!(guard.stats().engine.debounced, 19);
    // A different button is not a duplicate.
    run(&t, &bot, update(api.callback_query(5, 5, "like:2"), 20)).await;
    assert_eq!(callbacks.get(), 2);
}

#[tokio::test]
async fn the_same_button_under_two_messages_is_not_debounced() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let policies = PolicyRegistry::builder()
        .default_policy(per_second(30))
        .policy(
            "callback_query",
            Policy::new().debounce(Duration::from_secs(1), Scope::UserInChat),
        )
        .build()
        .unwrap();
    let guard = Guard::builder(memory_sentinel(&clock, policies))
        .namer(HandlerNamer::command_or_kind())
        .build();
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&guard, &messages, &callbacks);
    // Two alerts, each with its own "acknowledge" button carrying the same data.
    run(&t, &bot, update(api.callback_query_on(5, 5, 100, "ack"), 0)).await;
    run(&t, &bot, update(api.callback_query_on(5, 5, 101, "ack"), 1)).await;
    assert_eq!(callbacks.get(), 2);
    // A second press under the same message within the window is still a duplicate.
    run(&t, &bot, update(api.callback_query_on(5, 5, 101, "ack"), 2)).await;
    assert_eq!(callbacks.get(), 2);
    assert_eq!(guard.stats().engine.debounced, 1);
}

#[tokio::test]
async fn throttled_button_presses_are_answered_with_the_text() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(1)).unwrap(),
    ));
    let t = tree(&guard, &Counter::default(), &Counter::default());
    for i in 0..3 {
        run(
            &t,
            &bot,
            update(api.callback_query(5, 5, &format!("b{i}")), i),
        )
        .await;
    }
    let answers = api.calls_of("answerCallbackQuery");
    assert_eq!(answers.len(), 2);
    for a in &answers {
        assert_eq!(a.body["text"], "Too many messages — try again in 1 s");
    }
    assert!(
        api.sent().is_empty(),
        "a button press is answered, not replied to"
    );
}

#[tokio::test]
async fn blocked_users_reach_no_handler() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let sentinel = memory_sentinel(&clock, PolicyRegistry::single(per_second(100)).unwrap());
    sentinel
        .block(&Subject::User(9), None, "spam", "admin")
        .await
        .unwrap();
    let guard = Guard::new(sentinel);
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&guard, &messages, &callbacks);
    for i in 0..5 {
        run(&t, &bot, update(api.message(9, 9, &format!("m{i}")), i)).await;
    }
    run(&t, &bot, update(api.callback_query(9, 9, "x"), 10)).await;
    assert_eq!((messages.get(), callbacks.get()), (0, 0));
    assert_eq!(guard.stats().engine.blocked, 6);
    assert!(api.sent().is_empty(), "blocked users get no reply");
    let answers = api.calls_of("answerCallbackQuery");
    assert_eq!(answers.len(), 1, "but their button stops spinning");
    assert!(answers[0].body.get("text").is_none());
    // Others pass.
    run(&t, &bot, update(api.message(8, 8, "hi"), 20)).await;
    assert_eq!(messages.get(), 1);
}

#[tokio::test]
async fn per_handler_policies_follow_the_command() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let policies = PolicyRegistry::builder()
        .default_policy(per_second(10))
        .policy(
            "search",
            Policy::new().rate_limit(Quota::per_minute(2).unwrap(), Algorithm::Gcra, Scope::User),
        )
        .build()
        .unwrap();
    let guard = Guard::new(memory_sentinel(&clock, policies));
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&guard, &messages, &callbacks);
    for i in 0..5 {
        run(
            &t,
            &bot,
            update(
                api.message(3, 3, &format!("/search@sentinel_test_bot q{i}")),
                i,
            ),
        )
        .await;
    }
    assert_eq!(messages.get(), 2, "/search: 2 per minute");
    for i in 0..5 {
        run(
            &t,
            &bot,
            update(api.message(3, 3, &format!("hello {i}")), 10 + i),
        )
        .await;
    }
    assert_eq!(
        messages.get(),
        7,
        "other messages use the default policy's own budget"
    );
}

#[tokio::test]
async fn a_named_guard_inside_a_branch_uses_that_policy() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let policies = PolicyRegistry::builder()
        .default_policy(per_second(100))
        .policy("photos", per_second(1))
        .build()
        .unwrap();
    let guard = Guard::new(memory_sentinel(&clock, policies));
    let (photos, texts) = (Counter::default(), Counter::default());
    let (p, x) = (photos.clone(), texts.clone());
    let t: Tree = dptree::entry()
        .branch(
            Update::filter_message()
                .filter(|m: teloxide::types::Message| m.photo().is_some())
                .chain(guard.named("photos").handler())
                .endpoint(move || {
                    p.bump();
                    async { Ok(()) }
                }),
        )
        .branch(Update::filter_message().chain(guard.handler()).endpoint(
            move |info: UpdateInfo| {
                // The guard hands its reading of the update to the endpoint.
                assert_eq!(info.kind, UpdateKind::Message);
                x.bump();
                async { Ok(()) }
            },
        ));
    for i in 0..4 {
        run(
            &t,
            &bot,
            update(api.photo_message(4, 4, &format!("f{i}"), None, None), i),
        )
        .await;
        run(
            &t,
            &bot,
            update(api.message(4, 4, &format!("t{i}")), 10 + i),
        )
        .await;
    }
    assert_eq!((photos.get(), texts.get()), (1, 4));
}

#[tokio::test]
async fn kicked_marks_the_user_and_member_clears_it() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(1)).unwrap(),
    ));
    let t: Tree = dptree::entry()
        .chain(guard.handler())
        .branch(guard.reachability_handler());
    assert!(
        run(
            &t,
            &bot,
            update(api.my_chat_member(11, "member", "kicked"), 1)
        )
        .await
    );
    assert!(guard.reachability().has_blocked_bot(11));
    // my_chat_member is exempt: it is never throttled away, even in a burst.
    for i in 0..4 {
        let (old, new) = if i % 2 == 0 {
            ("kicked", "member")
        } else {
            ("member", "kicked")
        };
        run(&t, &bot, update(api.my_chat_member(11, old, new), 2 + i)).await;
    }
    assert!(
        guard.reachability().has_blocked_bot(11),
        "last one was kicked"
    );
    run(
        &t,
        &bot,
        update(api.my_chat_member(11, "kicked", "member"), 10),
    )
    .await;
    assert!(!guard.reachability().has_blocked_bot(11));
    let s = guard.stats();
    assert_eq!(
        (s.users_blocked_bot, s.users_unblocked_bot, s.exempt),
        (3, 3, 6)
    );
    // The reachability branch alone records it too.
    let alone = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(1)).unwrap(),
    ));
    let t2: Tree = dptree::entry().branch(alone.reachability_handler());
    run(
        &t2,
        &bot,
        update(api.my_chat_member(12, "member", "kicked"), 11),
    )
    .await;
    assert!(alone.reachability().has_blocked_bot(12));
}

#[tokio::test]
async fn no_reply_when_replies_are_off_and_never_into_channels() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    let quiet = Guard::builder(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(1)).unwrap(),
    ))
    .reply(false)
    .build();
    let t = tree(&quiet, &Counter::default(), &Counter::default());
    for i in 0..3 {
        run(&t, &bot, update(api.message(6, 6, &format!("m{i}")), i)).await;
        run(
            &t,
            &bot,
            update(api.callback_query(6, 6, &format!("c{i}")), 10 + i),
        )
        .await;
    }
    assert!(api.sent().is_empty());
    let answers = api.calls_of("answerCallbackQuery");
    assert_eq!(answers.len(), 3, "callbacks still answered, silently");
    assert!(answers.iter().all(|c| c.body.get("text").is_none()));

    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(1)).unwrap(),
    ));
    let posts = Counter::default();
    let p = posts.clone();
    let t: Tree =
        dptree::entry()
            .chain(guard.handler())
            .branch(Update::filter_channel_post().endpoint(move || {
                p.bump();
                async { Ok(()) }
            }));
    for i in 0..3 {
        run(
            &t,
            &bot,
            update(api.channel_post(-1009, &format!("post {i}")), 20 + i),
        )
        .await;
    }
    assert_eq!(posts.get(), 1);
    assert!(
        api.sent().is_empty(),
        "the bot never posts a notice into a channel"
    );
}

#[tokio::test]
async fn notices_go_to_the_forum_topic() {
    let api = FakeBotApi::start().await;
    api.register_chat(
        serde_json::json!({"id": -1007, "title": "Forum", "type": "supergroup", "is_forum": true}),
    );
    let bot = bot(&api);
    let clock = clock();
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(1)).unwrap(),
    ));
    let t = tree(&guard, &Counter::default(), &Counter::default());
    for i in 0..2 {
        let mut body = api.message(3, -1007, &format!("t{i}"));
        body["message"]["message_thread_id"] = 42.into();
        body["message"]["is_topic_message"] = true.into();
        run(&t, &bot, update(body, i)).await;
    }
    let sent = api.sent_to(-1007);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message_thread_id, Some(42));
}

#[tokio::test]
async fn notices_can_be_limited_by_a_separate_engine() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    // One notice per subject per minute, decided by its own engine.
    let notices = memory_sentinel(
        &clock,
        PolicyRegistry::single(Policy::new().rate_limit(
            Quota::per_minute(1).unwrap(),
            Algorithm::Gcra,
            Scope::Custom,
        ))
        .unwrap(),
    );
    let guard = Guard::builder(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(1)).unwrap(),
    ))
    .notice_limiter(notices)
    .build();
    let t = tree(&guard, &Counter::default(), &Counter::default());
    for second in 0..3 {
        for i in 0..5 {
            run(
                &t,
                &bot,
                update(api.message(3, 3, &format!("{second}/{i}")), second * 10 + i),
            )
            .await;
        }
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(
        api.sent_to(3).len(),
        1,
        "three throttled windows, one notice a minute"
    );
    assert_eq!(guard.stats().notices_suppressed, 11);
}

/// A store that always fails.
#[derive(Debug)]
struct DownStore;

fn down() -> StoreError {
    StoreError::unavailable(std::io::Error::other("down"))
}

#[async_trait]
impl RateLimitStore for DownStore {
    async fn hit(
        &self,
        _: &str,
        _: Algorithm,
        _: &Quota,
        _: u32,
        _: Timestamp,
    ) -> Result<Decision, StoreError> {
        Err(down())
    }
    async fn peek(
        &self,
        _: &str,
        _: Algorithm,
        _: &Quota,
        _: Timestamp,
    ) -> Result<Decision, StoreError> {
        Err(down())
    }
    async fn reset(&self, _: &str) -> Result<(), StoreError> {
        Err(down())
    }
}

#[async_trait]
impl DebounceStore for DownStore {
    async fn debounce(&self, _: &str, _: Duration, _: Timestamp) -> Result<bool, StoreError> {
        Err(down())
    }
}

impl Store for DownStore {}

#[async_trait]
impl BlocklistStore for DownStore {
    async fn block(&self, _: &str, _: &BlockRecord) -> Result<(), StoreError> {
        Err(down())
    }
    async fn unblock(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn blocked(&self, _: &str, _: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        Err(down())
    }
    async fn list_blocked(
        &self,
        _: &str,
        _: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        Err(down())
    }
}

fn down_sentinel(mode: FailMode) -> Sentinel {
    Sentinel::builder()
        .store(Arc::new(DownStore))
        .clock(clock())
        .fail_mode(mode)
        .policies(PolicyRegistry::single(per_second(1)).unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_store_failure_drops_under_fail_closed_and_passes_under_fail_open() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);

    let closed = Guard::new(down_sentinel(FailMode::Closed));
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&closed, &messages, &callbacks);
    for i in 0..3 {
        run(&t, &bot, update(api.message(1, 1, &format!("m{i}")), i)).await;
    }
    run(&t, &bot, update(api.callback_query(1, 1, "c"), 9)).await;
    assert_eq!((messages.get(), callbacks.get()), (0, 0));
    assert_eq!(closed.stats().engine.failed_closed, 4);
    assert_eq!(closed.sentinel().stats().failed_closed, 4);
    assert_eq!(
        api.calls_of("answerCallbackQuery").len(),
        1,
        "the button still stops spinning"
    );
    assert!(api.sent().is_empty());

    let open = Guard::new(down_sentinel(FailMode::Open));
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&open, &messages, &callbacks);
    for i in 0..3 {
        run(
            &t,
            &bot,
            update(api.message(1, 1, &format!("m{i}")), 10 + i),
        )
        .await;
    }
    assert_eq!(messages.get(), 3);
    let outcome = open.check(&update(api.message(1, 1, "x"), 20)).await;
    assert!(
        matches!(&outcome, Outcome::Pass(a) if a.degraded),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn check_reports_the_outcome_without_sending() {
    let api = FakeBotApi::start().await;
    let clock = clock();
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(per_second(1)).unwrap(),
    ));
    assert!(
        guard
            .check(&update(api.message(1, 1, "a"), 1))
            .await
            .passes()
    );
    let second = guard.check(&update(api.message(1, 1, "b"), 2)).await;
    assert!(
        matches!(second, Outcome::Drop(ref v) if v.as_str() == "throttled"),
        "{second:?}"
    );
    assert!(matches!(
        guard
            .check(&update(api.my_chat_member(1, "member", "kicked"), 3))
            .await,
        Outcome::Exempt
    ));
    assert!(api.calls().is_empty());
    // The event the guard checks carries the update's ids.
    let info = guard.update_info(&update(api.message(1, 2, "/Start x"), 4));
    let e: Event = info.event();
    assert_eq!(
        (e.user(), e.chat(), e.handler()),
        (Some(1), Some(2), Some("start"))
    );
}

#[tokio::test]
async fn an_escalating_throttle_tells_the_block_time_and_then_stays_silent() {
    let api = FakeBotApi::start().await;
    let bot = bot(&api);
    let clock = clock();
    // The first throttle blocks the user for ten minutes.
    let policy = per_second(1).escalation(
        sentinel_core::Escalation::new(1, Duration::from_secs(60), Some(Duration::from_secs(600)))
            .unwrap(),
    );
    let guard = Guard::new(memory_sentinel(
        &clock,
        PolicyRegistry::single(policy).unwrap(),
    ));
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let t = tree(&guard, &messages, &callbacks);
    run(&t, &bot, update(api.message(5, 5, "ok"), 1)).await;
    run(&t, &bot, update(api.message(5, 5, "too fast"), 2)).await;
    let sent = api.sent_to(5);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "Too many messages — try again in 600 s");
    // Blocked from now on, and told nothing more.
    clock.advance(Duration::from_secs(5));
    run(&t, &bot, update(api.message(5, 5, "later"), 3)).await;
    assert_eq!(messages.get(), 1);
    let s = guard.stats();
    assert_eq!(
        (s.engine.throttled, s.engine.blocked, s.notices_sent),
        (1, 1, 1)
    );
    assert_eq!(api.sent_to(5).len(), 1);
}
