//! The built `sentinel` binary against a real `redis-server` (testkit) and the testkit's fake
//! Bot API: output and exit codes of every command, `--help` of every subcommand, and no
//! password or token in any output.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, BlockRecord, Event, Policy, PolicyRegistry, Quota, Scope, Sentinel, Subject,
};
use sentinel_storage_redis::RedisStore;
use sentinel_testkit::fake_bot_api::FakeBotApi;
use sentinel_testkit::redis_server::RedisServer;
use serde_json::Value;

const GROUP: i64 = -1_001_234_567_890;

/// What one run printed and returned.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary with exactly `env` as its environment (nothing inherited).
async fn sentinel(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sentinel"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .await
        .expect("the sentinel binary runs");
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Every key in the database.
async fn all_keys(server: &RedisServer) -> Vec<String> {
    let mut con = server.connection().await;
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut con)
        .await
        .unwrap();
    keys.sort();
    keys
}

fn tag_of(key: &str) -> &str {
    key.split_once('{')
        .and_then(|(_, r)| r.split_once('}'))
        .map_or("", |(t, _)| t)
}

/// An application engine on the same Redis and prefix as the CLI, with a debounce, so the
/// store holds rate-limit and debounce keys for users 42 and 7.
async fn app_traffic(url: &str, prefix: &str) -> Sentinel {
    let store = RedisStore::from_url(url).unwrap();
    let sentinel = Sentinel::builder()
        .store(Arc::new(store))
        .prefix(prefix)
        .policies(
            PolicyRegistry::single(
                Policy::new()
                    .rate_limit(
                        Quota::per_minute(30).unwrap(),
                        Algorithm::SlidingWindow,
                        Scope::User,
                    )
                    .debounce(Duration::from_secs(30), Scope::UserInChat),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    for (user, chat) in [(42, -100_123), (42, 42), (7, -100_123)] {
        let e = Event::new()
            .with_user(user)
            .with_chat(chat)
            .with_content("hello");
        assert!(sentinel.check(&e).await.unwrap().is_allowed());
    }
    sentinel
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_commands_against_real_redis() {
    let server = RedisServer::spawn();
    let url = server.url();
    let env = [("REDIS_URL", url.as_str()), ("SENTINEL_PREFIX", "clitest")];
    let app = app_traffic(&url, "clitest").await;

    let r = sentinel(&["ping"], &env).await;
    assert_eq!((r.code, r.stdout.trim()), (0, "ok: Redis answers"), "{r:?}");

    // block with a human duration and a reason; a chat with a negative id, permanently.
    let r = sentinel(
        &["block", "user", "42", "--for", "1h30m", "--reason", "spam"],
        &env,
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("blocked user 42 until "), "{r:?}");
    assert!(r.stdout.contains("reason: spam, by sentinel-cli"), "{r:?}");
    let mut con = server.connection().await;
    let stored: String = redis::cmd("GET")
        .arg("clitest:bl:{u42}:=all")
        .query_async(&mut con)
        .await
        .unwrap();
    let record = BlockRecord::decode(&stored).unwrap();
    assert_eq!(
        record.expires_at.unwrap().as_micros() - record.blocked_at.as_micros(),
        5_400_000_000,
        "--for 1h30m is 5400 s"
    );
    let r = sentinel(&["block", "chat", "-100123"], &env).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("blocked chat -100123 until unblocked, reason: blocked by an admin"),
        "{r:?}"
    );
    // The application sees the CLI's block.
    assert!(app.blocked(&Subject::User(42)).await.unwrap().is_some());

    // blocked --json: both, with their details.
    let r = sentinel(&["blocked", "--json"], &env).await;
    assert_eq!(r.code, 0, "{r:?}");
    let list: Value = serde_json::from_str(&r.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let by_subject = |s: &str| list.iter().find(|e| e["subject"] == s).unwrap().clone();
    let user = by_subject("user 42");
    assert_eq!(user["reason"], "spam");
    assert_eq!(user["blocked_by"], "sentinel-cli");
    let left = user["remaining_secs"].as_u64().unwrap();
    assert!(left > 0 && left <= 5_400, "{user}");
    let chat = by_subject("chat -100123");
    assert!(chat["expires_at"].is_null() && chat["remaining_secs"].is_null());

    // The table.
    let r = sentinel(&["blocked"], &env).await;
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("SUBJECT"), "{r:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("chat -100123") && l.contains("permanent"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("user 42") && l.ends_with("spam"))
    );

    // peek: the block and every key of user 42 (own and in chats).
    let r = sentinel(&["peek", "user", "42", "--json"], &env).await;
    assert_eq!(r.code, 0, "{r:?}");
    let peek: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(peek["subject"], "user 42");
    assert_eq!(peek["blocked"]["reason"], "spam");
    let kinds: Vec<(String, String)> = peek["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kind"].as_str().unwrap().to_owned(),
                tag_of(k["key"].as_str().unwrap()).to_owned(),
            )
        })
        .collect();
    for want in [
        ("bl", "u42"),
        ("rl-sw", "u42"),
        ("db", "u42c-100123"),
        ("db", "u42c42"),
    ] {
        assert!(
            kinds.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {kinds:?}"
        );
    }
    assert!(kinds.iter().all(|(_, t)| t.starts_with("u42")), "{kinds:?}");
    let r = sentinel(&["peek", "user", "42"], &env).await;
    assert!(r.stdout.starts_with("user 42: blocked until"), "{r:?}");
    assert!(r.stdout.contains("rate limit (sliding window)"), "{r:?}");

    // reset: the rate-limit state goes, the block and debounce stay.
    let r = sentinel(&["reset", "user", "42"], &env).await;
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, "reset user 42: 1 rate-limit and strike keys deleted"),
        "{r:?}"
    );
    let keys = all_keys(&server).await;
    assert!(!keys.iter().any(|k| k.starts_with("clitest:rl-sw:{u42}")));
    assert!(keys.contains(&"clitest:bl:{u42}:=all".to_owned()));
    assert!(keys.iter().any(|k| k.starts_with("clitest:rl-sw:{u7}")));

    // unblock, twice.
    let r = sentinel(&["unblock", "user", "42"], &env).await;
    assert_eq!((r.code, r.stdout.trim()), (0, "unblocked user 42"), "{r:?}");
    let r = sentinel(&["unblock", "user", "42"], &env).await;
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, "user 42 was not blocked"),
        "{r:?}"
    );
    assert!(app.blocked(&Subject::User(42)).await.unwrap().is_none());

    // forget: nothing of user 42 is left; user 7 and the chat keep theirs.
    let before = all_keys(&server).await;
    let expected = before
        .iter()
        .filter(|k| tag_of(k).starts_with("u42"))
        .count();
    assert!(expected >= 2, "{before:?}");
    let r = sentinel(&["forget", "user", "42"], &env).await;
    assert_eq!(
        (r.code, r.stdout.trim().to_owned()),
        (0, format!("forgot user 42: {expected} keys deleted")),
        "{r:?}"
    );
    let after = all_keys(&server).await;
    assert!(
        !after.iter().any(|k| tag_of(k).starts_with("u42")),
        "{after:?}"
    );
    assert_eq!(after.len(), before.len() - expected);
    assert!(after.iter().any(|k| tag_of(k) == "u7"));
    assert!(after.contains(&"clitest:bl:{c-100123}:=all".to_owned()));

    // forget a chat: its block and user 7's debounce in it go, user 7's own limit stays.
    let r = sentinel(&["forget", "chat", "-100123"], &env).await;
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, "forgot chat -100123: 2 keys deleted"),
        "{r:?}"
    );
    let after = all_keys(&server).await;
    assert_eq!(after, vec!["clitest:rl-sw:{u7}:=_".to_owned()]);

    // Another prefix sees none of it.
    let r = sentinel(
        &["blocked", "--json", "--prefix", "other"],
        &[("REDIS_URL", url.as_str())],
    )
    .await;
    assert_eq!((r.code, r.stdout.trim()), (0, "[]"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_url_flag_and_empty_list() {
    let server = RedisServer::spawn();
    let url = server.url();
    let r = sentinel(&["--redis-url", &url, "blocked"], &[]).await;
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, "no blocks in force"),
        "{r:?}"
    );
}

