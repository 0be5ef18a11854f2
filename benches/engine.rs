//! The engine against its store and its peer, in one process and one run
//! (`cargo xtask bench engine`):
//!
//! * memory, one thread, fixed clock, 1,000 users, every check granted:
//!   - the raw store step (`MemoryStore::hit_sync`, GCRA),
//!   - governor's keyed check (DashMap state, the same quota),
//!   - `Sentinel::check` with (a) a GCRA rate limit (the blocklist is always checked),
//!     (b) the rate limit + debounce (new content each time) + blocklist;
//! * Redis (a local `redis-server`, 64 concurrent tasks, server clock): the single GCRA
//!   script (`RateLimitStore::hit`) next to the full check (b) — one `FCALL` of the plan
//!   function on Redis 7+ (`EVALSHA` of the plan script before) — in decisions per second,
//!   with p50/p99 latency.
//!
//! After criterion's figures, the memory workloads run once more interleaved in short slices
//! (so a busy machine slows them alike) and are printed as ratios to the raw step.
//!
//! `ENGINE_PROFILE=a`, `b` or `raw` runs one memory workload alone (for `perf record`, or
//! `perf stat` cycles per check on a machine too busy for the interleaved ratios).
//!
//! Memory checks are driven by a no-op-waker `block_on`: the memory store never waits, so
//! the figure is the engine's own cost, not an async runtime's.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "a benchmark binary reports on stdout and fails loudly"
)]

use std::future::Future;
use std::hint::black_box;
use std::num::NonZeroU32;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::Criterion;
use governor::clock::FakeRelativeClock;
use governor::{Quota as GQuota, RateLimiter};
use sentinel_core::{
    Algorithm, Event, Fingerprint, ManualClock, Policy, PolicyRegistry, Quota, RateLimitStore,
    Scope, Sentinel, Timestamp,
};
use sentinel_storage_memory::MemoryStore;
use sentinel_storage_redis::RedisConfig;
use sentinel_testkit::redis_server::RedisServer;

const USERS: usize = 1_000;
const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);
const RATE: u32 = 1_000_000;

fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn quota() -> Quota {
    Quota::new(RATE, Duration::from_secs(1)).unwrap()
}

fn rate_limit_only() -> Policy {
    Policy::new().rate_limit(quota(), Algorithm::Gcra, Scope::User)
}

/// The rate limit + debounce workload. The clock moves 2 ms each time the 1,000 users have
/// taken a turn (so each debounce window, 1 ms, has ended when its user comes round again);
/// the limit's emission interval (4 ms) stays ahead of that, so the user's rate-limit state
/// stays live, as an active user's does: what the check adds over (a) is the debounce step (a
/// fresh debounce key each time, an expired one swept).
fn with_debounce() -> Policy {
    Policy::new()
        .rate_limit(
            Quota::new(1_000_000, Duration::from_secs(4_000)).unwrap(),
            Algorithm::Gcra,
            Scope::User,
        )
        .debounce(Duration::from_millis(1), Scope::User)
}

/// Fingerprints of distinct contents, computed before timing (hashing a message's text is the
/// caller's work when it builds the event, not the check's).
fn fingerprints() -> Vec<Fingerprint> {
    (0..4_096u64)
        .map(|n| Fingerprint::of(n.to_le_bytes()))
        .collect()
}

fn engine(policy: Policy, clock: &ManualClock) -> Sentinel {
    Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock.clone())
        .policies(PolicyRegistry::single(policy).unwrap())
        .build()
        .unwrap()
}

fn memory(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine/memory");
    let keys = raw_keys();
    let store = MemoryStore::new(ManualClock::new(NOW));
    let q = quota();
    let mut i = 0;
    g.bench_function("raw store step (GCRA)", |b| {
        b.iter(|| {
            i = (i + 1) % USERS;
            black_box(
                store
                    .hit_sync(&keys[i], Algorithm::Gcra, &q, 1, NOW)
                    .unwrap(),
            )
        });
    });

    let governor = RateLimiter::dashmap_with_clock(
        GQuota::per_second(NonZeroU32::new(RATE).unwrap()),
        FakeRelativeClock::default(),
    );
    let users: Vec<u64> = (0..USERS as u64).map(|u| 100_000_000 + u).collect();
    g.bench_function("governor keyed check", |b| {
        b.iter(|| {
            i = (i + 1) % USERS;
            black_box(governor.check_key(&users[i]).is_ok())
        });
    });

    let clock = ManualClock::new(NOW);
    let a = engine(rate_limit_only(), &clock);
    let events: Vec<Event> = users
        .iter()
        .map(|&u| Event::new().with_user(u as i64).with_chat(u as i64))
        .collect();
    g.bench_function("Sentinel::check (a) rate limit + blocklist", |b| {
        b.iter(|| {
            i = (i + 1) % USERS;
            black_box(block_on(a.check(&events[i])).unwrap())
        });
    });

    // New content each time: every check is a first sighting (a debounce write) and granted.
    let clock = ManualClock::new(NOW);
    let bb = engine(with_debounce(), &clock);
    let mut n = 0usize;
    let fps = fingerprints();
    let mut fresh: Vec<Event> = events.clone();
    g.bench_function(
        "Sentinel::check (b) rate limit + debounce + blocklist",
        |b| {
            b.iter(|| {
                i = (i + 1) % USERS;
                n += 1;
                if i == 0 {
                    // Each user's window (1 ms) has ended before it comes round again.
                    clock.advance(Duration::from_millis(2));
                }
                let e = &mut fresh[i];
                *e = e.clone().with_fingerprint(fps[n % fps.len()]);
                black_box(block_on(bb.check(e)).unwrap())
            });
        },
    );
    g.finish();
}

