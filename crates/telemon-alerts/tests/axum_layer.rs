//! The axum layer, in-process (the Router called as a tower Service), delivering to the
//! in-memory transport. The same scenario against the fake Bot API is in `telegram_e2e.rs`.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use tower::ServiceExt as _;

use sentinel_core::{ManualClock, Timestamp};
use telemon_alerts::capture::axum::{OCCURRENCE_HEADER, TelemonLayer};
use telemon_alerts::transport::MemoryTransport;
use telemon_alerts::{DeliveryError, Destination, Telemon};

const SECRETS: &[&str] = &[
    "bearer-secret-AAA111",
    "cookie-secret-BBB222",
    "query-token-CCC333",
    "query-password-DDD444",
    "panic-secret-EEE555",
];

async fn panicking(axum::extract::Path(id): axum::extract::Path<u64>) -> &'static str {
    panic!("cannot load user {id}: password=panic-secret-EEE555 rejected");
}

fn app(telemon: &Telemon) -> Router {
    Router::new()
        .route("/users/{id}", get(panicking))
        .route("/ok", get(|| async { "fine" }))
        .route(
            "/fail",
            get(|| async { (StatusCode::BAD_GATEWAY, "upstream down") }),
        )
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .layer(TelemonLayer::new(telemon).capture_headers(true))
}

fn telemon(sink: &MemoryTransport) -> Telemon {
    Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(-10042))
        .service("users-api")
        .build()
        .unwrap()
}

fn secret_request() -> Request<Body> {
    Request::get("/users/42?token=query-token-CCC333&password=query-password-DDD444&page=1")
        .header("Authorization", "Bearer bearer-secret-AAA111")
        .header("Cookie", "session=cookie-secret-BBB222; theme=dark")
        .header("User-Agent", "curl/8.0")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn panicking_route_returns_500_with_occurrence_id_and_one_scrubbed_alert() {
    telemon_alerts::capture::panic_hook::install();
    let sink = MemoryTransport::new();
    let t = telemon(&sink);
    let app = app(&t);

    let res = app.clone().oneshot(secret_request()).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = res.headers()[OCCURRENCE_HEADER]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));

    // The server keeps serving.
    let ok = app
        .clone()
        .oneshot(Request::get("/ok").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 1, "exactly one alert");
    let text = &sent[0].plain_fallback;
    assert!(text.contains("panic in GET /users/{id}"), "{text}");
    assert!(
        text.contains(&id),
        "the alert names the occurrence id: {text}"
    );
    assert!(text.contains("page=1"), "harmless query kept: {text}");
    assert!(text.contains("user-agent: curl/8.0"), "{text}");
    assert!(text.contains("Backtrace"), "{text}");
    assert!(
        text.contains("axum_layer::panicking"),
        "the handler's frame: {text}"
    );
    assert!(
        !text.contains("std::panicking"),
        "runtime frames dropped: {text}"
    );
    for secret in SECRETS {
        for m in &sent {
            assert!(
                !m.text.contains(secret) && !m.plain_fallback.contains(secret),
                "{secret} leaked: {}",
                m.text
            );
        }
    }
}

#[tokio::test]
async fn returned_5xx_is_reported_4xx_is_not() {
    let sink = MemoryTransport::new();
    let t = telemon(&sink);
    let app = app(&t);
    let res = app
        .clone()
        .oneshot(Request::get("/fail").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(res.headers().contains_key(OCCURRENCE_HEADER));
    let res = app
        .clone()
        .oneshot(Request::get("/missing").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!res.headers().contains_key(OCCURRENCE_HEADER));
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].plain_fallback.contains("502 in GET /fail"));
}

/// Paused tokio time (the layer measures latency on tokio's clock) and a manual clock for
/// the pipeline (digest windows do not roll over while the test runs): deterministic.
#[tokio::test(start_paused = true)]
async fn configurable_status_set_and_slow_requests() {
    let sink = MemoryTransport::new();
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let t = Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(1))
        .clock(clock.clone())
        .digest_window(Duration::from_secs(60), Duration::from_millis(1))
        .build()
        .unwrap();
    let app = Router::new()
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "late"
            }),
        )
        .route(
            "/just-in-time",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(1000)).await;
                "fine"
            }),
        )
        .route("/ok", get(|| async { "fine" }))
        .layer(
            TelemonLayer::new(&t)
                .report_statuses([404])
                .slow_threshold(Some(Duration::from_secs(1))),
        );
    let res = app
        .clone()
        .oneshot(Request::get("/missing").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(res.headers().contains_key(OCCURRENCE_HEADER));
    for path in ["/slow", "/just-in-time", "/ok"] {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(!res.headers().contains_key(OCCURRENCE_HEADER));
    }
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(
        sent.len(),
        1,
        "404 reported at once; the slow request waits for its digest"
    );
    assert!(sent[0].plain_fallback.contains("404 in GET /missing"));
    // The slow request lands in the Warning digest at shutdown; one exactly at the threshold
    // is not slow.
    t.shutdown(Duration::from_secs(5)).await;
    let digests: Vec<_> = sink
        .sent()
        .into_iter()
        .filter(|m| m.kind == "digest")
        .collect();
    assert_eq!(digests.len(), 1);
    let digest = &digests[0].plain_fallback;
    assert!(digest.contains("GET /slow — 1× · max 1.5 s"), "{digest}");
    assert!(!digest.contains("/just-in-time"), "{digest}");
    assert!(!digest.contains("GET /ok"), "{digest}");
}

#[tokio::test]
async fn service_keeps_answering_while_telegram_is_down() {
    let sink = MemoryTransport::new();
    let t = Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(1))
        .queue_capacity(64)
        .build()
        .unwrap();
    let app = app(&t);
    sink.down(DeliveryError::Transient("connection refused".into()));
    for i in 0..200 {
        let uri = if i % 10 == 0 { "/users/7" } else { "/ok" };
        let res = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let expected = if i % 10 == 0 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::OK
        };
        assert_eq!(res.status(), expected);
    }
    assert!(sink.sent().is_empty());
    sink.up();
    assert!(t.flush(Duration::from_secs(30)).await);
    // 20 panics of one route = one incident: one alert, the rest counted.
    assert_eq!(sink.sent().len(), 1);
    assert_eq!(t.metrics().suppressed, 19);
    assert_eq!(t.metrics().dropped.total(), 0);
}
