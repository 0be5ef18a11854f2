//! Decisions per second against one testkit `redis-server`, next to `redis-benchmark`
//! running the same GCRA script at the same concurrency, in one run:
//!
//! ```text
//! cargo bench -p sentinel-storage-redis --bench redis
//! ```
//!
//! For each algorithm, 64 tasks share one store and hit one key (server clock, a quota that
//! always allows, so every decision writes) until 200,000 decisions are made; the figure is
//! decisions / wall time. Then `redis-benchmark -c 64 -n 200000` (non-pipelined) sends the
//! same `EVALSHA` with the same arguments, and the ratio is printed.
//!
//! Knobs (environment): `SENTINEL_BENCH_DECISIONS` (default 200000), `SENTINEL_BENCH_TASKS`
//! (default 64), `SENTINEL_BENCH_THREADS` (tokio worker threads, default 1: on a 2-core machine
//! Redis needs the other core), `SENTINEL_BENCH_ALL_MODES=1` (also time pooled mode and other
//! connection counts).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark binary reports on stdout and fails loudly"
)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sentinel_core::{Algorithm, Quota, RateLimitStore, Timestamp};
use sentinel_storage_redis::{ConnectionMode, RedisConfig, RedisStore};
use sentinel_testkit::redis_server::RedisServer;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A quota that always allows at these rates, so every decision writes.
fn quota(algorithm: Algorithm) -> Quota {
    match algorithm {
        // At most 10,000 (the sliding window's cap) per 10 ms: about 1,000 live log entries at
        // 100k decisions/s, never a refusal.
        Algorithm::SlidingWindow => Quota::new(10_000, Duration::from_millis(10)).unwrap(),
        _ => Quota::new(1_000_000_000, Duration::from_secs(1)).unwrap(),
    }
}

/// CPU time this process has used (user + system), from `/proc/self/stat`; `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// `tasks` tasks make `decisions` decisions in total on one key; decisions per second.
async fn run(
    store: &RedisStore,
    algorithm: Algorithm,
    key: &str,
    decisions: usize,
    tasks: usize,
) -> f64 {
    let q = quota(algorithm);
    // Warm up: connections, script cache.
    for _ in 0..200 {
        store
            .hit(key, algorithm, &q, 1, Timestamp::EPOCH)
            .await
            .unwrap();
    }
    let left = Arc::new(AtomicU64::new(decisions as u64));
    let cpu_before = process_cpu();
    let start = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let (store, left, key) = (store.clone(), left.clone(), key.to_owned());
        handles.push(tokio::spawn(async move {
            let mut refused = 0u64;
            while left
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
            {
                let d = store
                    .hit(&key, algorithm, &q, 1, Timestamp::EPOCH)
                    .await
                    .unwrap();
                refused += u64::from(!d.allowed);
            }
            refused
        }));
    }
    let mut refused = 0;
    for h in handles {
        refused += h.await.unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(refused, 0, "the benchmark quota must always allow");
    if let (Some(before), Some(after)) = (cpu_before, process_cpu()) {
        let per = (after - before).as_secs_f64() * 1e6 / decisions as f64;
        println!("    (client CPU {per:.1} µs per decision)");
    }
    decisions as f64 / elapsed.as_secs_f64()
}

/// `redis-benchmark`'s requests per second for the GCRA script, or why it could not run.
fn redis_benchmark(port: u16, key: &str, decisions: usize, clients: usize) -> Result<f64, String> {
    let q = quota(Algorithm::Gcra);
    let sha = RedisStore::script_sha(Algorithm::Gcra).unwrap();
    // The store's exact arguments (see the crate docs): server clock (empty `now`), limit,
    // period, cost 1, no peek, no extra TTL, emission interval.
    let args = [
        "EVALSHA".to_owned(),
        sha.to_owned(),
        "1".to_owned(),
        key.to_owned(),
        String::new(),
        q.limit().to_string(),
        q.period_micros().to_string(),
        "1".to_owned(),
        "0".to_owned(),
        "0".to_owned(),
        q.emission_interval_micros().to_string(),
    ];
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-c",
            &clients.to_string(),
            "-n",
            &decisions.to_string(),
            "-q",
        ])
        .args(&args)
        .output()
        .map_err(|e| format!("redis-benchmark not run: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    // The last "…: N requests per second" line (with -q, progress lines end with '\r').
    let line = text
        .split(['\r', '\n'])
        .rfind(|l| l.contains("requests per second"))
        .ok_or_else(|| {
            format!(
                "unexpected redis-benchmark output: {text:?} {:?}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    // "<command>: 95238.10 requests per second, p50=…": the number right before the phrase.
    line.split("requests per second")
        .next()
        .and_then(|head| head.split_whitespace().last())
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or_else(|| format!("cannot parse {line:?}"))
}

fn store(url: &str, mode: ConnectionMode, pool_size: usize) -> RedisStore {
    RedisConfig::new(url)
        .connection_mode(mode)
        .pool_size(pool_size)
        .command_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn main() {
    let decisions = env_usize("SENTINEL_BENCH_DECISIONS", 200_000);
    let tasks = env_usize("SENTINEL_BENCH_TASKS", 64);
    let threads = env_usize("SENTINEL_BENCH_THREADS", 1);
    let all_modes = std::env::var("SENTINEL_BENCH_ALL_MODES").is_ok_and(|v| v == "1");
    // `cargo bench` passes `--bench`; `cargo test --benches` runs us without it: be quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let decisions = if quick { 2_000 } else { decisions };

    let server = RedisServer::spawn_with_args(["--save", "", "--appendonly", "no"]);
    let url = server.url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .unwrap();

    println!(
        "sentinel-storage-redis: {decisions} decisions from {tasks} tasks, one key, server clock; tokio {threads} worker thread(s); redis-server on 127.0.0.1:{}",
        server.port()
    );
    let default_store = store(&url, ConnectionMode::default(), 16);
    let mut gcra = 0.0;
    rt.block_on(async {
        default_store.load_scripts().await.unwrap();
        for algorithm in Algorithm::ALL {
            let key = format!("bench:rl-{}:{{g}}:=h", algorithm.as_str());
            let rate = run(&default_store, algorithm, &key, decisions, tasks).await;
            println!(
                "  {:<14} {:>10.0} decisions/s  (default: {:?})",
                format!("{algorithm:?}"),
                rate,
                ConnectionMode::default()
            );
            if algorithm == Algorithm::Gcra {
                gcra = rate;
            }
        }
        if all_modes {
            for (mode, pool) in [
                (ConnectionMode::Multiplexed(1), 16),
                (ConnectionMode::Multiplexed(4), 16),
                (ConnectionMode::Multiplexed(8), 16),
                (ConnectionMode::Pooled, tasks),
            ] {
                let s = store(&url, mode, pool);
                let rate = run(
                    &s,
                    Algorithm::Gcra,
                    "bench:rl-gcra:{m}:=h",
                    decisions,
                    tasks,
                )
                .await;
                println!("  Gcra           {rate:>10.0} decisions/s  ({mode:?}, pool {pool})");
            }
        }
    });

    let bench_key = "bench:rl-gcra:{rb}:=h";
    match redis_benchmark(server.port(), bench_key, decisions, tasks) {
        Ok(reference) => {
            println!(
                "  redis-benchmark -c {tasks} -n {decisions} EVALSHA <gcra> (non-pipelined): {reference:.0} requests/s"
            );
            println!(
                "  ratio sentinel GCRA / redis-benchmark: {:.2}",
                gcra / reference
            );
        }
        Err(why) => println!("  {why}"),
    }
}
