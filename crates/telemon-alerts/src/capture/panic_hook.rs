//! An optional panic hook that records the backtrace of a panic, so the alerts of the axum
//! layer and of [`Telemon::watch`](crate::Telemon::watch) carry it (capped and scrubbed like
//! every other field). Symbols are resolved on the worker, not on the panicking thread.
//!
//! ```
//! telemon_alerts::capture::panic_hook::install();
//! ```
//!
//! The previous hook (by default the one printing the message to stderr) still runs.
//!
//! Rust's default hook prints the panic message to stderr as it is — with whatever secret the
//! message or a formatted value carried. [`ScrubbingPanicHook`] prints the same report
//! scrubbed instead (and records the backtrace like [`install`]):
//!
//! ```
//! use telemon_alerts::capture::panic_hook::{Previous, ScrubbingPanicHook};
//! use telemon_alerts::scrub::Scrubber;
//!
//! ScrubbingPanicHook::new(Scrubber::default())
//!     .previous(Previous::Replace) // std's default hook would print the secret again
//!     .install();
//! # let _ = std::panic::take_hook();
//! ```

use std::backtrace::Backtrace;
use std::cell::RefCell;
use std::fmt;
use std::io::Write as _;
use std::panic::PanicHookInfo;
use std::sync::{Arc, Once};

use crate::scrub::Scrubber;

thread_local! {
    static LAST: RefCell<Option<Arc<Backtrace>>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Keeps the backtrace of this thread's panic for the alert that reports it.
fn record(bt: Arc<Backtrace>) {
    // Never panic inside the hook: `try_with` fails quietly during thread teardown.
    let _ = LAST.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(bt);
        }
    });
}

/// Installs the hook once per process (later calls do nothing), chaining the previous hook.
pub fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            record(Arc::new(Backtrace::force_capture()));
            previous(info);
        }));
    });
}

/// What [`ScrubbingPanicHook`] does with the hook installed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Previous {
    /// Do not call it: right when it is std's default hook, which would print the unscrubbed
    /// message to stderr again.
    #[default]
    Replace,
    /// Call it after the scrubbed report (a crash reporter installed earlier keeps working; it
    /// sees the original message).
    Chain,
}

/// Where the scrubbed report goes (stderr by default).
type Sink = Box<dyn Fn(&str) + Send + Sync>;

/// A panic hook that prints what Rust's default hook prints — thread, location, message, and
/// the backtrace when `RUST_BACKTRACE` asks for one — **scrubbed**, and records the backtrace
/// for alerts like [`install`].
pub struct ScrubbingPanicHook {
    scrubber: Scrubber,
    previous: Previous,
    sink: Sink,
}

impl fmt::Debug for ScrubbingPanicHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScrubbingPanicHook")
            .field("previous", &self.previous)
            .finish_non_exhaustive()
    }
}

impl ScrubbingPanicHook {
    /// A hook scrubbing with `scrubber`, replacing the previous hook, printing to stderr.
    pub fn new(scrubber: Scrubber) -> Self {
        Self {
            scrubber,
            previous: Previous::Replace,
            sink: Box::new(|report| {
                let _ = std::io::stderr().lock().write_all(report.as_bytes());
            }),
        }
    }

    /// Whether the previous hook still runs (after the scrubbed report).
    #[must_use]
    pub fn previous(mut self, previous: Previous) -> Self {
        self.previous = previous;
        self
    }

    /// Sends the scrubbed report somewhere other than stderr (a log, a test buffer).
    #[must_use]
    pub fn sink(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.sink = Box::new(sink);
        self
    }

    /// Installs it as the process's panic hook.
    pub fn install(self) {
        let previous = std::panic::take_hook();
        let Self {
            scrubber,
            previous: mode,
            sink,
        } = self;
        std::panic::set_hook(Box::new(move |info| {
            let bt = Arc::new(Backtrace::force_capture());
            let shown = backtrace_requested().then(|| bt.to_string());
            sink(&report(&scrubber, info, shown.as_deref()));
            record(bt);
            if mode == Previous::Chain {
                previous(info);
            }
        }));
    }
}

/// Whether `RUST_BACKTRACE` asks the default hook to print a backtrace.
fn backtrace_requested() -> bool {
    std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0")
}

/// The panic payload as text (what `panic!` was given).
fn payload_text<'a>(info: &'a PanicHookInfo<'_>) -> &'a str {
    if let Some(s) = info.payload().downcast_ref::<&str>() {
        s
    } else if let Some(s) = info.payload().downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

/// The default hook's report, scrubbed.
fn report(scrubber: &Scrubber, info: &PanicHookInfo<'_>, backtrace: Option<&str>) -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    let mut out = format!(
        "\nthread '{}' panicked at {}:\n{}\n",
        scrubber.scrub_text(name),
        scrubber.scrub_text(&location),
        scrubber.scrub_text(payload_text(info)),
    );
    match backtrace {
        Some(bt) => {
            out.push_str("stack backtrace:\n");
            out.push_str(&scrubber.scrub_backtrace(bt));
            out.push('\n');
        }
        None => out.push_str(
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        ),
    }
    out
}

/// The backtrace of the last panic on this thread, taken (cleared) — `None` when the hook is
/// not installed.
pub(crate) fn take() -> Option<Arc<Backtrace>> {
    LAST.try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten()
}
