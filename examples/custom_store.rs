//! A custom backend written against the facade `sentinel` with no features, that is
//! `sentinel-core` alone: only `sentinel` and `std` are used here, no runtime and no store
//! crate (`cargo xtask ci` builds it as a separate crate depending on exactly that).
//!
//! The store keeps everything in one `Mutex<HashMap>` and calls the core's pure algorithms, so
//! its decisions are exactly those of the memory and Redis stores. A real backend (a database,
//! another cache) would do the same read-step-write inside one transaction.
//!
//! Run it with `cargo run --example custom_store`. As a crate of its own, it needs (`cargo xtask
//! ci` builds it exactly so):
//!
//! ```toml
//! [dependencies]
//! sentinel = { version = "0.1", default-features = false }
//! ```
#![expect(clippy::print_stdout, reason = "an example prints what it does")]

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sentinel::async_trait;
use sentinel::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, Decision, Event, ManualClock, Policy,
    PolicyRegistry, Quota, RateLimitState, RateLimitStore, Scope, Sentinel, Store, StoreError,
    Timestamp, Verdict,
};

/// Everything in one map, guarded by one lock.
#[derive(Debug, Default)]
struct HashMapStore {
    rate: Mutex<HashMap<String, RateLimitState>>,
    seen: Mutex<HashMap<String, Timestamp>>,
    blocks: Mutex<HashMap<String, BlockRecord>>,
}

#[async_trait]
impl RateLimitStore for HashMapStore {
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        let mut map = self.rate.lock().unwrap_or_else(PoisonError::into_inner);
        let state = map
            .entry(key.to_owned())
            .or_insert_with(|| RateLimitState::new(algorithm));
        Ok(state.step(now, quota, cost))
    }

    async fn peek(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        let map = self.rate.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map
            .get(key)
            .cloned()
            .unwrap_or_else(|| RateLimitState::new(algorithm))
            .peek(now, quota))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.rate
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Ok(())
    }
}

#[async_trait]
impl DebounceStore for HashMapStore {
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut map = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(key) {
            Some(&until) if now < until => Ok(false),
            _ => {
                map.insert(key.to_owned(), now.saturating_add(window));
                Ok(true)
            }
        }
    }
}

#[async_trait]
impl BlocklistStore for HashMapStore {
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        self.blocks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), record.clone());
        Ok(())
    }

    async fn unblock(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .blocks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key)
            .is_some())
    }

    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        let map = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(key).filter(|r| r.is_active(now)).cloned())
    }

    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        let map = self.blocks.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map
            .iter()
            .filter(|(k, r)| k.starts_with(prefix) && r.is_active(now))
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect())
    }
}

/// The one operation the engine calls per update: the default, written with the three traits
/// above, is enough for a store like this one (a store that can decide a whole plan in one
/// transaction overrides `evaluate`).
impl Store for HashMapStore {}

/// Drives a future that never waits on I/O (this store never does) to completion, so the
/// example needs no async runtime.
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let sentinel = Sentinel::builder()
        .store(Arc::new(HashMapStore::default()))
        .clock(clock.clone())
        .policies(PolicyRegistry::single(
            Policy::new()
                .rate_limit(Quota::per_minute(3)?, Algorithm::SlidingWindow, Scope::User)
                .debounce(Duration::from_secs(5), Scope::UserInChat),
        )?)
        .build()?;

    let mut outcomes = Vec::new();
    for i in 0..6 {
        let event = Event::new()
            .with_user(42)
            .with_chat(42)
            .with_content(format!("message {}", i % 4));
        let verdict = block_on(sentinel.check(&event))?;
        println!("message {i}: {}", verdict.as_str());
        outcomes.push(verdict);
        clock.advance(Duration::from_secs(1));
    }
    // Three per minute; repeats of the same text within five seconds are debounced and cost
    // nothing.
    let names: Vec<_> = outcomes.iter().map(Verdict::as_str).collect();
    assert_eq!(
        names,
        [
            "allowed",
            "allowed",
            "allowed",
            "throttled",
            "debounced",
            "debounced"
        ]
    );
    let stats = sentinel.stats();
    assert_eq!((stats.allowed, stats.throttled, stats.debounced), (3, 1, 2));
    println!("{stats}");
    Ok(())
}
