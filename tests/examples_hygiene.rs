//! `examples/custom_store.rs` must show a backend built on the facade with no features — that
//! is `sentinel-core` alone (xtask's `features/core-only-example` builds it that way).

#[test]
fn custom_store_example_uses_only_the_featureless_facade_and_std() {
    let src = include_str!("../examples/custom_store.rs");
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
