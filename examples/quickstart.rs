//! The README's first command: `cargo run --example quickstart`.
//!
//! With nothing configured it starts a fake Telegram Bot API in-process, runs a real teloxide
//! bot guarded by sentinel on the memory store, replays a flood (a spammer, a button masher, a
//! blocked user, normal users, and a handler that fails on purpose), and prints what happened.
//!
//! - `TELEGRAM_BOT_TOKEN=…` runs the same bot against real Telegram until Ctrl-C (alerts go to
//!   `TELEMON_CHAT_ID` when set).
//! - `REDIS_URL=redis://…` keeps all state in Redis instead of memory.
//!
//! Copied into an application, it needs these dependencies (`cargo xtask ci` builds it as a
//! crate of its own with exactly these); the fake Bot API comes with the facade's
//! `fake-bot-api` feature:
//!
//! ```toml
//! [dependencies]
//! sentinel = { version = "0.1", features = ["redis", "teloxide", "alerts", "fake-bot-api"] }
//! teloxide = { version = "0.17", default-features = false, features = ["rustls"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "signal", "time"] }
//! ```
#![expect(
    clippy::print_stdout,
    reason = "a demo prints its progress and its table"
)]

use std::collections::HashMap;
use std::error::Error;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sentinel::CoordinationStore;
use sentinel::alerts::transport::TelegramTransport;
use sentinel::alerts::{Alert, Destination, Telemon};
use sentinel::fake_bot_api::FakeBotApi;
use sentinel::memory::MemoryCoordinationStore;
use sentinel::prelude::*;
use sentinel::redis::RedisConfig;
use sentinel::telegram::teloxide::Guard;
use sentinel::telegram::update::HandlerNamer;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;

/// The group where the spammer and the button masher live.
const GROUP: i64 = -100_500;
/// The chat the demo's alerts go to.
const ALERT_CHAT: i64 = -100_777;
const SPAMMER: i64 = 1001;
const MASHER: i64 = 1002;
const BLOCKED: i64 = 1003;
const NORMAL: [i64; 5] = [2001, 2002, 2003, 2004, 2005];

type Calls = Arc<Mutex<HashMap<i64, usize>>>;

fn count(calls: &Calls, user: i64) {
    *calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(user)
        .or_default() += 1;
}

fn handled(calls: &Calls, user: i64) -> usize {
    calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&user)
        .copied()
        .unwrap_or(0)
}

/// Messages: 5 per 10 s per user, the same text twice within 2 s counts once, and 10 throttles
/// within a minute block the sender for 10 minutes. Buttons: one press per 2 s per button,
/// at most 5 presses per 10 s. `/report`: its own, roomier budget.
fn policies() -> Result<PolicyRegistry, sentinel::ConfigError> {
    PolicyRegistry::builder()
        .default_policy(
            Policy::new()
                .rate_limit(
                    Quota::new(5, Duration::from_secs(10))?,
                    Algorithm::SlidingWindow,
                    Scope::User,
                )
                .debounce(Duration::from_secs(2), Scope::UserInChat)
                .escalation(Escalation::new(
                    10,
                    Duration::from_secs(60),
                    Some(Duration::from_secs(600)),
                )?),
        )
        .policy(
            "callback_query",
            Policy::new()
                .debounce(Duration::from_secs(2), Scope::UserInChat)
                .rate_limit(
                    Quota::new(5, Duration::from_secs(10))?,
                    Algorithm::Gcra,
                    Scope::User,
                ),
        )
        .policy(
            "report",
            Policy::new().rate_limit(Quota::per_minute(30)?, Algorithm::Gcra, Scope::User),
        )
        .build()
}

