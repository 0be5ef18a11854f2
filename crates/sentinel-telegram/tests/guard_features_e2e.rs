//! End to end, issue 14: a real teloxide bot with the guard long-polls the fake Bot API, on
//! the memory store and on Redis. An exempt chat admin is never limited; stacked limits give
//! exactly the smaller budget and count toward the default; a 10-photo album is one message;
//! a Russian speaker is answered in Russian; a user blocked by escalation gets exactly one
//! block notice with the block's end.
//!
//! Time for the engine is a `ManualClock`; waiting is for counted updates (timeouts are
//! failure guards only).
#![cfg(feature = "teloxide")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "guard_support/harness.rs"]
mod harness;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::{Counter, clock, completion_step, memory_sentinel, sentinel_on};
use sentinel_core::{
    Algorithm, Clock, Escalation, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel,
    Store, Timestamp,
};
use sentinel_storage_redis::{RedisConfig, TimeSource};
use sentinel_telegram::teloxide::{Guard, GuardBuilder};
use sentinel_telegram::update::HandlerNamer;
use sentinel_testkit::fake_bot_api::FakeBotApi;
use sentinel_testkit::redis_server::RedisServer;
use serde_json::Value;
use teloxide::dispatching::{Dispatcher, ShutdownToken, UpdateFilterExt, UpdateHandler};
use teloxide::types::{Message, Update};
use teloxide::{Bot, RequestError, dptree};
use tokio::task::JoinHandle;

/// Failure guard for every wait.
const WAIT: Duration = Duration::from_secs(60);

/// Which store the engine runs on.
#[derive(Clone, Copy, Debug)]
enum On {
    Memory,
    Redis,
}

/// An engine on `on` with `policies`; the Redis server (if any) lives as long as the result.
fn engine(
    on: On,
    clock: &ManualClock,
    policies: PolicyRegistry,
) -> (Sentinel, Option<RedisServer>) {
    match on {
        On::Memory => (memory_sentinel(clock, policies), None),
        On::Redis => {
            let server = RedisServer::spawn();
            let store = RedisConfig::new(server.url())
                .time_source(TimeSource::Client)
                .build()
                .unwrap();
            let store: Arc<dyn Store> = Arc::new(store);
            (sentinel_on(store, clock, policies), Some(server))
        }
    }
}

fn per_minute(n: u32) -> Policy {
    Policy::new().rate_limit(
        Quota::per_minute(n).unwrap(),
        Algorithm::SlidingWindow,
        Scope::User,
    )
}

/// A running bot and what its message handler saw.
struct Running {
    api: FakeBotApi,
    guard: Guard,
    done: Counter,
    /// (sender, text or caption) of every message the handler got.
    handled: Arc<Mutex<Vec<(i64, String)>>>,
    token: ShutdownToken,
    task: JoinHandle<()>,
}

impl Running {
    async fn start(api: FakeBotApi, builder: GuardBuilder) -> Self {
        let guard = builder.namer(HandlerNamer::command_or_kind()).build();
        let done = Counter::default();
        let handled = Arc::new(Mutex::new(Vec::new()));
        let h = Arc::clone(&handled);
        let tree: UpdateHandler<RequestError> = dptree::entry()
            .chain(completion_step(done.clone()))
            .chain(guard.handler())
            .branch(Update::filter_message().endpoint(move |msg: Message| {
                let from = msg.from.as_ref().map_or(0, |u| u.id.0 as i64);
                let text = msg.text().or(msg.caption()).unwrap_or("").to_owned();
                h.lock().unwrap().push((from, text));
                async { Ok(()) }
            }));
        let bot = Bot::new(api.token()).set_api_url(api.url());
        let mut dispatcher = Dispatcher::builder(bot, tree).build();
        let token = dispatcher.shutdown_token();
        let task = tokio::spawn(async move { dispatcher.dispatch().await });
        Self {
            api,
            guard,
            done,
            handled,
            token,
            task,
        }
    }