/// Unreachable Redis, or a wrong password: exit 3, and the password is in no output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_store_exits_3_without_the_password() {
    let closed = "redis://:s3cret-pass-word@127.0.0.1:1/";
    for cmd in [
        &["ping"][..],
        &["block", "user", "1"],
        &["forget", "user", "1"],
    ] {
        let r = sentinel(cmd, &[("REDIS_URL", closed)]).await;
        assert_eq!(r.code, 3, "{cmd:?}: {r:?}");
        assert!(r.stderr.starts_with("sentinel: "), "{r:?}");
        assert!(r.stderr.contains("is Redis running"), "{r:?}");
        assert!(
            !r.stderr.contains("s3cret") && !r.stdout.contains("s3cret"),
            "{r:?}"
        );
    }

    let server = RedisServer::spawn_with_args(["--requirepass", "the-right-one"]);
    let wrong = format!("redis://:wrong-pass-word@127.0.0.1:{}/", server.port());
    let r = sentinel(&["ping"], &[("REDIS_URL", wrong.as_str())]).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(!r.stderr.contains("wrong-pass-word"), "{r:?}");
    let right = format!("redis://:the-right-one@127.0.0.1:{}/", server.port());
    let r = sentinel(&["ping"], &[("REDIS_URL", right.as_str())]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.stdout.contains("the-right-one"), "{r:?}");
}

