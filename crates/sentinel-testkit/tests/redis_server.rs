//! `RedisServer`: real servers on distinct free ports, independent lifetimes, stop/restart.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use sentinel_testkit::redis_server::RedisServer;

async fn set(server: &RedisServer, key: &str, value: &str) {
    let mut con = server.connection().await;
    let () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async(&mut con)
        .await
        .unwrap();
}

async fn get(server: &RedisServer, key: &str) -> Option<String> {
    let mut con = server.connection().await;
    redis::cmd("GET")
        .arg(key)
        .query_async(&mut con)
        .await
        .unwrap()
}

#[tokio::test]
async fn two_servers_are_independent_and_one_can_stop_and_restart_empty() {
    let a = RedisServer::spawn();
    let b = RedisServer::spawn();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.port(), 6379, "must never use the system redis port");
    assert_ne!(b.port(), 6379, "must never use the system redis port");
    assert_eq!(a.url(), format!("redis://127.0.0.1:{}/", a.port()));
    assert_eq!(a.addr().port(), a.port());

    // Each server keeps its own data.
    set(&a, "k", "from-a").await;
    set(&b, "k", "from-b").await;
    assert_eq!(get(&a, "k").await.as_deref(), Some("from-a"));
    assert_eq!(get(&b, "k").await.as_deref(), Some("from-b"));

    // Stop one: the other still answers, the stopped one refuses connections.
    assert!(a.is_running());
    a.stop();
    assert!(!a.is_running());
    assert!(b.is_running());
    assert_eq!(get(&b, "k").await.as_deref(), Some("from-b"));
    let refused = a.client().get_multiplexed_async_connection().await;
    assert!(refused.is_err(), "a stopped server must refuse connections");
    assert!(std::net::TcpStream::connect(a.addr()).is_err());

    // Restart: same port, running again, and empty (no persistence).
    let port = a.port();
    a.restart();
    assert_eq!(a.port(), port);
    assert!(a.is_running());
    assert_eq!(get(&a, "k").await, None);
    set(&a, "k", "again").await;
    assert_eq!(get(&a, "k").await.as_deref(), Some("again"));
    assert_eq!(get(&b, "k").await.as_deref(), Some("from-b"));
}

#[tokio::test]
async fn drop_kills_the_server() {
    let server = RedisServer::spawn();
    let addr = server.addr();
    set(&server, "k", "v").await;
    drop(server);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the server must be gone after drop"
    );
}

#[tokio::test]
async fn extra_arguments_are_passed_and_survive_restart() {
    let server = RedisServer::spawn_with_args(["--requirepass", "s3cret"]);
    let mut con = server.connection().await;
    let denied: redis::RedisResult<Option<String>> =
        redis::cmd("GET").arg("k").query_async(&mut con).await;
    assert!(denied.is_err(), "requirepass must be in effect");

    server.restart();
    let client =
        redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", server.port())).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn missing_binary_fails_with_install_instructions() {
    // The lookup reads the environment, so each case runs in a child process of this test
    // binary with its own environment instead of mutating ours.
    if let Some(case) = std::env::var_os("SENTINEL_TESTKIT_CHILD") {
        let err = RedisServer::try_spawn().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        let msg = err.to_string();
        assert!(msg.contains("SENTINEL_REDIS_SERVER"), "{msg}");
        if case == "path" {
            assert!(msg.contains("apt-get install -y redis-server"), "{msg}");
        }
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let run = |case: &str, configure: &dyn Fn(&mut std::process::Command)| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["--exact", "missing_binary_fails_with_install_instructions"])
            .env("SENTINEL_TESTKIT_CHILD", case);
        configure(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "case {case} failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    };
    run("env", &|cmd| {
        cmd.env("SENTINEL_REDIS_SERVER", "/nonexistent/redis-server");
    });
    run("path", &|cmd| {
        cmd.env_remove("SENTINEL_REDIS_SERVER").env("PATH", "");
    });
}