    /// Pushes `updates` and waits until the bot is done with all updates so far.
    async fn push(&self, updates: Vec<Value>) {
        let n = self.done.get() + updates.len();
        self.api.push_updates(updates);
        self.done.wait_for(n, WAIT).await;
    }

    fn handled_where(&self, f: impl Fn(i64, &str) -> bool) -> usize {
        let h = self.handled.lock().unwrap();
        h.iter().filter(|(u, t)| f(*u, t)).count()
    }

    async fn stop(self) {
        // As in guard_e2e: a dispatcher that misses teloxide's shutdown is aborted, everything
        // under test has been asserted by then.
        drop(self.token.shutdown().expect("the dispatcher is running"));
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(10), &mut task)
            .await
            .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

/// A chat administrator sends 100 commands: every one is handled, the admin list is asked
/// once; a member of the same chat gets exactly the quota.
async fn exempt_admin(on: On) {
    let clock = clock();
    let (sentinel, _server) = engine(on, &clock, PolicyRegistry::single(per_minute(5)).unwrap());
    let api = FakeBotApi::start().await;
    let (chat, admin, member) = (-1_001_000_000_001, 7, 8);
    api.set_member_status(chat, admin, "administrator");
    let bot = Running::start(
        api,
        Guard::builder(sentinel).exempt_chat_admins(Duration::from_secs(300)),
    )
    .await;
    let cmds: Vec<_> = (0..100)
        .map(|i| bot.api.message(admin, chat, &format!("/stats {i}")))
        .collect();
    bot.push(cmds).await;
    let flood: Vec<_> = (0..20)
        .map(|i| bot.api.message(member, chat, &format!("/stats {i}")))
        .collect();
    bot.push(flood).await;
    assert_eq!(bot.handled_where(|u, _| u == admin), 100);
    assert_eq!(bot.handled_where(|u, _| u == member), 5);
    assert_eq!(bot.api.calls_of("getChatAdministrators").len(), 1);
    let s = bot.guard.stats();
    assert_eq!(
        (s.exempt, s.engine.allowed, s.engine.throttled),
        (100, 5, 15)
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exempt_admin_sends_100_commands_all_handled_memory() {
    exempt_admin(On::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exempt_admin_sends_100_commands_all_handled_redis() {
    exempt_admin(On::Redis).await;
}

/// 5 per minute in all, `/search` at 3 per minute counting toward the 5: exactly 3 searches
/// and 2 other messages.
async fn stacked(on: On) {
    let clock = clock();
    let policies = PolicyRegistry::builder()
        .default_policy(per_minute(5))
        .policy("search", per_minute(3).also_counts_toward_default())
        .build()
        .unwrap();
    let (sentinel, _server) = engine(on, &clock, policies);
    let api = FakeBotApi::start().await;
    let user = 42;
    let bot = Running::start(api, Guard::builder(sentinel)).await;
    let searches: Vec<_> = (0..10)
        .map(|i| bot.api.message(user, user, &format!("/search q{i}")))
        .collect();
    bot.push(searches).await;
    let others: Vec<_> = (0..10)
        .map(|i| bot.api.message(user, user, &format!("hello {i}")))
        .collect();
    bot.push(others).await;
    assert_eq!(bot.handled_where(|_, t| t.starts_with("/search")), 3);
    assert_eq!(bot.handled_where(|_, t| t.starts_with("hello")), 2);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacked_limits_give_3_searches_and_the_rest_of_5_memory() {
    stacked(On::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacked_limits_give_3_searches_and_the_rest_of_5_redis() {
    stacked(On::Redis).await;
}

/// 2 messages per minute: a 10-photo album and then one text message are both handled (the
/// album counted once); the next text is refused.
async fn album(on: On) {
    let clock = clock();
    let (sentinel, _server) = engine(on, &clock, PolicyRegistry::single(per_minute(2)).unwrap());
    let api = FakeBotApi::start().await;
    let user = 42;
    let bot = Running::start(api, Guard::builder(sentinel)).await;
    let photos: Vec<_> = (0..10)
        .map(|i| {
            let caption = format!("photo {i}");
            bot.api.photo_message(
                user,
                user,
                &format!("uniq{i}"),
                Some(&caption),
                Some("album-1"),
            )
        })
        .collect();
    bot.push(photos).await;
    bot.push(vec![bot.api.message(user, user, "text 1")]).await;
    bot.push(vec![bot.api.message(user, user, "text 2")]).await;
    assert_eq!(bot.handled_where(|_, t| t.starts_with("photo")), 10);
    assert_eq!(bot.handled_where(|_, t| t.starts_with("text")), 1);
    assert_eq!(
        bot.guard.sentinel().stats().checks,
        3,
        "album, text 1, text 2"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_photo_album_counts_as_one_message_memory() {
    album(On::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_photo_album_counts_as_one_message_redis() {
    album(On::Redis).await;
}

/// A user whose Telegram is in Russian gets the Russian notice, once per window.
async fn russian(on: On) {
    let clock = clock();
    let (sentinel, _server) = engine(on, &clock, PolicyRegistry::single(per_minute(1)).unwrap());
    let api = FakeBotApi::start().await;
    let (ru, en) = (42, 43);
    let bot = Running::start(api, Guard::builder(sentinel)).await;
    let msg = |user: i64, lang: &str, i: usize| {
        let mut m = bot.api.message(user, user, &format!("m{i}"));
        m["message"]["from"]["language_code"] = lang.into();
        m
    };
    bot.push((0..5).map(|i| msg(ru, "ru", i)).collect()).await;
    bot.push((0..5).map(|i| msg(en, "en", i)).collect()).await;
    let to_ru = bot.api.sent_to(ru);
    assert_eq!(to_ru.len(), 1, "{to_ru:?}");
    assert_eq!(
        to_ru[0].text,
        "Слишком много сообщений — попробуйте через 60 с"
    );
    let to_en = bot.api.sent_to(en);
    assert_eq!(to_en.len(), 1);
    assert_eq!(to_en[0].text, "Too many messages — try again in 60 s");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_speaker_gets_the_russian_notice_memory() {
    russian(On::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_speaker_gets_the_russian_notice_redis() {
    russian(On::Redis).await;
}

/// 1 per minute, 2 throttles within a minute block for an hour: the flooder gets one "try
/// again", then exactly one block notice naming the block's end, then nothing.
async fn block_notice(on: On) {
    let clock = clock();
    let policy = per_minute(1).escalation(
        Escalation::new(2, Duration::from_secs(60), Some(Duration::from_secs(3600))).unwrap(),
    );
    let (sentinel, _server) = engine(on, &clock, PolicyRegistry::single(policy).unwrap());
    let api = FakeBotApi::start().await;
    let user = 42;
    let bot = Running::start(api, Guard::builder(sentinel).block_notice(true)).await;
    bot.push(vec![bot.api.message(user, user, "first")]).await;
    bot.push(vec![bot.api.message(user, user, "second")]).await;
    clock.advance(Duration::from_secs(1));
    let blocked_at: Timestamp = clock.now();
    let flood: Vec<_> = (0..20)
        .map(|i| bot.api.message(user, user, &format!("flood {i}")))
        .collect();
    bot.push(flood).await;
    clock.advance(Duration::from_secs(600));
    let later: Vec<_> = (0..5)
        .map(|i| bot.api.message(user, user, &format!("later {i}")))
        .collect();
    bot.push(later).await;
    assert_eq!(bot.handled_where(|u, _| u == user), 1);
    let sent = bot.api.sent_to(user);
    let texts: Vec<&str> = sent.iter().map(|m| m.text.as_str()).collect();
    // T0 = 1_700_000_000 (2023-11-14 22:13:20 UTC); blocked at T0 + 1 s for an hour.
    assert_eq!(blocked_at, Timestamp::from_secs(1_700_000_001));
    assert_eq!(
        texts,
        [
            "Too many messages — try again in 60 s",
            "You are blocked until 2023-11-14 23:13:21 UTC for flooding",
        ]
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_user_gets_exactly_one_block_notice_memory() {
    block_notice(On::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_user_gets_exactly_one_block_notice_redis() {
    block_notice(On::Redis).await;
}
