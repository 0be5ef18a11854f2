//! `cargo bench -p telemon-alerts --bench alerts` (also `cargo xtask bench alerts`).
//!
//! In one run:
//! * `axum/no_layer` vs `axum/with_layer`: an axum route called in-process as a tower Service
//!   (no network), the path without an error. The difference is what the layer adds.
//! * `capture/report_error`: capturing one error on the request's task, as the axum layer does
//!   on a 5xx (occurrence id, alert with route/method/status/latency, `report` = `try_send`).
//!   Delivery is excluded: the worker does not run while the loop is measured.
//! * `axum/with_layer_500`: a route returning 500 through the layer, capture included.
//!
//! Targets: < 1 µs added per request without an error; < 20 µs to capture an error.

#![allow(clippy::expect_used, reason = "bench setup fails loudly")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use telemon_alerts::capture::axum::TelemonLayer;
use telemon_alerts::transport::MemoryTransport;
use telemon_alerts::{Alert, Destination, HttpContext, Telemon};
use tower::ServiceExt as _;

fn telemon(capacity: usize) -> Telemon {
    Telemon::builder()
        .transport(MemoryTransport::new())
        .destination(Destination::chat(-1001))
        .queue_capacity(capacity)
        .build()
        .expect("telemon")
}

fn request() -> Request<Body> {
    Request::get("/users/42?page=1")
        .header("user-agent", "bench")
        .body(Body::empty())
        .expect("request")
}

fn routes() -> Router {
    Router::new()
        .route("/users/{id}", get(|| async { "ok" }))
        .route(
            "/fail/{id}",
            get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
        )
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("axum");
    g.measurement_time(Duration::from_secs(4));
    let plain = routes();
    g.bench_function("no_layer", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(plain.clone().oneshot(request()).await) });
    });
    let t = rt.block_on(async { telemon(1024) });
    let layered = routes().layer(TelemonLayer::new(&t));
    g.bench_function("with_layer", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(layered.clone().oneshot(request()).await) });
    });
    g.bench_function("with_layer_500", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                // A fresh queue big enough for the batch: the worker cannot run during the
                // loop (current-thread runtime, no await point yields to it), so every
                // report is a real enqueue, never the cheaper "queue full" drop.
                let t = telemon(usize::try_from(iters).unwrap_or(1 << 20).clamp(1, 1 << 22));
                let app = routes().layer(TelemonLayer::new(&t));
                let start = Instant::now();
                for _ in 0..iters {
                    let req = Request::get("/fail/7").body(Body::empty()).expect("req");
                    black_box(app.clone().oneshot(req).await.ok());
                }
                let elapsed = start.elapsed();
                t.shutdown(Duration::ZERO).await;
                elapsed
            })
        });
    });
    g.finish();

    let mut g = c.benchmark_group("capture");
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("report_error", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = telemon(usize::try_from(iters).unwrap_or(1 << 20).clamp(1, 1 << 22));
                let start = Instant::now();
                for i in 0..iters {
                    let id = t.new_occurrence_id();
                    t.report(
                        Alert::critical("500 in GET /users/{id}")
                            .http(HttpContext {
                                method: "GET".to_owned(),
                                route: "/users/{id}".to_owned(),
                                route_is_template: true,
                                query: Some("page=1".to_owned()),
                                status: Some(500),
                                latency: Some(Duration::from_micros(i % 1000)),
                                headers: Vec::new(),
                            })
                            .message("upstream returned an error")
                            .occurrence_id(id),
                    );
                }
                let elapsed = start.elapsed();
                let m = t.metrics();
                assert_eq!(m.dropped.queue_full, 0, "every report was a real enqueue");
                t.shutdown(Duration::ZERO).await;
                elapsed
            })
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
