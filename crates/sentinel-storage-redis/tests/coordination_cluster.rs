//! The coordination contract on a local three-master Redis Cluster (feature `cluster`): the
//! testkit's coordination section passes unchanged; prefix listing and deletion scan every
//! master.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::OnceLock;
use std::time::Duration;

use sentinel_core::CoordinationStore;
use sentinel_storage_redis::{RedisConfig, RedisStore};
use sentinel_testkit::conformance::{self, ConformanceConfig, CoordinationClock};
use sentinel_testkit::redis_cluster::RedisCluster;

fn cluster() -> &'static RedisCluster {
    static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
    CLUSTER.get_or_init(RedisCluster::spawn)
}

fn cluster_store() -> RedisStore {
    RedisConfig::cluster(cluster().urls())
        .command_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn store() -> (RedisStore, CoordinationClock) {
    (
        cluster_store(),
        CoordinationClock::server_ttl(cluster().urls()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordination_conformance_on_cluster() {
    conformance::coordination(&store, &ConformanceConfig::default().cases(64)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefix_operations_cover_every_master() {
    let store = cluster_store();
    let ttl = Duration::from_secs(60);
    // Keys whose hash tags land on different masters.
    let keys: Vec<String> = (0..30).map(|i| format!("spread:{{t{i}}}:k")).collect();
    for k in &keys {
        store.put(k, b"v", ttl).await.unwrap();
    }
    let mut per_node = Vec::new();
    for node in cluster().nodes() {
        let mut con = node.connection().await;
        let n: usize = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
        per_node.push(n);
    }
    assert!(
        per_node.iter().filter(|&&n| n > 0).count() >= 2,
        "the keys spread over masters: {per_node:?}"
    );
    let listed = store.list("spread:", 100).await.unwrap();
    assert_eq!(listed.len(), 30);
    assert_eq!(store.delete_prefix("spread:", 100).await.unwrap(), 30);
    assert!(store.list("spread:", 100).await.unwrap().is_empty());
}
