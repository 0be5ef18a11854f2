//! [`RateLimitService`] and its [`ResponseFuture`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use sentinel_core::{Event, Subject, Verdict, ceil_secs};
use tower::Service;

use crate::headers::RateHeaders;
use crate::key::KeyContext;
use crate::layer::Config;
use crate::{Refusal, RefusalKind, RequestInfo};

/// The engine's answer, awaited by the response future.
///
/// `Sentinel::check` is an `async fn`: its future has no name, so holding it in a named
/// future needs one allocation per request. Only checks that wait (Redis) take it: the memory
/// store decides in `call` through `Sentinel::check_now`. The inner service's future is held
/// inline.
type CheckFuture =
    Pin<Box<dyn Future<Output = Result<Verdict, sentinel_core::Error>> + Send + 'static>>;

/// The service [`RateLimitLayer`](crate::RateLimitLayer) wraps around yours.
#[derive(Clone)]
pub struct RateLimitService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> RateLimitService<S> {
    pub(crate) const fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    /// The wrapped service.
    pub const fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for RateLimitService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitService")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimitService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let info = RequestInfo::new(&request);
        let ctx = KeyContext {
            proxies: &config.proxies,
            ipv6_prefix: config.ipv6_prefix,
        };
        let Some(client) = config.key.extract(&info, &ctx) else {
            return ResponseFuture {
                state: State::Refused {
                    refused: Refused {
                        kind: RefusalKind::MissingKey,
                        retry_after: None,
                        policy: None,
                    },
                },
                config: Arc::clone(config),
                headers: RateHeaders::default(),
            };
        };
        // The engine's event API takes owned strings: the key and, on a configured route, the
        // policy name.
        let mut event = Event::new().with_user(client.id());
        if !config.routes.is_empty()
            && let Some(policy) = config.routes.policy(info.method(), info.route())
        {
            event = event.with_handler(policy);
        }
        let event = event.with_custom_key(client.into_string());
        // The memory store answers on this thread (`check_now`): on a pass, call the service
        // that was polled ready, with no future of the engine's, no clone and no second state.
        if let Some(verdict) = config.sentinel.check_now(&event) {
            let (state, headers) = match outcome(config, verdict) {
                Outcome::Pass(headers) => (
                    State::Call {
                        future: self.inner.call(request),
                    },
                    headers,
                ),
                Outcome::Refuse(refused, headers) => (State::Refused { refused }, headers),
            };
            return ResponseFuture {
                state,
                config: Arc::clone(config),
                headers,
            };
        }
        // A check that waits (Redis, hooks, a fallback store): polled with the caller's waker
        // when the response future is polled.
        let sentinel = config.sentinel.clone();
        let check: CheckFuture = Box::pin(async move { sentinel.check(&event).await });
        // The service that was polled ready serves this request; a clone takes its place.
        let clone = self.inner.clone();
        let service = std::mem::replace(&mut self.inner, clone);
        ResponseFuture {
            state: State::Check {
                check,
                service: Some(service),
                request: Some(request),
            },
            config: Arc::clone(config),
            headers: RateHeaders::default(),
        }
    }
}

