//! Examples are written against the facade: each names its dependencies in a ```` ```toml ````
//! block of its header (xtask's `examples/as-crates` step builds it as a crate of its own with
//! exactly those), the block names `sentinel` and no other crate of this workspace, and the
//! example imports nothing else. `examples/custom_store.rs` shows a backend built on the
//! facade with no features, that is `sentinel-core` alone.

use std::collections::BTreeSet;

const EXAMPLES: &[(&str, &str)] = &[
    ("axum_alerts", include_str!("../examples/axum_alerts.rs")),
    ("custom_store", include_str!("../examples/custom_store.rs")),
    ("quickstart", include_str!("../examples/quickstart.rs")),
];

/// The crate names (`-` as `_`) of the example's header block.
fn declared(src: &str) -> BTreeSet<String> {
    let mut in_block = false;
    let mut deps = BTreeSet::new();
    for line in src
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
    {
        match line {
            "```toml" => in_block = true,
            "```" if in_block => break,
            _ if in_block => {
                if let Some((name, _)) = line.split_once('=') {
                    deps.insert(name.trim().replace('-', "_"));
                }
            }
            _ => {}
        }
    }
    deps
}

/// The crate each `use` starts from. (Paths in expressions are not parsed here; the
/// `examples/as-crates` step compiles each example with only its declared dependencies.)
fn use_roots(src: &str) -> BTreeSet<String> {
    src.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("use "))
        .map(|path| path.split("::").next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn every_example_names_the_facade_and_imports_only_what_it_names() {
    for (name, src) in EXAMPLES {
        let deps = declared(src);
        assert!(
            deps.contains("sentinel"),
            "{name}: no toml block naming `sentinel`"
        );
        for internal in [
            "sentinel_core",
            "sentinel_storage_memory",
            "sentinel_storage_redis",
            "sentinel_telegram",
            "sentinel_testkit",
            "sentinel_fake_bot_api",
            "telemon_alerts",
        ] {
            assert!(!deps.contains(internal), "{name} depends on {internal}");
        }
        for root in use_roots(src) {
            assert!(
                root == "std" || deps.contains(&root),
                "{name} imports `{root}`, which its toml block does not name"
            );
        }
    }
}

#[test]
fn custom_store_example_uses_only_the_featureless_facade_and_std() {
    let src = include_str!("../examples/custom_store.rs");
    assert_eq!(
        declared(src),
        BTreeSet::from(["sentinel".to_owned()]),
        "custom_store depends on `sentinel` alone"
    );
    assert!(src.contains("sentinel = { version = \"0.1\", default-features = false }"));
    for line in src.lines().map(str::trim) {
        if let Some(path) = line.strip_prefix("use ") {
            let root = path.split("::").next().unwrap_or_default();
            assert!(
                matches!(root, "std" | "sentinel"),
                "custom_store.rs imports `{root}`; it must depend on `sentinel` (no features) only"
            );
        }
    }
    assert!(src.contains("impl RateLimitStore for"));
    assert!(src.contains("impl DebounceStore for"));
    assert!(src.contains("impl BlocklistStore for"));
}
