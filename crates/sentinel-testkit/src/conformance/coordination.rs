//! The coordination section: every [`CoordinationStore`] must pass it unchanged.
//!
//! * **Scripted cases** with exact expectations: counters (TTL refreshed by every add,
//!   saturation at [`MAX_COUNT`]), claims (one winner, expiry at exactly the TTL, never
//!   extended), values (replaced, any bytes), prefix listing and deletion (sorted, bounded,
//!   other prefixes untouched), argument validation ([`StoreError::Invalid`] for an empty key,
//!   a zero TTL, an empty prefix, a zero limit; [`StoreError::Protocol`] for adding to a value),
//!   and concurrency (50 concurrent adds all count, one of 20 concurrent claims wins).
//! * **A property test** against [`CoordinationModel`], a naive map of `(bytes, expiry)` written
//!   here: random sequences of (advance time, operation) with identical results at every step.
//!
//! # Time
//!
//! The contract has no `now` argument: each store keeps its own time. The suite moves it with a
//! [`CoordinationClock`]: a [`ManualClock`] the (memory) store reads, or — for Redis, whose
//! clock is the server's — [`CoordinationClock::server_ttl`], which ages every key of the case
//! on the server (`PTTL`, then `PEXPIRE` with the remainder, or `DEL` when nothing remains). A
//! key written without a TTL is not aged and the model catches it. Steps are whole seconds, so
//! the milliseconds a Redis round trip really takes never decide a case.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use sentinel_core::coordination::MAX_COUNT;
use sentinel_core::{CoordinationStore, ManualClock, StoreError};

use super::properties::check;
use super::{ConformanceConfig, namespace};

/// How the suite moves a store's time forward.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CoordinationClock {
    /// The clock the store reads.
    Manual(ManualClock),
    /// A Redis server's clock, aged key by key on these nodes (every master of a Cluster).
    ServerTtl(Vec<String>),
}

impl CoordinationClock {
    /// Ages the keys on the Redis nodes at `urls` (one URL for a standalone server, every
    /// master's for a Cluster).
    pub fn server_ttl(urls: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::ServerTtl(urls.into_iter().map(Into::into).collect())
    }

    /// Moves time `by` forward for every key under `prefix`.
    ///
    /// # Panics
    /// When a Redis node cannot be reached.
    pub async fn advance(&self, by: Duration, prefix: &str) {
        match self {
            Self::Manual(c) => c.advance(by),
            Self::ServerTtl(urls) => {
                for url in urls {
                    age_keys(url, prefix, by).await;
                }
            }
        }
    }
}

async fn age_keys(url: &str, prefix: &str, by: Duration) {
    let fail = |e: redis::RedisError| -> ! {
        panic!("conformance: cannot age keys on {url}: {e}");
    };
    let client = redis::Client::open(url).unwrap_or_else(|e| fail(e));
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| fail(e));
    let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
    let mut cursor: u64 = 0;
    // Case namespaces hold no glob characters.
    let pattern = format!("{prefix}*");
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await
            .unwrap_or_else(|e| fail(e));
        for key in keys {
            let pttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut con)
                .await
                .unwrap_or_else(|e| fail(e));
            if pttl < 0 {
                continue;
            }
            let left = pttl - by_ms;
            let cmd = if left <= 0 {
                redis::cmd("DEL").arg(&key).clone()
            } else {
                redis::cmd("PEXPIRE").arg(&key).arg(left).clone()
            };
            let _: i64 = cmd.query_async(&mut con).await.unwrap_or_else(|e| fail(e));
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

/// Builds a fresh coordination store and the clock that moves its time.
///
/// Implemented for every `Fn() -> impl Future<Output = (S, CoordinationClock)>`.
pub trait CoordinationFactory {
    /// The store built.
    type Store: CoordinationStore + 'static;

    /// A fresh store and its clock.
    fn make(&self) -> impl Future<Output = (Self::Store, CoordinationClock)>;
}