pin_project_lite::pin_project! {
    /// Where a [`ResponseFuture`] is.
    #[project = StateProj]
    enum State<F, S, B> {
        Check { check: CheckFuture, service: Option<S>, request: Option<Request<B>> },
        Call { #[pin] future: F },
        Refused { refused: Refused },
        Done,
    }
}

pin_project_lite::pin_project! {
    /// The response of a [`RateLimitService`]: the engine's check, then the inner service's
    /// response with the rate-limit headers, or the refusal.
    pub struct ResponseFuture<F, S, B> {
        #[pin]
        state: State<F, S, B>,
        config: Arc<Config>,
        headers: RateHeaders,
    }
}

impl<F, S, B> fmt::Debug for ResponseFuture<F, S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Check { .. } => "check",
            State::Call { .. } => "call",
            State::Refused { .. } => "refused",
            State::Done => "done",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

/// A refusal decided, its response not built yet.
#[derive(Debug)]
struct Refused {
    kind: RefusalKind,
    retry_after: Option<Duration>,
    policy: Option<sentinel_core::PolicyName>,
}

/// What a verdict means for the request, with the rate-limit headers for its response.
enum Outcome {
    Pass(RateHeaders),
    Refuse(Refused, RateHeaders),
}

fn outcome(config: &Config, verdict: Result<Verdict, sentinel_core::Error>) -> Outcome {
    let headers = &config.headers;
    match verdict {
        Ok(Verdict::Allowed(a)) => Outcome::Pass(match &a.decision {
            Some(d) if headers.enabled() => headers.for_decision(a.policy, d, false),
            _ => RateHeaders::default(),
        }),
        Ok(Verdict::Throttled(t)) => {
            let headers =
                headers.for_decision(t.policy, &t.decision, matches!(t.subject, Subject::Global));
            let refused = Refused {
                kind: RefusalKind::Throttled,
                retry_after: t.decision.retry_after,
                policy: Some(t.policy),
            };
            Outcome::Refuse(refused, headers)
        }
        Ok(Verdict::Blocked(b)) => Outcome::Refuse(
            Refused {
                kind: RefusalKind::Blocked,
                retry_after: b.remaining,
                policy: None,
            },
            RateHeaders::default(),
        ),
        // Debounced (HTTP events carry no content, so only a custom engine policy debounces)
        // and any verdict added later: a refusal.
        Ok(verdict) => Outcome::Refuse(
            Refused {
                kind: RefusalKind::Throttled,
                retry_after: verdict.retry_after(),
                policy: None,
            },
            RateHeaders::default(),
        ),
        Err(_) => Outcome::Refuse(
            Refused {
                kind: RefusalKind::Unavailable,
                retry_after: None,
                policy: None,
            },
            RateHeaders::default(),
        ),
    }
}

/// The response to a refusal: the closure's or the default, with `Retry-After` and `headers`
/// added where missing.
fn refusal_response<ResBody: From<Bytes>>(
    config: &Config,
    refused: &Refused,
    headers: RateHeaders,
) -> Response<ResBody> {
    let Refused {
        kind,
        retry_after,
        ref policy,
    } = *refused;
    let policy = policy.as_deref();
    let status = match kind {
        RefusalKind::Throttled => StatusCode::TOO_MANY_REQUESTS,
        RefusalKind::Blocked => config.blocked_status,
        RefusalKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        RefusalKind::MissingKey => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let refusal = Refusal {
        kind,
        status,
        retry_after,
        policy,
    };
    let response = match &config.responder {
        Some(f) => f(&refusal),
        None => refusal.default_response(),
    };
    let (mut parts, body) = response.into_parts();
    if let Some(wait) = retry_after {
        parts
            .headers
            .entry(RETRY_AFTER)
            .or_insert(HeaderValue::from(ceil_secs(wait)));
    }
    headers.apply(&config.headers, &mut parts.headers);
    Response::from_parts(parts, ResBody::from(body))
}

impl<F, S, B, ResBody, E> Future for ResponseFuture<F, S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = E, Future = F>,
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Check {
                    check,
                    service,
                    request,
                } => {
                    let verdict = ready!(check.as_mut().poll(cx));
                    match outcome(this.config, verdict) {
                        Outcome::Pass(headers) => {
                            *this.headers = headers;
                            let (Some(mut service), Some(request)) =
                                (service.take(), request.take())
                            else {
                                // Both are taken only here, right before leaving this state.
                                this.state.set(State::Done);
                                return Poll::Pending;
                            };
                            let future = service.call(request);
                            this.state.set(State::Call { future });
                        }
                        Outcome::Refuse(refused, headers) => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(refusal_response(
                                this.config,
                                &refused,
                                headers,
                            )));
                        }
                    }
                }
                StateProj::Call { future } => {
                    let mut response = ready!(future.poll(cx))?;
                    std::mem::take(this.headers)
                        .apply(&this.config.headers, response.headers_mut());
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(response));
                }
                StateProj::Refused { refused } => {
                    let response =
                        refusal_response(this.config, refused, std::mem::take(this.headers));
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(response));
                }
                // Polled after it completed: a caller bug; never resolves rather than panic.
                StateProj::Done => return Poll::Pending,
            }
        }
    }
}
