//! The xtask binary checks the workspace it is run in, not the one it was built from: a second
//! clone sharing the first clone's target directory (so running the same binary) checks the
//! second clone.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::fs;
use std::path::Path;
use std::process::Command;

/// A minimal workspace, standing in for a second clone.
fn second_clone(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join("member/src")).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"member\"]\n",
    )
    .unwrap();
    fs::write(
        dir.join("member/Cargo.toml"),
        "[package]\nname = \"member\"\nversion = \"0.0.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    fs::write(dir.join("member/src/lib.rs"), "").unwrap();
}

fn root_seen_from(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("root")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_binary_checks_the_clone_it_runs_in() {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // Outside this workspace, so cargo does not see it as a member of ours.
    let clone = std::env::temp_dir().join(format!("xtask-second-clone-{}", std::process::id()));
    second_clone(&clone);
    let root = clone.canonicalize().unwrap();
    assert_eq!(Path::new(&root_seen_from(&clone)), root);
    // From a subdirectory too, as `cargo xtask` run anywhere inside the clone.
    assert_eq!(Path::new(&root_seen_from(&clone.join("member/src"))), root);
    // And from the first clone, the first clone.
    assert_eq!(
        Path::new(&root_seen_from(built_from)),
        built_from.canonicalize().unwrap()
    );
    let _ = fs::remove_dir_all(&clone);
}
