//! Running commands: cargo from the same toolchain, from the project root.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Error type of every task.
pub(crate) type DynError = Box<dyn std::error::Error>;

/// The workspace root (xtask lives one level below it).
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// `cargo` of the toolchain that runs this xtask (`$CARGO`), falling back to `PATH`.
pub(crate) fn cargo() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(cargo);
    command.current_dir(project_root());
    command
}

/// Renders a command the way a user would type it.
pub(crate) fn display(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or(command.get_program())
        .to_string_lossy()
        .into_owned();
    let mut text = String::new();
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            text.push_str(&format!(
                "{}={} ",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    text.push_str(&program);
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(' ') {
            text.push_str(&format!(" '{arg}'"));
        } else {
            text.push(' ');
            text.push_str(&arg);
        }
    }
    text
}

/// Runs `command` with inherited stdio; an unsuccessful exit is an error.
pub(crate) fn run(command: &mut Command) -> Result<(), DynError> {
    eprintln!("$ {}", display(command));
    let status = command
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", display(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed: {status}", display(command)).into())
    }
}

/// Whether `command` runs and exits successfully (output discarded).
pub(crate) fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The first `name` on `PATH`.
pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    env::var_os("PATH")
        .iter()
        .flat_map(env::split_paths)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
