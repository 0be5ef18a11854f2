//! Redis Cluster (feature `cluster`): the conformance suite passes unchanged against a local
//! three-master cluster, the scripts touch only their own key (a script reaching for another
//! slot fails on a cluster), listing scans every master, and the engine's keys of one subject
//! share a slot.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, Event, FailMode, ManualClock, Policy, PolicyRegistry,
    Quota, RateLimitState, RateLimitStore, Scope, Sentinel, Subject, Timestamp,
};
use sentinel_storage_redis::{ConnectionMode, RedisConfig, RedisStore, TimeSource};
use sentinel_testkit::conformance::{self, ConformanceConfig};
use sentinel_testkit::redis_cluster::RedisCluster;

fn cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(RedisCluster::spawn)
}

fn cluster_store(time: TimeSource, mode: ConnectionMode) -> RedisStore {
    RedisConfig::cluster(cluster().urls())
        .time_source(time)
        .connection_mode(mode)
        .command_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn client_clock(_clock: ManualClock) -> RedisStore {
    cluster_store(TimeSource::Client, ConnectionMode::Multiplexed(2))
}

fn config() -> ConformanceConfig {
    ConformanceConfig::default().full_u64_time(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_rate_limit() {
    conformance::rate_limit_scripts(&client_clock, &config()).await;
    conformance::rate_limit_properties(&client_clock, &config()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_debounce_blocklist_isolation() {
    conformance::debounce_scripts(&client_clock).await;
    conformance::debounce_properties(&client_clock, &config()).await;
    conformance::blocklist_scripts(&client_clock).await;
    conformance::blocklist_properties(&client_clock, &config()).await;
    conformance::key_isolation(&client_clock).await;
    conformance::scopes(&client_clock).await;
}

/// The plan operation: one script call when the keys share a slot, step by step when they
/// span slots; the same outcomes as the model either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_plan() {
    conformance::plan_properties(&client_clock, &config()).await;
}

/// Keys spread over every master agree with the reference, step for step, in both connection
/// modes; `ping` and `load_scripts` reach every master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_on_every_master_match_core() {
    for mode in [ConnectionMode::Multiplexed(2), ConnectionMode::Pooled] {
        let store = cluster_store(TimeSource::Client, mode);
        store.ping().await.unwrap();
        store.load_scripts().await.unwrap();
        assert!(store.cluster_pool().is_some() && store.pool().is_none());
        let quota = Quota::new(4, Duration::from_secs(10)).unwrap();
        for algorithm in Algorithm::ALL {
            // 64 subjects: their hash tags land on all three masters.
            for subject in 0..64 {
                let key = format!("cl:rl-{}:{{u{subject}}}:={mode:?}", algorithm.as_str());
                let mut reference = RateLimitState::new(algorithm);
                let mut now = 1_700_000_000_000_000u64 + subject * 7_777;
                for step in 0..12u64 {
                    now += (step * 1_234_567) % 3_000_000;
                    let t = Timestamp::from_micros(now);
                    let cost = 1 + (step % 3) as u32;
                    assert_eq!(
                        store.hit(&key, algorithm, &quota, cost, t).await.unwrap(),
                        reference.step(t, &quota, cost),
                        "{key} step {step}"
                    );
                }
                assert_eq!(
                    store
                        .peek(&key, algorithm, &quota, Timestamp::from_micros(now))
                        .await
                        .unwrap(),
                    reference.peek(Timestamp::from_micros(now), &quota)
                );
            }
        }
    }
}

/// `load_scripts` loads the plan library on every master: an `FCALL` goes to the master of its
/// keys' slot, whichever that is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_scripts_loads_the_plan_library_on_every_master() {
    let store = cluster_store(TimeSource::Server, ConnectionMode::Multiplexed(1));
    store.load_scripts().await.unwrap();
    for node in cluster().nodes() {
        let mut con = node.connection().await;
        let libraries: Vec<redis::Value> = redis::cmd("FUNCTION")
            .arg("LIST")
            .arg("LIBRARYNAME")
            .arg("sentinel_*")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(libraries.len(), 1, "node on port {}", node.port());
    }
}

/// Blocks under many subjects (so on every master) are all listed, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_blocked_scans_every_master() {
    let store = cluster_store(TimeSource::Server, ConnectionMode::Multiplexed(1));
    let now = Timestamp::from_secs(1_700_000_000);
    let mut expected = BTreeSet::new();
    for i in 0..300 {
        let key = format!("lb:bl:{{u{i}}}:=all");
        let until = if i % 3 == 0 {
            None
        } else {
            Some(Duration::from_secs(600))
        };
        store
            .block(&key, &BlockRecord::new("r", "t", now, until))
            .await
            .unwrap();
        expected.insert(key);
    }
    // Other keys under a longer prefix and outside it are not listed.
    store
        .block("lbx:bl:{u1}:=all", &BlockRecord::new("r", "t", now, None))
        .await
        .unwrap();
    let listed: Vec<String> = store
        .list_blocked("lb:bl:", now)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(listed.len(), 300, "each key once");
    assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), expected);
    // The keys really are spread over all three masters.
    let mut masters_with_keys = 0;
    for node in cluster().nodes() {
        let mut con = node.connection().await;
        let n: u64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
        masters_with_keys += u32::from(n > 0);
    }
    assert_eq!(masters_with_keys, 3);
}

