//! [`RequestInfo`]: the parts of a request that keys and routes are read from.

use std::net::SocketAddr;

use http::{Extensions, HeaderMap, Method, Request, Uri};

/// A borrowed view of a request without its body (so keys work for any body type).
///
/// ```
/// use sentinel_tower::RequestInfo;
/// let req = http::Request::get("/items/7").header("x-tenant", "acme").body(())?;
/// let info = RequestInfo::new(&req);
/// assert_eq!(info.path(), "/items/7");
/// assert_eq!(info.headers()["x-tenant"], "acme");
/// assert_eq!(info.peer_addr(), None);
/// # Ok::<(), http::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestInfo<'a> {
    /// The view of `request`.
    pub fn new<B>(request: &'a Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }

    /// The method.
    pub const fn method(&self) -> &'a Method {
        self.method
    }

    /// The URI.
    pub const fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request path (no query).
    pub fn path(&self) -> &'a str {
        self.uri.path()
    }

    /// The headers.
    pub const fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The extensions.
    pub const fn extensions(&self) -> &'a Extensions {
        self.extensions
    }

    /// The TCP peer: axum's `ConnectInfo<SocketAddr>` (feature `axum`), else a `SocketAddr`
    /// extension (what a hyper or tonic server can insert).
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use sentinel_tower::RequestInfo;
    /// let mut req = http::Request::new(());
    /// req.extensions_mut().insert("192.0.2.1:5000".parse::<SocketAddr>()?);
    /// assert_eq!(RequestInfo::new(&req).peer_addr(), Some("192.0.2.1:5000".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        #[cfg(feature = "axum")]
        if let Some(info) = self
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
        {
            return Some(info.0);
        }
        self.extensions.get::<SocketAddr>().copied()
    }

    /// The route template axum matched (`/users/{id}`, feature `axum`; present when the layer
    /// runs inside the router, i.e. added with `Router::route_layer`), else the request path.
    pub fn route(&self) -> &'a str {
        #[cfg(feature = "axum")]
        if let Some(matched) = self.extensions.get::<axum::extract::MatchedPath>() {
            return matched.as_str();
        }
        self.uri.path()
    }
}
