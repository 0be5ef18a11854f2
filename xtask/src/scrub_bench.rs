//! `cargo xtask bench alerts` (second half): the scrubber's cost side by side with a baseline
//! commit's scrubber, in one run. The same small program (`xtask/assets/scrub_bench.rs`) is
//! built against both trees and the two binaries run in turns; the table gives each median and
//! the ratio.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, DynError, cargo};

/// The last commit before the scrubber was rewritten (issue 11); override with
/// `SENTINEL_SCRUB_BASELINE=<rev>`.
const DEFAULT_BASELINE: &str = "b8dfe93";

/// Rounds of (baseline, current) runs.
const ROUNDS: usize = 3;

const PROGRAM: &str = include_str!("../assets/scrub_bench.rs");

fn write_crate(dir: &Path, name: &str, alerts: &Path) -> Result<(), DynError> {
    fs::create_dir_all(dir.join("src"))?;
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\ntelemon-alerts = {{ path = {alerts:?} }}\n\n\
         [profile.release]\ndebug = false\n",
        alerts = alerts.display().to_string(),
    );
    fs::write(dir.join("Cargo.toml"), manifest)?;
    fs::write(dir.join("src/main.rs"), PROGRAM)?;
    Ok(())
}

/// Runs one binary and parses its `name nanoseconds` lines.
fn run_once(binary: &Path, passes: usize) -> Result<Vec<(String, f64)>, DynError> {
    let out = Command::new(binary).arg(passes.to_string()).output()?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", binary.display(), out.status).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, ns) = l.split_once(' ')?;
            Some((name.to_owned(), ns.trim().parse().ok()?))
        })
        .collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Builds both, runs them in turns, prints the table.
pub(crate) fn compare() -> Result<(), DynError> {
    let root = cmd::project_root();
    let work = crate::steps::target_dir().join("xtask-scrub-bench");
    let baseline_rev =
        std::env::var("SENTINEL_SCRUB_BASELINE").unwrap_or_else(|_| DEFAULT_BASELINE.to_owned());
    let baseline_tree = work.join(format!("tree-{baseline_rev}"));
    if !baseline_tree.join("Cargo.toml").exists() {
        fs::create_dir_all(&baseline_tree)?;
        let archive = Command::new("git")
            .current_dir(&root)
            .args(["archive", "--format=tar", &baseline_rev])
            .output()?;
        if !archive.status.success() {
            return Err(format!("git archive {baseline_rev} failed").into());
        }
        let tar = work.join("baseline.tar");
        fs::write(&tar, &archive.stdout)?;
        cmd::run(
            Command::new("tar")
                .arg("-xf")
                .arg(&tar)
                .arg("-C")
                .arg(&baseline_tree),
        )?;
    }
    let crates: [(&str, PathBuf, usize); 2] = [
        ("baseline", baseline_tree.join("crates/telemon-alerts"), 1),
        ("current", root.join("crates/telemon-alerts"), 2),
    ];
    let target = work.join("target");
    let mut binaries = Vec::new();
    for (name, alerts, passes) in &crates {
        let dir = work.join(name);
        write_crate(&dir, &format!("scrub-bench-{name}"), alerts)?;
        let mut build = cargo();
        build
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--release", "--quiet"]);
        cmd::run(&mut build)?;
        binaries.push((
            *name,
            target.join(format!("release/scrub-bench-{name}")),
            *passes,
        ));
    }
    // name → (baseline samples, current samples)
    let mut figures: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    for _ in 0..ROUNDS {
        for (i, (_, binary, passes)) in binaries.iter().enumerate() {
            for (name, ns) in run_once(binary, *passes)? {
                let pos = match figures.iter().position(|f| f.0 == name) {
                    Some(p) => p,
                    None => {
                        figures.push((name, Vec::new(), Vec::new()));
                        figures.len() - 1
                    }
                };
                if i == 0 {
                    figures[pos].1.push(ns);
                } else {
                    figures[pos].2.push(ns);
                }
            }
        }
    }
    println!(
        "\nscrubbing one alert: baseline {baseline_rev} (1 pass) vs current (fields + last pass = 2 passes)"
    );
    println!(
        "{:<10} {:>14} {:>14} {:>8}",
        "input", "baseline", "current", "ratio"
    );
    for (name, old, new) in figures {
        let (old, new) = (median(old), median(new));
        println!(
            "{name:<10} {:>11.1} µs {:>11.1} µs {:>7.2}×",
            old / 1000.0,
            new / 1000.0,
            new / old
        );
    }
    Ok(())
}
