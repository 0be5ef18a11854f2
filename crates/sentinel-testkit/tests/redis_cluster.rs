//! `RedisCluster`: three masters that serve keys on every slot through a cluster client.
#![expect(clippy::unwrap_used, reason = "test code fails loudly")]

use redis::AsyncCommands;
use sentinel_testkit::redis_cluster::RedisCluster;
use sentinel_testkit::redis_server::RedisServer;

async fn dbsize(node: &RedisServer) -> u64 {
    let mut con = node.connection().await;
    redis::cmd("DBSIZE").query_async(&mut con).await.unwrap()
}

#[tokio::test]
async fn three_masters_serve_keys_on_all_slots() {
    let cluster = RedisCluster::spawn();
    let urls = cluster.urls();
    assert_eq!(urls.len(), 3);
    let mut ports = cluster.ports();
    ports.dedup();
    assert_eq!(ports.len(), 3, "each node has its own port");
    assert!(!ports.contains(&6379));

    let client = redis::cluster::ClusterClient::new(urls).unwrap();
    let mut con = client.get_async_connection().await.unwrap();
    // 30 keys hash to slots all over the range, so every master gets some.
    for i in 0..30 {
        let () = con.set(format!("key-{i}"), i).await.unwrap();
    }
    for i in 0..30 {
        let v: i64 = con.get(format!("key-{i}")).await.unwrap();
        assert_eq!(v, i);
    }
    let mut total = 0;
    for node in cluster.nodes() {
        let n = dbsize(node).await;
        assert!(n > 0, "node {} holds no key: slots not spread", node.port());
        total += n;
    }
    assert_eq!(total, 30, "each key lives on exactly one master");

    // Keys sharing a hash tag land on one node, so a multi-key command works.
    let () = con
        .mset(&[("{user:1}:a", "1"), ("{user:1}:b", "2")])
        .await
        .unwrap();
    let both: Vec<String> = con.mget(&["{user:1}:a", "{user:1}:b"]).await.unwrap();
    assert_eq!(both, ["1", "2"]);
}

/// With one replica per master, killing a master promotes its replica, which then serves the
/// master's keys (replicated before the kill), and the cluster is whole again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_takes_over_a_killed_master() {
    let cluster = tokio::task::spawn_blocking(|| RedisCluster::spawn_with_replicas(1))
        .await
        .unwrap();
    assert_eq!(cluster.nodes().len(), 6);
    let client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
    let mut con = client.get_async_connection().await.unwrap();
    for i in 0..30 {
        let () = con.set(format!("key-{i}"), i).await.unwrap();
    }
    let master = &cluster.nodes()[0];
    let replica = cluster.replica_of(0).unwrap();
    let held = dbsize(master).await;
    assert!(held > 0);
    // The replica has them too once it caught up (WAIT on the master).
    let mut m = master.connection().await;
    let synced: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5_000)
        .query_async(&mut m)
        .await
        .unwrap();
    assert_eq!(synced, 1);
    master.stop();
    tokio::task::block_in_place(|| cluster.wait_until_master(replica)).unwrap();
    assert_eq!(
        dbsize(replica).await,
        held,
        "the promoted replica kept the keys"
    );
    let client = redis::cluster::ClusterClient::new(vec![replica.url()]).unwrap();
    let mut con = client.get_async_connection().await.unwrap();
    for i in 0..30 {
        let v: i64 = con.get(format!("key-{i}")).await.unwrap();
        assert_eq!(v, i);
    }
}
