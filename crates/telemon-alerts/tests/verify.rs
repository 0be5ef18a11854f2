//! `Telemon::verify` against the fake Bot API, which answers `getMe`, `getChat`,
//! `getChatMember` and thread probes as Telegram does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err,
    reason = "tests fail loudly; figment::Jail's error type is large"
)]

use sentinel_testkit::fake_bot_api::{FakeBotApi, Fault, unreachable_url};
use telemon_alerts::transport::{MemoryTransport, TelegramTransport};
use telemon_alerts::{Destination, Level, Routes, Telemon, VerifyError};

const GROUP: i64 = -1_001_234_567_890;
const OPS: i64 = -1_009_876_543_210;

fn telemon(api: &FakeBotApi, token: &str, routes: Routes) -> Telemon {
    Telemon::builder()
        .transport(TelegramTransport::with_api_url(token, api.url().as_str()).unwrap())
        .routes(routes)
        .build()
        .unwrap()
}

fn one(api: &FakeBotApi, to: Destination) -> Telemon {
    telemon(api, api.token(), Routes::new(to))
}

#[tokio::test(start_paused = true)]
async fn happy_path_checks_token_every_chat_membership_and_thread() {
    let api = FakeBotApi::start().await;
    api.add_forum_topic(OPS, 7);
    let routes = Routes::new(Destination::chat(GROUP))
        .level(Level::Warning, Destination::chat(OPS).thread(7));
    let t = telemon(&api, api.token(), routes);
    let v = t.verify().await.unwrap();
    assert_eq!(v.bot_username.as_deref(), Some(api.bot_username()));
    assert_eq!(
        v.destinations,
        vec![Destination::chat(GROUP), Destination::chat(OPS).thread(7)]
    );
    assert_eq!(api.calls_of("getMe").len(), 1);
    let chats: Vec<_> = api
        .calls_of("getChat")
        .iter()
        .map(|c| c.body["chat_id"].clone())
        .collect();
    assert_eq!(chats, vec![GROUP, OPS]);
    let members = api.calls_of("getChatMember");
    assert_eq!(members.len(), 2);
    assert!(members.iter().all(|c| c.body["user_id"] == api.bot_id()));
    let probes = api.calls_of("sendChatAction");
    assert_eq!(
        probes.len(),
        1,
        "only the destination with a thread is probed"
    );
    assert_eq!(probes[0].body["message_thread_id"], 7);
    assert!(api.sent().is_empty(), "verify sends no message");
}

#[tokio::test(start_paused = true)]
async fn bad_token_is_rejected_by_telegram() {
    let api = FakeBotApi::start().await;
    let t = telemon(
        &api,
        "123456789:AAWrongTokenWrongTokenWrongToken00",
        Routes::new(Destination::chat(GROUP)),
    );
    let e = t.verify().await.unwrap_err();
    assert_eq!(e, VerifyError::TokenRejected);
    let text = e.to_string();
    assert!(text.starts_with("token rejected by Telegram"), "{text}");
    assert!(!text.contains("AAWrongToken"), "{text}");
    assert_eq!(api.unauthorized_requests(), 1, "stops at getMe");
}

