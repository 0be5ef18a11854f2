//! The sender against the fake Bot API, in tokio's paused time: pacing, 429 pauses, retries,
//! blocked users, long messages, and no token in any output.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::error::Error as _;
use std::time::Duration;

use sentinel_core::Quota;
use sentinel_telegram::html;
use sentinel_telegram::reachability::Reachability;
use sentinel_telegram::sender::{
    BotApi, BotToken, ErrorClass, Limits, MAX_RETRY_AFTER, Recipient, SendError, SendMessage,
};
use sentinel_testkit::fake_bot_api::{FakeBotApi, Fault, SentMessage, unreachable_url};
use serde_json::json;
use tokio::task::JoinSet;
use tokio::time::Instant;

fn sender(api: &FakeBotApi) -> BotApi {
    BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .build()
        .unwrap()
}

/// Gaps between consecutive sends, in arrival order.
fn gaps(sent: &[SentMessage]) -> Vec<Duration> {
    sent.windows(2).map(|w| w[1].at - w[0].at).collect()
}

#[tokio::test(start_paused = true)]
async fn hundred_messages_to_one_chat_are_at_least_a_second_apart() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..100 {
        let bot = bot.clone();
        tasks.spawn(async move {
            bot.send_message(&SendMessage::new(42, format!("alert {i}")))
                .await
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let sent = api.sent_to(42);
    assert_eq!(sent.len(), 100);
    // Sends to one chat go out in call order.
    for (i, m) in sent.iter().enumerate() {
        assert_eq!(m.text, format!("alert {i}"));
    }
    for gap in gaps(&sent) {
        assert!(gap >= Duration::from_secs(1), "gap {gap:?}");
    }
    // Paced, not stalled: 99 gaps of about a second.
    let span = sent[99].at - start;
    assert!(
        span >= Duration::from_secs(99) && span < Duration::from_secs(101),
        "{span:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn other_chats_are_not_held_back_and_the_bot_limit_applies() {
    let api = FakeBotApi::start().await;
    let bot = BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .limits(Limits::new(
            Quota::per_second(5).unwrap(),
            Quota::per_second(1).unwrap(),
            Quota::per_minute(20).unwrap(),
        ))
        .build()
        .unwrap();
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for chat in 1..=10_i64 {
        let bot = bot.clone();
        tasks.spawn(async move { bot.send_message(&SendMessage::new(chat, "hi")).await });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    let sent = api.sent();
    assert_eq!(sent.len(), 10);
    // A burst of 5 (the bot quota) at once, the rest one per 200 ms.
    let immediate = sent
        .iter()
        .filter(|m| m.at - start < Duration::from_millis(100))
        .count();
    assert_eq!(immediate, 5);
    assert!(
        sent[9].at - start >= Duration::from_secs(1),
        "{:?}",
        sent[9].at - start
    );
    assert!(sent[9].at - start < Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn pacing_can_be_turned_off() {
    let api = FakeBotApi::start().await;
    let bot = BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .pacing(false)
        .build()
        .unwrap();
    let start = Instant::now();
    for i in 0..5 {
        bot.send_message(&SendMessage::new(42, format!("m{i}")))
            .await
            .unwrap();
    }
    let sent = api.sent_to(42);
    assert_eq!(sent.len(), 5);
    assert!(
        sent.iter()
            .all(|m| m.at - start < Duration::from_millis(100))
    );
}

#[tokio::test(start_paused = true)]
async fn groups_get_one_message_every_three_seconds() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    for i in 0..5 {
        bot.send_message(&SendMessage::new(-1_001_234_567_890_i64, format!("m{i}")))
            .await
            .unwrap();
    }
    let sent = api.sent_to(-1_001_234_567_890);
    assert_eq!(sent.len(), 5);
    for gap in gaps(&sent) {
        assert!(gap >= Duration::from_secs(3), "gap {gap:?}");
    }
    // In order, since they were awaited one by one.
    let texts: Vec<&str> = sent.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
}

#[tokio::test(start_paused = true)]
async fn retry_after_pauses_every_send_of_the_bot() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 5 });
    let start = Instant::now();
    let first = tokio::spawn({
        let bot = bot.clone();
        async move { bot.send_message(&SendMessage::new(1, "first")).await }
    });
    api.wait_for_calls("sendMessage", 1, Duration::from_secs(1))
        .await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let paused = bot.paused_for();
    assert!(
        paused > Duration::from_secs(4) && paused <= Duration::from_secs(5),
        "{paused:?}"
    );
    // Sends to other chats, and other methods, wait for the pause too.
    let (msg, params) = (
        SendMessage::new(2, "other chat"),
        json!({ "callback_query_id": "x" }),
    );
    let other_chat = bot.send_message(&msg);
    let other_method = bot.call("answerCallbackQuery", &params);
    let (other_chat, other_method) = tokio::join!(other_chat, other_method);
    other_chat.unwrap();
    assert!(matches!(
        other_method,
        Err(SendError::Api { code: 400, .. })
    ));
    first.await.unwrap().unwrap();

    let calls = api.calls();
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert_eq!(calls[0].at - start, Duration::ZERO);
    for call in &calls[1..] {
        let at = call.at - start;
        assert!(at >= Duration::from_secs(5), "{} at {at:?}", call.method);
    }
    let sent = api.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(bot.paused_for(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn retry_after_beyond_the_deadline_fails_but_keeps_the_pause() {
    let api = FakeBotApi::start().await;
    let bot = BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .retry_deadline(Duration::from_secs(60))
        .build()
        .unwrap();
    api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 120 });
    let err = bot
        .send_message(&SendMessage::new(1, "x"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SendError::TooManyRequests {
            retry_after: Duration::from_secs(120)
        }
    );
    assert!(bot.paused_for() > Duration::from_secs(119));
    let start = Instant::now();
    bot.send_message(&SendMessage::new(1, "later"))
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(119));
}

/// A 429 body with a raw `retry_after` token, as a buggy proxy or local server might send.
fn raw_429(retry_after: &str) -> Fault {
    Fault::Raw {
        status: 429,
        body: format!(
            r#"{{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{{"retry_after":{retry_after}}}}}"#
        ),
    }
}

#[tokio::test(start_paused = true)]
async fn absurd_retry_after_is_clamped_instead_of_overflowing() {
    for huge in ["18446744073709551615", "1000000000"] {
        let api = FakeBotApi::start().await;
        let bot = sender(&api);
        api.fail_next("sendMessage", raw_429(huge));
        let err = bot
            .send_message(&SendMessage::new(1, "x"))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            SendError::TooManyRequests {
                retry_after: MAX_RETRY_AFTER
            },
            "{huge}"
        );
        let paused = bot.paused_for();
        assert!(
            paused <= MAX_RETRY_AFTER && paused > MAX_RETRY_AFTER - Duration::from_secs(1),
            "{huge}: {paused:?}"
        );
        // The bot is usable again once the clamped pause is over.
        tokio::time::sleep(MAX_RETRY_AFTER).await;
        bot.send_message(&SendMessage::new(1, "later"))
            .await
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_zero_still_pauses_one_second() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    api.fail_next("sendMessage", raw_429("0"));
    let start = Instant::now();
    bot.send_message(&SendMessage::new(1, "x")).await.unwrap();
    let calls = api.calls_of("sendMessage");
    assert_eq!(calls.len(), 2);
    assert!(calls[1].at - start >= Duration::from_secs(1), "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn a_huge_retry_deadline_does_not_overflow() {
    let api = FakeBotApi::start().await;
    let bot = BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .retry_deadline(Duration::MAX)
        .build()
        .unwrap();
    api.fail_next("sendMessage", Fault::ServerError(500));
    assert_eq!(
        bot.send_message(&SendMessage::new(1, "x")).await.unwrap(),
        1
    );
    assert_eq!(api.calls_of("sendMessage").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_with_backoff_then_succeed() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    api.fail_next("sendMessage", Fault::ServerError(500));
    api.fail_next("sendMessage", Fault::ServerError(502));
    api.fail_next(
        "sendMessage",
        Fault::Raw {
            status: 503,
            body: "<html>proxy</html>".into(),
        },
    );
    let id = bot
        .send_message(&SendMessage::new(3, "eventually"))
        .await
        .unwrap();
    assert_eq!(id, 1);
    let calls = api.calls_of("sendMessage");
    assert_eq!(calls.len(), 4);
    // Jittered exponential backoff: each wait at least half of 0.5 s, 1 s, 2 s.
    for (i, w) in calls.windows(2).enumerate() {
        let min = Duration::from_millis(250) * (1 << i);
        assert!(
            w[1].at - w[0].at >= min,
            "retry {i} after {:?}",
            w[1].at - w[0].at
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_408_is_retried_like_a_server_error() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    api.fail_next(
        "sendMessage",
        Fault::Raw {
            status: 408,
            body: r#"{"ok":false,"error_code":408,"description":"Request Timeout"}"#.into(),
        },
    );
    bot.send_message(&SendMessage::new(3, "x")).await.unwrap();
    assert_eq!(api.calls_of("sendMessage").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn without_retries_every_call_is_one_request_and_a_429_still_pauses() {
    let api = FakeBotApi::start().await;
    let bot = BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .retries(false)
        .build()
        .unwrap();
    api.fail_next("sendMessage", Fault::ServerError(502));
    let err = bot
        .send_message(&SendMessage::new(-1005, "x"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SendError::Api {
            code: 502,
            description: "Internal Server Error".into()
        },
        "returned as it is, not wrapped in DeadlineExceeded"
    );
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(api.calls_of("sendMessage").len(), 1);

    api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 40 });
    let err = bot
        .send_message(&SendMessage::new(-1005, "y"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::RetryAfter(Duration::from_secs(40)));
    assert_eq!(api.calls_of("sendMessage").len(), 2);
    // The pause holds every call of the bot, and planning sees it.
    let chat = Recipient::Id(-1005);
    assert!(bot.paused_for() > Duration::from_secs(39));
    assert!(bot.next_send_in(&chat) > Duration::from_secs(39));
    assert_eq!(bot.send_interval(&chat), Duration::from_secs(3));
    let start = Instant::now();
    bot.send_message(&SendMessage::new(-1005, "z"))
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(39));
}

#[tokio::test(start_paused = true)]
async fn server_errors_until_the_deadline_give_up() {
    let api = FakeBotApi::start().await;
    let bot = BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .retry_deadline(Duration::from_secs(20))
        .build()
        .unwrap();
    api.set_fault("sendMessage", Fault::ServerError(500));
    let start = Instant::now();
    let err = bot
        .send_message(&SendMessage::new(3, "x"))
        .await
        .unwrap_err();
    match &err {
        SendError::DeadlineExceeded { attempts, last } => {
            assert!(*attempts >= 3, "{attempts}");
            assert_eq!(
                **last,
                SendError::Api {
                    code: 500,
                    description: "Internal Server Error".into()
                }
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() <= Duration::from_secs(20));
    assert!(err.is_transient());
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_not_retried() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    api.fail_next("sendMessage", Fault::BadRequest("chat not found".into()));
    let err = bot
        .send_message(&SendMessage::new(3, "x"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SendError::Api {
            code: 400,
            description: "Bad Request: chat not found".into()
        }
    );
    assert!(!err.is_transient());
    assert_eq!(api.calls_of("sendMessage").len(), 1);

    api.fail_next("sendMessage", Fault::MigrateToChat(-1_009));
    let err = bot
        .send_message(&SendMessage::new(-5, "x"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SendError::ChatMigrated {
            new_chat_id: -1_009
        }
    );
    assert_eq!(api.calls_of("sendMessage").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_api_times_out_and_is_retried_until_the_deadline() {
    let api = FakeBotApi::start().await;
    let bot = BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .request_timeout(Duration::from_secs(5))
        .retry_deadline(Duration::from_secs(12))
        .build()
        .unwrap();
    api.set_fault("sendMessage", Fault::Hang);
    let err = bot
        .send_message(&SendMessage::new(3, "x"))
        .await
        .unwrap_err();
    match err {
        SendError::DeadlineExceeded { attempts, last } => {
            assert!(attempts >= 2, "{attempts}");
            assert_eq!(*last, SendError::Timeout);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_api_that_comes_back_is_reached() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    api.down();
    let send = tokio::spawn({
        let bot = bot.clone();
        async move { bot.send_message(&SendMessage::new(9, "after outage")).await }
    });
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(api.sent().is_empty());
    api.up();
    send.await.unwrap().unwrap();
    assert_eq!(api.sent()[0].text, "after outage");
}

#[tokio::test(start_paused = true)]
async fn users_who_blocked_the_bot_are_skipped_and_403_marks_them() {
    let api = FakeBotApi::start().await;
    let reach = Reachability::new();
    let bot = BotApi::builder()
        .token(BotToken::new(api.token()).unwrap())
        .api_url(api.url())
        .reachability(reach.clone())
        .build()
        .unwrap();
    reach.mark_blocked(7);
    let err = bot
        .send_message(&SendMessage::new(7, "x"))
        .await
        .unwrap_err();
    assert_eq!(err, SendError::Skipped { chat_id: 7 });
    assert_eq!(
        bot.send_long_message(&SendMessage::new(7, "x"))
            .await
            .unwrap_err(),
        SendError::Skipped { chat_id: 7 }
    );
    assert_eq!(
        bot.call("sendPhoto", &json!({ "chat_id": 7, "photo": "x" }))
            .await
            .unwrap_err(),
        SendError::Skipped { chat_id: 7 }
    );
    assert!(api.calls().is_empty());

    // A block Telegram reports is remembered.
    api.block_chat(8);
    let err = bot
        .send_message(&SendMessage::new(8, "x"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SendError::Api {
            code: 403,
            description: "Forbidden: bot was blocked by the user".into()
        }
    );
    assert!(reach.has_blocked_bot(8));
    assert_eq!(
        bot.send_message(&SendMessage::new(8, "x"))
            .await
            .unwrap_err(),
        SendError::Skipped { chat_id: 8 }
    );
    assert_eq!(api.calls_of("sendMessage").len(), 1);
    // Groups are never "blocked users".
    reach.mark_blocked(9);
    bot.send_message(&SendMessage::new(-9, "group"))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn long_html_is_split_into_messages_telegram_accepts() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    let lines: Vec<String> = (0..600)
        .map(|i| format!("line {i}: value < {i} & \"ok\" ✓"))
        .collect();
    let plain = lines.join("\n");
    let body: String = lines
        .iter()
        .map(|l| format!("{}\n", html::escape(l)))
        .collect();
    let text = format!("<b>Report</b>\n<pre>{body}</pre>");
    let msg = SendMessage::new(11, text).html().thread(5).silent();
    let ids = bot.send_long_message(&msg).await.unwrap();
    assert!(ids.len() >= 5, "{}", ids.len());
    let sent = api.sent_to(11);
    assert_eq!(ids, sent.iter().map(|m| m.message_id).collect::<Vec<_>>());
    // The fake parsed every part as valid HTML within 4096 characters; together they show
    // the whole report.
    let shown: String = sent.iter().map(|m| m.visible_text.as_str()).collect();
    assert_eq!(shown.trim_end(), format!("Report\n{plain}"));
    for m in &sent {
        assert!(m.text.starts_with("<pre>") || m.text.starts_with("<b>"));
        assert_eq!(m.message_thread_id, Some(5));
        assert!(m.disable_notification);
        assert_eq!(m.parse_mode.as_deref(), Some("HTML"));
    }
    for gap in gaps(&sent) {
        assert!(gap >= Duration::from_secs(1));
    }
}

#[tokio::test(start_paused = true)]
async fn long_plain_text_is_split_at_line_breaks_and_blank_input_is_refused() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    let text = format!("{}\n", "x".repeat(100)).repeat(100);
    let ids = bot
        .send_long_message(&SendMessage::new(12, text.clone()))
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);
    let sent = api.sent_to(12);
    assert!(sent.iter().all(|m| m.text.ends_with('\n')));
    assert_eq!(
        sent.iter().map(|m| m.text.as_str()).collect::<String>(),
        text
    );
    assert_eq!(
        bot.send_long_message(&SendMessage::new(12, " \n "))
            .await
            .unwrap_err(),
        SendError::EmptyText
    );
    assert_eq!(
        bot.send_message(&SendMessage::new(12, ""))
            .await
            .unwrap_err(),
        SendError::EmptyText
    );
}

#[tokio::test(start_paused = true)]
async fn generic_calls_return_the_result() {
    let api = FakeBotApi::start().await;
    let bot = sender(&api);
    let me = bot.call("getMe", &json!({})).await.unwrap();
    assert_eq!(me["username"], api.bot_username());
    let update = api.callback_query(5, 5, "press");
    let id = update["callback_query"]["id"].clone();
    api.push_update(update);
    assert_eq!(
        bot.call(
            "answerCallbackQuery",
            &json!({ "callback_query_id": id, "text": "ok" })
        )
        .await
        .unwrap(),
        true
    );
    assert!(matches!(
        bot.call("bad/method", &json!({})).await,
        Err(SendError::Api { code: 404, .. })
    ));
}

// ----- the token never leaks ----------------------------------------------------------------

const TOKEN: &str = "987654321:AAHsuperSecretTokenPart_abcdefghijk";
const SECRET_PART: &str = "AAHsuperSecretTokenPart_abcdefghijk";

fn assert_no_token(text: &str) {
    assert!(
        !text.contains(TOKEN) && !text.contains(SECRET_PART),
        "token leaked in: {text}"
    );
}

fn error_chain(e: &SendError) -> String {
    let mut out = format!("{e} | {e:?}");
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!(" | {s} | {s:?}"));
        source = s.source();
    }
    out
}

#[tokio::test(start_paused = true)]
async fn the_token_is_absent_from_errors_when_connections_are_refused() {
    let bot = BotApi::builder()
        .token(BotToken::new(TOKEN).unwrap())
        .api_url(unreachable_url())
        .retry_deadline(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = bot
        .send_message(&SendMessage::new(1, "x"))
        .await
        .unwrap_err();
    match &err {
        SendError::DeadlineExceeded { last, .. } => {
            assert!(matches!(**last, SendError::Network { .. }), "{last:?}");
        }
        other => panic!("{other:?}"),
    }
    let chain = error_chain(&err);
    assert!(
        chain.contains("127.0.0.1") || chain.to_lowercase().contains("connect"),
        "{chain}"
    );
    assert_no_token(&chain);
    for e in [
        bot.call("getMe", &json!({})).await.unwrap_err(),
        bot.send_long_message(&SendMessage::new(1, "y".repeat(5000)))
            .await
            .unwrap_err(),
    ] {
        assert_no_token(&error_chain(&e));
    }
}

#[tokio::test(start_paused = true)]
async fn the_token_is_scrubbed_from_api_descriptions_and_timeouts() {
    let api = FakeBotApi::builder().token(TOKEN).start().await;
    let bot = BotApi::builder()
        .token(BotToken::new(TOKEN).unwrap())
        .api_url(api.url())
        .request_timeout(Duration::from_secs(2))
        .retry_deadline(Duration::from_secs(3))
        .build()
        .unwrap();
    api.fail_next(
        "sendMessage",
        Fault::Forbidden(format!("echo of /bot{TOKEN}/sendMessage")),
    );
    let err = bot
        .send_message(&SendMessage::new(1, "x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Api { code: 403, description } if description.contains("<redacted>"))
    );
    assert_no_token(&error_chain(&err));
    api.fail_next(
        "sendMessage",
        Fault::Raw {
            status: 500,
            body: format!("<html>upstream /bot{TOKEN}/x</html>"),
        },
    );
    api.set_fault("getMe", Fault::Hang);
    let err = bot.call("getMe", &json!({})).await.unwrap_err();
    assert_no_token(&error_chain(&err));
}

#[test]
fn debug_and_display_never_show_the_token() {
    let token = BotToken::new(TOKEN).unwrap();
    assert_no_token(&format!("{token:?} {token} {token:#?}"));
    assert!(format!("{token}").starts_with("987654321"));
    let builder = BotApi::builder().token(token.clone());
    assert_no_token(&format!("{builder:?}"));
    let bot = builder.build().unwrap();
    let debug = format!("{bot:?} {bot:#?}");
    assert_no_token(&debug);
    assert!(debug.contains("api.telegram.org"), "{debug}");
    // Even a token pasted into the API URL by mistake is not printed.
    let misconfigured = BotApi::builder()
        .token(token)
        .api_url(format!("https://api.telegram.org/bot{TOKEN}/"))
        .build()
        .unwrap();
    assert_no_token(&format!("{misconfigured:?}"));
    let err = BotToken::new(format!("{TOKEN}/evil")).unwrap_err();
    assert_no_token(&format!("{err} {err:?}"));
}
