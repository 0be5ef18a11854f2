//! Installing what `cargo xtask ci` needs and a fresh machine lacks.

use std::env;
use std::process::Command;

use crate::cmd::{self, DynError, cargo};
use crate::steps::StepResult;

/// cargo-deny, pinned: its configuration format and flags change between minor versions.
pub(crate) const CARGO_DENY: &str = "cargo-deny@0.20.2";

/// The `setup` step of `ci`: cargo-deny and redis-server.
pub(crate) fn ci_prerequisites() -> StepResult {
    cargo_deny()?;
    redis_server()?;
    Ok(None)
}

/// Installs cargo-deny with `cargo install --locked` when `cargo deny` does not run.
pub(crate) fn cargo_deny() -> Result<(), DynError> {
    if cmd::succeeds(cargo().args(["deny", "--version"])) {
        eprintln!("cargo-deny: installed");
        return Ok(());
    }
    eprintln!("cargo-deny: missing, installing {CARGO_DENY}");
    cmd::run(cargo().args(["install", "--locked", CARGO_DENY]))
}

/// Installs `redis-server` with apt-get when it is missing and we are root; the Redis tests
/// fail (they never skip) without it.
pub(crate) fn redis_server() -> Result<(), DynError> {
    if let Some(path) = env::var_os("SENTINEL_REDIS_SERVER").filter(|p| !p.is_empty()) {
        eprintln!(
            "redis-server: SENTINEL_REDIS_SERVER={}",
            path.to_string_lossy()
        );
        return Ok(());
    }
    if let Some(path) = cmd::find_on_path("redis-server") {
        eprintln!("redis-server: {}", path.display());
        return Ok(());
    }
    if !is_root() {
        return Err("redis-server is missing and we are not root: install it \
                    (`sudo apt-get install -y redis-server`) or set SENTINEL_REDIS_SERVER"
            .into());
    }
    eprintln!("redis-server: missing, installing with apt-get");
    let install = |command: &mut Command| {
        command
            .args(["install", "-y", "--no-install-recommends", "redis-server"])
            .env("DEBIAN_FRONTEND", "noninteractive");
    };
    let mut first = Command::new("apt-get");
    install(&mut first);
    if cmd::run(&mut first).is_err() {
        // A fresh image usually has no package lists yet.
        cmd::run(Command::new("apt-get").arg("update"))?;
        let mut second = Command::new("apt-get");
        install(&mut second);
        cmd::run(&mut second)?;
    }
    if cmd::find_on_path("redis-server").is_none() {
        return Err("apt-get installed redis-server but it is not on PATH".into());
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
}
