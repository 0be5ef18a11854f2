//! Running steps: one summary line per step, then a pass/fail table.

use std::time::{Duration, Instant};

use crate::cmd::DynError;
use crate::install;
use crate::steps::{self, Step};

/// What became of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail(String),
    /// A non-blocking step failed: reported, but the run still passes.
    Warn(String),
    /// The step could not run here (only non-blocking steps may say so).
    Skip(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Fail(_) => "FAIL",
            Self::Warn(_) => "WARN",
            Self::Skip(_) => "SKIP",
        }
    }

    fn note(&self) -> &str {
        match self {
            Self::Pass => "",
            Self::Fail(note) | Self::Warn(note) | Self::Skip(note) => note,
        }
    }
}

/// `cargo xtask ci`: tools, then every check in the order CI wants. All steps run, so one
/// failure does not hide another; any blocking failure fails the run.
pub(crate) fn run() -> Result<(), DynError> {
    let mut all = vec![Step::blocking("setup", install::ci_prerequisites)];
    all.push(steps::fmt());
    all.push(steps::clippy());
    all.extend(steps::feature_matrix());
    all.push(steps::tests());
    all.push(steps::doctests());
    all.push(crate::demo_check::quickstart());
    all.push(crate::demo_check::axum_alerts());
    all.push(steps::doc());
    all.push(steps::deny());
    all.push(steps::advisories());
    run_steps(all)
}

/// Runs a single step and reports it.
pub(crate) fn run_one(step: Step) -> Result<(), DynError> {
    run_steps(vec![step])
}

/// Runs every step, prints a line per step and a final table; fails if a blocking step did.
pub(crate) fn run_steps(steps: Vec<Step>) -> Result<(), DynError> {
    let started = Instant::now();
    let mut results: Vec<(String, Outcome, Duration)> = Vec::with_capacity(steps.len());
    for step in steps {
        eprintln!("\n==> {}", step.name);
        let step_start = Instant::now();
        let outcome = match (step.action)() {
            Ok(None) => Outcome::Pass,
            Ok(Some(reason)) => Outcome::Skip(reason),
            Err(e) if step.blocking => Outcome::Fail(e.to_string()),
            Err(e) => Outcome::Warn(e.to_string()),
        };
        let elapsed = step_start.elapsed();
        eprintln!(
            "--> {}: {} in {:.1}s{}",
            step.name,
            outcome.label(),
            elapsed.as_secs_f64(),
            suffix(outcome.note())
        );
        results.push((step.name, outcome, elapsed));
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|(_, outcome, _)| matches!(outcome, Outcome::Fail(_)))
        .map(|(name, _, _)| name.as_str())
        .collect();
    if results.len() > 1 {
        print_table(&results, started.elapsed(), failed.is_empty());
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")).into())
    }
}

fn suffix(note: &str) -> String {
    let first_line = note.lines().next().unwrap_or_default();
    if first_line.is_empty() {
        String::new()
    } else {
        format!(" ({first_line})")
    }
}

fn print_table(results: &[(String, Outcome, Duration)], total: Duration, passed: bool) {
    let width = results
        .iter()
        .map(|(name, _, _)| name.len())
        .max()
        .unwrap_or(0)
        .max("step".len());
    println!();
    println!("{:<width$}  result  {:>8}  note", "step", "seconds");
    println!("{}", "-".repeat(width + 28));
    for (name, outcome, elapsed) in results {
        println!(
            "{name:<width$}  {:<6}  {:>8.1}  {}",
            outcome.label(),
            elapsed.as_secs_f64(),
            outcome.note().lines().next().unwrap_or_default()
        );
    }
    println!("{}", "-".repeat(width + 28));
    println!(
        "{:<width$}  {:<6}  {:>8.1}",
        "total",
        if passed { "PASS" } else { "FAIL" },
        total.as_secs_f64()
    );
}