/// The bot: echo messages, answer buttons, and fail `/report` on purpose (reporting an alert).
fn bot_tree(
    guard: &Guard,
    telemon: Telemon,
    calls: Calls,
) -> UpdateHandler<teloxide::RequestError> {
    let (msg_calls, cb_calls) = (calls.clone(), calls);
    dptree::entry()
        .chain(guard.handler())
        .branch(
            Update::filter_message().endpoint(move |bot: Bot, msg: Message| {
                let calls = msg_calls.clone();
                let telemon = telemon.clone();
                async move {
                    let user = msg
                        .from
                        .as_ref()
                        .map_or(0, |u| i64::try_from(u.id.0).unwrap_or(0));
                    count(&calls, user);
                    if msg.text().is_some_and(|t| t.starts_with("/report")) {
                        // The deliberately failing handler: every call fails the same way, with a
                        // different order number. One alert goes out; the repeats are counted.
                        let err = std::io::Error::other(format!(
                            "order {} not found: database timeout after 3000 ms",
                            user * 7
                        ));
                        telemon.report(
                            Alert::critical("/report handler failed")
                                .error(err)
                                .detail("user", user)
                                .detail("password", "hunter2"),
                        );
                        bot.send_message(msg.chat.id, "Sorry, something went wrong.")
                            .await?;
                        return Ok(());
                    }
                    bot.send_message(msg.chat.id, "Got it.").await?;
                    Ok(())
                }
            }),
        )
        .branch(
            Update::filter_callback_query().endpoint(move |bot: Bot, q: CallbackQuery| {
                count(&cb_calls, i64::try_from(q.from.id.0).unwrap_or(0));
                async move {
                    bot.answer_callback_query(q.id).text("Liked!").await?;
                    Ok(())
                }
            }),
        )
        .branch(guard.reachability_handler())
}

/// The stores the demo runs on (rate limits; alert coordination), and their name for the
/// table. One Redis serves both contracts.
type Backend = (Arc<dyn Store>, Arc<dyn CoordinationStore>, &'static str);

fn store() -> Result<Backend, Box<dyn Error>> {
    match std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => {
            let redis = RedisConfig::new(url).build()?;
            Ok((Arc::new(redis.clone()), Arc::new(redis), "redis"))
        }
        None => Ok((
            Arc::new(MemoryStore::new(SystemClock)),
            Arc::new(MemoryCoordinationStore::new(SystemClock)),
            "memory",
        )),
    }
}

/// A key prefix per run, so a second run on the same Redis starts clean (the spammer's block
/// and the alert cooldown of the last run do not carry over).
fn run_prefix() -> String {
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("quickstart-{run}-{}", std::process::id())
}

fn sentinel(store: Arc<dyn Store>) -> Result<Sentinel, Box<dyn Error>> {
    Ok(Sentinel::builder()
        .store(store)
        .prefix(run_prefix())
        .policies(policies()?)
        .fail_mode(FailMode::Open)
        .build()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (store, coordination, store_name) = store()?;
    let sentinel = sentinel(store)?;
    match std::env::var("TELEGRAM_BOT_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
    {
        Some(token) => live(token, sentinel, coordination).await,
        None => demo(sentinel, coordination, store_name).await,
    }
}

/// Real Telegram: the same bot, until Ctrl-C.
async fn live(
    token: String,
    sentinel: Sentinel,
    store: Arc<dyn CoordinationStore>,
) -> Result<(), Box<dyn Error>> {
    let mut telemon = Telemon::builder().store(store).service("quickstart-bot");
    if let Some(chat) = std::env::var("TELEMON_CHAT_ID")
        .ok()
        .and_then(|c| c.parse().ok())
    {
        telemon = telemon
            .telegram(token.clone())
            .destination(Destination::chat(chat));
    } else {
        telemon = telemon.enabled(false);
    }
    let telemon = telemon.build()?;
    let guard = Guard::builder(sentinel)
        .namer(HandlerNamer::command_or_kind())
        .build();
    let calls = Calls::default();
    let tree = bot_tree(&guard, telemon.clone(), calls);
    let mut dispatcher = Dispatcher::builder(Bot::new(token), tree).build();
    let shutdown = dispatcher.shutdown_token();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = shutdown.shutdown();
        }
    });
    println!("sentinel quickstart: running against Telegram; press Ctrl-C to stop.");
    dispatcher.dispatch().await;
    telemon.shutdown(Duration::from_secs(5)).await;
    print_guard(&guard);
    // The admin view: typed subjects, records with dates and durations.
    println!("\n  blocks in force:");
    for (subject, record) in guard.sentinel().list_blocked().await? {
        println!("    {subject}: {record}");
    }
    Ok(())
}

