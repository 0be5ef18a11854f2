//! The fake Bot API against a plain HTTP client (reqwest) and a real teloxide `Bot`.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::time::Duration;

use reqwest::StatusCode;
use sentinel_testkit::fake_bot_api::{FakeBotApi, Fault, unreachable_url};
use serde_json::{Value, json};
use teloxide::prelude::*;
use teloxide::types::{ChatMemberStatus, UpdateKind};
use tokio::time::Instant;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn method_url(api: &FakeBotApi, method: &str) -> String {
    format!("{}bot{}/{method}", api.url(), api.token())
}

async fn call(api: &FakeBotApi, method: &str, body: Value) -> (StatusCode, Value) {
    let response = client()
        .post(method_url(api, method))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn method_names_are_case_insensitive() {
    let api = FakeBotApi::start().await;
    for spelling in ["getMe", "GetMe", "getme", "GETME"] {
        let (status, body) = call(&api, spelling, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{spelling}");
        assert_eq!(body["ok"], true);
        assert_eq!(body["result"]["username"], api.bot_username());
        assert_eq!(body["result"]["is_bot"], true);
        assert_eq!(body["result"]["id"], api.bot_id());
    }
    let calls = api.calls_of("GETME");
    assert_eq!(calls.len(), 4);
    assert!(calls.iter().all(|c| c.method == "getMe"));
    let (_, sent) = call(&api, "SendMessage", json!({ "chat_id": 5, "text": "hi" })).await;
    assert_eq!(sent["result"]["text"], "hi");
    assert_eq!(api.calls_of("sendMessage").len(), 1);
}

#[tokio::test]
async fn form_and_query_parameters_are_accepted() {
    let api = FakeBotApi::start().await;
    let response = client()
        .post(method_url(&api, "sendMessage"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("chat_id=42&text=hello%20world&disable_notification=true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = client()
        .get(format!(
            "{}?chat_id=43&text=q",
            method_url(&api, "sendMessage")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let sent = api.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[0].chat_id, sent[0].text.as_str()),
        (42, "hello world")
    );
    assert!(sent[0].disable_notification);
    assert_eq!((sent[1].chat_id, sent[1].text.as_str()), (43, "q"));
}

#[tokio::test]
async fn wrong_token_is_401_and_not_recorded() {
    let api = FakeBotApi::start().await;
    let response = client()
        .post(format!("{}bot999:wrong/getMe", api.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ok":false,"error_code":401,"description":"Unauthorized"})
    );
    assert!(api.calls().is_empty());
    assert_eq!(api.unauthorized_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn long_poll_waits_for_an_injected_update() {
    let api = FakeBotApi::start().await;
    let start = Instant::now();
    let poll = tokio::spawn({
        let url = method_url(&api, "getUpdates");
        async move {
            let r = client()
                .post(url)
                .json(&json!({ "timeout": 30 }))
                .send()
                .await
                .unwrap();
            (Instant::now(), r.json::<Value>().await.unwrap())
        }
    });
    api.wait_for_calls("getUpdates", 1, Duration::from_secs(5))
        .await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert!(!poll.is_finished(), "the long poll must still be held");
    let update = api.message(7, 7, "hello");
    let id = api.push_update(update);
    let (answered_at, body) = poll.await.unwrap();
    let waited = answered_at - start;
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_secs(8),
        "{waited:?}"
    );
    assert_eq!(body["ok"], true);
    let updates = body["result"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["update_id"], id);
    assert_eq!(updates[0]["message"]["text"], "hello");
}

#[tokio::test(start_paused = true)]
async fn long_poll_returns_empty_after_the_timeout() {
    let api = FakeBotApi::start().await;
    let start = Instant::now();
    let (status, body) = call(&api, "getUpdates", json!({ "timeout": 10 })).await;
    let waited = start.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "ok": true, "result": [] }));
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(11),
        "{waited:?}"
    );
}

#[tokio::test]
async fn offset_confirms_older_updates_and_limit_caps_the_batch() {
    let api = FakeBotApi::start().await;
    let ids = api.push_updates((0..5).map(|i| api.message(1, 1, &format!("m{i}"))));
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);

    let (_, body) = call(&api, "getUpdates", json!({ "limit": 2 })).await;
    let got: Vec<i64> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![1, 2]);
    // Not confirmed yet: delivered again.
    assert_eq!(api.pending_updates().len(), 5);

    let (_, body) = call(&api, "getUpdates", json!({ "offset": 3 })).await;
    let got: Vec<i64> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["update_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![3, 4, 5]);
    assert_eq!(api.pending_updates().len(), 3);

    // Negative offset: only the last one.
    let (_, body) = call(&api, "getUpdates", json!({ "offset": -1 })).await;
    assert_eq!(body["result"][0]["update_id"], 5);
    assert_eq!(api.pending_updates().len(), 1);

    // teloxide's shutdown confirmation: offset = last + 1, timeout 0.
    let (_, body) = call(
        &api,
        "getUpdates",
        json!({ "offset": 6, "limit": 1, "timeout": 0 }),
    )
    .await;
    assert_eq!(body["result"], json!([]));
    assert!(api.pending_updates().is_empty());
    // An explicit update_id is kept and later ids follow it.
    assert_eq!(
        api.push_update(json!({ "update_id": 100, "message": {} })),
        100
    );
    assert_eq!(api.push_update(api.message(1, 1, "x")), 101);
}

#[tokio::test]
async fn allowed_updates_are_recorded_and_filter_delivery() {
    let api = FakeBotApi::start().await;
    api.push_update(api.message(1, 1, "text"));
    api.push_update(api.chat_member(-5, 1, 2, "member", "left"));
    api.push_update(api.callback_query(1, 1, "data"));
    // Default subscription: chat_member is not delivered.
    let (_, body) = call(&api, "getUpdates", json!({})).await;
    let kinds: Vec<&str> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            u.as_object()
                .unwrap()
                .keys()
                .find(|k| *k != "update_id")
                .unwrap()
                .as_str()
        })
        .collect();
    assert_eq!(kinds, vec!["message", "callback_query"]);
    assert_eq!(api.allowed_updates(), None);

    api.push_update(api.message(1, 1, "text"));
    let (_, body) = call(
        &api,
        "getUpdates",
        json!({ "offset": 4, "allowed_updates": ["callback_query"] }),
    )
    .await;
    assert_eq!(body["result"], json!([]));
    assert_eq!(
        api.allowed_updates(),
        Some(vec!["callback_query".to_owned()])
    );
}

