//! The tower [`Layer`] for axum: catches panics in handlers (the client gets a 500 with an
//! `x-occurrence-id` header, the server keeps serving), reports returned statuses of a
//! configurable set (every 5xx by default), records the route template from axum's
//! [`MatchedPath`], the method and the latency, and reports slow requests as Warnings.
//! A handler that knows *why* it answers 5xx puts a [`HandlerError`] in the response's
//! extensions: the alert then carries that error and its cause chain.
//!
//! The path without an error does no formatting and no allocation of its own: it reads the
//! clock twice, clones the method, URI and matched path (reference-counted), and checks the
//! status against a bit set. Apply it with `Router::layer` (or `route_layer`) so the route
//! template is known; outside the router, the raw path is used and normalised for grouping.
//!
//! ```
//! use axum::{Router, routing::get};
//! use telemon_alerts::{Telemon, capture::axum::TelemonLayer};
//!
//! let telemon = Telemon::disabled();
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "ok" }))
//!     .layer(TelemonLayer::new(&telemon));
//! ```

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::MatchedPath;
use futures_util::FutureExt as _;
use futures_util::future::CatchUnwind;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::alert::{Alert, BoxError, HttpContext};
use crate::capture::panic_message;
use crate::telemon::{CaptureSettings, Telemon};

/// Response header carrying the occurrence id of a reported failure.
pub const OCCURRENCE_HEADER: &str = "x-occurrence-id";

/// The error behind a response, for the alert: put it in the response's extensions
/// (`response.extensions_mut().insert(HandlerError::new(e))`), typically in the
/// `IntoResponse` of the application's error type. Only read when the status is reported.
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use http::StatusCode;
/// use telemon_alerts::capture::axum::HandlerError;
///
/// #[derive(Debug)]
/// struct AppError(std::io::Error);
///
/// impl IntoResponse for AppError {
///     fn into_response(self) -> Response {
///         let mut res = (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
///         res.extensions_mut().insert(HandlerError::new(self.0));
///         res
///     }
/// }
/// # let _ = AppError(std::io::Error::other("x")).into_response();
/// ```
#[derive(Clone)]
pub struct HandlerError {
    error: Arc<dyn std::error::Error + Send + Sync>,
    type_name: &'static str,
}

impl HandlerError {
    /// Wraps any error (a concrete type, `Box<dyn Error + Send + Sync>`, `anyhow::Error`).
    pub fn new<E: Into<BoxError>>(error: E) -> Self {
        let type_name = std::any::type_name::<E>();
        let boxed: BoxError = error.into();
        Self {
            error: Arc::from(boxed),
            type_name,
        }
    }

    /// Adds the error, its chain and its type to `alert`.
    fn attach(&self, alert: Alert) -> Alert {
        alert
            .error_type(crate::alert::short_type_name(self.type_name))
            .error_ref(&*self.error)
    }
}

impl fmt::Debug for HandlerError {
    // The error's text may hold secrets until scrubbed: show its type only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("type", &self.type_name)
            .finish_non_exhaustive()
    }
}

/// The layer. Cheap to clone.
#[derive(Clone)]
pub struct TelemonLayer {
    telemon: Telemon,
    settings: Arc<CaptureSettings>,
}

impl fmt::Debug for TelemonLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemonLayer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl TelemonLayer {
    /// A layer reporting through `telemon`, with its capture settings (statuses, slow-request
    /// threshold, header capture).
    pub fn new(telemon: &Telemon) -> Self {
        Self {
            telemon: telemon.clone(),
            settings: Arc::new(telemon.capture().clone()),
        }
    }

    /// Reports these statuses (replaces the set).
    #[must_use]
    pub fn report_statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        Arc::make_mut(&mut self.settings).statuses = statuses.into_iter().collect();
        self
    }

    /// Reports requests slower than `threshold` as Warnings (`None`: off).
    #[must_use]
    pub fn slow_threshold(mut self, threshold: Option<Duration>) -> Self {
        Arc::make_mut(&mut self.settings).slow = threshold;
        self
    }

    /// Includes (scrubbed) request headers in alerts; costs a copy of the headers per request.
    #[must_use]
    pub fn capture_headers(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.settings).headers = on;
        self
    }
}

impl<S> Layer<S> for TelemonLayer {
    type Service = TelemonService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TelemonService {
            inner,
            telemon: self.telemon.clone(),
            settings: self.settings.clone(),
        }
    }
}

/// The service made by [`TelemonLayer`].
#[derive(Clone)]
pub struct TelemonService<S> {
    inner: S,
    telemon: Telemon,
    settings: Arc<CaptureSettings>,
}

impl<S> fmt::Debug for TelemonService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemonService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What the layer remembers about a request until its response.
struct RequestInfo {
    start: Instant,
    method: Method,
    uri: Uri,
    matched: Option<MatchedPath>,
    headers: Option<Vec<(String, String)>>,
}

