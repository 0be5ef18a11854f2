//! Backtraces for the person on call: the application's own frames first, the frames of the
//! standard library, the async runtime, the web framework and this crate folded into one line
//! that says how many there were and whose.

/// Symbol prefixes of frames that are not the application's, with the name they are folded
/// under.
const FRAMEWORK: &[(&str, &str)] = &[
    ("std::", "std"),
    ("core::", "std"),
    ("alloc::", "std"),
    ("__rust", "std"),
    ("rust_begin_unwind", "std"),
    ("rust_panic", "std"),
    ("_start", "std"),
    ("__libc_start", "std"),
    ("start_thread", "std"),
    ("clone3", "std"),
    ("tokio::", "tokio"),
    ("futures_util::", "futures"),
    ("futures_core::", "futures"),
    ("futures::", "futures"),
    ("telemon_alerts::", "telemon"),
    ("tower::", "tower"),
    ("tower_http::", "tower"),
    ("axum::", "axum"),
    ("axum_core::", "axum"),
    ("hyper::", "hyper"),
    ("hyper_util::", "hyper"),
    ("h2::", "hyper"),
    ("tracing::", "tracing"),
    ("tracing_subscriber::", "tracing"),
];

/// The framework a frame's symbol belongs to, if any (`<tokio::…>` counts as tokio).
fn framework_of(symbol: &str) -> Option<&'static str> {
    let s = symbol.trim_start_matches('<');
    FRAMEWORK
        .iter()
        .find(|(prefix, _)| s.starts_with(prefix))
        .map(|(_, name)| *name)
}

/// Reorders a rendered `std` backtrace: application frames (with their `at file:line` lines)
/// in their order, then `… N framework frames folded (tokio, axum, std)`. A backtrace with no
/// application frame is returned as it is.
///
/// ```text
///    4: app::handlers::checkout
///              at ./src/handlers.rs:42:9
///    9: app::main
///              at ./src/main.rs:12:5
/// … 31 framework frames folded (std, tokio, axum, hyper)
/// ```
pub(crate) fn fold_frameworks(rendered: &str) -> String {
    let mut app: Vec<&str> = Vec::new();
    let mut folded = 0usize;
    let mut owners: Vec<&'static str> = Vec::new();
    let mut keep_location = false;
    for line in rendered.lines() {
        let t = line.trim_start();
        if t.starts_with("at ") {
            if keep_location {
                app.push(line);
            }
            continue;
        }
        let symbol = t.split_once(": ").map_or(t, |(_, n)| n);
        match framework_of(symbol) {
            Some(owner) => {
                keep_location = false;
                folded += 1;
                if !owners.contains(&owner) {
                    owners.push(owner);
                }
            }
            None => {
                keep_location = true;
                app.push(line);
            }
        }
    }
    if app.is_empty() {
        return rendered.to_owned();
    }
    let mut out = app.join("\n");
    if folded > 0 {
        out.push_str(&format!(
            "\n… {folded} framework frames folded ({})",
            owners.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENDERED: &str = "   0: std::backtrace::Backtrace::force_capture
             at /rustc/x/library/std/src/backtrace.rs:312:13
   1: telemon_alerts::capture::panic_hook::install::{{closure}}
   2: std::panicking::rust_panic_with_hook
   3: app::handlers::checkout::{{closure}}
             at ./src/handlers.rs:42:9
   4: <core::pin::Pin<P> as core::future::future::Future>::poll
   5: axum::routing::route::Route::call
   6: hyper::proto::h1::dispatch::Dispatcher::poll
   7: app::db::charge
             at ./src/db.rs:7:1
   8: tokio::runtime::task::harness::poll
   9: __libc_start_main";

    #[test]
    fn application_frames_first_the_rest_folded_with_their_owners() {
        assert_eq!(
            fold_frameworks(RENDERED),
            "   3: app::handlers::checkout::{{closure}}
             at ./src/handlers.rs:42:9
   7: app::db::charge
             at ./src/db.rs:7:1
… 8 framework frames folded (std, telemon, axum, hyper, tokio)"
        );
    }

    #[test]
    fn nothing_of_the_application_keeps_everything() {
        let only = "   0: std::rt::lang_start\n   1: tokio::runtime::park";
        assert_eq!(fold_frameworks(only), only);
    }
}
