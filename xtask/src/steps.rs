//! The checks, each a [`Step`], plus the `bench` and `demo` tasks.

use std::env;
use std::path::PathBuf;

use crate::cmd::{self, DynError, cargo};
use crate::leaks;

/// What a step's action returns: `Ok(None)` passed, `Ok(Some(reason))` could not run here.
pub(crate) type StepResult = Result<Option<String>, DynError>;

/// One named check.
pub(crate) struct Step {
    pub(crate) name: String,
    /// A blocking step's failure fails the run; a non-blocking one is only reported.
    pub(crate) blocking: bool,
    pub(crate) action: Box<dyn FnOnce() -> StepResult>,
}

impl Step {
    pub(crate) fn blocking(name: &str, action: impl FnOnce() -> StepResult + 'static) -> Self {
        Self {
            name: name.to_owned(),
            blocking: true,
            action: Box::new(action),
        }
    }

    fn cargo(name: &str, args: &[&str]) -> Self {
        let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
        Self::blocking(name, move || {
            cmd::run(cargo().args(&args))?;
            Ok(None)
        })
    }
}

/// The facade's features; each must build and pass clippy alone.
pub(crate) const FACADE_FEATURES: &[&str] = &[
    "memory",
    "redis",
    "redis-cluster",
    "redis-sentinel",
    "redis-tls",
    "telegram",
    "teloxide",
    "webhook",
    "alerts",
    "axum",
    "tracing",
    "tower",
    "fake-bot-api",
    "full",
];

pub(crate) fn fmt() -> Step {
    Step::cargo("fmt", &["fmt", "--all", "--", "--check"])
}

pub(crate) fn clippy() -> Step {
    Step::cargo(
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
    )
}

/// `sentinel` with no default features, then with each feature alone.
pub(crate) fn feature_matrix() -> Vec<Step> {
    let mut steps = vec![Step::cargo(
        "features/none",
        &[
            "clippy",
            "-p",
            "sentinel",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ],
    )];
    for feature in FACADE_FEATURES {
        steps.push(Step::cargo(
            &format!("features/{feature}"),
            &[
                "clippy",
                "-p",
                "sentinel",
                "--no-default-features",
                "--features",
                feature,
                "--",
                "-D",
                "warnings",
            ],
        ));
    }
    steps.push(crate::examples::as_crates());
    steps
}

/// The workspace's tests with all features: nextest when installed, else `cargo test`.
/// Then the leak check: no `redis-server` the tests started may still run (see
/// [`crate::leaks`]); the count before and after is printed.
pub(crate) fn tests() -> Step {
    Step::blocking("test", || {
        let tmp = target_dir().join("xtask-test-tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp)?;
        let before = leaks::redis_servers();
        let mut command = cargo();
        if cmd::succeeds(cargo().args(["nextest", "--version"])) {
            // The config kills hung tests (see the file).
            command.args([
                "nextest",
                "run",
                "--config-file",
                "xtask/nextest.toml",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ]);
        } else {
            eprintln!("cargo-nextest is not installed; using cargo test");
            command.args(["test", "--workspace", "--all-features", "--no-fail-fast"]);
        }
        // The tests' servers live under this directory, so the check below counts only them.
        let result = cmd::run(command.env("TMPDIR", &tmp));
        let left = leaks::left_under(&tmp);
        if let (Some(before), Some(after)) = (before, leaks::redis_servers()) {
            eprintln!(
                "redis-server processes on this machine: {} before the tests, {} after; left by the tests: {}",
                before.len(),
                after.len(),
                left.len()
            );
        }
        result?;
        if !left.is_empty() {
            return Err(format!(
                "the tests left {} redis-server process(es) running: {left:?}",
                left.len()
            )
            .into());
        }
        let _ = std::fs::remove_dir_all(&tmp);
        Ok(None)
    })
}

/// `$CARGO_TARGET_DIR`, else `target/` of the workspace: the one place that resolves it.
pub(crate) fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| cmd::project_root().join("target"), PathBuf::from)
}

/// Doctests, always: nextest does not run them.
pub(crate) fn doctests() -> Step {
    Step::cargo(
        "doctest",
        &["test", "--doc", "--workspace", "--all-features"],
    )
}