impl RequestInfo {
    fn http(&self, status: Option<u16>, latency: Duration) -> HttpContext {
        let (route, route_is_template) = match self.matched.as_ref() {
            Some(m) => (m.as_str().to_owned(), true),
            None => (self.uri.path().to_owned(), false),
        };
        HttpContext {
            method: self.method.as_str().to_owned(),
            route,
            route_is_template,
            query: self.uri.query().map(str::to_owned),
            status,
            latency: Some(latency),
            headers: self.headers.clone().unwrap_or_default(),
        }
    }

    fn route_label(&self) -> String {
        let route = self
            .matched
            .as_ref()
            .map_or_else(|| self.uri.path(), |m| m.as_str());
        format!("{} {route}", self.method)
    }
}

fn occurrence_header(id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(id).ok()
}

fn panic_response<B: Default>(id: &str) -> Response<B> {
    let mut res = Response::new(B::default());
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    if let Some(v) = occurrence_header(id) {
        res.headers_mut().insert(OCCURRENCE_HEADER, v);
    }
    res
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TelemonService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = TelemonFuture<S::Future, ResBody>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let info = RequestInfo {
            start: Instant::now(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            matched: req.extensions().get::<MatchedPath>().cloned(),
            headers: self.settings.headers.then(|| {
                req.headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect()
            }),
        };
        let inner = &mut self.inner;
        let state = match catch_unwind(AssertUnwindSafe(|| inner.call(req))) {
            Ok(fut) => State::Running {
                fut: AssertUnwindSafe(fut).catch_unwind(),
            },
            Err(payload) => State::Panicked {
                message: Some(panic_message(payload.as_ref())),
            },
        };
        TelemonFuture {
            state,
            info: Some(info),
            telemon: self.telemon.clone(),
            settings: self.settings.clone(),
            _body: std::marker::PhantomData,
        }
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] fut: CatchUnwind<AssertUnwindSafe<F>> },
        Panicked { message: Option<String> },
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`TelemonService`].
    pub struct TelemonFuture<F, B> {
        #[pin]
        state: State<F>,
        info: Option<RequestInfo>,
        telemon: Telemon,
        settings: Arc<CaptureSettings>,
        _body: std::marker::PhantomData<fn() -> B>,
    }
}

impl<F, B> fmt::Debug for TelemonFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemonFuture").finish_non_exhaustive()
    }
}

/// The 500 answering a panic, with its occurrence id; the panic is reported (once: the
/// request's info is taken).
fn panicked<B: Default>(
    telemon: &Telemon,
    info: &mut Option<RequestInfo>,
    message: String,
) -> Response<B> {
    let id = telemon.new_occurrence_id();
    if let Some(info) = info.take() {
        let latency = info.start.elapsed();
        telemon.report(
            Alert::critical(format!("panic in {}", info.route_label()))
                .message(message)
                .error_type("panic")
                .with_panic_backtrace()
                .http(info.http(Some(500), latency))
                .occurrence_id(id.clone())
                .source("axum"),
        );
    }
    panic_response(&id)
}

impl<F, B, E> Future for TelemonFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.state.project() {
            StateProj::Panicked { message } => {
                let msg = message.take().unwrap_or_default();
                Poll::Ready(Ok(panicked(this.telemon, this.info, msg)))
            }
            StateProj::Running { fut } => match fut.poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(payload)) => {
                    let msg = panic_message(payload.as_ref());
                    Poll::Ready(Ok(panicked(this.telemon, this.info, msg)))
                }
                Poll::Ready(Ok(Err(e))) => Poll::Ready(Err(e)),
                Poll::Ready(Ok(Ok(mut res))) => {
                    let status = res.status().as_u16();
                    let settings = &**this.settings;
                    if settings.statuses.contains(status) {
                        if let Some(info) = this.info.take() {
                            let id = this.telemon.new_occurrence_id();
                            let latency = info.start.elapsed();
                            let mut alert =
                                Alert::critical(format!("{status} in {}", info.route_label()))
                                    .http(info.http(Some(status), latency))
                                    .occurrence_id(id.clone())
                                    .source("axum");
                            if let Some(e) = res.extensions().get::<HandlerError>() {
                                alert = e.attach(alert);
                            }
                            this.telemon.report(alert);
                            if let Some(v) = occurrence_header(&id) {
                                res.headers_mut().insert(OCCURRENCE_HEADER, v);
                            }
                        }
                    } else if let Some(slow) = settings.slow
                        && let Some(info) = this.info.as_ref()
                    {
                        let latency = info.start.elapsed();
                        if latency > slow {
                            this.telemon.report(
                                Alert::warning("slow request")
                                    .http(info.http(Some(status), latency))
                                    .source("axum"),
                            );
                        }
                    }
                    Poll::Ready(Ok(res))
                }
            },
        }
    }
}
