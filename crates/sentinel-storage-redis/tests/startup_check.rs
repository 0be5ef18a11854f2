//! `SentinelBuilder::build_checked` fails fast with the store's error when Redis cannot be
//! reached or refuses the password (the error, its source chain and its `Debug` never show
//! the password), and returns the engine when Redis answers. `Store::ping` through
//! `Arc<dyn Store>` reaches `RedisStore::ping`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{Error, Event, Sentinel, Store, StoreError};
use sentinel_storage_redis::{RedisConfig, RedisStore};
use sentinel_testkit::redis_server::RedisServer;

const PASSWORD: &str = "st4rtup-Pa55";

fn store(url: &str) -> RedisStore {
    RedisConfig::new(url)
        .connect_timeout(Duration::from_secs(2))
        .command_timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn renderings(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = format!("{e} | {e:?}");
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(&format!(" | {s} | {s:?}"));
        cur = s.source();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_checked_fails_fast_on_unreachable_redis_without_the_password() {
    // A closed port: nothing listens on port 1.
    let url = format!("redis://:{PASSWORD}@127.0.0.1:1/");
    let e = Sentinel::builder()
        .store(Arc::new(store(&url)))
        .build_checked()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Store(StoreError::Unavailable(_) | StoreError::Timeout(_))
        ),
        "{e:?}"
    );
    let text = renderings(&e);
    assert!(!text.contains(PASSWORD), "password leaked: {text}");

    // `build` alone succeeds (connections are lazy): the check is what catches it.
    assert!(
        Sentinel::builder()
            .store(Arc::new(store(&url)))
            .build()
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_checked_reports_a_wrong_password_and_passes_with_the_right_one() {
    let server = RedisServer::spawn_with_args(["--requirepass", PASSWORD]);
    let wrong = format!("redis://:wrong-{PASSWORD}@127.0.0.1:{}/", server.port());
    let e = Sentinel::builder()
        .store(Arc::new(store(&wrong)))
        .build_checked()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Store(_)), "{e:?}");
    assert!(!renderings(&e).contains(PASSWORD), "{}", renderings(&e));

    let right = format!("redis://:{PASSWORD}@127.0.0.1:{}/", server.port());
    let sentinel = Sentinel::builder()
        .store(Arc::new(store(&right)))
        .build_checked()
        .await
        .unwrap();
    assert!(
        sentinel
            .check(&Event::new().with_user(1))
            .await
            .unwrap()
            .is_allowed()
    );

    // Store::ping through the trait object is the PING of RedisStore::ping: it fails once
    // the server is gone.
    let dyn_store: Arc<dyn Store> = Arc::new(store(&right));
    dyn_store.ping().await.unwrap();
    server.stop();
    assert!(dyn_store.ping().await.unwrap_err().is_transient());
}