/// `tasks` tasks each running `op` until `for_` has passed: (operations per second, p50, p99).
async fn drive<F, Fut>(tasks: usize, for_: Duration, op: F) -> (f64, Duration, Duration)
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let op = Arc::clone(&op);
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0u64;
            while start.elapsed() < for_ {
                let t0 = Instant::now();
                op(t, n).await;
                lat.push(t0.elapsed());
                n += 1;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    (all.len() as f64 / secs, pct(0.50), pct(0.99))
}

fn redis_report() {
    let server = RedisServer::spawn();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = RedisConfig::new(server.url()).build().unwrap();
        store.load_scripts().await.unwrap();
        let sentinel = Sentinel::builder()
            .store(Arc::new(store.clone()))
            .policies(PolicyRegistry::single(with_debounce()).unwrap())
            .deny_cache_ttl(Duration::ZERO)
            .build()
            .unwrap();
        let run = Duration::from_secs(3);
        let q = quota();
        let s = store.clone();
        let (script, s50, s99) = drive(64, run, move |t, n| {
            let s = s.clone();
            async move {
                let key = format!("bench:rl-gcra:{{u{t}}}:{}", n % 16);
                black_box(s.hit(&key, Algorithm::Gcra, &q, 1, NOW).await.unwrap());
            }
        })
        .await;
        let (check, c50, c99) = drive(64, run, move |t, n| {
            let sentinel = sentinel.clone();
            async move {
                let event = Event::new()
                    .with_user(t as i64)
                    .with_chat(t as i64)
                    .with_content(n.to_le_bytes());
                black_box(sentinel.check(&event).await.unwrap());
            }
        })
        .await;
        println!(
            "redis, 64 concurrent: single GCRA script {script:.0}/s (p50 {s50:?}, p99 {s99:?}); \
             full check (rate limit + debounce + blocklist, one FCALL) {check:.0}/s \
             (p50 {c50:?}, p99 {c99:?}); ratio {:.2}",
            check / script
        );
    });
}

