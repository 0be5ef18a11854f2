//! The memory store passes the conformance suite unchanged, with the thorough settings.

use sentinel_core::ManualClock;
use sentinel_storage_memory::{MemoryConfig, MemoryStore};
use sentinel_testkit::conformance::{self, ConformanceConfig};

fn config() -> ConformanceConfig {
    ConformanceConfig::thorough()
}

async fn store(clock: ManualClock) -> MemoryStore {
    MemoryStore::new(clock)
}

#[tokio::test]
async fn rate_limit_scripts() {
    conformance::rate_limit_scripts(&store, &config()).await;
}

#[tokio::test]
async fn rate_limit_properties() {
    conformance::rate_limit_properties(&store, &config()).await;
}

#[tokio::test]
async fn debounce() {
    conformance::debounce_scripts(&store).await;
    conformance::debounce_properties(&store, &config()).await;
}

#[tokio::test]
async fn blocklist() {
    conformance::blocklist_scripts(&store).await;
    conformance::blocklist_properties(&store, &config()).await;
}

#[tokio::test]
async fn key_isolation() {
    conformance::key_isolation(&store).await;
}

/// `Scope::Global` (one budget for everyone) and `Scope::User` through the engine.
#[tokio::test]
async fn scopes() {
    conformance::scopes(&store).await;
}

/// The whole suite through `run_all`, on a store with one shard and a tiny sweep budget, so
/// sweeping on access runs on almost every insert.
#[tokio::test]
async fn run_all_single_shard() {
    let one_shard = |clock: ManualClock| async move {
        MemoryStore::with_config(
            clock,
            MemoryConfig::default().shards(1).sweep_per_insert(64),
        )
    };
    conformance::run_all(one_shard, &ConformanceConfig::default()).await;
}

#[tokio::test]
async fn plan() {
    conformance::plan_properties(&store, &config()).await;
}

/// `forget(subject)`: the store's own key listing holds no key of the forgotten user or chat
/// afterwards, and every other key is still there.
#[tokio::test]
async fn forget() {
    conformance::forget(&store, |store, prefix| async move {
        store
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .collect()
    })
    .await;
}

/// The same on a single shard (removal moves entries inside the one slab).
#[tokio::test]
async fn forget_single_shard() {
    let one_shard = |clock: ManualClock| async move {
        MemoryStore::with_config(clock, MemoryConfig::default().shards(1))
    };
    conformance::forget(&one_shard, |store, prefix| async move {
        store
            .keys()
            .into_iter()
            .filter(|k| k.starts_with(&prefix))
            .collect()
    })
    .await;
}
