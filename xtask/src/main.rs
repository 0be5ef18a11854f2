//! `cargo xtask <task>`: project automation for sentinel (pattern: matklad/cargo-xtask).
//!
//! `cargo xtask ci` is the whole gate and what `.ci/run` runs: it installs what is missing
//! (`cargo-deny`, `redis-server`), then runs formatting, clippy, the facade's feature matrix,
//! the tests (with doctests), rustdoc and cargo-deny, printing one line per step and a final
//! pass/fail table. Any failing step makes the exit code non-zero. Only std: xtask compile
//! time is CI time.
#![expect(
    clippy::print_stderr,
    clippy::print_stdout,
    reason = "reporting progress and results is the job of an xtask"
)]

mod ci;
mod cmd;
mod demo_check;
mod examples;
mod install;
mod leaks;
mod scrub_bench;
mod steps;
#[cfg(test)]
mod tidy;

use std::env;
use std::process::ExitCode;

use crate::cmd::DynError;

const HELP: &str = "\
usage: cargo xtask <task> [args]

tasks:
  ci                     everything CI checks, in order, with a pass/fail table
                         (installs cargo-deny and redis-server when missing)
  fmt                    cargo fmt --all -- --check
  clippy                 clippy on the whole workspace, all targets and features, -D warnings
  features               each facade feature alone (and none) passes clippy -D warnings
  test                   nextest (or cargo test) on the workspace with all features, then doctests
  doc                    cargo doc --workspace --all-features --no-deps, warnings denied
  deny                   cargo deny check bans licenses sources (advisories if a database is offline)
  bench [AREA] [-- ARGS] criterion benches; AREA is engine, http, memory, redis, alerts, scrub
                         or all (default)
  demo [-- ARGS]         cargo run --example quickstart
  examples               build every example as a crate of its own depending on `sentinel`
  demo-check             run the quickstart and the axum example, check their output (CI steps)
  root                   print the workspace root the tasks check (found from the current directory)
  help                   this text
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), DynError> {
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    if !matches!(task, "help" | "-h" | "--help" | "root") {
        eprintln!(
            "xtask: checking the workspace at {}",
            cmd::project_root().display()
        );
    }
    match task {
        "root" => {
            println!("{}", cmd::project_root().display());
            Ok(())
        }
        "ci" => ci::run(),
        "fmt" => ci::run_one(steps::fmt()),
        "clippy" => ci::run_one(steps::clippy()),
        "features" => ci::run_steps(steps::feature_matrix()),
        "test" => ci::run_steps(vec![steps::tests(), steps::doctests()]),
        "doc" => ci::run_one(steps::doc()),
        "deny" => {
            install::cargo_deny()?;
            ci::run_steps(vec![steps::deny(), steps::advisories()])
        }
        "bench" => steps::bench(rest),
        "demo" => steps::demo(rest),
        "examples" => ci::run_one(examples::as_crates()),
        "demo-check" => ci::run_steps(vec![demo_check::quickstart(), demo_check::axum_alerts()]),
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => {
            eprint!("{HELP}");
            Err(format!("unknown task `{other}`").into())
        }
    }
}