pub(crate) fn doc() -> Step {
    Step::blocking("doc", || {
        cmd::run(
            cargo()
                .args(["doc", "--workspace", "--all-features", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?;
        Ok(None)
    })
}

/// Bans, licences and sources: a hard gate.
pub(crate) fn deny() -> Step {
    Step::cargo(
        "deny",
        &[
            "deny",
            "--all-features",
            "check",
            "bans",
            "licenses",
            "sources",
        ],
    )
}

/// RustSec advisories, only from a database already on disk (this network cannot fetch
/// it), and never blocking: a new advisory must not fail unrelated work.
pub(crate) fn advisories() -> Step {
    Step {
        name: "advisories".to_owned(),
        blocking: false,
        action: Box::new(|| {
            if advisory_db().is_none() {
                return Ok(Some(
                    "no advisory database on disk (CARGO_HOME/advisory-db*)".to_owned(),
                ));
            }
            cmd::run(cargo().args(["deny", "--all-features", "--offline", "check", "advisories"]))?;
            Ok(None)
        }),
    }
}

fn cargo_home() -> Option<PathBuf> {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}

fn advisory_db() -> Option<PathBuf> {
    let home = cargo_home()?;
    std::fs::read_dir(&home)
        .ok()?
        .filter_map(Result::ok)
        .find(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("advisory-db")
                && entry.path().is_dir()
        })
        .map(|entry| entry.path())
}

/// `(package, bench target)` of each bench area.
const BENCHES: &[(&str, &str, &str)] = &[
    ("engine", "sentinel", "engine"),
    ("http", "sentinel", "http"),
    ("memory", "sentinel-storage-memory", "memory"),
    ("redis", "sentinel-storage-redis", "redis"),
    ("alerts", "telemon-alerts", "alerts"),
];

/// `cargo xtask bench [engine|http|memory|redis|alerts|scrub|all] [-- criterion args]`; `alerts` ends with
/// the scrubber comparison that `scrub` runs alone.
pub(crate) fn bench(args: &[String]) -> Result<(), DynError> {
    let (area, extra) = split_area(args);
    let area = area.unwrap_or("all");
    if area == "scrub" {
        return crate::scrub_bench::compare();
    }
    let chosen: Vec<_> = BENCHES
        .iter()
        .filter(|(name, _, _)| area == "all" || *name == area)
        .collect();
    if chosen.is_empty() {
        return Err(format!(
            "unknown bench area `{area}`: use engine, http, memory, redis, alerts, scrub or all"
        )
        .into());
    }
    for (_, package, bench) in chosen {
        let mut command = cargo();
        command.args(["bench", "-p", package, "--bench", bench]);
        if !extra.is_empty() {
            command.arg("--").args(extra);
        }
        cmd::run(&mut command)?;
        if *package == "telemon-alerts" {
            crate::scrub_bench::compare()?;
        }
    }
    Ok(())
}

/// `cargo xtask demo [-- args]`: the quickstart example.
pub(crate) fn demo(args: &[String]) -> Result<(), DynError> {
    let (_, extra) = split_area(args);
    let mut command = cargo();
    command.args(["run", "--example", "quickstart"]);
    if !extra.is_empty() {
        command.arg("--").args(extra);
    }
    cmd::run(&mut command)
}

/// Splits `[AREA] [-- ARGS...]`.
fn split_area(args: &[String]) -> (Option<&str>, &[String]) {
    match args.split_first() {
        Some((first, rest)) if first == "--" => (None, rest),
        Some((first, rest)) => match rest.split_first() {
            Some((dashes, extra)) if dashes == "--" => (Some(first.as_str()), extra),
            _ => (Some(first.as_str()), rest),
        },
        None => (None, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::split_area;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|&a| a.to_owned()).collect()
    }

    #[test]
    fn bench_and_demo_arguments_split_at_double_dash() {
        let args = strings(&["redis", "--", "--quick"]);
        assert_eq!(split_area(&args), (Some("redis"), &args[2..]));
        let args = strings(&["--", "--quick"]);
        assert_eq!(split_area(&args), (None, &args[1..]));
        let args = strings(&["memory"]);
        assert_eq!(split_area(&args), (Some("memory"), &args[1..]));
        assert_eq!(split_area(&[]), (None, &[][..]));
    }
}
