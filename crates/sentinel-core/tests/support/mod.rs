//! A deliberately simple store for engine tests: one mutex, the core algorithms, and a switch
//! that makes every call fail like an unreachable backend.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    reason = "test support"
)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, Decision, Quota, RateLimitState,
    RateLimitStore, Store, StoreError, Timestamp,
};

#[derive(Debug, Default)]
pub struct TestStore {
    rl: Mutex<HashMap<String, RateLimitState>>,
    db: Mutex<HashMap<String, Timestamp>>,
    bl: Mutex<HashMap<String, BlockRecord>>,
    failing: AtomicBool,
    pub calls: AtomicUsize,
}

impl TestStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn gate(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::unavailable("connection refused (test)"))
        } else {
            Ok(())
        }
    }

    pub fn rate_limit_keys(&self) -> Vec<String> {
        self.rl.lock().unwrap().keys().cloned().collect()
    }
}

impl Store for TestStore {}

#[async_trait]
impl RateLimitStore for TestStore {
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        self.gate()?;
        let mut map = self.rl.lock().unwrap();
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
        self.gate()?;
        let map = self.rl.lock().unwrap();
        let empty = RateLimitState::new(algorithm);
        Ok(map.get(key).unwrap_or(&empty).peek(now, quota))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.gate()?;
        self.rl.lock().unwrap().remove(key);
        Ok(())
    }
}

#[async_trait]
impl DebounceStore for TestStore {
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.gate()?;
        let mut map = self.db.lock().unwrap();
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
impl BlocklistStore for TestStore {
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        self.gate()?;
        self.bl
            .lock()
            .unwrap()
            .insert(key.to_owned(), record.clone());
        Ok(())
    }

    async fn unblock(&self, key: &str) -> Result<bool, StoreError> {
        self.gate()?;
        Ok(self.bl.lock().unwrap().remove(key).is_some())
    }

    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        self.gate()?;
        Ok(self
            .bl
            .lock()
            .unwrap()
            .get(key)
            .filter(|r| r.is_active(now))
            .cloned())
    }

    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        self.gate()?;
        let mut v: Vec<_> = self
            .bl
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, r)| k.starts_with(prefix) && r.is_active(now))
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    }
}