impl<F, Fut, S> CoordinationFactory for F
where
    F: Fn() -> Fut,
    Fut: Future<Output = (S, CoordinationClock)>,
    S: CoordinationStore + 'static,
{
    type Store = S;

    fn make(&self) -> impl Future<Output = (S, CoordinationClock)> {
        self()
    }
}

/// The reference model: a map of `(bytes, expiry in ms)`, in the suite's own time.
#[derive(Debug, Clone, Default)]
pub struct CoordinationModel {
    now_ms: u64,
    map: BTreeMap<String, (Vec<u8>, u64)>,
}

impl CoordinationModel {
    fn expire(&mut self) {
        let now = self.now_ms;
        self.map.retain(|_, (_, exp)| *exp > now);
    }

    /// Moves time forward.
    pub fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
        self.expire();
    }

    /// `add`: `None` when the key holds a value that is not a counter.
    pub fn add(&mut self, key: &str, delta: u64, ttl_ms: u64) -> Option<u64> {
        let old = match self.map.get(key) {
            Some((v, _)) => std::str::from_utf8(v).ok()?.parse::<u64>().ok()?,
            None => 0,
        };
        let total = old.saturating_add(delta).min(MAX_COUNT);
        self.map.insert(
            key.to_owned(),
            (total.to_string().into_bytes(), self.now_ms + ttl_ms),
        );
        Some(total)
    }

    /// `count`: `None` when the key holds a value that is not a counter.
    pub fn count(&self, key: &str) -> Option<u64> {
        match self.map.get(key) {
            Some((v, _)) => std::str::from_utf8(v).ok()?.parse::<u64>().ok(),
            None => Some(0),
        }
    }

    /// `claim`.
    pub fn claim(&mut self, key: &str, ttl_ms: u64) -> bool {
        if self.map.contains_key(key) {
            return false;
        }
        self.map
            .insert(key.to_owned(), (b"1".to_vec(), self.now_ms + ttl_ms));
        true
    }

    /// `put`.
    pub fn put(&mut self, key: &str, value: &[u8], ttl_ms: u64) {
        self.map
            .insert(key.to_owned(), (value.to_vec(), self.now_ms + ttl_ms));
    }

    /// `get`.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.map.get(key).map(|(v, _)| v.clone())
    }

    /// `list`.
    pub fn list(&self, prefix: &str, limit: usize) -> Vec<(String, Vec<u8>)> {
        self.map
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }

    /// `delete_prefix`.
    pub fn delete_prefix(&mut self, prefix: &str, limit: usize) -> usize {
        let keys: Vec<String> = self
            .list(prefix, limit)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for k in &keys {
            self.map.remove(k);
        }
        keys.len()
    }
}

/// Runs the scripted cases and the property test.
///
/// # Panics
/// On the first difference from the contract, with the (shrunk) input.
pub async fn coordination<F: CoordinationFactory>(factory: &F, config: &ConformanceConfig) {
    coordination_scripts(factory).await;
    coordination_properties(factory, config).await;
}

const S: Duration = Duration::from_secs(1);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ok<T>(what: &str, r: Result<T, StoreError>) -> T {
    r.unwrap_or_else(|e| panic!("conformance `coordination`: {what} failed: {e}"))
}

