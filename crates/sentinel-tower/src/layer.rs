//! [`RateLimitLayer`] and its builder.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use sentinel_core::Sentinel;
use tower::Layer;

use crate::headers::HeaderSet;
use crate::refusal::Responder;
use crate::routes::Routes;
use crate::{Key, RateLimitService, Refusal, TowerConfigError, TrustedProxies};

/// The default IPv6 grouping: one /64 (what one host or one customer line gets).
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// What every service of one layer shares.
pub(crate) struct Config {
    pub(crate) sentinel: Sentinel,
    pub(crate) key: Key,
    pub(crate) proxies: TrustedProxies,
    pub(crate) ipv6_prefix: u8,
    pub(crate) routes: Routes,
    pub(crate) headers: HeaderSet,
    pub(crate) blocked_status: StatusCode,
    pub(crate) responder: Option<Responder>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("key", &self.key)
            .field("proxies", &self.proxies)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("routes", &self.routes)
            .field("headers", &self.headers)
            .field("blocked_status", &self.blocked_status)
            .field("on_refused", &self.responder.as_ref().map(|_| ".."))
            .finish_non_exhaustive()
    }
}

/// A tower [`Layer`] that runs every request through the [`Sentinel`] engine before the inner
/// service: allowed requests go on (with rate-limit headers on their response), refused ones
/// get 429 / 403 / 503 and never reach the inner service.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::{net::SocketAddr, sync::Arc};
/// use axum::{Router, routing::get};
/// use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope, Sentinel, SystemClock};
/// use sentinel_storage_memory::MemoryStore;
/// use sentinel_tower::RateLimitLayer;
///
/// let sentinel = Sentinel::builder()
///     .store(Arc::new(MemoryStore::new(SystemClock)))
///     .policies(PolicyRegistry::single(
///         Policy::new().rate_limit(Quota::per_minute(60)?, Algorithm::SlidingWindow, Scope::Custom),
///     )?)
///     .build()?;
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .layer(RateLimitLayer::builder(sentinel).build()?);
/// // Serve with the peer address, which the default key (the client IP) reads:
/// // axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
/// # let _ = app.into_make_service_with_connect_info::<SocketAddr>();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RateLimitLayer {
    config: Arc<Config>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("config", &self.config)
            .finish()
    }
}