/// The memory figures again as ratios to the raw store step, from one interleaved loop: the
/// four workloads take turns in short slices, so a machine busy with other work slows them
/// alike; each ratio is taken within a round and the median of the rounds is reported, so the
/// ratios hold even when the absolute times do not.
fn memory_ratios() {
    const SLICE: usize = 1_000;
    const ROUNDS: usize = 601;
    let keys = raw_keys();
    let store = MemoryStore::new(ManualClock::new(NOW));
    let q = quota();
    let governor = RateLimiter::dashmap_with_clock(
        GQuota::per_second(NonZeroU32::new(RATE).unwrap()),
        FakeRelativeClock::default(),
    );
    let users: Vec<u64> = (0..USERS as u64).map(|u| 100_000_000 + u).collect();
    let clock_a = ManualClock::new(NOW);
    let a = engine(rate_limit_only(), &clock_a);
    let events: Vec<Event> = users
        .iter()
        .map(|&u| Event::new().with_user(u as i64).with_chat(u as i64))
        .collect();
    let clock_b = ManualClock::new(NOW);
    let bb = engine(with_debounce(), &clock_b);
    let mut fresh = events.clone();
    let fps = fingerprints();
    let mut n = 0usize;
    // Per round, each workload's time per operation; the figures are the medians over the
    // rounds (a burst of other work on the machine spoils a few rounds, not the median).
    let mut per_round: [Vec<f64>; 4] = Default::default();
    let mut i = 0;
    for _ in 0..ROUNDS {
        let mut times = [Duration::ZERO; 4];
        let t = Instant::now();
        for _ in 0..SLICE {
            i = (i + 1) % USERS;
            black_box(
                store
                    .hit_sync(&keys[i], Algorithm::Gcra, &q, 1, NOW)
                    .unwrap(),
            );
        }
        times[0] = t.elapsed();
        let t = Instant::now();
        for _ in 0..SLICE {
            i = (i + 1) % USERS;
            black_box(governor.check_key(&users[i]).is_ok());
        }
        times[1] = t.elapsed();
        let t = Instant::now();
        for _ in 0..SLICE {
            i = (i + 1) % USERS;
            black_box(block_on(a.check(&events[i])).unwrap());
        }
        times[2] = t.elapsed();
        let t = Instant::now();
        for _ in 0..SLICE {
            i = (i + 1) % USERS;
            n += 1;
            if i == 0 {
                clock_b.advance(Duration::from_millis(2));
            }
            let e = &mut fresh[i];
            *e = e.clone().with_fingerprint(fps[n % fps.len()]);
            black_box(block_on(bb.check(e)).unwrap());
        }
        times[3] = t.elapsed();
        for (all, t) in per_round.iter_mut().zip(times) {
            all.push(t.as_secs_f64() * 1e9 / SLICE as f64);
        }
    }
    let raw_of_round = per_round[0].clone();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Ratios are taken round by round (both sides of a ratio ran within the same few
    // milliseconds), then their median.
    let ratio = |w: usize| {
        median(
            per_round[w]
                .iter()
                .zip(&raw_of_round)
                .map(|(x, raw)| x / raw)
                .collect(),
        )
    };
    let ns = |w: usize| median(per_round[w].clone());
    println!(
        "memory, interleaved (medians of {ROUNDS} rounds): raw store step {:.1} ns; governor keyed \
         check {:.1} ns ({:.2}x); Sentinel::check (a) rate limit + blocklist {:.1} ns ({:.2}x the \
         raw step); (b) + debounce {:.1} ns ({:.2}x)",
        ns(0),
        ns(1),
        ratio(1),
        ns(2),
        ratio(2),
        ns(3),
        ratio(3),
    );
}

/// `ENGINE_PROFILE=a` (or `b`): runs workload (a) or (b) alone for 4 s and prints its time
/// per check, for a profiler (`perf record`) to see the engine and nothing else.
fn profile(which: &str) {
    if which == "raw" {
        return profile_raw();
    }
    let clock = ManualClock::new(NOW);
    let debounce = which == "b";
    let e = engine(
        if debounce {
            with_debounce()
        } else {
            rate_limit_only()
        },
        &clock,
    );
    let mut events: Vec<Event> = (0..USERS as i64)
        .map(|u| {
            Event::new()
                .with_user(100_000_000 + u)
                .with_chat(100_000_000 + u)
        })
        .collect();
    let fps = fingerprints();
    for_four_seconds(which, |i, n| {
        if debounce {
            if i == 0 {
                clock.advance(Duration::from_millis(2));
            }
            let ev = &mut events[i];
            *ev = ev.clone().with_fingerprint(fps[n % fps.len()]);
        }
        black_box(block_on(e.check(&events[i])).unwrap());
    });
}

/// `ENGINE_PROFILE=raw`: the raw store step alone, as [`profile`] runs a workload.
fn profile_raw() {
    let keys = raw_keys();
    let store = MemoryStore::new(ManualClock::new(NOW));
    let q = quota();
    for_four_seconds("raw", |i, _| {
        black_box(
            store
                .hit_sync(&keys[i], Algorithm::Gcra, &q, 1, NOW)
                .unwrap(),
        );
    });
}

/// Runs `op(user index, operation count)` over the users in turn for 4 s and prints the
/// time per operation.
fn for_four_seconds(which: &str, mut op: impl FnMut(usize, usize)) {
    let start = Instant::now();
    let (mut i, mut n) = (0, 0usize);
    while start.elapsed() < Duration::from_secs(4) {
        for _ in 0..10_000 {
            i = (i + 1) % USERS;
            n += 1;
            op(i, n);
        }
    }
    println!(
        "({which}) {:.1} ns per operation ({n} operations)",
        start.elapsed().as_secs_f64() * 1e9 / n as f64
    );
}

/// The raw step's keys: one GCRA key per user, as the engine writes them.
fn raw_keys() -> Vec<String> {
    (0..USERS)
        .map(|u| format!("sentinel:rl-gcra:{{u{}}}:=_", 100_000_000 + u))
        .collect()
}

fn main() {
    if let Ok(which) = std::env::var("ENGINE_PROFILE") {
        profile(&which);
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    memory(&mut c);
    // Only when benchmarking (`cargo bench`), not when `cargo test --benches` smoke-runs us.
    if std::env::args().any(|a| a == "--bench") {
        memory_ratios();
        redis_report();
    }
    c.final_summary();
}
