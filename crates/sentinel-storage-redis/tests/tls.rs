//! `rediss://` (feature `tls`): a store talks to a TLS-only Redis port when it trusts the
//! server's CA, and a certificate it does not trust is a typed `Unavailable`, not a panic.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use sentinel_core::{Algorithm, Quota, RateLimitStore, StoreError, Timestamp};
use sentinel_storage_redis::RedisConfig;
use sentinel_testkit::redis_server::RedisServer;

const PASSWORD: &str = "tls-s3cret";

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name);
    p.to_str().unwrap().to_owned()
}

/// A server with a plain port (for the testkit) and a TLS port; returns the TLS port.
fn tls_server() -> (RedisServer, u16) {
    let tls_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = RedisServer::spawn_with_args([
        "--tls-port".to_owned(),
        tls_port.to_string(),
        "--tls-cert-file".to_owned(),
        fixture("server.pem"),
        "--tls-key-file".to_owned(),
        fixture("server.key"),
        "--tls-ca-cert-file".to_owned(),
        fixture("ca.pem"),
        "--tls-auth-clients".to_owned(),
        "no".to_owned(),
        "--requirepass".to_owned(),
        PASSWORD.to_owned(),
    ]);
    (server, tls_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_trusted_ca_works() {
    let (_server, port) = tls_server();
    let url = format!("rediss://:{PASSWORD}@127.0.0.1:{port}/0");
    let store = RedisConfig::new(&url)
        .tls_root_certificate(std::fs::read(fixture("ca.pem")).unwrap())
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    store.ping().await.unwrap();
    let q = Quota::per_minute(2).unwrap();
    for expected in [true, true, false] {
        let d = store
            .hit(
                "tls:rl-gcra:{u1}:=h",
                Algorithm::Gcra,
                &q,
                1,
                Timestamp::EPOCH,
            )
            .await
            .unwrap();
        assert_eq!(d.allowed, expected);
    }
    assert!(!format!("{store:?}").contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_an_untrusted_certificate_is_unavailable() {
    let (_server, port) = tls_server();
    // The built-in web PKI roots do not include the test CA.
    let store = RedisConfig::new(format!("rediss://:{PASSWORD}@127.0.0.1:{port}/0"))
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let e = store.ping().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    assert!(!format!("{e} {e:?}").contains(PASSWORD));
}