/// Usage and configuration errors: exit 2 with a message saying what to change.
#[tokio::test]
async fn usage_errors_exit_2() {
    let r = sentinel(&["ping"], &[]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("set REDIS_URL or pass --redis-url"),
        "{r:?}"
    );

    let url = [("REDIS_URL", "redis://127.0.0.1:1/")];
    let r = sentinel(&["block", "robot", "1"], &url).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("invalid value 'robot'"), "{r:?}");

    let r = sentinel(&["block", "user", "1", "--for", "soon"], &url).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("1h30m"), "{r:?}");

    let r = sentinel(&["block", "user", "1", "--for", "0s"], &url).await;
    assert_eq!(r.code, 2, "{r:?}");

    let r = sentinel(&["--prefix", "bad prefix", "ping"], &url).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("key prefix"), "{r:?}");

    let r = sentinel(&["ping"], &[("REDIS_URL", "http://:pw-in-url@host/")]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(!r.stderr.contains("pw-in-url"), "{r:?}");

    let r = sentinel(&[], &[]).await;
    assert_eq!(r.code, 2, "{r:?}");
}

/// `--help` of the command and of every subcommand: exit 0, the usage line, and the exit
/// codes on the top-level help.
#[tokio::test]
async fn help_for_every_subcommand() {
    let root = sentinel(&["--help"], &[]).await;
    assert_eq!(root.code, 0, "{root:?}");
    assert!(root.stdout.contains("Usage: sentinel [OPTIONS] <COMMAND>"));
    for line in [
        "0  success",
        "2  usage or configuration error",
        "3  the store is unreachable",
    ] {
        assert!(root.stdout.contains(line), "{line}: {}", root.stdout);
    }
    for (path, says) in [
        (&["block"][..], "--for <DURATION>"),
        (&["unblock"], "<KIND>"),
        (&["blocked"], "--json"),
        (&["peek"], "--json"),
        (&["reset"], "--policy <POLICY>"),
        (&["forget"], "every user in it"),
        (&["ping"], "PING"),
        (&["alerts"], "verify"),
        (&["alerts", "verify"], "membership"),
        (&["alerts", "test"], "--title <TITLE>"),
    ] {
        let mut args = path.to_vec();
        args.push("--help");
        let r = sentinel(&args, &[]).await;
        assert_eq!(r.code, 0, "{path:?}: {r:?}");
        let usage = format!("Usage: sentinel {}", path.join(" "));
        assert!(r.stdout.contains(&usage), "{path:?}: {}", r.stdout);
        assert!(r.stdout.contains(says), "{path:?}: {}", r.stdout);
        assert!(r.stdout.contains("Exit codes:"), "{path:?}: {}", r.stdout);
    }
}

/// The `TELEMON_*` environment pointing at the fake.
fn telemon_env(api: &FakeBotApi, token: &str, chat: i64) -> Vec<(String, String)> {
    vec![
        ("TELEMON_BOT_TOKEN".into(), token.into()),
        ("TELEMON_API_URL".into(), api.url().to_string()),
        ("TELEMON_CHAT_ID".into(), chat.to_string()),
    ]
}

async fn alerts(cmd: &str, env: &[(String, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    sentinel(&["alerts", cmd], &env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_verify_good_and_bad_token_and_chat() {
    let api = FakeBotApi::start().await;
    let good = telemon_env(&api, api.token(), GROUP);
    let r = alerts("verify", &good).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout.trim(),
        format!("ok: bot @{} can post to chat {GROUP}", api.bot_username())
    );
    assert!(api.sent().is_empty(), "verify sends nothing");
    assert_eq!(api.calls_of("getChatMember").len(), 1);

    // A token Telegram rejects.
    let bad_token = "123456789:AAWrongTokenWrongTokenWrongToken00";
    let r = alerts("verify", &telemon_env(&api, bad_token, GROUP)).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("token rejected by Telegram"), "{r:?}");
    assert!(!r.stderr.contains("AAWrongToken"), "{r:?}");

    // A chat that does not exist, and one the bot left.
    let r = alerts("verify", &telemon_env(&api, api.token(), -100_999)).await;
    api.forget_chat(-100_999);
    let r2 = alerts("verify", &telemon_env(&api, api.token(), -100_999)).await;
    assert_eq!(r.code, 0, "known before it was forgotten: {r:?}");
    assert_eq!(r2.code, 1, "{r2:?}");
    assert!(r2.stderr.contains("chat -100999: not found"), "{r2:?}");
    api.set_member_status(GROUP, api.bot_id(), "left");
    let r = alerts("verify", &good).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("the bot is not a member of chat -1001234567890 (status: left)"),
        "{r:?}"
    );
    for r in [&r, &r2] {
        assert!(!r.stderr.contains(api.token()), "{r:?}");
    }

    // Configuration errors are usage errors.
    let r = alerts("verify", &good[..2]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("TELEMON_CHAT_ID"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_test_sends_one_message() {
    let api = FakeBotApi::start().await;
    let r = alerts("test", &telemon_env(&api, api.token(), GROUP)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("ok: test alert sent"), "{r:?}");
    let sent = api.sent_to(GROUP);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0]
            .text
            .contains("sentinel alerts test: delivery works"),
        "{sent:?}"
    );

    // Verification fails first: nothing is sent.
    api.set_member_status(GROUP, api.bot_id(), "kicked");
    let r = alerts("test", &telemon_env(&api, api.token(), GROUP)).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(api.sent_to(GROUP).len(), 1);
}
