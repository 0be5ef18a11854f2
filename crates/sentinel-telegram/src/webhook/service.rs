//! [`WebhookService`]: a Telegram webhook endpoint with the guard in front of the handler.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::{SECRET_HEADER, WebhookGuard, reply_body};
use crate::guard::GuardCore;
use crate::update::UpdateInfo;

/// An update the guard let through, as the handler receives it: the guard's reading of it and
/// the request body exactly as Telegram sent it (parse it with your own types; the service
/// does not parse it a second time).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GuardedUpdate {
    /// What the guard read from the update (kind, ids, handler name…).
    pub info: UpdateInfo,
    /// The raw Bot API JSON of the update.
    pub body: Bytes,
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type HandlerFn = dyn Fn(GuardedUpdate) -> BoxFuture + Send + Sync;

struct Inner {
    check: WebhookGuard,
    guard: GuardCore,
    handler: Box<HandlerFn>,
}

/// A Telegram webhook endpoint for any bot, with no bot framework: secret token, body limit,
/// the [guard core](crate::guard), then the handler. Cheap to clone.
///
/// For each `POST`, in order:
///
/// 1. **Secret**: the `X-Telegram-Bot-Api-Secret-Token` header is compared in constant time
///    ([`WebhookGuard`]); missing or wrong → `401`, before the body is read.
/// 2. **Body limit** ([`WebhookGuard::max_body`], default 1 MiB): a larger `Content-Length`,
///    or a body that grows past the limit while it is read → `413`.
/// 3. **Parse and guard** ([`GuardCore::check_json`]): one engine check (one store round
///    trip).
/// 4. **Answer at once**: `200` as soon as the guard has decided — never after the handler.
///    A passed update goes to the handler in a task of its own (spawned: the `200` must not
///    wait for it). A dropped update gets its answer ([`reply_body`]: the callback answer or
///    the "try again" notice) **in the `200` response itself**, as a Bot API call Telegram
///    makes for the bot — no token needed, no extra request.
///
/// A body that is not an update (malformed JSON, not an object, no `update_id`) is answered
/// **`200`** and logged at `warn` (without its content): Telegram redelivers every update
/// answered with anything but 2xx, and redelivering the same bytes cannot fix them, so a `400`
/// would only repeat the failure and hold back the bot's later updates.
///
/// ```
/// use std::sync::Arc;
/// use sentinel_core::{Sentinel, SystemClock};
/// use sentinel_storage_memory::MemoryStore;
/// use sentinel_telegram::guard::GuardCore;
/// use sentinel_telegram::webhook::{GuardedUpdate, WebhookGuard, WebhookSecret, WebhookService};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sentinel = Sentinel::builder().store(Arc::new(MemoryStore::new(SystemClock))).build()?;
/// let service = WebhookService::new(
///     WebhookGuard::new(WebhookSecret::new("s3cr3t-token_1")?),
///     GuardCore::builder(sentinel).build(),
///     |update: GuardedUpdate| async move {
///         // Your bot: parse `update.body` with your own types and answer.
///         let _ = (update.info.kind, update.body.len());
///     },
/// );
/// let app: axum::Router = axum::Router::new().route("/telegram", service.method_router());
/// // axum::serve(listener, app).await?;
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone)]
pub struct WebhookService {
    inner: Arc<Inner>,
}

impl fmt::Debug for WebhookService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookService")
            .field("check", &self.inner.check)
            .field("guard", &self.inner.guard)
            .finish_non_exhaustive()
    }
}

impl WebhookService {
    /// An endpoint checking requests with `check`, updates with `guard`, and handing each
    /// update the guard lets through to `handler`.
    pub fn new<F, Fut>(check: WebhookGuard, guard: GuardCore, handler: F) -> Self
    where
        F: Fn(GuardedUpdate) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            inner: Arc::new(Inner {
                check,
                guard,
                handler: Box::new(move |u| Box::pin(handler(u))),
            }),
        }
    }

    /// The guard.
    pub fn guard(&self) -> &GuardCore {
        &self.inner.guard
    }

    /// The endpoint as an axum `MethodRouter` answering `POST` (mount it at the path given to
    /// `setWebhook`: `Router::new().route("/telegram", service.method_router())`). It is a
    /// tower `Service` too, for hyper or any tower stack.
    pub fn method_router<S>(&self) -> MethodRouter<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let this = self.clone();
        post(move |req: Request<Body>| {
            let this = this.clone();
            async move { this.receive(req).await }
        })
    }

    async fn receive(&self, req: Request<Body>) -> Response {
        let inner = &self.inner;
        let body = match read_body(&inner.check, req).await {
            Ok(body) => body,
            Err(status) => return status.into_response(),
        };
        let (info, checked) = match inner.guard.check_json(&body).await {
            Ok(decided) => decided,
            Err(e) => {
                tracing::warn!(error = %e, "sentinel webhook: the body is not an update; answered 200 so Telegram does not redeliver it");
                return StatusCode::OK.into_response();
            }
        };
        if checked.passes() {
            // Spawned so the 200 does not wait for the handler (one task per passed update).
            tokio::spawn((inner.handler)(GuardedUpdate { info, body }));
            return StatusCode::OK.into_response();
        }
        match reply_body(&checked.response) {
            Some(call) => (
                StatusCode::OK,
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                call,
            )
                .into_response(),
            None => StatusCode::OK.into_response(),
        }
    }
}

/// Checks the secret and the size, then reads the body within the limit. The error is the
/// status to answer with.
pub(crate) async fn read_body(
    check: &WebhookGuard,
    req: Request<Body>,
) -> Result<Bytes, StatusCode> {
    let (parts, body) = req.into_parts();
    let secret = parts.headers.get(SECRET_HEADER).map(HeaderValue::as_bytes);
    check
        .verify(secret, content_length(&parts.headers))
        .map_err(|e| status(e.status()))?;
    match Limited::new(body, check.body_limit()).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        }
        // The client went away or sent a broken body: nothing to answer to.
        Err(_) => Err(StatusCode::BAD_REQUEST),
    }
}

/// The declared `Content-Length`, or 0 when absent or unreadable (the limit is then enforced
/// while reading).
fn content_length(headers: &HeaderMap) -> usize {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// An HTTP status from [`WebhookError::status`](super::WebhookError::status).
fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}
