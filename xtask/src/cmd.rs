//! Running commands: cargo from the same toolchain, from the project root.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Error type of every task.
pub(crate) type DynError = Box<dyn std::error::Error>;

/// The root of the workspace this xtask was run in, found **at run time** from the current
/// directory (`cargo locate-project --workspace`), never from where the binary was built: with
/// a shared `CARGO_TARGET_DIR`, the xtask binary may have been built from another checkout.
pub(crate) fn project_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(locate_workspace).clone()
}

/// `cargo locate-project --workspace` from the current directory; if cargo cannot say, the
/// nearest ancestor whose `Cargo.toml` has a `[workspace]` table; else the current directory.
fn locate_workspace() -> PathBuf {
    let cwd = env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let located = Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
        .args(["locate-project", "--workspace", "--message-format", "plain"])
        .current_dir(&cwd)
        .stderr(Stdio::inherit())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|manifest| Path::new(manifest.trim()).parent().map(Path::to_path_buf));
    located.unwrap_or_else(|| {
        cwd.ancestors()
            .find(|dir| {
                std::fs::read_to_string(dir.join("Cargo.toml"))
                    .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
            })
            .map_or_else(|| cwd.clone(), Path::to_path_buf)
    })
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
