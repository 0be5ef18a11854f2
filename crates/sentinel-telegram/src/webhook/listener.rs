//! [`teloxide_listener`]: the guarded webhook endpoint as a teloxide update listener.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use ::teloxide::requests::Requester;
use ::teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use ::teloxide::types::Update;
use ::teloxide::update_listeners::{AsUpdateStream, UpdateListener};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{MethodRouter, post};
use futures_util::Stream;
use tokio::sync::mpsc;

use super::WebhookGuard;
use super::service::read_body;
use crate::teloxide::Guard;

/// The update stream behind a [`teloxide_listener`] endpoint: give it to
/// `Dispatcher::dispatch_with_listener`. It ends when the dispatcher stops it (after handing
/// over the updates already accepted); from then on the endpoint answers `503`, so Telegram
/// keeps the updates and redelivers them.
pub struct WebhookListener {
    rx: mpsc::UnboundedReceiver<Update>,
    stop_token: StopToken,
    stop_flag: StopFlag,
}

impl fmt::Debug for WebhookListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookListener")
            .field("queued", &self.rx.len())
            .finish_non_exhaustive()
    }
}

impl UpdateListener for WebhookListener {
    type Err = Infallible;

    fn stop_token(&mut self) -> StopToken {
        self.stop_token.clone()
    }
}

impl<'a> AsUpdateStream<'a> for WebhookListener {
    type StreamErr = Infallible;
    // Boxed once per `dispatch`, not per update.
    type Stream = Pin<Box<dyn Stream<Item = Result<Update, Infallible>> + Send + 'a>>;

    fn as_stream(&'a mut self) -> Self::Stream {
        let Self { rx, stop_flag, .. } = self;
        let mut closed = false;
        Box::pin(futures_util::stream::poll_fn(move |cx| {
            // Stopped: accept nothing more, hand over what is queued, then end.
            if !closed && Pin::new(&mut *stop_flag).poll(cx).is_ready() {
                rx.close();
                closed = true;
            }
            match rx.poll_recv(cx) {
                Poll::Ready(u) => Poll::Ready(u.map(Ok)),
                Poll::Pending => Poll::Pending,
            }
        }))
    }
}

/// A guarded webhook endpoint for a teloxide bot, and the update listener its dispatcher runs
/// on: the same [`WebhookService`](super::WebhookService) steps (secret → `401`, body limit →
/// `413`, a body that is not an update → `200` and a `warn`), with the teloxide [`Guard`]
/// deciding **before the dispatcher sees the update**. Its outcome:
///
/// - **passed**: the update goes to the listener's stream, and so to the dispatcher's tree
///   (do not chain `guard.handler()` into that tree: the update was checked already);
/// - **dropped**: the guard's answer (callback answer, notice) is sent with `bot` in a task
///   of its own — the same calls and the same [`GuardStats`](crate::teloxide::GuardStats) as
///   the guard inside a polling dispatcher, so a flood gives the same numbers either way.
///
/// The endpoint answers `200` once the guard has decided (one store round trip; a
/// `getChatAdministrators` call on a cache miss when chat admins are exempt), never after the
/// handlers. Accepted updates wait in an unbounded queue, as in teloxide's own webhook
/// listener; only updates the guard lets through are queued. `setWebhook` (with the secret
/// and the `allowed_updates` you need) is yours to call.
///
/// ```no_run
/// use std::sync::Arc;
/// use sentinel_core::{Sentinel, SystemClock};
/// use sentinel_storage_memory::MemoryStore;
/// use sentinel_telegram::teloxide::Guard;
/// use sentinel_telegram::webhook::{WebhookGuard, WebhookSecret, teloxide_listener};
/// use teloxide::{dispatching::UpdateHandler, error_handlers::LoggingErrorHandler, prelude::*};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let sentinel = Sentinel::builder().store(Arc::new(MemoryStore::new(SystemClock))).build()?;
/// let bot = Bot::from_env();
/// let secret = WebhookSecret::new(std::env::var("WEBHOOK_SECRET")?)?;
/// let (listener, endpoint) =
///     teloxide_listener(Guard::new(sentinel), bot.clone(), WebhookGuard::new(secret));
/// let app: axum::Router = axum::Router::new().route("/telegram", endpoint);
/// tokio::spawn(async move {
///     let tcp = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
///     axum::serve(tcp, app).await
/// });
/// let tree: UpdateHandler<teloxide::RequestError> =
///     Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
///         bot.send_message(msg.chat.id, "pong").await?;
///         Ok(())
///     });
/// Dispatcher::builder(bot, tree)
///     .build()
///     .dispatch_with_listener(listener, LoggingErrorHandler::new())
///     .await;
/// # Ok(()) }
/// ```
pub fn teloxide_listener<R>(
    guard: Guard,
    bot: R,
    check: WebhookGuard,
) -> (WebhookListener, MethodRouter)
where
    R: Requester + Clone + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let (stop_token, stop_flag) = mk_stop_token();
    let flag = stop_flag.clone();
    let endpoint = post(move |req: Request<Body>| {
        let (guard, bot, check, tx, flag) = (
            guard.clone(),
            bot.clone(),
            check.clone(),
            tx.clone(),
            flag.clone(),
        );
        async move {
            if flag.is_stopped() {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            let body = match read_body(&check, req).await {
                Ok(body) => body,
                Err(status) => return status,
            };
            let update: Update = match serde_json::from_slice(&body) {
                Ok(update) => update,
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "sentinel webhook: the body is not an update; answered 200 so Telegram does not redeliver it"
                    );
                    return StatusCode::OK;
                }
            };
            let (_, checked) = guard.decide(Some(&bot), &update).await;
            if checked.passes() {
                // The listener has stopped: let Telegram keep the update and redeliver it.
                return match tx.send(update) {
                    Ok(()) => StatusCode::OK,
                    Err(_) => StatusCode::SERVICE_UNAVAILABLE,
                };
            }
            if !checked.response.is_empty() {
                // Spawned so the 200 does not wait for the Bot API.
                tokio::spawn(async move { guard.respond(&bot, checked.response).await });
            }
            StatusCode::OK
        }
    });
    let listener = WebhookListener {
        rx,
        stop_token,
        stop_flag,
    };
    (listener, endpoint)
}
