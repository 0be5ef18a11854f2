//! HTTP rate limiting for axum and any tower stack, on the sentinel engine: one
//! `.layer(...)`, memory or Redis (limits shared by every replica), exact sliding windows or
//! GCRA, IETF `RateLimit` headers, blocklist and fail mode.
//!
//! [`RateLimitLayer`] runs each request through [`Sentinel::check`](sentinel_core::Sentinel::check)
//! before the inner service:
//!
//! * **who**: a [`Key`]: the client IP (behind [`TrustedProxies`] only; IPv6 grouped by /64),
//!   a hashed API-key header, the signed-in user, the route, or your own function;
//! * **which policy**: per route and method ([`RateLimitLayerBuilder::route`]), else the
//!   engine's default policy; a policy may hold several limits (per client with
//!   [`Scope::Custom`](sentinel_core::Scope::Custom), for everyone with
//!   [`Scope::Global`](sentinel_core::Scope::Global)) and a request passes only when all grant it;
//! * **answers**: over a limit → 429 with `Retry-After`; blocklisted → 403; store down with
//!   [`FailMode::Closed`](sentinel_core::FailMode::Closed) → 503; every response carries
//!   `RateLimit-Policy` and `RateLimit` (and optionally `X-RateLimit-*`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::{net::SocketAddr, sync::Arc};
//! use axum::{Router, body::Body, http::Request, routing::{get, post}};
//! use sentinel_core::{Algorithm, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Timestamp};
//! use sentinel_storage_memory::MemoryStore;
//! use sentinel_tower::RateLimitLayer;
//! use tower::ServiceExt as _;
//!
//! let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
//! let sentinel = Sentinel::builder()
//!     .store(Arc::new(MemoryStore::new(clock.clone())))
//!     .clock(clock)
//!     .policies(PolicyRegistry::builder()
//!         .default_policy(Policy::new().rate_limit(Quota::per_minute(100)?, Algorithm::SlidingWindow, Scope::Custom))
//!         .policy("login", Policy::new().rate_limit(Quota::per_minute(2)?, Algorithm::SlidingWindow, Scope::Custom))
//!         .build()?)
//!     .build()?;
//! let app = Router::new()
//!     .route("/", get(|| async { "home" }))
//!     .route("/login", post(|| async { "welcome" }))
//!     .route_layer(RateLimitLayer::builder(sentinel).route(http::Method::POST, "/login", "login").build()?);
//!
//! let login = || {
//!     let mut req = Request::post("/login").body(Body::empty()).unwrap();
//!     // What `into_make_service_with_connect_info::<SocketAddr>()` inserts when served.
//!     req.extensions_mut().insert(axum::extract::ConnectInfo("192.0.2.7:4000".parse::<SocketAddr>().unwrap()));
//!     req
//! };
//! let ok = app.clone().oneshot(login()).await?;
//! assert_eq!(ok.headers()["ratelimit"], "\"login\";r=1;t=60");
//! app.clone().oneshot(login()).await?;
//! let refused = app.clone().oneshot(login()).await?;
//! assert_eq!(refused.status(), 429);
//! assert_eq!(refused.headers()["retry-after"], "60");
//! # Ok(()) }
//! ```
//!
//! # Proxies
//! See [`client_ip()`](client_ip()#trust-model) for which forwarding headers are believed, and when.
//!
//! # Blocking a client
//! Each client's [`ClientKey::subject`] is its blocklist subject: `sentinel.block(&key.subject(), …)`
//! answers its requests with 403 (and the engine's escalation blocks a client that is throttled
//! too often).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client_ip;
mod client_key;
mod decimal;
mod error;
mod headers;
mod key;
mod layer;
mod refusal;
mod request_info;
mod routes;
mod service;

pub use client_ip::{TrustedProxies, client_ip};
pub use client_key::ClientKey;
pub use error::TowerConfigError;
pub use key::Key;
pub use layer::{DEFAULT_IPV6_PREFIX, RateLimitLayer, RateLimitLayerBuilder};
pub use refusal::{Refusal, RefusalKind};
pub use request_info::RequestInfo;
pub use service::{RateLimitService, ResponseFuture};
