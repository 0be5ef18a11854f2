//! The background sweeper (feature `sweeper`): a tokio task that sweeps idle keys
//! periodically.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::MemoryStore;

/// The shortest interval [`MemoryStore::spawn_sweeper`] accepts; shorter ones are raised to it.
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(10);

/// A running background sweeper. Dropping the handle stops it; it also stops by itself once
/// the store is dropped (it holds only a weak reference).
#[derive(Debug)]
pub struct SweeperHandle {
    task: JoinHandle<()>,
}

impl SweeperHandle {
    /// Whether the sweeper has stopped (its store was dropped).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for SweeperHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// [`MemoryStore::spawn_sweeper`] was called outside a tokio runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoRuntime;

impl fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the background sweeper needs a tokio runtime: call spawn_sweeper from within one",
        )
    }
}

impl std::error::Error for NoRuntime {}

impl MemoryStore {
    /// Starts a tokio task that calls [`MemoryStore::sweep_now`] every `interval` (at least
    /// [`MIN_SWEEP_INTERVAL`]), one shard at a time, yielding between shards. It stops when
    /// the returned handle is dropped or when the store is dropped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::{sync::Arc, time::Duration};
    /// use sentinel_core::SystemClock;
    /// use sentinel_storage_memory::MemoryStore;
    ///
    /// let store = Arc::new(MemoryStore::new(SystemClock));
    /// let _sweeper = store.spawn_sweeper(Duration::from_secs(30))?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`NoRuntime`] outside a tokio runtime.
    pub fn spawn_sweeper(self: &Arc<Self>, interval: Duration) -> Result<SweeperHandle, NoRuntime> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NoRuntime)?;
        let store = Arc::downgrade(self);
        let interval = interval.max(MIN_SWEEP_INTERVAL);
        let task = runtime.spawn(run(store, interval));
        Ok(SweeperHandle { task })
    }
}

async fn run(store: Weak<MemoryStore>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first tick completes at once.
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(shards) = store.upgrade().map(|s| s.shard_count()) else {
            return;
        };
        for i in 0..shards {
            let Some(s) = store.upgrade() else {
                return;
            };
            let now = s.clock().now();
            s.sweep_shard(i, now);
            drop(s);
            tokio::task::yield_now().await;
        }
    }
}
