//! [`Refusal`]: why a request does not reach the inner service, and the response it gets.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalKind {
    /// Over a rate limit: 429.
    Throttled,
    /// The client is on the blocklist: 403 by default
    /// ([`RateLimitLayerBuilder::blocked_status`](crate::RateLimitLayerBuilder::blocked_status)).
    Blocked,
    /// The store failed and the engine's fail mode is `Closed`: 503.
    Unavailable,
    /// The [`Key`](crate::Key) found no client in the request (e.g. no peer address because
    /// the server was not started with `into_make_service_with_connect_info`): 500.
    MissingKey,
}

/// A refused request, as the response closure
/// ([`RateLimitLayerBuilder::on_refused`](crate::RateLimitLayerBuilder::on_refused)) sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Refusal<'a> {
    /// Why.
    pub kind: RefusalKind,
    /// The status the layer answers with by default.
    pub status: StatusCode,
    /// When the same request could pass (the `Retry-After` header, rounded up to seconds);
    /// `None` when unknown or never.
    pub retry_after: Option<Duration>,
    /// The engine policy that refused (`_` for the default), when a rate limit did.
    pub policy: Option<&'a str>,
}

/// Builds the response to a refusal. Its body is converted into the inner service's body type.
pub(crate) type Responder = Arc<dyn Fn(&Refusal<'_>) -> Response<Bytes> + Send + Sync>;

impl Refusal<'_> {
    /// The layer's own response: `status` and a one-line plain-text reason.
    ///
    /// ```
    /// use sentinel_tower::{Refusal, RefusalKind};
    /// # fn show(r: &Refusal<'_>) {
    /// let res = r.default_response();
    /// assert_eq!(res.status(), r.status);
    /// # }
    /// ```
    pub fn default_response(&self) -> Response<Bytes> {
        let text: &'static str = match self.kind {
            RefusalKind::Throttled => "Too Many Requests\n",
            RefusalKind::Blocked => "Forbidden\n",
            RefusalKind::Unavailable => "Service Unavailable\n",
            RefusalKind::MissingKey => "rate limit: no client key in the request\n",
        };
        let mut res = Response::new(Bytes::from_static(text.as_bytes()));
        *res.status_mut() = self.status;
        res.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        res
    }
}
