//! End to end through the webhook endpoint: real HTTP POSTs (reqwest) into the served axum
//! app, the guard deciding before a real teloxide dispatcher (fed by the webhook update
//! listener), and the fake Bot API receiving the bot's replies and the guard's answers.
//!
//! The updates are first queued in the fake (so it knows their callback query ids, as
//! Telegram does) and then delivered by POST, as Telegram delivers to a webhook. The engine's
//! time is a `ManualClock` that stands still: the whole flood is "within one second". Waits
//! are on counts; timeouts are failure guards only.
#![cfg(all(feature = "teloxide", feature = "webhook"))]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "guard_support/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::{Counter, clock, completion_step, sentinel_on};
use sentinel_core::{
    Algorithm, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Store, Subject,
};
use sentinel_storage_memory::MemoryStore;
use sentinel_storage_redis::{RedisConfig, TimeSource};
use sentinel_telegram::guard::GuardCore;
use sentinel_telegram::teloxide::{Guard, GuardStats};
use sentinel_telegram::update::HandlerNamer;
use sentinel_telegram::webhook::{
    GuardedUpdate, SECRET_HEADER, WebhookGuard, WebhookSecret, WebhookService, teloxide_listener,
};
use sentinel_testkit::fake_bot_api::FakeBotApi;
use sentinel_testkit::redis_server::RedisServer;
use serde_json::Value;
use teloxide::dispatching::{Dispatcher, UpdateFilterExt, UpdateHandler};
use teloxide::dptree;
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::prelude::Requester;
use teloxide::types::{CallbackQuery, Message, Update};
use teloxide::{Bot, RequestError};

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "webhook-secret_1";
const MAX_BODY: usize = 16 * 1024;