/// The scripted cases.
///
/// # Panics
/// On the first difference from the contract.
pub async fn coordination_scripts<F: CoordinationFactory>(factory: &F) {
    let (store, clock) = factory.make().await;
    let ns = format!("{}:", namespace("coord"));
    let k = |s: &str| format!("{ns}{s}");

    // Counters: add returns the total, count reads it back, get shows the digits.
    assert_eq!(ok("add", store.add(&k("c"), 2, secs(10)).await), 2);
    assert_eq!(ok("add", store.add(&k("c"), 3, secs(10)).await), 5);
    assert_eq!(ok("add 0", store.add(&k("c"), 0, secs(10)).await), 5);
    assert_eq!(ok("count", store.count(&k("c")).await), 5);
    assert_eq!(ok("count absent", store.count(&k("none")).await), 0);
    assert_eq!(
        ok("get counter", store.get(&k("c")).await),
        Some(b"5".to_vec())
    );
    // Each add gives the key its TTL again.
    clock.advance(secs(6), &ns).await;
    assert_eq!(ok("add", store.add(&k("c"), 1, secs(10)).await), 6);
    clock.advance(secs(6), &ns).await;
    assert_eq!(
        ok("count refreshed", store.count(&k("c")).await),
        6,
        "add refreshes the TTL"
    );
    clock.advance(secs(4), &ns).await;
    assert_eq!(
        ok("count expired", store.count(&k("c")).await),
        0,
        "gone at exactly its TTL"
    );
    assert_eq!(
        ok("add after expiry", store.add(&k("c"), 1, secs(10)).await),
        1
    );
    // Saturation.
    assert_eq!(
        ok("add", store.add(&k("big"), MAX_COUNT - 1, secs(10)).await),
        MAX_COUNT - 1
    );
    assert_eq!(
        ok("add", store.add(&k("big"), 5, secs(10)).await),
        MAX_COUNT
    );
    assert_eq!(
        ok("add", store.add(&k("huge"), u64::MAX, secs(10)).await),
        MAX_COUNT
    );

    // Claims: one winner, not extended by losing claims, expiring at exactly the TTL.
    assert!(ok("claim", store.claim(&k("l"), secs(10)).await));
    assert!(!ok("claim", store.claim(&k("l"), secs(100)).await));
    clock.advance(secs(9), &ns).await;
    assert!(
        !ok("claim", store.claim(&k("l"), secs(10)).await),
        "still held at 9 s"
    );
    clock.advance(S, &ns).await;
    assert!(
        ok("claim", store.claim(&k("l"), secs(10)).await),
        "free at exactly 10 s"
    );
    assert_eq!(
        ok("get claim", store.get(&k("l")).await),
        Some(b"1".to_vec())
    );

    // Values: replaced, any bytes, expiring.
    ok("put", store.put(&k("v"), b"one", secs(5)).await);
    ok("put", store.put(&k("v"), &[0, 0xff, b'x'], secs(5)).await);
    assert_eq!(
        ok("get", store.get(&k("v")).await),
        Some(vec![0, 0xff, b'x'])
    );
    assert_eq!(ok("get absent", store.get(&k("nothing")).await), None);
    clock.advance(secs(5), &ns).await;
    assert_eq!(ok("get expired", store.get(&k("v")).await), None);

    // Listing and deleting by prefix: sorted, bounded, other prefixes untouched.
    for (i, name) in ["d:b", "d:a", "d:c", "e:a"].iter().enumerate() {
        let value = format!("{i}");
        ok("put", store.put(&k(name), value.as_bytes(), secs(30)).await);
    }
    ok("put short", store.put(&k("d:z"), b"z", secs(2)).await);
    clock.advance(secs(2), &ns).await;
    let listed = ok("list", store.list(&k("d:"), 10).await);
    let expect = vec![
        (k("d:a"), b"1".to_vec()),
        (k("d:b"), b"0".to_vec()),
        (k("d:c"), b"2".to_vec()),
    ];
    assert_eq!(listed, expect, "sorted, live keys of the prefix only");
    assert_eq!(
        ok("list", store.list(&k("d:"), 2).await),
        expect[..2].to_vec()
    );
    assert_eq!(ok("delete", store.delete_prefix(&k("d:"), 2).await), 2);
    assert_eq!(
        ok("list", store.list(&k("d:"), 10).await),
        expect[2..].to_vec()
    );
    assert_eq!(ok("delete", store.delete_prefix(&k("d:"), 10).await), 1);
    assert_eq!(
        ok("delete none", store.delete_prefix(&k("d:"), 10).await),
        0
    );
    assert_eq!(
        ok("other prefix", store.get(&k("e:a")).await),
        Some(b"3".to_vec())
    );

    // Validation: the same typed errors everywhere.
    let invalid = |what: &str, r: Result<(), StoreError>| {
        assert!(
            matches!(r, Err(StoreError::Invalid(_))),
            "conformance `coordination`: {what} must be StoreError::Invalid, got {r:?}"
        );
    };
    invalid(
        "zero TTL on add",
        store.add(&k("z"), 1, Duration::ZERO).await.map(drop),
    );
    invalid(
        "zero TTL on claim",
        store.claim(&k("z"), Duration::ZERO).await.map(drop),
    );
    invalid(
        "zero TTL on put",
        store.put(&k("z"), b"x", Duration::ZERO).await,
    );
    invalid("an empty key", store.get("").await.map(drop));
    invalid("an empty prefix", store.list("", 10).await.map(drop));
    invalid(
        "an empty prefix",
        store.delete_prefix("", 10).await.map(drop),
    );
    invalid("a zero limit", store.list(&k("d:"), 0).await.map(drop));
    assert_eq!(ok("nothing written", store.get(&k("z")).await), None);
    ok("put", store.put(&k("text"), b"abc", secs(10)).await);
    let r = store.add(&k("text"), 1, secs(10)).await;
    assert!(
        matches!(r, Err(StoreError::Protocol(_))),
        "conformance `coordination`: adding to a value must be StoreError::Protocol, got {r:?}"
    );
    assert_eq!(
        ok("value kept", store.get(&k("text")).await),
        Some(b"abc".to_vec())
    );

    // Concurrency: every add counts, one claim wins.
    let store = Arc::new(store);
    let adds = (0..50).map(|_| {
        let s = store.clone();
        let key = k("race");
        async move { s.add(&key, 1, secs(30)).await }
    });
    let mut totals: Vec<u64> = futures_join(adds)
        .await
        .into_iter()
        .map(|r| ok("add", r))
        .collect();
    totals.sort_unstable();
    assert_eq!(
        totals,
        (1..=50).collect::<Vec<_>>(),
        "each add sees a distinct total"
    );
    let claims = (0..20).map(|_| {
        let s = store.clone();
        let key = k("race-claim");
        async move { s.claim(&key, secs(30)).await }
    });
    let won = futures_join(claims)
        .await
        .into_iter()
        .filter(|r| matches!(r, Ok(true)))
        .count();
    assert_eq!(won, 1, "exactly one concurrent claim wins");
    ok("ping", store.ping().await);
}

