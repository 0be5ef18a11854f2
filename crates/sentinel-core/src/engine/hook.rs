//! Async hooks run after a verdict; their failures and panics are contained.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::error::BoxError;
use crate::{Event, Verdict};

/// What a hook receives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HookContext {
    /// The event checked.
    pub event: Event,
    /// The verdict reached.
    pub verdict: Verdict,
}

/// The future a hook returns.
pub type HookFuture = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

type HookFn = dyn Fn(HookContext) -> HookFuture + Send + Sync;

/// A hook: an async callback run after a verdict. A hook that fails or panics is logged and
/// counted in [`Stats::hook_failures`](crate::Stats::hook_failures), never propagated.
#[derive(Clone)]
pub struct Hook(Arc<HookFn>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hook(..)")
    }
}

impl Hook {
    /// Wraps an async closure.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(HookContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        Self(Arc::new(move |ctx| Box::pin(f(ctx)) as HookFuture))
    }

    /// Runs the hook; `Err` carries a description of the failure or panic.
    pub(crate) async fn run(&self, ctx: HookContext) -> Result<(), String> {
        let fut = catch_unwind(AssertUnwindSafe(|| (self.0)(ctx)))
            .map_err(|p| format!("hook panicked: {}", panic_message(p.as_ref())))?;
        match (CatchUnwind { inner: fut }).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("hook failed: {e}")),
            Err(p) => Err(format!("hook panicked: {p}")),
        }
    }
}

/// A panic payload as text.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Polls a boxed future, turning a panic during a poll into `Err(message)`.
struct CatchUnwind {
    inner: HookFuture,
}

impl Future for CatchUnwind {
    type Output = Result<Result<(), BoxError>, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(r)) => Poll::Ready(Ok(r)),
            Err(p) => Poll::Ready(Err(panic_message(p.as_ref()))),
        }
    }
}
