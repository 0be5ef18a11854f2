//! Background tasks and futures: [`Telemon::watch`], [`Telemon::spawn_monitored`] and
//! [`Telemon::watch_panics`] report errors and panics (the panic is caught, reported and
//! turned into a value, so a supervisor can restart the task).

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use tokio::task::JoinHandle;

use crate::alert::{Alert, BoxError};
use crate::capture::panic_message;
use crate::telemon::Telemon;

/// Why a watched task did not produce a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskFailure {
    /// The task returned an error (reported), boxed: `downcast` it to the concrete type
    /// (`anyhow::Error` arrives as its boxed form; `anyhow::Error::from_boxed` restores it).
    #[error("task failed: {0}")]
    Failed(#[source] BoxError),
    /// The task panicked (reported); the panic message.
    #[error("task panicked: {0}")]
    Panicked(String),
}

impl Telemon {
    /// Awaits `fut`, reporting a returned error (with its whole `source()` chain) or a panic
    /// as a Critical alert titled after `name`. Never panics itself.
    ///
    /// The error may be anything that converts into `Box<dyn Error + Send + Sync>`: a concrete
    /// error type, a boxed error, or `anyhow::Error` (its context chain is rendered).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use telemon_alerts::{Telemon, capture::task::TaskFailure};
    /// let telemon = Telemon::disabled();
    ///
    /// // A concrete error type.
    /// let r = telemon
    ///     .watch("nightly-export", async { Err::<(), _>(std::io::Error::other("disk full")) })
    ///     .await;
    /// let Err(TaskFailure::Failed(e)) = r else { panic!("expected a failure") };
    /// assert!(e.downcast_ref::<std::io::Error>().is_some());
    ///
    /// // `Box<dyn Error + Send + Sync>`, what many services return.
    /// async fn sync_orders() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    ///     Err("upstream closed the connection".into())
    /// }
    /// assert!(telemon.watch("sync-orders", sync_orders()).await.is_err());
    ///
    /// // `anyhow::Error`, with context.
    /// use anyhow::Context as _;
    /// async fn import() -> anyhow::Result<()> {
    ///     Err(std::io::Error::other("disk full")).context("writing the import batch")
    /// }
    /// assert!(telemon.watch("import", import()).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn watch<F, T, E>(&self, name: &str, fut: F) -> Result<T, TaskFailure>
    where
        F: Future<Output = Result<T, E>>,
        E: Into<BoxError>,
    {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let ty = std::any::type_name::<E>();
                let e: BoxError = e.into();
                self.report(
                    Alert::critical(format!("task {name} failed"))
                        .error_type(crate::alert::short_type_name(ty))
                        .error_ref(&*e)
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
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let telemon = telemon_alerts::Telemon::disabled();
    /// let boxed = telemon.spawn_monitored("refresh-cache", async {
    ///     Err::<(), Box<dyn std::error::Error + Send + Sync>>("cache server gone".into())
    /// });
    /// let with_anyhow = telemon.spawn_monitored("rebuild-index", async {
    ///     Err::<(), _>(anyhow::anyhow!("index corrupted"))
    /// });
    /// assert!(boxed.await.unwrap().is_err());
    /// assert!(with_anyhow.await.unwrap().is_err());
    /// # }
    /// ```
    pub fn spawn_monitored<F, T, E>(
        &self,
        name: impl Into<String>,
        fut: F,
    ) -> JoinHandle<Result<T, TaskFailure>>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Into<BoxError> + Send + 'static,
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
