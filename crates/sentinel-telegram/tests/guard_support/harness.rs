//! Shared pieces of the guard tests: engines on a manual clock, counters that can be awaited,
//! a completion step, and reading teloxide's subscriptions.
#![allow(dead_code, reason = "each test crate uses a different part")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::panic::Location;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sentinel_core::{ManualClock, PolicyRegistry, Sentinel, Store, Timestamp};
use sentinel_storage_memory::MemoryStore;
use serde_json::Value;
use teloxide::dispatching::{DpHandlerDescription, UpdateHandler};
use teloxide::dptree::{self, HandlerDescription, HandlerSignature, Type};
use teloxide::types::Update;
use tokio::sync::watch;

/// The manual clock every test starts at.
pub(crate) fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_secs(1_700_000_000))
}

/// An engine on the memory store and `clock`.
pub(crate) fn memory_sentinel(clock: &ManualClock, policies: PolicyRegistry) -> Sentinel {
    sentinel_on(Arc::new(MemoryStore::new(clock.clone())), clock, policies)
}

/// An engine on `store` and `clock`.
pub(crate) fn sentinel_on(
    store: Arc<dyn Store>,
    clock: &ManualClock,
    policies: PolicyRegistry,
) -> Sentinel {
    Sentinel::builder()
        .store(store)
        .clock(clock.clone())
        .policies(policies)
        .build()
        .unwrap()
}

/// A teloxide `Update` from a fake-built update body and an id.
pub(crate) fn update(mut body: Value, id: u32) -> Update {
    body["update_id"] = id.into();
    // From text: teloxide's `UpdateKind` reads its key as a borrowed `&str` first, which a
    // `Value` cannot lend.
    let upd: Update = serde_json::from_str(&body.to_string()).unwrap();
    assert!(
        !matches!(upd.kind, teloxide::types::UpdateKind::Error(_)),
        "teloxide could not read the update"
    );
    upd
}

/// A counter that can be awaited.
#[derive(Clone, Debug)]
pub(crate) struct Counter {
    n: Arc<AtomicUsize>,
    tx: Arc<watch::Sender<usize>>,
}

impl Default for Counter {
    fn default() -> Self {
        Self {
            n: Arc::new(AtomicUsize::new(0)),
            tx: Arc::new(watch::channel(0).0),
        }
    }
}

impl Counter {
    pub(crate) fn bump(&self) {
        let v = self.n.fetch_add(1, Ordering::SeqCst) + 1;
        self.tx.send_replace(v);
    }

    pub(crate) fn get(&self) -> usize {
        self.n.load(Ordering::SeqCst)
    }

    /// Waits until the count reaches `n`; panics after `timeout` (a failure guard only).
    pub(crate) async fn wait_for(&self, n: usize, timeout: Duration) {
        let mut rx = self.tx.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|v| *v >= n)).await;
        assert!(
            matches!(reached, Ok(Ok(_))),
            "expected {n} within {timeout:?}, got {}",
            self.get()
        );
    }
}

/// A root step that counts an update once everything after it (the guard, the branches, the
/// replies) has finished with it. Observes no update type, like the guard.
#[track_caller]
pub(crate) fn completion_step<E: Send + Sync + 'static>(done: Counter) -> UpdateHandler<E> {
    let at = Location::caller();
    dptree::from_fn_with_description(
        DpHandlerDescription::entry(),
        move |deps, cont| {
            let done = done.clone();
            async move {
                let out = cont(deps).await;
                done.bump();
                match out {
                    ControlFlow::Continue(deps) => ControlFlow::Continue(deps),
                    ControlFlow::Break(r) => ControlFlow::Break(r),
                }
            }
        },
        HandlerSignature::Other {
            obligations: BTreeMap::from([(Type::of::<Update>(), at)]),
            guaranteed_outcomes: BTreeSet::new(),
            conditional_outcomes: BTreeSet::new(),
            continues: true,
        },
    )
}

/// The update types a handler tree subscribes to (teloxide's `allowed_updates`), read from the
/// description's `observed` set (teloxide keeps the accessor crate-private).
pub(crate) fn observed(d: &DpHandlerDescription) -> BTreeSet<String> {
    let s = format!("{d:?}");
    let start = s.find("observed: {").map(|i| i + "observed: {".len());
    let start = start.unwrap_or_else(|| panic!("unexpected description format: {s}"));
    let end = start + s[start..].find('}').unwrap();
    s[start..end]
        .split(", ")
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `observed` of `DpHandlerDescription::entry()`, for comparison.
pub(crate) fn observed_by_entry() -> BTreeSet<String> {
    observed(&DpHandlerDescription::entry())
}