/// The engine on a cluster (server clock): every kind of key of one subject — rate limit,
/// strikes, debounce, block — shares one hash slot, and the whole flow works without a
/// CROSSSLOT or "non local key" error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_keys_of_one_subject_share_a_slot() {
    let store = cluster_store(TimeSource::Server, ConnectionMode::Multiplexed(2));
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let sentinel = Sentinel::builder()
        .store(Arc::new(store))
        .clock(clock.clone())
        .prefix("eng")
        .fail_mode(FailMode::Closed)
        .policies(
            PolicyRegistry::single(
                Policy::new()
                    .rate_limit(
                        Quota::per_minute(2).unwrap(),
                        Algorithm::SlidingWindow,
                        Scope::User,
                    )
                    .debounce(Duration::from_secs(2), Scope::User)
                    .escalation(
                        sentinel_core::Escalation::new(2, Duration::from_secs(60), None).unwrap(),
                    ),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    for user in 0..30 {
        for i in 0..6 {
            let e = Event::new().with_user(user).with_content(format!("m{i}"));
            sentinel.check(&e).await.unwrap();
        }
        assert!(
            sentinel
                .blocked(&Subject::User(user))
                .await
                .unwrap()
                .is_some(),
            "escalated"
        );
    }
    assert_eq!(sentinel.list_blocked().await.unwrap().len(), 30);
    // Per subject, all keys hash to one slot.
    let mut con = cluster().nodes()[0].connection().await;
    let mut slots_per_subject = std::collections::BTreeMap::<String, BTreeSet<u16>>::new();
    for node in cluster().nodes() {
        let mut node_con = node.connection().await;
        for key in common::all_keys(&mut node_con).await {
            if !key.starts_with("eng:") {
                continue;
            }
            let slot: u16 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(&key)
                .query_async(&mut con)
                .await
                .unwrap();
            let subject = sentinel.keys().subject_of(&key).unwrap().to_owned();
            slots_per_subject.entry(subject).or_default().insert(slot);
        }
    }
    assert_eq!(slots_per_subject.len(), 30);
    assert!(
        slots_per_subject.values().all(|s| s.len() == 1),
        "{slots_per_subject:?}"
    );
}

/// `forget(subject)` on a three-master cluster: afterwards a plain `SCAN` of every master
/// (what `redis-cli --scan` on each node does) finds no key of the forgotten user or chat,
/// and every other key is still there. A user's keys in chats carry other hash tags than
/// the user's own, so they live in other slots: forgetting must reach every master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_reaches_every_master() {
    conformance::forget(&client_clock, |_store, prefix| async move {
        let mut keys = Vec::new();
        for node in cluster().nodes() {
            let mut con = node.connection().await;
            keys.extend(
                common::all_keys(&mut con)
                    .await
                    .into_iter()
                    .filter(|k| k.starts_with(&prefix)),
            );
        }
        keys
    })
    .await;
}