impl RateLimitLayer {
    /// Starts a layer over `sentinel` (its policies, store, clock and fail mode).
    pub fn builder(sentinel: Sentinel) -> RateLimitLayerBuilder {
        RateLimitLayerBuilder {
            sentinel,
            key: Key::client_ip(),
            proxies: Vec::new(),
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
            routes: Vec::new(),
            ietf_headers: true,
            legacy_headers: false,
            blocked_status: StatusCode::FORBIDDEN,
            responder: None,
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimitService::new(inner, Arc::clone(&self.config))
    }
}

/// Builds a [`RateLimitLayer`]; every value is checked by [`RateLimitLayerBuilder::build`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use http::{HeaderName, Method, StatusCode};
/// use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope, Sentinel, SystemClock};
/// use sentinel_storage_memory::MemoryStore;
/// use sentinel_tower::{Key, RateLimitLayer};
///
/// let policies = PolicyRegistry::builder()
///     .default_policy(Policy::new().rate_limit(Quota::per_minute(120)?, Algorithm::SlidingWindow, Scope::Custom))
///     // Per client 5 a minute, and all clients together 1,000 a minute.
///     .policy("login", Policy::new()
///         .rate_limit(Quota::per_minute(5)?, Algorithm::SlidingWindow, Scope::Custom)
///         .rate_limit(Quota::per_minute(1_000)?, Algorithm::Gcra, Scope::Global))
///     .build()?;
/// let sentinel = Sentinel::builder()
///     .store(Arc::new(MemoryStore::new(SystemClock)))
///     .policies(policies)
///     .build()?;
/// let layer = RateLimitLayer::builder(sentinel)
///     .key(Key::header(HeaderName::from_static("x-api-key")).or(Key::client_ip()))
///     .trusted_proxies(["10.0.0.0/8"])
///     .ipv6_prefix(56)
///     .route(Method::POST, "/login", "login")
///     .legacy_headers(true)
///     .blocked_status(StatusCode::UNAUTHORIZED)
///     .build()?;
/// # let _ = layer; Ok(()) }
/// ```
#[must_use]
pub struct RateLimitLayerBuilder {
    sentinel: Sentinel,
    key: Key,
    proxies: Vec<String>,
    ipv6_prefix: u8,
    routes: Vec<(Option<Method>, String, String)>,
    ietf_headers: bool,
    legacy_headers: bool,
    blocked_status: StatusCode,
    responder: Option<Responder>,
}

impl fmt::Debug for RateLimitLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayerBuilder")
            .field("key", &self.key)
            .field("proxies", &self.proxies)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("routes", &self.routes)
            .field("ietf_headers", &self.ietf_headers)
            .field("legacy_headers", &self.legacy_headers)
            .field("blocked_status", &self.blocked_status)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayerBuilder {
    /// How the client is found (default [`Key::client_ip`]).
    pub fn key(mut self, key: Key) -> Self {
        self.key = key;
        self
    }

    /// The proxies (CIDR networks or addresses) whose `Forwarded` / `X-Forwarded-For` /
    /// `X-Real-IP` headers are believed (default: none). See the
    /// [trust model](crate::client_ip()#trust-model). Replaces any earlier list.
    pub fn trusted_proxies<I, S>(mut self, entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.proxies = entries.into_iter().map(Into::into).collect();
        self
    }

    /// IPv6 clients are grouped by their first `prefix` bits (default
    /// [`DEFAULT_IPV6_PREFIX`], /64), so one host cannot rotate addresses within its network.
    pub fn ipv6_prefix(mut self, prefix: u8) -> Self {
        self.ipv6_prefix = prefix;
        self
    }

    /// Requests with `method` on `route` use the engine policy named `policy`. `route` is the
    /// axum route template (`/users/{id}`) when the layer runs inside the router
    /// (`Router::route_layer`), else the request path.
    pub fn route(
        mut self,
        method: Method,
        route: impl Into<String>,
        policy: impl Into<String>,
    ) -> Self {
        self.routes
            .push((Some(method), route.into(), policy.into()));
        self
    }

    /// Requests with any method on `route` use the engine policy named `policy` (an entry for
    /// the request's method wins).
    pub fn route_any(mut self, route: impl Into<String>, policy: impl Into<String>) -> Self {
        self.routes.push((None, route.into(), policy.into()));
        self
    }

    /// Whether responses carry the IETF `RateLimit-Policy` and `RateLimit` fields (default
    /// on).
    pub const fn rate_limit_headers(mut self, on: bool) -> Self {
        self.ietf_headers = on;
        self
    }

    /// Whether responses carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
    /// `X-RateLimit-Reset` (seconds) (default off).
    pub const fn legacy_headers(mut self, on: bool) -> Self {
        self.legacy_headers = on;
        self
    }

    /// The status for clients on the blocklist (default 403).
    pub const fn blocked_status(mut self, status: StatusCode) -> Self {
        self.blocked_status = status;
        self
    }

    /// Builds the response to every refusal yourself (a JSON body, a redirect). The layer
    /// still adds `Retry-After` and the rate-limit headers unless your response has them.
    ///
    /// ```
    /// # fn layer(sentinel: sentinel_core::Sentinel) -> Result<(), sentinel_tower::TowerConfigError> {
    /// use bytes::Bytes;
    /// use sentinel_tower::{RateLimitLayer, RefusalKind};
    /// let layer = RateLimitLayer::builder(sentinel)
    ///     .on_refused(|refusal| {
    ///         let body = format!(r#"{{"error":"slow down","retry_after":{}}}"#,
    ///             refusal.retry_after.map_or(0, |d| d.as_secs()));
    ///         http::Response::builder()
    ///             .status(refusal.status)
    ///             .header("content-type", "application/json")
    ///             .body(Bytes::from(body))
    ///             .unwrap_or_else(|_| refusal.default_response())
    ///     })
    ///     .build()?;
    /// # let _ = layer; Ok(()) }
    /// ```
    pub fn on_refused<F>(mut self, f: F) -> Self
    where
        F: Fn(&Refusal<'_>) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.responder = Some(Arc::new(f));
        self
    }

    /// Checks everything and builds the layer.
    ///
    /// # Errors
    /// A [`TowerConfigError`] naming what to change: a proxy entry that is not a network or
    /// address, an IPv6 prefix outside 1–128, a route that is not a path, is given twice or
    /// names a policy the engine does not have, a blocked status that is not 4xx/5xx.
    pub fn build(self) -> Result<RateLimitLayer, TowerConfigError> {
        let proxies = TrustedProxies::new(&self.proxies)?;
        if !(1..=128).contains(&self.ipv6_prefix) {
            return Err(TowerConfigError::Ipv6Prefix(self.ipv6_prefix));
        }
        if !(self.blocked_status.is_client_error() || self.blocked_status.is_server_error()) {
            return Err(TowerConfigError::BlockedStatus(
                self.blocked_status.as_u16(),
            ));
        }
        let registry = self.sentinel.policies();
        let mut routes = Routes::default();
        for (method, route, policy) in &self.routes {
            if !route.starts_with('/') {
                return Err(TowerConfigError::InvalidRoute(route.clone()));
            }
            if !registry.named().any(|(name, _)| name == policy) {
                return Err(TowerConfigError::UnknownPolicy {
                    route: route.clone(),
                    policy: policy.clone(),
                });
            }
            if !routes.insert(method.clone(), route, policy) {
                return Err(TowerConfigError::DuplicateRoute {
                    route: route.clone(),
                    method: method
                        .as_ref()
                        .map_or_else(|| "any method".to_owned(), ToString::to_string),
                });
            }
        }
        let headers = HeaderSet::new(registry, self.ietf_headers, self.legacy_headers);
        Ok(RateLimitLayer {
            config: Arc::new(Config {
                sentinel: self.sentinel,
                key: self.key,
                proxies,
                ipv6_prefix: self.ipv6_prefix,
                routes,
                headers,
                blocked_status: self.blocked_status,
                responder: self.responder,
            }),
        })
    }
}
