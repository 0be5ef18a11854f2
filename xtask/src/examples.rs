//! Every example built as a crate of its own, the way an application would hold it: each
//! `examples/*.rs` names its dependencies in a ```` ```toml ```` block of its header, which
//! must name `sentinel` and no other crate of this workspace (third-party crates the example's
//! framework needs, such as tokio or axum, are the application's own). The step writes that
//! manifest with `sentinel` as a path dependency, and builds it in the shared target directory
//! with the workspace's lock file (so the same versions, and most artifacts, are reused).
//! `custom_store` is also run (quick, and not run by the demo checks).

use std::path::Path;

use crate::cmd::{self, DynError, cargo};
use crate::steps::{Step, target_dir};

/// Crates of this workspace an example must not depend on directly.
const INTERNAL: &[&str] = &[
    "sentinel-core",
    "sentinel-storage-memory",
    "sentinel-storage-redis",
    "sentinel-telegram",
    "sentinel-testkit",
    "sentinel-fake-bot-api",
    "telemon-alerts",
];

/// Examples run after they are built (the others are run by the demo checks).
const RUN: &[&str] = &["custom_store"];

/// The `[dependencies]` block of an example's header: the lines of its first ```` ```toml ````
/// block in `//!` comments.
pub(crate) fn manifest_block(source: &str) -> Option<String> {
    let mut lines = source
        .lines()
        .map_while(|l| l.trim_start().strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l));
    lines.find(|l| l.trim() == "```toml")?;
    let block: Vec<&str> = lines.take_while(|l| l.trim() != "```").collect();
    Some(block.join("\n"))
}

/// Checks the block names `sentinel` and no internal crate, and turns `sentinel`'s version
/// into a path to the facade at `root`.
pub(crate) fn local_manifest(name: &str, block: &str, root: &Path) -> Result<String, DynError> {
    let mut deps = String::new();
    let mut has_facade = false;
    for line in block.lines() {
        let dep = line.split('=').next().unwrap_or_default().trim();
        if INTERNAL.contains(&dep) {
            return Err(format!(
                "examples/{name}.rs depends on `{dep}`: examples use the facade `sentinel` only"
            )
            .into());
        }
        if dep == "sentinel" {
            has_facade = true;
            let Some((_, rest)) = line.split_once("version = \"") else {
                return Err(format!("examples/{name}.rs: give `sentinel` a version").into());
            };
            let Some((_, rest)) = rest.split_once('"') else {
                return Err(format!("examples/{name}.rs: unterminated `sentinel` version").into());
            };
            deps.push_str(&format!(
                "sentinel = {{ path = {:?}{rest}\n",
                root.display().to_string()
            ));
        } else {
            deps.push_str(line);
            deps.push('\n');
        }
    }
    if !has_facade {
        return Err(format!("examples/{name}.rs: its toml block must name `sentinel`").into());
    }
    Ok(format!(
        "[package]\nname = \"example-{crate_name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
         publish = false\n\n[workspace]\n\n{deps}\n[[bin]]\nname = {name:?}\npath = {path:?}\n",
        crate_name = name.replace('_', "-"),
        path = root
            .join("examples")
            .join(format!("{name}.rs"))
            .display()
            .to_string(),
    ))
}

/// The step: every example, built as its own crate.
pub(crate) fn as_crates() -> Step {
    Step::blocking("examples/as-crates", || {
        let root = cmd::project_root();
        let mut names: Vec<String> = std::fs::read_dir(root.join("examples"))?
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|f| f.strip_suffix(".rs"))
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        if names.is_empty() {
            return Ok(Some("no examples".into()));
        }
        let target = target_dir();
        for name in &names {
            let source = std::fs::read_to_string(root.join("examples").join(format!("{name}.rs")))?;
            let block = manifest_block(&source).ok_or_else(|| {
                format!(
                    "examples/{name}.rs: no ```toml block naming its dependencies in its header"
                )
            })?;
            let dir = target.join("xtask-examples").join(name);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("Cargo.toml"), local_manifest(name, &block, &root)?)?;
            // The workspace's lock file pins the same versions; cargo drops what is unused.
            std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
            let verb = if RUN.contains(&name.as_str()) {
                "run"
            } else {
                "build"
            };
            eprintln!("examples/{name}.rs as a crate: cargo {verb}");
            cmd::run(
                cargo()
                    .env("CARGO_TARGET_DIR", &target)
                    .args([verb, "--quiet", "--manifest-path"])
                    .arg(dir.join("Cargo.toml")),
            )?;
        }
        Ok(None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "//! Demo.\n//!\n//! ```toml\n//! [dependencies]\n\
        //! sentinel = { version = \"0.1\", features = [\"alerts\"] }\n\
        //! tokio = { version = \"1\", features = [\"full\"] }\n//! ```\n\nfn main() {}\n";

    #[test]
    fn the_header_block_becomes_a_manifest_with_a_path_to_the_facade() {
        let block = manifest_block(SOURCE).unwrap();
        assert!(block.starts_with("[dependencies]\nsentinel = "), "{block}");
        let manifest = local_manifest("demo", &block, Path::new("/w")).unwrap();
        assert!(
            manifest.contains("sentinel = { path = \"/w\", features = [\"alerts\"] }"),
            "{manifest}"
        );
        assert!(manifest.contains("tokio = { version = \"1\", features = [\"full\"] }"));
        assert!(manifest.contains("path = \"/w/examples/demo.rs\""));
    }

    #[test]
    fn an_internal_crate_or_no_facade_is_refused() {
        let testkit = SOURCE.replace("tokio =", "sentinel-testkit =");
        let block = manifest_block(&testkit).unwrap();
        let err = local_manifest("demo", &block, Path::new("/w")).unwrap_err();
        assert!(err.to_string().contains("sentinel-testkit"), "{err}");
        let no_facade = "[dependencies]\ntokio = \"1\"";
        assert!(local_manifest("demo", no_facade, Path::new("/w")).is_err());
        assert!(manifest_block("fn main() {}").is_none());
    }
}
