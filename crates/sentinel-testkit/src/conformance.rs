//! The store conformance suite: every [`Store`] must pass it unchanged.
//!
//! It checks a store against the reference semantics of `sentinel-core` in three ways:
//!
//! * **scripted sequences** with exact expected [`Decision`]s for every algorithm: boundaries
//!   (exactly at the window end), `cost = limit`, `cost > limit` ([`Decision::is_never`]), time
//!   standing still, a clock stepping back, huge idle gaps, timestamps near the top of the
//!   supported range; `peek` consumes nothing; `reset` forgets;
//! * **property tests** against naive reference models written here, independently of the core
//!   (sliding window = keep every granted event and count those with `ts > now - period`; fixed
//!   window = a counter per `floor(now / period)`; GCRA = the textbook virtual-scheduling
//!   formulation; debounce = a map of open windows; blocklist = a map of records with expiry),
//!   on random sequences of (advance time, operation) steps, asserting identical results;
//! * **debounce and blocklist** scripts (expiry, listing, unblocking) and **key isolation**;
//! * **forgetting a subject** ([`forget`]): every key of a user or chat goes, no other key;
//! * **the plan operation** ([`Store::evaluate`], what the engine calls once per update) on
//!   random sequences of plans — blocks, debounce, up to three limits of different
//!   algorithms (a refusal consumes none), escalation — mixed with admin blocks, against a
//!   model composed of the naive ones ([`plan_properties`]).
//!
//! The suite talks to the store only through the storage traits, and always passes as `now`
//! the time of the [`ManualClock`] it handed to the factory, so a store that reads that clock
//! (the Redis store in client-clock mode) sees the same time as one that uses `now`.
//!
//! # Time range
//!
//! All timestamps stay below [`MAX_TIMESTAMP_US`] = 2^53 µs (year 2255), the range in which a
//! Redis Lua script's doubles are exact. Stores with exact 64-bit arithmetic can opt in to
//! timestamps near `u64::MAX / 2` with [`ConformanceConfig::full_u64_time`].
//!
//! # Keys
//!
//! Every case uses fresh keys under a unique prefix (`sentinel-conformance:<nonce>:<n>:…`), so
//! stores that share a backend (one `redis-server` for the whole suite) stay independent.
//!
//! # Example
//!
//! ```no_run
//! use sentinel_core::{ManualClock, Store};
//! use sentinel_testkit::conformance::{ConformanceConfig, run_all};
//!
//! // In a store crate's tests/conformance.rs, inside #[tokio::test]:
//! async fn conformance<S: Store + 'static>(new_store: fn(ManualClock) -> S) {
//!     // The factory gets a fresh ManualClock per case; build the store on it.
//!     run_all(|clock| async move { new_store(clock) }, &ConformanceConfig::default()).await;
//! }
//! ```
//!
//! Each part is also a function of its own ([`rate_limit_scripts`], [`rate_limit_properties`],
//! [`debounce_scripts`], [`debounce_properties`], [`blocklist_scripts`],
//! [`blocklist_properties`], [`key_isolation`], [`plan_properties`]) so a store crate can run them as separate tests.
//! On failure the suite panics with the shrunk input and the first step that differed.
//!
//! [`Store`]: sentinel_core::Store
//! [`Decision`]: sentinel_core::Decision
//! [`Decision::is_never`]: sentinel_core::Decision::is_never

mod coordination;
mod forget;
mod model;
mod plan;
mod properties;
mod records;
mod scopes;
mod scripted;

use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sentinel_core::{ManualClock, Store};

pub use coordination::{
    CoordinationClock, CoordinationFactory, CoordinationModel, coordination,
    coordination_properties, coordination_scripts,
};
pub use forget::forget;
pub use plan::plan_properties;
pub use properties::{blocklist_properties, debounce_properties, rate_limit_properties};
pub use records::{blocklist_scripts, debounce_scripts, key_isolation};
pub use scopes::scopes;
pub use scripted::rate_limit_scripts;

