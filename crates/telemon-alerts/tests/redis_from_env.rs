//! `TELEMON_REDIS_URL` is honoured: two workers configured only from `TELEMON_*` variables
//! share a real `redis-server` (testkit) and the fake Bot API. 1,000 identical errors make
//! exactly one alert and one follow-up, and every key they leave in Redis has a TTL.
//!
//! The workers read a `ManualClock` (the only thing not from the environment, so the cooldown
//! passes without sleeping); Redis keeps server time, which the testkit's
//! `CoordinationClock::server_ttl` moves by the same step.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err,
    reason = "tests fail loudly; figment::Jail's error type is large"
)]

use std::time::Duration;

use figment::Jail;
use sentinel_core::{ManualClock, Timestamp};
use sentinel_storage_redis::redis;
use sentinel_testkit::conformance::CoordinationClock;
use sentinel_testkit::fake_bot_api::FakeBotApi;
use sentinel_testkit::redis_server::RedisServer;
use telemon_alerts::{Alert, Config, Telemon};

const CHAT: i64 = -1_001_234_567_890;

fn config_from_env(api: &FakeBotApi, redis: &RedisServer) -> Config {
    let mut out = None;
    Jail::expect_with(|jail| {
        jail.set_env("TELEMON_BOT_TOKEN", api.token());
        jail.set_env("TELEMON_API_URL", api.url().as_str());
        jail.set_env("TELEMON_CHAT_ID", CHAT.to_string());
        jail.set_env("TELEMON_SERVICE", "orders");
        jail.set_env("TELEMON_REDIS_URL", redis.url());
        out = Some(Config::from_env().expect("valid configuration"));
        Ok(())
    });
    out.unwrap()
}

async fn all_keys(redis: &RedisServer) -> Vec<(String, i64)> {
    let mut con = redis.connection().await;
    let mut cursor: u64 = 0;
    let mut out = Vec::new();
    loop {
        let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await
            .unwrap();
        for key in page {
            let pttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut con)
                .await
                .unwrap();
            out.push((key, pttl));
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_from_env_share_redis_one_alert_one_followup_every_key_with_a_ttl() {
    let redis = RedisServer::spawn();
    let api = FakeBotApi::start().await;
    let config = config_from_env(&api, &redis);
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let worker = || {
        Telemon::builder()
            .config(&config)
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (worker(), worker());

    for i in 0..1_000u32 {
        let alert = Alert::critical("payment provider timeout")
            .message(format!("request {i} timed out after 30s"))
            .error_type("reqwest::Error");
        if i % 2 == 0 { &a } else { &b }.report(alert);
    }
    for w in [&a, &b] {
        assert!(w.flush(Duration::from_secs(30)).await);
    }
    let sent = api.sent_to(CHAT);
    assert_eq!(sent.len(), 1, "one alert for 1,000 errors on two workers");
    assert!(sent[0].visible_text.contains("payment provider timeout"));

    // The default cooldown (600 s) passes: exactly one worker sends the follow-up.
    clock.advance(Duration::from_secs(601));
    CoordinationClock::server_ttl([redis.url()])
        .advance(Duration::from_secs(601), "telemon:")
        .await;
    for w in [&a, &b, &a, &b] {
        assert!(w.flush(Duration::from_secs(30)).await);
    }
    let sent = api.sent_to(CHAT);
    assert_eq!(sent.len(), 2, "one alert and one follow-up: {sent:#?}");
    assert!(
        sent[1].visible_text.contains("+999 since last"),
        "{}",
        sent[1].visible_text
    );

    // Redis holds the coordination state, every key with a TTL.
    let keys = all_keys(&redis).await;
    let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    for suffix in [":window", ":seen", ":reported"] {
        assert!(
            names
                .iter()
                .any(|k| k.starts_with("telemon:a:{") && k.ends_with(suffix)),
            "no dedup key ending in {suffix}: {names:?}"
        );
    }
    assert!(
        names.iter().any(|k| k.starts_with("telemon:budget:{")),
        "no budget key: {names:?}"
    );
    for (key, pttl) in &keys {
        assert!(*pttl > 0, "{key} has no TTL (PTTL {pttl})");
    }
    assert_eq!(a.metrics().store_errors + b.metrics().store_errors, 0);
    a.shutdown(Duration::from_secs(5)).await;
    b.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_bad_redis_url_fails_at_build_without_printing_the_password() {
    let mut config = None;
    Jail::expect_with(|jail| {
        jail.set_env(
            "TELEMON_BOT_TOKEN",
            "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        );
        jail.set_env("TELEMON_CHAT_ID", CHAT.to_string());
        jail.set_env("TELEMON_REDIS_URL", "redis://:Sup3rS3cret@cache:notaport/0");
        config = Some(Config::from_env().expect("the scheme is valid"));
        Ok(())
    });
    let err = Telemon::builder()
        .config(&config.unwrap())
        .build()
        .expect_err("an unusable URL fails at start-up");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("TELEMON_REDIS_URL"), "{shown}");
    assert!(!shown.contains("Sup3rS3cret"), "{shown}");
}
