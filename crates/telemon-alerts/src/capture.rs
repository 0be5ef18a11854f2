//! Capture points: the axum layer (feature `axum`), the tracing layer (feature `tracing`) and
//! the wrapper for background tasks ([`Telemon::watch`](crate::Telemon::watch)).

#[cfg(feature = "axum")]
pub mod axum;
pub mod panic_hook;
pub(crate) mod settings;
pub mod task;
#[cfg(feature = "tracing")]
pub mod tracing;

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}
