//! A served axum app behind the layer, a real HTTP client, and a counter of the requests that
//! reached the handlers.
#![allow(dead_code, unreachable_pub, reason = "each test file uses a part")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use sentinel_core::{ManualClock, PolicyRegistry, Sentinel, Store, Timestamp};
use sentinel_tower::RateLimitLayer;

pub const START: Timestamp = Timestamp::from_secs(1_700_000_000);

/// Counts the requests that reached a handler.
#[derive(Clone, Default)]
pub struct Hits(Arc<AtomicUsize>);

impl Hits {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// The routes every test serves: `/`, `/login` (GET and POST), `/users/{id}`.
pub fn routes(hits: &Hits) -> Router {
    let h = |hits: Hits| {
        move || {
            let hits = hits.clone();
            async move {
                hits.0.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }
    };
    Router::new()
        .route("/", get(h(hits.clone())))
        .route("/login", get(h(hits.clone())).post(h(hits.clone())))
        .route("/users/{id}", get(h(hits.clone())))
}

/// Serves `app` on a free loopback port with the peer address in the request extensions.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// Serves the routes behind `layer` (inside the router, so routes are templates).
pub async fn serve_layer(layer: RateLimitLayer) -> (SocketAddr, Hits) {
    let hits = Hits::default();
    let app = routes(&hits).route_layer(layer);
    (serve(app).await, hits)
}

pub fn engine(store: Arc<dyn Store>, clock: &ManualClock, policies: PolicyRegistry) -> Sentinel {
    Sentinel::builder()
        .store(store)
        .clock(clock.clone())
        .policies(policies)
        .build()
        .unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A response's status and a header as text ("" when absent).
pub fn header(res: &reqwest::Response, name: &str) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}
