//! An optional panic hook that records the backtrace of a panic, so the alerts of the axum
//! layer and of [`Telemon::watch`](crate::Telemon::watch) carry it (capped and scrubbed like
//! every other field). Symbols are resolved on the worker, not on the panicking thread.
//!
//! ```
//! telemon_alerts::capture::panic_hook::install();
//! ```
//!
//! The previous hook (by default the one printing the message to stderr) still runs.

use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::sync::{Arc, Once};

thread_local! {
    static LAST: RefCell<Option<Arc<Backtrace>>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Installs the hook once per process (later calls do nothing), chaining the previous hook.
pub fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let bt = Arc::new(Backtrace::force_capture());
            // Never panic inside the hook: `try_with` fails quietly during thread teardown.
            let _ = LAST.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = Some(bt);
                }
            });
            previous(info);
        }));
    });
}

/// The backtrace of the last panic on this thread, taken (cleared) — `None` when the hook is
/// not installed.
pub(crate) fn take() -> Option<Arc<Backtrace>> {
    LAST.try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten()
}
