//! Background tasks and futures: [`Telemon::watch`], [`Telemon::spawn_monitored`] and
//! [`Telemon::watch_panics`] report errors and panics (the panic is caught, reported and
//! turned into a value, so a supervisor can restart the task).

use std::error::Error as StdError;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use tokio::task::JoinHandle;

use crate::alert::Alert;
use crate::capture::panic_message;
use crate::telemon::Telemon;

/// Why a watched task did not produce a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskFailure<E> {
    /// The task returned an error (reported).
    #[error("task failed: {0}")]
    Failed(E),
    /// The task panicked (reported); the panic message.
    #[error("task panicked: {0}")]
    Panicked(String),
}

impl Telemon {
    /// Awaits `fut`, reporting a returned error (with its `source()` chain) or a panic as a
    /// Critical alert titled after `name`. Never panics itself.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use telemon_alerts::{Telemon, capture::task::TaskFailure};
    /// let telemon = Telemon::disabled();
    /// let r: Result<(), TaskFailure<std::io::Error>> =
    ///     telemon.watch("nightly-export", async { Err(std::io::Error::other("disk full")) }).await;
    /// assert!(matches!(r, Err(TaskFailure::Failed(_))));
    /// # Ok(()) }
    /// ```
    pub async fn watch<F, T, E>(&self, name: &str, fut: F) -> Result<T, TaskFailure<E>>
    where
        F: Future<Output = Result<T, E>>,
        E: StdError + 'static,
    {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.report(
                    Alert::critical(format!("task {name} failed"))
                        .error(&e)
                        .detail("task", name)
                        .source("task"),
                );
                Err(TaskFailure::Failed(e))
            }
            Err(payload) => {
                let msg = panic_message(payload.as_ref());
                self.report(
                    Alert::critical(format!("task {name} panicked"))
                        .message(msg.clone())
                        .error_type("panic")
                        .with_panic_backtrace()
                        .detail("task", name)
                        .source("task"),
                );
                Err(TaskFailure::Panicked(msg))
            }
        }
    }

    /// [`Telemon::watch`] on a new tokio task.
    pub fn spawn_monitored<F, T, E>(
        &self,
        name: impl Into<String>,
        fut: F,
    ) -> JoinHandle<Result<T, TaskFailure<E>>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: StdError + Send + 'static,
    {
        let telemon = self.clone();
        let name = name.into();
        tokio::spawn(async move { telemon.watch(&name, fut).await })
    }

    /// Awaits any future, reporting only a panic; `None` if it panicked.
    pub async fn watch_panics<F: Future>(&self, name: &str, fut: F) -> Option<F::Output> {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(v) => Some(v),
            Err(payload) => {
                self.report(
                    Alert::critical(format!("task {name} panicked"))
                        .message(panic_message(payload.as_ref()))
                        .error_type("panic")
                        .with_panic_backtrace()
                        .detail("task", name)
                        .source("task"),
                );
                None
            }
        }
    }
}