#[tokio::test]
async fn too_many_requests_has_the_bot_api_shape() {
    let api = FakeBotApi::start().await;
    api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 5 });
    let response = client()
        .post(method_url(&api, "SendMessage"))
        .json(&json!({ "chat_id": 1, "text": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}})
    );
    // One-shot: the next call goes through, and both were recorded.
    let (status, _) = call(&api, "sendMessage", json!({ "chat_id": 1, "text": "x" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(api.calls_of("sendMessage").len(), 2);
    assert_eq!(api.sent().len(), 1);
}

#[tokio::test]
async fn faults_queue_stick_and_clear() {
    let api = FakeBotApi::start().await;
    api.fail_next("sendMessage", Fault::ServerError(502));
    api.fail_next("sendMessage", Fault::BadRequest("chat not found".into()));
    api.fail_next("*", Fault::Forbidden("bot was blocked by the user".into()));
    let msg = json!({ "chat_id": 1, "text": "x" });
    let (s, b) = call(&api, "sendMessage", msg.clone()).await;
    assert_eq!((s.as_u16(), b["error_code"].as_i64()), (502, Some(502)));
    let (s, b) = call(&api, "sendMessage", msg.clone()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        b,
        json!({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})
    );
    let (s, b) = call(&api, "getMe", json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(b["description"], "Forbidden: bot was blocked by the user");
    let (s, _) = call(&api, "sendMessage", msg.clone()).await;
    assert_eq!(s, StatusCode::OK);

    api.set_fault("sendMessage", Fault::MigrateToChat(-1_001_234));
    for _ in 0..2 {
        let (s, b) = call(&api, "sendMessage", msg.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(b["parameters"]["migrate_to_chat_id"], -1_001_234);
    }
    api.clear_faults();
    assert_eq!(call(&api, "sendMessage", msg).await.0, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn hang_never_answers_until_shutdown() {
    let api = FakeBotApi::start().await;
    api.set_fault("sendMessage", Fault::Hang);
    let start = Instant::now();
    let result = client()
        .post(method_url(&api, "sendMessage"))
        .json(&json!({ "chat_id": 1, "text": "x" }))
        .timeout(Duration::from_secs(30))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert!(start.elapsed() >= Duration::from_secs(30));

    let hung = tokio::spawn({
        let url = method_url(&api, "sendMessage");
        async move {
            client()
                .post(url)
                .json(&json!({ "chat_id": 1, "text": "x" }))
                .send()
                .await
                .map(|r| r.status())
        }
    });
    api.wait_for_calls("sendMessage", 2, Duration::from_secs(5))
        .await;
    api.shutdown().await;
    let status = hung.await.unwrap().unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn down_answers_502_and_up_restores() {
    let api = FakeBotApi::start().await;
    api.down();
    let response = client()
        .post(method_url(&api, "getMe"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(response.text().await.unwrap().contains("502 Bad Gateway"));
    assert!(api.calls().is_empty());
    api.up();
    assert_eq!(call(&api, "getMe", json!({})).await.0, StatusCode::OK);
}

#[tokio::test]
async fn send_message_validates_like_the_bot_api() {
    let api = FakeBotApi::start().await;
    let (s, b) = call(&api, "sendMessage", json!({ "chat_id": 9, "text": "<b>a &amp; b</b>", "parse_mode": "HTML", "message_thread_id": 7 })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["result"]["text"], "a & b");
    assert_eq!(b["result"]["message_id"], 1);
    assert_eq!(b["result"]["chat"]["type"], "private");
    assert_eq!(b["result"]["from"]["username"], api.bot_username());
    assert_eq!(b["result"]["message_thread_id"], 7);
    let sent = &api.sent()[0];
    assert_eq!(sent.text, "<b>a &amp; b</b>");
    assert_eq!(sent.visible_text, "a & b");
    assert_eq!(sent.message_thread_id, Some(7));

    for (text, mode, description) in [
        (
            "<b>open",
            Some("HTML"),
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            "a & b",
            Some("HTML"),
            "Bad Request: can't parse entities: Character '&' at byte offset 2 must be escaped as &amp;",
        ),
        ("   ", None, "Bad Request: message text is empty"),
    ] {
        let mut body = json!({ "chat_id": 9, "text": text });
        if let Some(m) = mode {
            body["parse_mode"] = m.into();
        }
        let (s, b) = call(&api, "sendMessage", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(b["description"], description);
    }
    // 4096 visible characters pass (multi-byte ones included), 4097 do not.
    let ok_text = "é".repeat(4096);
    assert_eq!(
        call(
            &api,
            "sendMessage",
            json!({ "chat_id": 9, "text": ok_text })
        )
        .await
        .0,
        StatusCode::OK
    );
    let (s, b) = call(
        &api,
        "sendMessage",
        json!({ "chat_id": 9, "text": "x".repeat(4097) }),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["description"], "Bad Request: message is too long");
    // Tags do not count.
    let tagged = format!("<b>{}</b>", "x".repeat(4096));
    assert_eq!(
        call(
            &api,
            "sendMessage",
            json!({ "chat_id": 9, "text": tagged, "parse_mode": "HTML" })
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(api.sent().len(), 3);
    assert_eq!(api.sent()[2].message_id, 3);
}

#[tokio::test]
async fn blocked_chat_gets_403() {
    let api = FakeBotApi::start().await;
    api.block_chat(77);
    let (s, b) = call(&api, "sendMessage", json!({ "chat_id": 77, "text": "x" })).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(b["description"], "Forbidden: bot was blocked by the user");
    api.unblock_chat(77);
    assert_eq!(
        call(&api, "sendMessage", json!({ "chat_id": 77, "text": "x" }))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_methods_succeed_and_are_recorded() {
    let api = FakeBotApi::start().await;
    let (s, b) = call(
        &api,
        "SetChatMenuButton",
        json!({ "menu_button": { "type": "default" } }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b, json!({ "ok": true, "result": true }));
    let calls = api.calls_of("setChatMenuButton");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "setChatMenuButton");
    assert_eq!(calls[0].body["menu_button"]["type"], "default");
}

#[tokio::test]
async fn webhook_and_commands_round_trip() {
    let api = FakeBotApi::start().await;
    let (_, info) = call(&api, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info["result"],
        json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 })
    );
    call(
        &api,
        "setWebhook",
        json!({ "url": "https://example.org/hook", "secret_token": "s3cr3t" }),
    )
    .await;
    assert_eq!(
        api.webhook().unwrap().secret_token.as_deref(),
        Some("s3cr3t")
    );
    let (s, b) = call(&api, "getUpdates", json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(b["error_code"], 409);
    call(&api, "deleteWebhook", json!({})).await;
    assert_eq!(api.webhook(), None);
    assert_eq!(call(&api, "getUpdates", json!({})).await.0, StatusCode::OK);

    let commands = json!([{ "command": "start", "description": "Start" }]);
    call(&api, "setMyCommands", json!({ "commands": commands })).await;
    let (_, b) = call(&api, "getMyCommands", json!({})).await;
    assert_eq!(b["result"], commands);
}

#[tokio::test]
async fn unreachable_url_refuses_connections() {
    let err = client()
        .post(format!("{}botx/getMe", unreachable_url()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
}

// ----- a real, unmodified teloxide Bot -------------------------------------------------------

fn teloxide_bot(api: &FakeBotApi) -> Bot {
    Bot::new(api.token()).set_api_url(api.url())
}

#[tokio::test]
async fn teloxide_get_me_and_send_message() {
    let api = FakeBotApi::start().await;
    let bot = teloxide_bot(&api);
    let me = bot.get_me().await.unwrap();
    assert_eq!(me.username(), api.bot_username());
    assert_eq!(me.id.0, u64::try_from(api.bot_id()).unwrap());

    let msg = bot
        .send_message(ChatId(-1_001_000_000_123), "<b>hi</b>")
        .parse_mode(teloxide::types::ParseMode::Html)
        .disable_notification(true)
        .await
        .unwrap();
    assert_eq!(msg.text(), Some("hi"));
    assert_eq!(msg.chat.id, ChatId(-1_001_000_000_123));
    assert!(msg.chat.is_supergroup());
    let sent = api.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].disable_notification);
    assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));
}

#[tokio::test]
async fn teloxide_sees_retry_after_and_invalid_token() {
    let api = FakeBotApi::start().await;
    let bot = teloxide_bot(&api);
    api.fail_next("sendMessage", Fault::TooManyRequests { retry_after: 5 });
    let err = bot.send_message(ChatId(1), "x").await.unwrap_err();
    assert!(
        matches!(err, teloxide::RequestError::RetryAfter(s) if s.seconds() == 5),
        "{err:?}"
    );

    let wrong = Bot::new("1:wrong").set_api_url(api.url());
    let err = wrong.get_me().await.unwrap_err();
    assert!(
        matches!(
            err,
            teloxide::RequestError::Api(teloxide::ApiError::InvalidToken)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn teloxide_parses_every_built_update() {
    let api = FakeBotApi::start().await;
    let bot = teloxide_bot(&api);
    let callback = api.callback_query(5, 5, "press");
    let callback_id = callback["callback_query"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.deliver_all_update_kinds(true);
    api.push_updates([
        api.message(5, 5, "/start now"),
        api.message(5, -100, "group text"),
        api.edited_message(5, 5, 1, "edited"),
        api.photo_message(5, -1_001_000_000_001, "uniq1", Some("cap"), Some("album")),
        api.channel_post(-1_001_000_000_002, "post"),
        api.anonymous_admin_message(-1_001_000_000_003, "anon"),
        callback,
        api.inline_query(5, "q"),
        api.my_chat_member(5, "member", "kicked"),
        api.my_chat_member(5, "kicked", "member"),
        api.chat_member(-100, 1, 2, "member", "administrator"),
        api.chat_member(-100, 1, 2, "administrator", "restricted"),
        api.chat_member(-100, 1, 2, "restricted", "creator"),
    ]);
    let updates = bot.get_updates().await.unwrap();
    assert_eq!(updates.len(), 13);
    for u in &updates {
        assert!(
            !matches!(u.kind, UpdateKind::Error(_)),
            "teloxide failed to parse {u:?}"
        );
    }
    match &updates[8].kind {
        UpdateKind::MyChatMember(m) => {
            assert_eq!(m.new_chat_member.status(), ChatMemberStatus::Banned);
            assert!(m.chat.is_private());
        }
        other => panic!("expected my_chat_member, got {other:?}"),
    }
    match &updates[5].kind {
        UpdateKind::Message(m) => assert_eq!(
            m.sender_chat.as_ref().map(|c| c.id),
            Some(ChatId(-1_001_000_000_003))
        ),
        other => panic!("expected message, got {other:?}"),
    }
    bot.answer_callback_query(callback_id.into()).await.unwrap();
    let err = bot
        .answer_callback_query("unknown".to_owned().into())
        .await
        .unwrap_err();
    assert!(matches!(err, teloxide::RequestError::Api(_)), "{err:?}");
}
