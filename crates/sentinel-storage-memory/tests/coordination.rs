//! The memory coordination store passes the testkit's coordination section unchanged, on a
//! `ManualClock`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use sentinel_core::ManualClock;
use sentinel_storage_memory::MemoryCoordinationStore;
use sentinel_testkit::conformance::{self, ConformanceConfig, CoordinationClock};

async fn store() -> (MemoryCoordinationStore, CoordinationClock) {
    let clock = ManualClock::default();
    (
        MemoryCoordinationStore::new(clock.clone()),
        CoordinationClock::Manual(clock),
    )
}

#[tokio::test]
async fn coordination_conformance() {
    conformance::coordination(&store, &ConformanceConfig::thorough()).await;
}