/// The fake Bot API and a replayed flood.
async fn demo(
    sentinel: Sentinel,
    store: Arc<dyn CoordinationStore>,
    store_name: &str,
) -> Result<(), Box<dyn Error>> {
    let started = Instant::now();
    println!("sentinel quickstart — fake Telegram Bot API in-process, {store_name} store\n");
    let api = FakeBotApi::start().await;
    let telemon = Telemon::builder()
        .transport(TelegramTransport::with_api_url(
            api.token(),
            api.url().as_str(),
        )?)
        .destination(Destination::chat(ALERT_CHAT))
        .store(store)
        .service("quickstart-bot")
        .key_prefix(format!("{}-alerts", run_prefix()))
        .build()?;

    // An admin blocked this user before the flood.
    sentinel
        .block(
            &Subject::User(BLOCKED),
            Some(Duration::from_secs(3600)),
            "scam links",
            "admin:1",
        )
        .await?;

    let guard = Guard::builder(sentinel)
        .namer(HandlerNamer::command_or_kind())
        .build();
    let calls = Calls::default();
    let tree = bot_tree(&guard, telemon.clone(), calls.clone());
    let bot = Bot::new(api.token()).set_api_url(api.url());
    let mut dispatcher = Dispatcher::builder(bot, tree).build();
    let shutdown = dispatcher.shutdown_token();
    let task = tokio::spawn(async move { dispatcher.dispatch().await });

    // The flood: built first, pushed at once, as Telegram would deliver a busy second.
    let mut updates = Vec::new();
    for i in 0..60 {
        updates.push(api.message(SPAMMER, GROUP, &format!("BUY CHEAP FOLLOWERS #{i}")));
    }
    for _ in 0..30 {
        updates.push(api.callback_query(MASHER, GROUP, "like:42"));
    }
    for i in 0..5 {
        updates.push(api.message(BLOCKED, BLOCKED, &format!("free crypto {i}")));
    }
    for &user in &NORMAL {
        updates.push(api.message(user, user, "hello"));
        updates.push(api.message(user, user, "what's new?"));
        updates.push(api.message(user, user, "/report"));
    }
    let total = updates.len() as u64;
    api.push_updates(updates);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = guard.stats();
        let seen = s.updates();
        print!("\r  processing updates: {seen:>3}/{total}");
        let _ = std::io::stdout().flush();
        if seen >= total || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!();
    // Let the last replies leave, then stop the bot and flush the alerts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    if let Ok(done) = shutdown.shutdown() {
        drop(done);
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    let report = telemon.shutdown(Duration::from_secs(5)).await;

    println!("\n  who                     sent  handled");
    println!(
        "  spammer (group)           60  {:>7}",
        handled(&calls, SPAMMER)
    );
    println!(
        "  button masher (group)     30  {:>7}",
        handled(&calls, MASHER)
    );
    println!(
        "  blocked user               5  {:>7}",
        handled(&calls, BLOCKED)
    );
    for &user in &NORMAL {
        println!(
            "  normal user {user}          3  {:>7}",
            handled(&calls, user)
        );
    }
    print_guard(&guard);
    let m = telemon.metrics();
    println!("  alerts sent              {:>6}", m.sent_alerts);
    println!(
        "  alerts suppressed        {:>6}   (same incident, counted for the follow-up)",
        m.suppressed
    );
    for sent in api.sent_to(ALERT_CHAT) {
        println!("\n  alert delivered to chat {ALERT_CHAT}:");
        for line in sent.text.lines() {
            println!("    | {line}");
        }
    }
    println!("\n  {report:?}");
    println!("  done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn print_guard(guard: &Guard) {
    let s = guard.stats();
    println!("\n  outcome                  count");
    println!("  updates in               {:>6}", s.updates());
    println!("  handled                  {:>6}", s.handled());
    println!("  throttled                {:>6}", s.engine.throttled);
    println!("  debounced                {:>6}", s.engine.debounced);
    println!(
        "  blocked                  {:>6}   (escalations: {})",
        s.engine.blocked, s.engine.escalations
    );
    println!(
        "  replies sent             {:>6}   (\"slow down\" notices; {} suppressed)",
        s.notices_sent, s.notices_suppressed
    );
    println!("  button presses answered  {:>6}", s.callbacks_answered);
}
