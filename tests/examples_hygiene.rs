//! `examples/custom_store.rs` must show a backend built on `sentinel-core` alone.

#[test]
fn custom_store_example_uses_only_sentinel_core_and_std() {
    let src = include_str!("../examples/custom_store.rs");
    for line in src.lines().map(str::trim) {
        if let Some(path) = line.strip_prefix("use ") {
            let root = path.split("::").next().unwrap_or_default();
            assert!(
                matches!(root, "std" | "sentinel_core"),
                "custom_store.rs imports `{root}`; it must depend on sentinel-core only"
            );
        }
    }
    assert!(src.contains("impl RateLimitStore for"));
    assert!(src.contains("impl DebounceStore for"));
    assert!(src.contains("impl BlocklistStore for"));
}