#[tokio::test(start_paused = true)]
async fn unknown_chat_is_named() {
    let api = FakeBotApi::start().await;
    api.forget_chat(GROUP);
    let e = one(&api, Destination::chat(GROUP))
        .verify()
        .await
        .unwrap_err();
    assert_eq!(e, VerifyError::ChatNotFound { chat_id: GROUP });
    assert!(
        e.to_string().starts_with("chat -1001234567890: not found"),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn bot_that_left_or_was_kicked_is_not_a_member() {
    let api = FakeBotApi::start().await;
    api.set_member_status(GROUP, api.bot_id(), "left");
    let e = one(&api, Destination::chat(GROUP))
        .verify()
        .await
        .unwrap_err();
    assert_eq!(
        e,
        VerifyError::NotMember {
            chat_id: GROUP,
            status: "left".into()
        }
    );
    assert_eq!(
        e.to_string(),
        "the bot is not a member of chat -1001234567890 (status: left): add it"
    );

    // Kicked: Telegram answers getChat itself with 403.
    let api = FakeBotApi::start().await;
    api.block_chat(OPS);
    let e = one(&api, Destination::chat(OPS))
        .verify()
        .await
        .unwrap_err();
    assert!(
        matches!(e, VerifyError::NotMember { chat_id: OPS, .. }),
        "{e:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn restricted_bot_and_channel_member_cannot_post() {
    let api = FakeBotApi::start().await;
    api.set_member_status(GROUP, api.bot_id(), "restricted");
    let e = one(&api, Destination::chat(GROUP))
        .verify()
        .await
        .unwrap_err();
    assert!(
        matches!(e, VerifyError::CannotPost { chat_id: GROUP, .. }),
        "{e:?}"
    );

    let api = FakeBotApi::start().await;
    api.register_chat(serde_json::json!({ "id": OPS, "type": "channel", "title": "Ops" }));
    assert!(
        one(&api, Destination::chat(OPS)).verify().await.is_ok(),
        "admin by default"
    );
    api.set_member_status(OPS, api.bot_id(), "member");
    let e = one(&api, Destination::chat(OPS))
        .verify()
        .await
        .unwrap_err();
    assert!(
        matches!(e, VerifyError::CannotPost { chat_id: OPS, .. }),
        "{e:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn thread_that_does_not_exist() {
    let api = FakeBotApi::start().await;
    api.add_forum_topic(GROUP, 7);
    let e = one(&api, Destination::chat(GROUP).thread(8))
        .verify()
        .await
        .unwrap_err();
    assert_eq!(
        e,
        VerifyError::ThreadNotFound {
            chat_id: GROUP,
            thread_id: 8
        }
    );
    assert!(
        e.to_string()
            .starts_with("thread 8 does not exist in chat -1001234567890"),
        "{e}"
    );
    // The topic that exists passes.
    assert!(
        one(&api, Destination::chat(GROUP).thread(7))
            .verify()
            .await
            .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn other_api_failures_are_reported_without_the_token() {
    let api = FakeBotApi::start().await;
    api.fail_next("getChat", Fault::BadRequest("something unexpected".into()));
    let e = one(&api, Destination::chat(GROUP))
        .verify()
        .await
        .unwrap_err();
    assert!(matches!(e, VerifyError::Api(_)), "{e:?}");
    assert!(!e.to_string().contains(api.token()), "{e}");
}

#[tokio::test(start_paused = true)]
async fn built_from_the_environment_token_verifies_too() {
    // The builder's own Telegram transport (token + API URL) is verified the same way.
    let api = FakeBotApi::start().await;
    api.forget_chat(GROUP);
    let mut config = None;
    figment::Jail::expect_with(|jail| {
        jail.set_env("TELEMON_BOT_TOKEN", api.token());
        jail.set_env("TELEMON_API_URL", api.url().as_str());
        jail.set_env("TELEMON_CHAT_ID", GROUP.to_string());
        config = Some(telemon_alerts::Config::from_env().unwrap());
        Ok(())
    });
    let t = Telemon::builder().config(&config.unwrap()).build().unwrap();
    assert_eq!(
        t.verify().await.unwrap_err(),
        VerifyError::ChatNotFound { chat_id: GROUP }
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_to_verify_without_telegram() {
    let t = Telemon::builder()
        .transport(MemoryTransport::new())
        .destination(Destination::chat(GROUP))
        .build()
        .unwrap();
    let v = t.verify().await.unwrap();
    assert_eq!(v.bot_username, None);
    assert!(Telemon::disabled().verify().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_api_is_an_error_at_start_up_not_a_silent_loss() {
    let t = Telemon::builder()
        .transport(
            TelegramTransport::with_api_url(
                "123456789:AAFakeTokenForSentinelTests-0123456789",
                unreachable_url().as_str(),
            )
            .unwrap(),
        )
        .destination(Destination::chat(GROUP))
        .build()
        .unwrap();
    let e = t.verify().await.unwrap_err();
    assert!(matches!(e, VerifyError::Api(_)), "{e:?}");
    let text = e.to_string();
    assert!(
        text.starts_with("cannot verify with the Telegram Bot API"),
        "{text}"
    );
    assert!(!text.contains("AAFakeToken"), "{text}");
}
