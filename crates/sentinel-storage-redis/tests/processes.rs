//! Two OS processes deciding through the plan script on one Redis never admit more than the
//! limit within a window: the test binary runs itself twice as a worker (a child process
//! selected by an environment variable), each firing checks from many tasks at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "tests fail loudly; a worker reports its count on stdout"
)]

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{Algorithm, Event, Policy, PolicyRegistry, Quota, Scope, Sentinel};
use sentinel_storage_redis::RedisConfig;
use sentinel_testkit::redis_server::RedisServer;

const WORKER_URL: &str = "SENTINEL_TEST_WORKER_REDIS_URL";
const LIMIT: u32 = 40;
const TASKS: usize = 16;
const CHECKS_PER_TASK: usize = 10;

async fn worker(url: String) {
    // Two limits per update (per user and per chat), one EVALSHA each.
    let policy = Policy::new()
        .rate_limit(
            Quota::new(LIMIT, Duration::from_secs(600)).unwrap(),
            Algorithm::SlidingWindow,
            Scope::User,
        )
        .rate_limit(
            Quota::per_hour(10_000).unwrap(),
            Algorithm::Gcra,
            Scope::Chat,
        );
    let sentinel = Sentinel::builder()
        .store(Arc::new(
            RedisConfig::new(url)
                .command_timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        ))
        .prefix("procs")
        .policies(PolicyRegistry::single(policy).unwrap())
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let s = sentinel.clone();
        tasks.push(tokio::spawn(async move {
            let event = Event::new().with_user(77).with_chat(-77);
            let mut granted = 0u32;
            for _ in 0..CHECKS_PER_TASK {
                if s.check(&event).await.unwrap().is_allowed() {
                    granted += 1;
                }
            }
            granted
        }));
    }
    let mut granted = 0;
    for t in tasks {
        granted += t.await.unwrap();
    }
    println!("granted={granted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_admit_more_than_the_limit() {
    if let Ok(url) = std::env::var(WORKER_URL) {
        worker(url).await;
        return;
    }
    let server = RedisServer::spawn();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "two_processes_never_admit_more_than_the_limit",
                    "--exact",
                    "--nocapture",
                ])
                .env(WORKER_URL, server.url())
                .output_async()
        })
        .collect();
    let mut total = 0;
    for child in children {
        let out = child.await.unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let n: u32 = text
            .lines()
            .find_map(|l| l.strip_prefix("granted="))
            .unwrap_or_else(|| panic!("no count in {text}"))
            .trim()
            .parse()
            .unwrap();
        total += n;
    }
    // 2 × 160 attempts within one 10-minute window: exactly the limit, never more.
    assert_eq!(total, LIMIT);
}

trait OutputAsync {
    fn output_async(&mut self) -> tokio::task::JoinHandle<std::process::Output>;
}

impl OutputAsync for Command {
    fn output_async(&mut self) -> tokio::task::JoinHandle<std::process::Output> {
        let child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
    }
}