/// Runs futures concurrently on the caller's runtime.
async fn futures_join<T: Send + 'static>(
    futs: impl Iterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(
            h.await
                .unwrap_or_else(|e| panic!("conformance: a task failed: {e}")),
        );
    }
    out
}

/// Counter keys `c0..c2`, claim keys `l0..l1`, value keys `v0..v2`.
#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Add { key: u8, delta: u64, ttl: u64 },
    Count { key: u8 },
    Claim { key: u8, ttl: u64 },
    Put { key: u8, value: Vec<u8>, ttl: u64 },
    Get { key: String },
    List { prefix: &'static str, limit: usize },
    Delete { prefix: &'static str, limit: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let ttl = 1..=20u64;
    let any_key = prop_oneof![
        (0..3u8).prop_map(|i| format!("c{i}")),
        (0..2u8).prop_map(|i| format!("l{i}")),
        (0..3u8).prop_map(|i| format!("v{i}")),
    ];
    let prefix = prop_oneof![Just("c"), Just("l"), Just("v"), Just("")];
    prop_oneof![
        4 => (0..=25u64).prop_map(Op::Advance),
        5 => (0..3u8, prop_oneof![4 => 0..=5u64, 1 => Just(MAX_COUNT), 1 => any::<u64>()], ttl.clone())
            .prop_map(|(key, delta, ttl)| Op::Add { key, delta, ttl }),
        2 => (0..3u8).prop_map(|key| Op::Count { key }),
        4 => (0..2u8, ttl.clone()).prop_map(|(key, ttl)| Op::Claim { key, ttl }),
        3 => (0..3u8, proptest::collection::vec(any::<u8>(), 0..8), ttl)
            .prop_map(|(key, value, ttl)| Op::Put { key, value, ttl }),
        2 => any_key.prop_map(|key| Op::Get { key }),
        2 => (prefix.clone(), 1..=5usize).prop_map(|(prefix, limit)| Op::List { prefix, limit }),
        1 => (prefix, 1..=3usize).prop_map(|(prefix, limit)| Op::Delete { prefix, limit }),
    ]
}

/// The property test: random sequences give the model's results at every step.
///
/// # Panics
/// On the first difference, with the shrunk sequence.
pub async fn coordination_properties<F: CoordinationFactory>(
    factory: &F,
    config: &ConformanceConfig,
) {
    let strategy = proptest::collection::vec(op(), 1..=config.max_steps);
    check("coordination", 0xc00d, config, strategy, |ops| async move {
        let (store, clock) = factory.make().await;
        let ns = namespace("coord-prop");
        let mut model = CoordinationModel::default();
        for (i, op) in ops.iter().enumerate() {
            let step = |what: String| format!("step {i} ({op:?}): {what}");
            let err = |e: StoreError| step(format!("store failed: {e}"));
            match op {
                Op::Advance(s) => {
                    clock.advance(secs(*s), &format!("{ns}:")).await;
                    model.advance(s * 1000);
                }
                Op::Add { key, delta, ttl } => {
                    let key = format!("{ns}:c{key}");
                    let got = store.add(&key, *delta, secs(*ttl)).await.map_err(err)?;
                    let want = model.add(&key, *delta, ttl * 1000);
                    if Some(got) != want {
                        return Err(step(format!("add = {got}, model {want:?}")));
                    }
                }
                Op::Count { key } => {
                    let key = format!("{ns}:c{key}");
                    let got = store.count(&key).await.map_err(err)?;
                    let want = model.count(&key);
                    if Some(got) != want {
                        return Err(step(format!("count = {got}, model {want:?}")));
                    }
                }
                Op::Claim { key, ttl } => {
                    let key = format!("{ns}:l{key}");
                    let got = store.claim(&key, secs(*ttl)).await.map_err(err)?;
                    let want = model.claim(&key, ttl * 1000);
                    if got != want {
                        return Err(step(format!("claim = {got}, model {want}")));
                    }
                }
                Op::Put { key, value, ttl } => {
                    let key = format!("{ns}:v{key}");
                    store.put(&key, value, secs(*ttl)).await.map_err(err)?;
                    model.put(&key, value, ttl * 1000);
                }
                Op::Get { key } => {
                    let key = format!("{ns}:{key}");
                    let got = store.get(&key).await.map_err(err)?;
                    let want = model.get(&key);
                    if got != want {
                        return Err(step(format!("get = {got:?}, model {want:?}")));
                    }
                }
                Op::List { prefix, limit } => {
                    let p = format!("{ns}:{prefix}");
                    let got = store.list(&p, *limit).await.map_err(err)?;
                    let want = model.list(&p, *limit);
                    if got != want {
                        return Err(step(format!("list = {got:?}, model {want:?}")));
                    }
                }
                Op::Delete { prefix, limit } => {
                    let p = format!("{ns}:{prefix}");
                    let got = store.delete_prefix(&p, *limit).await.map_err(err)?;
                    let want = model.delete_prefix(&p, *limit);
                    if got != want {
                        return Err(step(format!("delete_prefix = {got}, model {want}")));
                    }
                }
            }
        }
        Ok(())
    })
    .await;
}
