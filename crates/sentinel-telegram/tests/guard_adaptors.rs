//! `.chain(guard.handler())` in a real teloxide dispatcher built with an adaptor
//! (`Throttle<Bot>`, `DefaultParseMode<Bot>`, `CacheMe<Bot>`, a stack of them): the dispatcher
//! starts, the guard drops the update over the quota, and its answers go out through the
//! dispatcher's adapted bot to the fake Bot API.
#![cfg(feature = "teloxide")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "guard_support/harness.rs"]
mod harness;

use std::time::Duration;

use harness::{Counter, clock, completion_step, memory_sentinel};
use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope};
use sentinel_telegram::teloxide::Guard;
use sentinel_telegram::update::HandlerNamer;
use sentinel_testkit::fake_bot_api::FakeBotApi;
use teloxide::adaptors::throttle::Limits;
use teloxide::adaptors::{CacheMe, DefaultParseMode, Throttle};
use teloxide::dispatching::{Dispatcher, UpdateFilterExt, UpdateHandler};
use teloxide::dptree;
use teloxide::prelude::{Requester, RequesterExt};
use teloxide::types::{CallbackQuery, Message, ParseMode, Update};
use teloxide::{Bot, RequestError};

/// Failure guard for every wait.
const WAIT: Duration = Duration::from_secs(60);
const QUOTA: u32 = 5;

/// `QUOTA` messages per second per user; a button pressed twice within 1 s counts once.
fn policies() -> PolicyRegistry {
    PolicyRegistry::builder()
        .default_policy(Policy::new().rate_limit(
            Quota::per_second(QUOTA).unwrap(),
            Algorithm::SlidingWindow,
            Scope::User,
        ))
        .policy(
            "callback_query",
            Policy::new().debounce(Duration::from_secs(1), Scope::UserInChat),
        )
        .build()
        .unwrap()
}

/// What one guarded run saw.
struct Seen {
    handled: usize,
    callbacks_handled: usize,
    guard: Guard,
}

/// Runs a dispatcher built with `make(plain bot)` and `.chain(guard.handler())`: QUOTA + 1
/// messages and one button pressed twice, from user 42 in chat -1001.
async fn flood<R, F>(api: &FakeBotApi, make: F) -> Seen
where
    R: Requester<Err = RequestError> + Clone + Send + Sync + 'static,
    R::GetUpdates: Send,
    F: FnOnce(Bot) -> R,
{
    let guard = Guard::builder(memory_sentinel(&clock(), policies()))
        .namer(HandlerNamer::command_or_kind())
        .build();
    let (done, handled, callbacks) = (Counter::default(), Counter::default(), Counter::default());
    let (h, c) = (handled.clone(), callbacks.clone());
    let tree: UpdateHandler<RequestError> = dptree::entry()
        .chain(completion_step(done.clone()))
        .chain(guard.handler())
        .branch(Update::filter_message().endpoint(move |_: Message| {
            h.bump();
            async { Ok(()) }
        }))
        .branch(
            Update::filter_callback_query().endpoint(move |bot: R, q: CallbackQuery| {
                c.bump();
                async move {
                    bot.answer_callback_query(q.id).await?;
                    Ok(())
                }
            }),
        );
    let bot = make(Bot::new(api.token()).set_api_url(api.url()));
    // `build` runs dptree's type check: with a bot-typed guard and an adapted bot it panicked.
    let mut dispatcher = Dispatcher::builder(bot, tree).build();
    let token = dispatcher.shutdown_token();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });

    let mut updates: Vec<_> = (0..=QUOTA)
        .map(|i| api.message(42, -1001, &format!("spam {i}")))
        .collect();
    updates.push(api.callback_query(42, -1001, "b"));
    updates.push(api.callback_query(42, -1001, "b"));
    api.push_updates(updates);
    let total = usize::try_from(QUOTA).unwrap() + 3;
    done.wait_for(total, WAIT).await;

    // See guard_e2e.rs: a dispatcher that misses the shutdown is aborted, not awaited.
    drop(token.shutdown().expect("the dispatcher is running"));
    let mut task = task;
    if tokio::time::timeout(Duration::from_secs(10), &mut task)
        .await
        .is_err()
    {
        task.abort();
    }
    Seen {
        handled: handled.get(),
        callbacks_handled: callbacks.get(),
        guard,
    }
}

