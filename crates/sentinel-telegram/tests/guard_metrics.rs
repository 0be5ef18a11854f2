//! Feature `metrics`: a scripted flood through the teloxide guard (dispatched directly, replies
//! and callback answers sent to the fake Bot API) records exact counts, for the guard and for
//! the engine under it, in a local debugging recorder.
#![cfg(all(feature = "teloxide", feature = "metrics"))]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "guard_support/harness.rs"]
mod harness;

use std::ops::ControlFlow;
use std::time::Duration;

use harness::{Counter, clock, memory_sentinel, update};
use sentinel_core::metrics::{DENY_CACHE_HITS_TOTAL, STORE_CALL_DURATION_SECONDS, VERDICTS_TOTAL};
use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope};
use sentinel_telegram::metrics::{
    GUARD_BOT_BLOCKED_CHANGES_TOTAL, GUARD_CALLBACKS_ANSWERED_TOTAL, GUARD_NOTICES_TOTAL,
    GUARD_SEND_FAILURES_TOTAL, GUARD_UPDATES_TOTAL,
};
use sentinel_telegram::teloxide::Guard;
use sentinel_telegram::update::HandlerNamer;
use sentinel_testkit::fake_bot_api::FakeBotApi;
use sentinel_testkit::metrics::MetricsRecorder;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::dptree::{self, deps};
use teloxide::types::Update;
use teloxide::{Bot, RequestError};

type Tree = UpdateHandler<RequestError>;

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

#[tokio::test]
async fn a_scripted_flood_through_the_guard_records_exact_counts() {
    let rec = MetricsRecorder::new();
    let api = FakeBotApi::start().await;
    let bot = Bot::new(api.token()).set_api_url(api.url());
    let clock = clock();
    // The recorder is in force while the engine and the guard register their handles; every
    // later update records into it from any task.
    let guard = rec.scoped(|| {
        Guard::builder(memory_sentinel(&clock, policies()))
            .namer(HandlerNamer::command_or_kind())
            .build()
    });
    let (messages, callbacks) = (Counter::default(), Counter::default());
    let (m, c) = (messages.clone(), callbacks.clone());
    let tree: Tree = dptree::entry()
        .chain(guard.handler())
        .branch(Update::filter_message().endpoint(move || {
            m.bump();
            async { Ok(()) }
        }))
        .branch(Update::filter_callback_query().endpoint(move || {
            c.bump();
            async { Ok(()) }
        }))
        .branch(guard.reachability_handler());

    let mut script = Vec::new();
    // 100 messages from one user in one group within one (manual) second.
    script.extend((0..100).map(|i| api.message(42, -1001, &format!("spam {i}"))));
    // 20 presses of one button.
    script.extend((0..20).map(|_| api.callback_query(7, 7, "buy:1")));
    // A user blocks the bot, another blocks and unblocks it (exempt updates).
    script.push(api.my_chat_member(8, "member", "kicked"));
    script.push(api.my_chat_member(9, "member", "kicked"));
    script.push(api.my_chat_member(9, "kicked", "member"));
    // Pushed as well (nobody polls them) so the fake accepts answers to these presses.
    api.push_updates(script.clone());
    for (id, body) in (1..).zip(script) {
        let out = tree.dispatch(deps![update(body, id), bot.clone()]).await;
        assert!(matches!(out, ControlFlow::Break(Ok(()))));
    }
    assert_eq!((messages.get(), callbacks.get()), (5, 1));
    assert_eq!(api.calls_of("sendMessage").len(), 1);
    assert_eq!(api.calls_of("answerCallbackQuery").len(), 19);

    let snap = rec.snapshot();
    let updates = |outcome| snap.counter(GUARD_UPDATES_TOTAL, &[("outcome", outcome)]);
    // Verdicts are the engine's series (below); the guard's own outcomes are what the engine
    // never sees.
    assert_eq!(updates("exempt"), 3);
    assert_eq!(updates("album_item_passed"), 0);
    assert_eq!(updates("album_item_dropped"), 0);
    let notices = |result| snap.counter(GUARD_NOTICES_TOTAL, &[("result", result)]);
    assert_eq!(notices("sent"), 1, "one reply per window");
    assert_eq!(notices("suppressed"), 94);
    assert_eq!(snap.counter(GUARD_CALLBACKS_ANSWERED_TOTAL, &[]), 19);
    assert_eq!(snap.counter(GUARD_SEND_FAILURES_TOTAL, &[]), 0);
    let changes = |change| snap.counter(GUARD_BOT_BLOCKED_CHANGES_TOTAL, &[("change", change)]);
    assert_eq!((changes("blocked"), changes("unblocked")), (2, 1));
    // The exported guard series are the in-process stats.
    let st = guard.stats();
    assert_eq!(
        (
            st.engine.allowed,
            st.engine.throttled,
            st.engine.debounced,
            st.exempt,
            st.notices_sent
        ),
        (6, 95, 19, 3, 1)
    );

    // The engine under the guard, by policy: messages fall to `_`, presses to their kind.
    let verdicts =
        |policy, verdict| snap.counter(VERDICTS_TOTAL, &[("policy", policy), ("verdict", verdict)]);
    assert_eq!(verdicts("_", "allowed"), 5);
    assert_eq!(verdicts("_", "throttled"), 95);
    assert_eq!(verdicts("callback_query", "allowed"), 1);
    assert_eq!(verdicts("callback_query", "debounced"), 19);
    // The first throttle asks the store; the other 94 are answered by the deny cache (the
    // presses have a debounce step, so none of them is cacheable).
    assert_eq!(
        snap.counter(DENY_CACHE_HITS_TOTAL, &[("verdict", "throttled")]),
        94
    );
    // The memory store decides on the calling thread and is not timed (the histogram is for
    // stores that wait; `sentinel-core/tests/metrics.rs` counts its samples on one).
    assert!(
        snap.histogram(STORE_CALL_DURATION_SECONDS, &[("store", "primary")])
            .is_empty()
    );
    // No label carries a user or chat id.
    for series in snap.series() {
        for id in ["42", "1001", "=7", "=8", "=9"] {
            assert!(!series.contains(id), "{series}");
        }
    }
}