/// 5 messages per second per user; a button press repeated within 1 s is a duplicate.
fn policies() -> PolicyRegistry {
    PolicyRegistry::builder()
        .default_policy(Policy::new().rate_limit(
            Quota::per_second(5).unwrap(),
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

const SPAMMER: i64 = 42;
const MASHER: i64 = 43;
const BLOCKED: i64 = 66;
const NORMAL: i64 = 7;
const GROUP: i64 = -1001;

/// The flood: a spammer in a group, a button masher, a blocked user, a normal user.
fn flood(api: &FakeBotApi) -> Vec<Value> {
    let mut updates = Vec::new();
    for i in 0..60 {
        updates.push(api.message(SPAMMER, GROUP, &format!("spam {i}")));
        if i % 3 == 0 {
            updates.push(api.callback_query(MASHER, GROUP, "like:1"));
        }
        if i % 20 == 0 {
            updates.push(api.message(BLOCKED, BLOCKED, &format!("scam {i}")));
            updates.push(api.message(NORMAL, NORMAL, &format!("hello {i}")));
        }
    }
    updates
}

/// What the bot's handlers saw and the fake received.
#[derive(Debug, PartialEq, Eq)]
struct Numbers {
    /// Message handler calls per sender.
    handled: BTreeMap<i64, usize>,
    /// Callback handler calls.
    presses_handled: usize,
    /// `sendMessage` calls per chat (handler replies and guard notices).
    sent: BTreeMap<i64, usize>,
    /// `answerCallbackQuery` calls.
    callback_answers: usize,
    stats: GuardStats,
}

/// A teloxide tree that replies "pong" to every message and answers every button press, and
/// records who reached it.
fn tree(
    guard: Option<&Guard>,
    done: Counter,
    handled: Arc<Mutex<Vec<i64>>>,
    presses: Counter,
) -> UpdateHandler<RequestError> {
    let mut root = dptree::entry().chain(completion_step(done));
    if let Some(guard) = guard {
        root = root.chain(guard.handler());
    }
    root.branch(
        Update::filter_message().endpoint(move |bot: Bot, msg: Message| {
            let from = msg.from.as_ref().map_or(0, |u| u.id.0 as i64);
            handled.lock().unwrap().push(from);
            async move {
                bot.send_message(msg.chat.id, "pong").await?;
                Ok(())
            }
        }),
    )
    .branch(
        Update::filter_callback_query().endpoint(move |bot: Bot, q: CallbackQuery| {
            presses.bump();
            async move {
                bot.answer_callback_query(q.id).await?;
                Ok(())
            }
        }),
    )
}

fn numbers(
    api: &FakeBotApi,
    handled: &Mutex<Vec<i64>>,
    presses: &Counter,
    stats: GuardStats,
) -> Numbers {
    let mut by_user = BTreeMap::new();
    for u in handled.lock().unwrap().iter() {
        *by_user.entry(*u).or_insert(0) += 1;
    }
    let mut sent = BTreeMap::new();
    for m in api.sent() {
        *sent.entry(m.chat_id).or_insert(0) += 1;
    }
    Numbers {
        handled: by_user,
        presses_handled: presses.get(),
        sent,
        callback_answers: api.calls_of("answerCallbackQuery").len(),
        stats,
    }
}

async fn blocked_engine(store: Arc<dyn Store>, clock: &ManualClock) -> Sentinel {
    let sentinel = sentinel_on(store, clock, policies());
    sentinel
        .block(
            &Subject::User(BLOCKED),
            Some(Duration::from_secs(3600)),
            "scam",
            "admin",
        )
        .await
        .unwrap();
    sentinel
}

/// The flood through a long-polling dispatcher with `guard.handler()` chained in.
async fn through_polling(sentinel: Sentinel) -> Numbers {
    let api = FakeBotApi::start().await;
    let guard = Guard::builder(sentinel)
        .namer(HandlerNamer::command_or_kind())
        .build();
    let (done, handled, presses) = (Counter::default(), Arc::default(), Counter::default());
    let tree = tree(
        Some(&guard),
        done.clone(),
        Arc::clone(&handled),
        presses.clone(),
    );
    let bot = Bot::new(api.token()).set_api_url(api.url());
    let mut dispatcher = Dispatcher::builder(bot, tree).build();
    let token = dispatcher.shutdown_token();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });
    let updates = flood(&api);
    let n = updates.len();
    api.push_updates(updates);
    done.wait_for(n, WAIT).await;
    let out = numbers(&api, &handled, &presses, guard.stats());
    drop(token.shutdown());
    task.abort();
    out
}

/// A served webhook endpoint with a dispatcher behind it.
struct Served {
    api: FakeBotApi,
    guard: Guard,
    url: String,
    client: reqwest::Client,
    done: Counter,
    handled: Arc<Mutex<Vec<i64>>>,
    presses: Counter,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Served {
    async fn start(sentinel: Sentinel) -> Self {
        let api = FakeBotApi::start().await;
        let guard = Guard::builder(sentinel)
            .namer(HandlerNamer::command_or_kind())
            .build();
        let bot = Bot::new(api.token()).set_api_url(api.url());
        let check = WebhookGuard::new(WebhookSecret::new(SECRET).unwrap()).max_body(MAX_BODY);
        let (listener, endpoint) = teloxide_listener(guard.clone(), bot.clone(), check);
        let app: axum::Router = axum::Router::new().route("/telegram", endpoint);
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/telegram", tcp.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(tcp, app).await.unwrap() });
        let (done, handled, presses) = (Counter::default(), Arc::default(), Counter::default());
        let tree = tree(None, done.clone(), Arc::clone(&handled), presses.clone());
        let mut dispatcher = Dispatcher::builder(bot, tree).build();
        let dispatch = tokio::spawn(async move {
            dispatcher
                .dispatch_with_listener(listener, LoggingErrorHandler::new())
                .await;
        });
        Self {
            api,
            guard,
            url,
            client: reqwest::Client::new(),
            done,
            handled,
            presses,
            tasks: vec![server, dispatch],
        }
    }

    async fn post(&self, secret: Option<&str>, body: Vec<u8>) -> reqwest::Response {
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = secret {
            req = req.header(SECRET_HEADER, s);
        }
        req.send().await.unwrap()
    }

    /// Queues `updates` in the fake (so it knows them, as Telegram does) and POSTs each one
    /// with the right secret; every answer must be 200.
    async fn deliver(&self, updates: Vec<Value>) {
        self.api.push_updates(updates);
        for u in self.api.pending_updates() {
            let resp = self
                .post(Some(SECRET), serde_json::to_vec(&u).unwrap())
                .await;
            assert_eq!(resp.status(), 200, "update {}", u["update_id"]);
        }
    }

    /// Waits until every update the guard passed has been through the tree and the guard
    /// has counted `answers` answers it sent (a failure guard bounds the wait).
    async fn settle(&self, answers: u64) {
        // The guard has decided every POST by now (it answers after deciding).
        let passed = self.guard.stats().handled();
        self.done.wait_for(passed as usize, WAIT).await;
        let sent = |s: GuardStats| s.notices_sent + s.callbacks_answered + s.send_failures;
        for _ in 0..6_000 {
            if sent(self.guard.stats()) >= answers {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn numbers(&self) -> Numbers {
        numbers(&self.api, &self.handled, &self.presses, self.guard.stats())
    }

    fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

async fn through_webhook(sentinel: Sentinel, expect: &Numbers) -> Numbers {
    let served = Served::start(sentinel).await;
    served.deliver(flood(&served.api)).await;
    // The spawned answers: wait for the counts the polling run produced (failure guards
    // only); the comparison below then fails on any difference, more or fewer.
    let e = &expect.stats;
    served
        .settle(e.notices_sent + e.callbacks_answered + e.send_failures)
        .await;
    let out = served.numbers();
    served.stop();
    out
}

async fn same_numbers(polling: Sentinel, webhook: Sentinel) {
    let via_polling = through_polling(polling).await;
    // Sanity: the flood was refused in part and let through in part.
    assert_eq!(via_polling.handled.get(&SPAMMER), Some(&5));
    assert_eq!(via_polling.handled.get(&NORMAL), Some(&3));
    assert_eq!(via_polling.handled.get(&BLOCKED), None);
    assert_eq!(via_polling.presses_handled, 1);
    let via_webhook = through_webhook(webhook, &via_polling).await;
    assert_eq!(via_webhook, via_polling);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flood_gives_the_same_numbers_as_polling_memory() {
    let clock = clock();
    let a = blocked_engine(Arc::new(MemoryStore::new(clock.clone())), &clock).await;
    let b = blocked_engine(Arc::new(MemoryStore::new(clock.clone())), &clock).await;
    same_numbers(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_flood_gives_the_same_numbers_as_polling_redis() {
    let server = RedisServer::spawn();
    let clock = clock();
    let store = |prefix: &str| -> Arc<dyn Store> {
        let _ = prefix;
        Arc::new(
            RedisConfig::new(server.url())
                .time_source(TimeSource::Client)
                .build()
                .unwrap(),
        )
    };
    let a = Sentinel::builder()
        .store(store("poll"))
        .clock(clock.clone())
        .prefix("poll")
        .policies(policies())
        .build()
        .unwrap();
    let b = Sentinel::builder()
        .store(store("hook"))
        .clock(clock.clone())
        .prefix("hook")
        .policies(policies())
        .build()
        .unwrap();
    for s in [&a, &b] {
        s.block(
            &Subject::User(BLOCKED),
            Some(Duration::from_secs(3600)),
            "scam",
            "admin",
        )
        .await
        .unwrap();
    }
    same_numbers(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_by_post_reaches_the_dispatcher_to_the_quota_and_the_fake_gets_the_replies() {
    let clock = clock();
    let served =
        Served::start(blocked_engine(Arc::new(MemoryStore::new(clock.clone())), &clock).await)
            .await;
    let updates: Vec<_> = (0..100)
        .map(|i| served.api.message(SPAMMER, GROUP, &format!("spam {i}")))
        .collect();
    served.deliver(updates).await;
    served.done.wait_for(5, WAIT).await;
    // 5 "pong"s from the handler, 1 notice from the guard.
    let sent = served.api.wait_for_calls("sendMessage", 6, WAIT).await;
    let texts: Vec<_> = sent
        .iter()
        .map(|c| c.body["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.iter().filter(|t| *t == "pong").count(), 5);
    assert_eq!(
        texts.iter().filter(|t| t.contains("1 s")).count(),
        1,
        "{texts:?}"
    );
    let s = served.guard.stats();
    assert_eq!((s.engine.allowed, s.engine.throttled), (5, 95));
    assert_eq!(s.handled(), 5);
    served.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_secret_is_401_and_nothing_is_checked() {
    let clock = clock();
    let served =
        Served::start(blocked_engine(Arc::new(MemoryStore::new(clock.clone())), &clock).await)
            .await;
    served
        .api
        .push_update(served.api.message(NORMAL, NORMAL, "hi"));
    let body = serde_json::to_vec(&served.api.pending_updates()[0]).unwrap();
    for secret in [
        None,
        Some("wrong"),
        Some("webhook-secret_"),
        Some("webhook-secret_12"),
    ] {
        let resp = served.post(secret, body.clone()).await;
        assert_eq!(resp.status(), 401, "{secret:?}");
    }
    assert_eq!(
        served.guard.stats().updates(),
        0,
        "the guard never saw them"
    );
    // The right one passes.
    assert_eq!(served.post(Some(SECRET), body).await.status(), 200);
    served.done.wait_for(1, WAIT).await;
    served.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_413_and_malformed_ones_200() {
    let clock = clock();
    let served =
        Served::start(blocked_engine(Arc::new(MemoryStore::new(clock.clone())), &clock).await)
            .await;
    // Declared too large (Content-Length), and exactly one byte over the limit.
    let big = vec![b' '; MAX_BODY + 1];
    assert_eq!(served.post(Some(SECRET), big).await.status(), 413);
    // Chunked, without a Content-Length: refused while reading.
    assert_eq!(chunked_post(&served.url, MAX_BODY + 1).await, 413);
    assert_eq!(
        chunked_post(&served.url, 40).await,
        200,
        "small chunked body: read"
    );
    // At the limit: read, and (not being an update) answered 200 without redelivery.
    let at_limit = vec![b' '; MAX_BODY];
    assert_eq!(served.post(Some(SECRET), at_limit).await.status(), 200);
    for malformed in [&b"{not json"[..], b"[1,2]", b"{\"no_update_id\":1}"] {
        let resp = served.post(Some(SECRET), malformed.to_vec()).await;
        assert_eq!(
            resp.status(),
            200,
            "{:?}",
            String::from_utf8_lossy(malformed)
        );
    }
    assert_eq!(served.guard.stats().updates(), 0);
    served.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_framework_free_service_answers_drops_in_the_response() {
    let clock = clock();
    let api = FakeBotApi::start().await;
    let sentinel = blocked_engine(Arc::new(MemoryStore::new(clock.clone())), &clock).await;
    let seen = Counter::default();
    let seen_in = seen.clone();
    let service = WebhookService::new(
        WebhookGuard::new(WebhookSecret::new(SECRET).unwrap()).max_body(MAX_BODY),
        GuardCore::builder(sentinel)
            .namer(HandlerNamer::command_or_kind())
            .build(),
        move |u: GuardedUpdate| {
            let seen = seen_in.clone();
            async move {
                let raw: Value = serde_json::from_slice(&u.body).unwrap();
                assert_eq!(raw["update_id"].as_i64(), Some(u.info.update_id));
                seen.bump();
            }
        },
    );
    let app: axum::Router = axum::Router::new().route("/hook", service.method_router());
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", tcp.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(tcp, app).await.unwrap() });
    let client = reqwest::Client::new();
    let post = |v: Value| {
        client
            .post(&url)
            .header(SECRET_HEADER, SECRET)
            .body(serde_json::to_vec(&v).unwrap())
            .send()
    };
    let mut bodies = Vec::new();
    for i in 0..7 {
        let mut m = api.message(SPAMMER, GROUP, &format!("spam {i}"));
        m["update_id"] = (i + 1).into();
        let resp = post(m).await.unwrap();
        assert_eq!(resp.status(), 200);
        bodies.push(resp.bytes().await.unwrap());
    }
    seen.wait_for(5, WAIT).await;
    assert!(
        bodies[..5].iter().all(|b| b.is_empty()),
        "passed: empty 200"
    );
    let notice: Value = serde_json::from_slice(&bodies[5]).unwrap();
    assert_eq!(notice["method"], "sendMessage");
    assert_eq!(notice["chat_id"], GROUP);
    assert!(
        notice["reply_parameters"]["message_id"].is_i64(),
        "{notice}"
    );
    assert!(bodies[6].is_empty(), "one notice per window");
    // A repeated button press: the duplicate is answered in the response.
    let mut answers = Vec::new();
    for i in 0..2 {
        let mut q = api.callback_query(MASHER, GROUP, "like:1");
        q["update_id"] = (100 + i).into();
        answers.push(post(q).await.unwrap().bytes().await.unwrap());
    }
    assert!(answers[0].is_empty());
    let answer: Value = serde_json::from_slice(&answers[1]).unwrap();
    assert_eq!(answer["method"], "answerCallbackQuery");
    assert!(answer["callback_query_id"].is_string());
    assert_eq!(seen.get(), 6);
    server.abort();
}

/// POSTs `len` bytes of spaces with `Transfer-Encoding: chunked` (no `Content-Length`) over a
/// raw TCP connection and returns the status code.
async fn chunked_post(url: &str, len: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\n{SECRET_HEADER}: {SECRET}\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut left = len;
    while left > 0 {
        let n = left.min(1024);
        // The server may answer 413 and close before the rest is written.
        if tcp
            .write_all(format!("{n:x}\r\n{}\r\n", " ".repeat(n)).as_bytes())
            .await
            .is_err()
        {
            break;
        }
        left -= n;
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}
