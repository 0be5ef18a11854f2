//! The demos as CI steps: they run, and their output says what the README promises.

use std::process::Stdio;

use crate::cmd::{self, cargo};
use crate::steps::Step;

/// Lines the quickstart's table must print (spaces collapsed). The demo replays a fixed flood
/// against fixed policies, so these numbers are deterministic.
pub(crate) const QUICKSTART_TABLE: &[&str] = &[
    "spammer (group) 60 5",
    "button masher (group) 30 1",
    "blocked user 5 0",
    "normal user 2001 3 3",
    "normal user 2005 3 3",
    "updates in 110",
    "handled 21",
    "throttled 10",
    "debounced 29",
    "blocked 50 (escalations: 1)",
    "button presses answered 29",
    "alerts sent 1",
    "| password: <code>[Filtered]</code>",
    "ShutdownReport { completed: true, summarised: 0, abandoned: 0 }",
];

/// Fragments the axum example's output must hold (its occurrence ids and timings vary).
pub(crate) const AXUM_FRAGMENTS: &[&str] = &[
    "GET /users/17",
    "→ 500 Internal Server Error",
    "→ 503 Service Unavailable",
    "alerts sent 2, suppressed 1",
    "<pre>payment provider rejected order 42: api_key=[Filtered]</pre>",
    "query: <code>token=[Filtered]&amp;password=[Filtered]</code>",
    "<b>503 in GET /flaky</b>",
];

/// Secrets the axum example sends in its requests: none may reach a delivered alert.
const AXUM_SECRETS: &[&str] = &["hunter2", "secret-token-123"];

/// `cargo run --example quickstart`, its output checked against [`QUICKSTART_TABLE`].
pub(crate) fn quickstart() -> Step {
    Step::blocking("demo/quickstart", || {
        let text = run_example("quickstart")?;
        let missing = missing_lines(&text, QUICKSTART_TABLE);
        if missing.is_empty() {
            Ok(None)
        } else {
            Err(format!("the quickstart's output lacks: {missing:?}").into())
        }
    })
}

/// `cargo run --example axum_alerts`: the expected alerts arrive, scrubbed.
pub(crate) fn axum_alerts() -> Step {
    Step::blocking("demo/axum_alerts", || {
        let text = run_example("axum_alerts")?;
        let missing: Vec<&str> = AXUM_FRAGMENTS
            .iter()
            .filter(|f| !text.contains(*f))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(format!("the axum example's output lacks: {missing:?}").into());
        }
        // The request log above the alerts shows the URLs it sent; the alerts must not.
        let delivered = text.split_once("--- delivered").map_or("", |(_, d)| d);
        let leaked: Vec<&str> = AXUM_SECRETS
            .iter()
            .filter(|s| delivered.contains(*s))
            .copied()
            .collect();
        if leaked.is_empty() {
            Ok(None)
        } else {
            Err(format!("secrets reached the delivered alerts: {leaked:?}").into())
        }
    })
}

/// Runs an example with no configuration from the environment; its stdout.
fn run_example(name: &str) -> Result<String, cmd::DynError> {
    let mut command = cargo();
    command
        .args(["run", "--quiet", "--example", name])
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("TELEMON_BOT_TOKEN")
        .env_remove("TELEMON_CHAT_ID")
        .env_remove("REDIS_URL")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    eprintln!("$ {}", cmd::display(&command));
    let out = command.output()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    eprintln!("{text}");
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("the example {name} failed: {}", out.status).into())
    }
}

/// The `expected` lines no line of `text` equals (spaces collapsed on both sides).
fn missing_lines<'a>(text: &str, expected: &[&'a str]) -> Vec<&'a str> {
    let lines: Vec<String> = text.lines().map(collapse).collect();
    expected
        .iter()
        .filter(|want| !lines.iter().any(|l| *l == collapse(want)))
        .copied()
        .collect()
}

fn collapse(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_with_any_spacing_and_only_whole() {
        let text = "  who  sent handled\n  spammer (group)           60        5\n  handled   21\n";
        assert!(missing_lines(text, &["spammer (group) 60 5", "handled 21"]).is_empty());
        assert_eq!(missing_lines(text, &["handled 2"]), vec!["handled 2"]);
        assert_eq!(
            missing_lines(text, &["spammer (group) 60 6"]),
            vec!["spammer (group) 60 6"]
        );
    }
}