/// The N+1th message is dropped and its notice (through the adaptor) reaches the fake; the
/// repeated press is dropped and answered by the guard.
fn assert_guarded(api: &FakeBotApi, seen: &Seen) {
    assert_eq!(
        seen.handled,
        usize::try_from(QUOTA).unwrap(),
        "exactly the quota"
    );
    assert_eq!(seen.callbacks_handled, 1, "the repeated press is dropped");
    let s = seen.guard.stats();
    assert_eq!((s.engine.throttled, s.engine.debounced), (1, 1));
    assert_eq!((s.notices_sent, s.callbacks_answered), (1, 1));
    assert_eq!((s.unanswered, s.send_failures), (0, 0));
    let notices = api.sent_to(-1001);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].text, "Too many messages — try again in 1 s");
    // The handler's answer and the guard's.
    assert_eq!(api.calls_of("answerCallbackQuery").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_bot_starts_and_is_guarded() {
    let api = FakeBotApi::start().await;
    let seen = flood(&api, |bot| bot.throttle(Limits::default())).await;
    assert_guarded(&api, &seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_parse_mode_bot_starts_and_is_guarded() {
    let api = FakeBotApi::start().await;
    let seen = flood(&api, |bot| bot.parse_mode(ParseMode::Html)).await;
    assert_guarded(&api, &seen);
    // The notice went through the dispatcher's bot, adaptor included.
    let notice = &api.sent_to(-1001)[0];
    assert_eq!(notice.parse_mode.as_deref(), Some("HTML"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_me_bot_starts_and_is_guarded() {
    let api = FakeBotApi::start().await;
    let seen = flood(&api, |bot: Bot| -> CacheMe<Bot> { bot.cache_me() }).await;
    assert_guarded(&api, &seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_of_adaptors_starts_and_is_guarded() {
    let api = FakeBotApi::start().await;
    let seen = flood(&api, |bot| -> DefaultParseMode<CacheMe<Throttle<Bot>>> {
        bot.throttle(Limits::default())
            .cache_me()
            .parse_mode(ParseMode::Html)
    })
    .await;
    assert_guarded(&api, &seen);
    assert_eq!(api.sent_to(-1001)[0].parse_mode.as_deref(), Some("HTML"));
}

/// A bot type the guard does not know (`DefaultParseMode` twice): the dispatcher still starts
/// and every update is still checked; the dropped ones go unanswered and are counted, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_bot_type_starts_and_drops_unanswered() {
    let api = FakeBotApi::start().await;
    let seen = flood(&api, |bot| {
        bot.parse_mode(ParseMode::Html).parse_mode(ParseMode::Html)
    })
    .await;
    assert_eq!(seen.handled, usize::try_from(QUOTA).unwrap());
    assert_eq!(seen.callbacks_handled, 1);
    let s = seen.guard.stats();
    assert_eq!(
        (s.engine.throttled, s.engine.debounced, s.unanswered),
        (1, 1, 2)
    );
    assert_eq!((s.notices_sent, s.callbacks_answered), (0, 0));
    assert!(api.sent_to(-1001).is_empty());
    assert_eq!(
        api.calls_of("answerCallbackQuery").len(),
        1,
        "the handler's only"
    );
}

/// The same unknown type named with `handler_for`: answered through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_for_names_a_bot_type_the_guard_does_not_know() {
    type Twice = DefaultParseMode<DefaultParseMode<Bot>>;
    let api = FakeBotApi::start().await;
    let guard = Guard::new(memory_sentinel(&clock(), policies()));
    let done = Counter::default();
    let tree: UpdateHandler<RequestError> = dptree::entry()
        .chain(completion_step(done.clone()))
        .chain(guard.handler_for::<Twice, _>())
        .branch(Update::filter_message().endpoint(|| async { Ok(()) }));
    let bot: Twice = Bot::new(api.token())
        .set_api_url(api.url())
        .parse_mode(ParseMode::Html)
        .parse_mode(ParseMode::Html);
    let mut dispatcher = Dispatcher::builder(bot, tree).build();
    let token = dispatcher.shutdown_token();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });
    api.push_updates(
        (0..=QUOTA)
            .map(|i| api.message(42, -1001, &format!("m {i}")))
            .collect::<Vec<_>>(),
    );
    done.wait_for(usize::try_from(QUOTA).unwrap() + 1, WAIT)
        .await;
    drop(token.shutdown().expect("the dispatcher is running"));
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    let s = guard.stats();
    assert_eq!(
        (s.engine.throttled, s.notices_sent, s.unanswered),
        (1, 1, 0)
    );
    assert_eq!(api.sent_to(-1001).len(), 1);
}
