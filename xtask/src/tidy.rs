//! Project conventions, checked by plain `cargo test` (rust-analyzer's `tidy.rs` pattern).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::project_root;

/// Every package manifest of the workspace: the root facade, `crates/*` and `xtask`.
fn manifests() -> Vec<PathBuf> {
    let root = project_root();
    let mut manifests = vec![root.join("Cargo.toml"), root.join("xtask/Cargo.toml")];
    for entry in fs::read_dir(root.join("crates")).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        if manifest.is_file() {
            manifests.push(manifest);
        }
    }
    manifests
}

/// Whether a manifest's `[lints]` table says `workspace = true`.
fn inherits_workspace_lints(manifest: &str) -> bool {
    let mut in_lints = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_lints = line == "[lints]";
        } else if in_lints && line.replace(' ', "") == "workspace=true" {
            return true;
        }
    }
    manifest
        .lines()
        .any(|l| l.replace(' ', "") == "lints.workspace=true")
}

#[test]
fn every_crate_inherits_workspace_lints() {
    let manifests = manifests();
    assert!(manifests.len() >= 8, "found only {manifests:?}");
    let missing: Vec<_> = manifests
        .iter()
        .filter(|m| !inherits_workspace_lints(&fs::read_to_string(m).unwrap()))
        .collect();
    assert!(
        missing.is_empty(),
        "add `[lints]\\nworkspace = true` to {missing:?}"
    );
}

#[test]
fn lints_check_reads_the_lints_table_only() {
    assert!(inherits_workspace_lints(
        "[package]\nname = \"x\"\n\n[lints]\nworkspace = true\n"
    ));
    assert!(!inherits_workspace_lints("[package]\nname = \"x\"\n"));
    assert!(!inherits_workspace_lints(
        "[lints]\n\n[dependencies]\nworkspace = true\n"
    ));
}

/// Crates that must never be in `sentinel-core`'s normal dependency tree.
const FORBIDDEN_IN_CORE: &[&str] = &["tokio", "redis", "reqwest", "hyper", "teloxide"];

#[test]
fn sentinel_core_has_no_io_dependencies() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for features in [&[][..], &["--all-features"][..]] {
        let output = Command::new(&cargo)
            .current_dir(project_root())
            .args([
                "tree",
                "-p",
                "sentinel-core",
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .args(features)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let tree = String::from_utf8(output.stdout).unwrap();
        assert!(
            tree.starts_with("sentinel-core "),
            "unexpected tree:\n{tree}"
        );
        let found: Vec<&str> = tree
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .filter(|name| FORBIDDEN_IN_CORE.contains(name))
            .collect();
        assert!(
            found.is_empty(),
            "sentinel-core ({features:?}) must stay free of I/O crates, found {found:?}:\n{tree}"
        );
    }
}

/// Rust sources under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_are_files_not_mod_rs() {
    let root = project_root();
    let mut files = Vec::new();
    for dir in ["src", "crates", "xtask", "tests", "examples", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mod_rs: Vec<_> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "mod.rs"))
        // `tests/common/mod.rs` is how integration tests share code without it becoming a
        // test crate of its own; that is the one allowed place.
        .filter(|f| {
            !f.parent()
                .and_then(Path::parent)
                .is_some_and(|p| p.ends_with("tests"))
        })
        .collect();
    assert!(
        mod_rs.is_empty(),
        "use `foo.rs` + `foo/` instead of `foo/mod.rs`: {mod_rs:?}"
    );
}
