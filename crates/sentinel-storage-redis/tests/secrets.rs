//! The Redis password never appears in `Debug` or `Display` of the config, the store, any
//! error (and its whole `source()` chain), or the engine's logs.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sentinel_core::{Event, FailMode, Sentinel, StoreError};
use sentinel_storage_redis::{RedisConfig, RedisConfigError, RedisStore, redact_url};
use sentinel_testkit::redis_server::RedisServer;

const PASSWORD: &str = "s3cr3t-Pa55";
const WRONG: &str = "wr0ng-Pa55";
const ALICE_PW: &str = "alice-Pa55";

/// Every rendering of `e` and of each error in its source chain.
fn renderings(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("{e} | {e:?}");
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(&format!(" | {s} | {s:?}"));
        cur = s.source();
    }
    out
}

fn assert_clean(text: &str) {
    for secret in [PASSWORD, WRONG, ALICE_PW] {
        assert!(!text.contains(secret), "secret leaked in: {text}");
    }
}

fn secured_server() -> RedisServer {
    RedisServer::spawn_with_args([
        "--requirepass",
        PASSWORD,
        "--user",
        "alice",
        "on",
        &format!(">{ALICE_PW}"),
        "~*",
        "+@all",
    ])
}

fn url(port: u16, userinfo: &str) -> String {
    format!("redis://{userinfo}@127.0.0.1:{port}/0")
}

fn store(url: &str) -> RedisStore {
    RedisConfig::new(url)
        .connect_timeout(Duration::from_millis(500))
        .command_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

/// Right credentials work; config and store `Debug` show the URL redacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_and_store_never_show_the_password() {
    let server = secured_server();
    for userinfo in [
        format!(":{PASSWORD}"),
        format!("default:{PASSWORD}"),
        format!("alice:{ALICE_PW}"),
    ] {
        let u = url(server.port(), &userinfo);
        let config = RedisConfig::new(&u).pool_size(4);
        let shown = format!("{config:?}");
        assert_clean(&shown);
        assert!(shown.contains("***@127.0.0.1"), "{shown}");
        let store = config.build().unwrap();
        store.ping().await.unwrap();
        let shown = format!("{store:?}");
        assert_clean(&shown);
        assert!(shown.contains("***@127.0.0.1"), "{shown}");
        assert_clean(&redact_url(&u));
    }
}

/// Wrong password, no password, refused connection: typed errors, clean text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_errors_never_show_the_password() {
    let server = secured_server();
    for userinfo in [
        format!(":{WRONG}"),
        format!("alice:{WRONG}"),
        WRONG.to_owned(),
    ] {
        let store = store(&url(server.port(), &userinfo));
        let e = store.ping().await.unwrap_err();
        assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        assert_clean(&renderings(&e));
        assert_clean(&format!("{store:?}"));
    }
    // No password at all: the server refuses commands (NOAUTH).
    let e = store(&server.url()).ping().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    // Nothing listening.
    let port = server.port();
    server.stop();
    let e = store(&url(port, &format!(":{PASSWORD}")))
        .ping()
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    assert_clean(&renderings(&e));
}

/// Invalid configuration: the error names the URL redacted.
#[test]
fn config_errors_never_show_the_password() {
    let bad = [
        format!("redis://user:{PASSWORD}@127.0.0.1:notaport/0"),
        format!("redis://:{PASSWORD}@[::1"),
        format!("nosuchscheme://:{PASSWORD}@host"),
        format!("redis+unix:///nonexistent?db=x&pass={PASSWORD}"),
        format!("redis://:{PASSWORD}@host/notadb"),
    ];
    for u in bad {
        let e = RedisConfig::new(&u).build().unwrap_err();
        assert!(matches!(e, RedisConfigError::InvalidUrl { .. }), "{e:?}");
        assert_clean(&renderings(&e));
        assert!(e.to_string().contains("***"), "{e}");
        assert_clean(&format!("{:?}", RedisConfig::new(&u)));
    }
    let e = RedisConfig::new(format!("redis://:{PASSWORD}@h"))
        .pool_size(0)
        .build()
        .unwrap_err();
    assert!(matches!(e, RedisConfigError::Invalid(_)));
    assert_clean(&renderings(&e));
}

/// A `tracing` subscriber that keeps every event's text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut s = self.0.lock().unwrap();
        span.record(&mut Fields(&mut s));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut s = self.0.lock().unwrap();
        event.record(&mut Fields(&mut s));
        s.push('\n');
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The engine logs the store failure (fail open) without the password.
#[tokio::test(flavor = "current_thread")]
async fn engine_logs_never_show_the_password() {
    let server = secured_server();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let sentinel = Sentinel::builder()
        .store(Arc::new(store(&url(server.port(), &format!(":{WRONG}")))))
        .fail_mode(FailMode::Open)
        .build()
        .unwrap();
    let v = sentinel.check(&Event::new().with_user(1)).await.unwrap();
    assert!(v.is_allowed());
    let logs = capture.0.lock().unwrap().clone();
    assert!(logs.contains("fail open"), "the failure was logged: {logs}");
    assert_clean(&logs);
}

/// Any password, in any URL shape, raw or percent-encoded: neither the config's `Debug`, nor
/// the store's, nor any build error (and its source chain) shows it.
mod any_password {
    use proptest::prelude::*;
    use sentinel_storage_redis::{RedisConfig, redact_url};
    use sentinel_testkit::secrets::{
        REDIS_URL_SHAPES, assert_hidden, fits_raw, password, percent_encoded,
    };

    use super::renderings;

    fn check(pw: &str, config: RedisConfig) {
        assert_hidden(pw, &format!("{config:?}"));
        match config.build() {
            Ok(store) => assert_hidden(pw, &format!("{store:?}")),
            Err(e) => assert_hidden(pw, &renderings(&e)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_shown(
            pw in password(),
            shape in prop::sample::select(REDIS_URL_SHAPES),
            other in prop::sample::select(REDIS_URL_SHAPES),
        ) {
            let mut written = vec![percent_encoded(&pw)];
            if fits_raw(shape, &pw) && fits_raw(other, &pw) {
                written.push(pw.clone());
            }
            for w in written {
                let url = shape.replace("{}", &w);
                assert_hidden(&pw, &redact_url(&url));
                check(&pw, RedisConfig::new(&url));
                #[cfg(feature = "cluster")]
                check(&pw, RedisConfig::cluster([url.clone(), other.replace("{}", &w)]));
            }
        }
    }
}
