//! The HTTP rate-limit layer next to its best-known peer, in one process and one run
//! (`cargo xtask bench http`):
//!
//! one axum route (`GET /`, a handler returning a static string), each request carrying the
//! peer address axum's `ConnectInfo` would (1,000 client addresses in turn, every request
//! allowed), driven in-process through the router (`Service::call`, no sockets), so the cost
//! of each layer dominates:
//!
//! 1. no layer (the baseline),
//! 2. tower_governor's `GovernorLayer` (GCRA, keyed by peer IP, in-process state),
//! 3. sentinel's `RateLimitLayer` on the memory store, sliding window,
//! 4. the same with GCRA,
//! 5. tower_governor with its `x-ratelimit-*` headers (sentinel-tower's IETF headers are on
//!    by default in 3 and 4),
//! 6. sentinel-tower, GCRA, headers off (like 2).
//!
//! Rounds of the four are interleaved and the median of the rounds is reported, so machine
//! noise hits all of them alike. The overhead of a layer is its time per request minus the
//! baseline's; the last lines compare sentinel-tower's overhead with tower_governor's, both
//! with headers (3, 4 against 5) and both without (6 against 2); the target for GCRA is ≤ 1.5×.
//!
//! Each request is driven by a no-op-waker `block_on`: nothing on these paths waits.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "a benchmark binary reports on stdout and fails loudly"
)]

use std::future::Future;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::routing::get;
use sentinel::memory::MemoryStore;
use sentinel::tower::RateLimitLayer;
use sentinel::{Algorithm, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Timestamp};
use tower::Service as _;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;

const CLIENTS: usize = 1_000;
const REQUESTS_PER_ROUND: usize = 20_000;
const ROUNDS: usize = 31;

fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn route() -> Router {
    Router::new().route("/", get(|| async { "ok" }))
}

fn sentinel_layer(algorithm: Algorithm, headers: bool) -> RateLimitLayer {
    RateLimitLayer::builder(sentinel_engine(algorithm))
        .rate_limit_headers(headers)
        .build()
        .unwrap()
}

fn sentinel_engine(algorithm: Algorithm) -> Sentinel {
    // A fixed clock: every request is granted and the sliding log stays one merged entry.
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let limit = match algorithm {
        Algorithm::SlidingWindow => 10_000,
        _ => 1_000_000,
    };
    Sentinel::builder()
        .store(Arc::new(MemoryStore::new(clock.clone())))
        .clock(clock)
        .policies(
            PolicyRegistry::single(Policy::new().rate_limit(
                Quota::new(limit, Duration::from_secs(1)).unwrap(),
                algorithm,
                Scope::Custom,
            ))
            .unwrap(),
        )
        .build()
        .unwrap()
}

fn governor_router(headers: bool) -> Router {
    let mut builder = GovernorConfigBuilder::default();
    builder.per_nanosecond(1).burst_size(1_000_000);
    if headers {
        // `x-ratelimit-limit` / `-remaining` / `-after` on every response.
        route().layer(GovernorLayer::new(builder.use_headers().finish().unwrap()))
    } else {
        route().layer(GovernorLayer::new(builder.finish().unwrap()))
    }
}

fn peers() -> Vec<SocketAddr> {
    (0..CLIENTS)
        .map(|i| {
            let [_, _, a, b] = u32::try_from(i).unwrap().to_be_bytes();
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 1, a, b)), 40_000)
        })
        .collect()
}

/// Nanoseconds per request through `router`.
fn run(router: &mut Router, peers: &[SocketAddr], n: usize) -> f64 {
    let start = Instant::now();
    for i in 0..n {
        let mut req = Request::get("/").body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(peers[i % peers.len()]));
        let res = block_on(router.call(req)).unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        black_box(res);
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is ignored (no criterion here: the
    // figures are differences of interleaved rounds).
    let peers = peers();
    let mut variants: Vec<(&str, Router)> = vec![
        ("no layer", route()),
        ("tower_governor (GCRA, peer IP)", governor_router(false)),
        (
            "sentinel-tower, memory, sliding window",
            route().layer(sentinel_layer(Algorithm::SlidingWindow, true)),
        ),
        (
            "sentinel-tower, memory, GCRA",
            route().layer(sentinel_layer(Algorithm::Gcra, true)),
        ),
        ("tower_governor, with its headers", governor_router(true)),
        (
            "sentinel-tower, GCRA, no headers",
            route().layer(sentinel_layer(Algorithm::Gcra, false)),
        ),
    ];
    // Warm up: every key exists, caches are hot.
    for (_, router) in &mut variants {
        run(router, &peers, 2 * CLIENTS);
    }
    let mut samples = vec![Vec::new(); variants.len()];
    for _ in 0..ROUNDS {
        for (i, (_, router)) in variants.iter_mut().enumerate() {
            samples[i].push(run(router, &peers, REQUESTS_PER_ROUND));
        }
    }
    let medians: Vec<f64> = samples.into_iter().map(median).collect();
    let base = medians[0];
    println!(
        "http: one axum route, in-process, {CLIENTS} clients, median of {ROUNDS} rounds of {REQUESTS_PER_ROUND} requests"
    );
    println!("{:<42} {:>12} {:>12}", "variant", "per request", "overhead");
    for ((name, _), m) in variants.iter().zip(&medians) {
        println!("{name:<42} {:>9.0} ns {:>9.0} ns", m, m - base);
    }
    // For reading the overhead: the engine's own check with the same event shape, no HTTP.
    let engine = sentinel_engine(Algorithm::Gcra);
    let events: Vec<sentinel::Event> = peers
        .iter()
        .map(|p| {
            let key = sentinel::tower::ClientKey::ip(p.ip(), 64);
            sentinel::Event::new()
                .with_user(key.id())
                .with_custom_key(key.into_string())
        })
        .collect();
    let start = Instant::now();
    for i in 0..REQUESTS_PER_ROUND {
        black_box(block_on(engine.check(&events[i % events.len()])).unwrap());
    }
    let check = start.elapsed().as_nanos() as f64 / REQUESTS_PER_ROUND as f64;
    println!(
        "{:<42} {check:>9.0} ns",
        "(Sentinel::check alone, GCRA, no HTTP)"
    );
    let over = |i: usize| medians[i] - base;
    println!(
        "overhead vs tower_governor, both with headers: sliding window {:.2}x, GCRA {:.2}x (target for GCRA <= 1.5x)",
        over(2) / over(4),
        over(3) / over(4)
    );
    println!(
        "overhead vs tower_governor, both without headers: GCRA {:.2}x",
        over(5) / over(1)
    );
    println!(
        "the engine's check alone vs tower_governor's whole overhead (no headers): {:.2}x",
        check / over(1)
    );
}
