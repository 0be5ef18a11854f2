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