/// The largest timestamp (µs since the epoch) the suite uses by default: 2^53 − 1, below which
/// every integer is exact in an IEEE double (Redis Lua numbers).
pub const MAX_TIMESTAMP_US: u64 = (1 << 53) - 1;

/// Builds a store on the clock the suite hands it.
///
/// Implemented for every `Fn(ManualClock) -> impl Future<Output = S>`, so a closure such as
/// `|clock| async move { MemoryStore::new(clock) }` is a factory. The future may connect to a
/// server; the suite awaits it on the caller's runtime.
pub trait StoreFactory {
    /// The store built.
    type Store: Store + 'static;

    /// A fresh store reading `clock` (stores that take `now` from their arguments may ignore it).
    fn make(&self, clock: ManualClock) -> impl Future<Output = Self::Store>;
}

impl<F, Fut, S> StoreFactory for F
where
    F: Fn(ManualClock) -> Fut,
    Fut: Future<Output = S>,
    S: Store + 'static,
{
    type Store = S;

    fn make(&self, clock: ManualClock) -> impl Future<Output = S> {
        self(clock)
    }
}

/// How hard the suite tries.
///
/// The default (96 sequences of up to 40 steps per property) suits a store behind a network
/// round trip; [`ConformanceConfig::thorough`] suits an in-process store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConformanceConfig {
    /// Random sequences per property.
    pub cases: u32,
    /// Most steps in one sequence.
    pub max_steps: usize,
    /// Also use timestamps near `u64::MAX / 2` (for stores with exact 64-bit arithmetic).
    pub full_u64_time: bool,
    /// Seed of the random sequences: the same seed gives the same sequences.
    pub seed: u64,
}

impl Default for ConformanceConfig {
    fn default() -> Self {
        Self {
            cases: 96,
            max_steps: 40,
            full_u64_time: false,
            seed: 0x5e47_1e1c_0a11_0c8d,
        }
    }
}

impl ConformanceConfig {
    /// Many more cases (1,000 per property) and the full 64-bit time range: for in-process
    /// stores.
    pub fn thorough() -> Self {
        Self {
            cases: 1_000,
            full_u64_time: true,
            ..Self::default()
        }
    }

    /// Sets [`ConformanceConfig::cases`].
    #[must_use]
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// Sets [`ConformanceConfig::max_steps`] (at least 1).
    #[must_use]
    pub fn max_steps(mut self, steps: usize) -> Self {
        self.max_steps = steps.max(1);
        self
    }

    /// Sets [`ConformanceConfig::full_u64_time`].
    #[must_use]
    pub fn full_u64_time(mut self, on: bool) -> Self {
        self.full_u64_time = on;
        self
    }

    /// Sets [`ConformanceConfig::seed`].
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A deterministic proptest runner for property `salt`.
    fn runner(&self, salt: u64) -> TestRunner {
        let mut seed = [0u8; 32];
        for (i, chunk) in seed.chunks_mut(8).enumerate() {
            let word = self
                .seed
                .rotate_left(i as u32 * 16)
                .wrapping_add(salt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
        )
    }
}

/// Runs the whole suite: scripts, properties, debounce, blocklist, key isolation, scopes, plans.
///
/// # Panics
/// On the first difference from the reference semantics, with the (shrunk) input.
pub async fn run_all<F: StoreFactory>(factory: F, config: &ConformanceConfig) {
    rate_limit_scripts(&factory, config).await;
    debounce_scripts(&factory).await;
    blocklist_scripts(&factory).await;
    key_isolation(&factory).await;
    scopes(&factory).await;
    rate_limit_properties(&factory, config).await;
    debounce_properties(&factory, config).await;
    blocklist_properties(&factory, config).await;
    plan_properties(&factory, config).await;
}

/// A unique key namespace for one case: `sentinel-conformance:<nonce>:<n>:<name>`.
fn namespace(name: &str) -> String {
    static RUN: AtomicU64 = AtomicU64::new(0);
    static NONCE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let nonce = NONCE.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    format!("sentinel-conformance:{nonce:016x}:{n}:{name}")
}
