//! Redis Cluster failover (feature `cluster`): three masters with a replica each (testkit
//! `RedisCluster::spawn_with_replicas`). While the engine floods the cluster, a replica takes
//! over its master twice — by `CLUSTER FAILOVER` (the old master lives on as a replica and
//! redirects) and by killing a master — and nothing panics or hangs, the fail mode decides
//! while slots have no master, and the store decides again afterwards with the same engine.
//!
//! Real clock, real processes, but no assertion on a duration: every wait polls a condition
//! with a generous bound.
#![cfg(feature = "cluster")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "common/flood.rs"]
mod flood;

use std::sync::Arc;
use std::time::Duration;

use flood::{Flood, engine, store_decides_again};
use sentinel_core::FailMode;
use sentinel_storage_redis::{ConnectionMode, RedisConfig, RedisStore};
use sentinel_testkit::redis_cluster::RedisCluster;
use sentinel_testkit::redis_server::RedisServer;

/// Bound on each wait (far above a failover of a few seconds).
const WAIT: Duration = Duration::from_secs(45);

fn store(cluster: &RedisCluster, mode: ConnectionMode) -> RedisStore {
    RedisConfig::cluster(cluster.urls())
        .connection_mode(mode)
        .connect_timeout(Duration::from_millis(500))
        .command_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

/// Whether `node` says it is a master.
async fn is_master(node: &RedisServer) -> bool {
    let mut con = node.connection().await;
    let info: String = redis::cmd("INFO")
        .arg("replication")
        .query_async(&mut con)
        .await
        .unwrap();
    info.contains("role:master")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failovers_mid_flood_then_the_promoted_replicas_decide() {
    let cluster = Arc::new(
        tokio::task::spawn_blocking(|| RedisCluster::spawn_with_replicas(1))
            .await
            .unwrap(),
    );
    let open = engine(
        store(&cluster, ConnectionMode::Multiplexed(2)),
        FailMode::Open,
        "hc-open",
    );
    let closed = engine(
        store(&cluster, ConnectionMode::Pooled),
        FailMode::Closed,
        "hc-closed",
    );
    store_decides_again(&open, WAIT).await;
    store_decides_again(&closed, WAIT).await;
    let floods = [
        Flood::start(&open, FailMode::Open, 4),
        Flood::start(&closed, FailMode::Closed, 4),
    ];
    for f in &floods {
        f.wait_until("decisions before the failovers", WAIT, |c| {
            c.decided() >= 100
        })
        .await;
    }

    // 1. A coordinated failover: the replica of master 1 takes over, the old master turns
    //    into its replica and answers MOVED for its former slots.
    let replica = cluster.replica_of(1).unwrap();
    let mut con = replica.connection().await;
    let () = redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .query_async(&mut con)
        .await
        .unwrap();
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.wait_until_master(c.replica_of(1).unwrap()))
        .await
        .unwrap()
        .unwrap();
    // The old master learns of its demotion from the new master's epoch, a moment after the
    // promotion: poll for it (bounded), as for the promotion itself.
    let demoted = async {
        while is_master(&cluster.nodes()[1]).await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    assert!(
        tokio::time::timeout(WAIT, demoted).await.is_ok(),
        "the old master is a replica now"
    );
    for f in &floods {
        let before = f.counts.decided();
        f.wait_until("decisions after CLUSTER FAILOVER", WAIT, |c| {
            c.decided() >= before + 100
        })
        .await;
    }

    // 2. A master killed: its slots have no master until the replica is promoted.
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.nodes()[0].stop())
        .await
        .unwrap();
    for f in &floods {
        f.wait_until(
            "the fail mode to decide while a master is down",
            WAIT,
            |c| c.fail_mode() >= 1,
        )
        .await;
    }
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.wait_until_master(c.replica_of(0).unwrap()))
        .await
        .unwrap()
        .unwrap();
    for f in &floods {
        let before = f.counts.decided();
        f.wait_until("decisions on the promoted replica", WAIT, |c| {
            c.decided() >= before + 100
        })
        .await;
    }
    for f in floods {
        let counts = f.stop().await;
        eprintln!("flood: {counts:?}");
        assert!(
            counts.decided() >= 300 && counts.fail_mode() >= 1,
            "{counts:?}"
        );
    }
    store_decides_again(&open, WAIT).await;
    store_decides_again(&closed, WAIT).await;

    // The promoted replica of the killed master holds engine keys written after the kill
    // (fresh users hash to every master).
    let mut con = cluster.replica_of(0).unwrap().connection().await;
    let keys: u64 = redis::cmd("DBSIZE").query_async(&mut con).await.unwrap();
    assert!(keys > 0, "the promoted replica holds the engine's keys");
}
