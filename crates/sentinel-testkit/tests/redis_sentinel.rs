//! `SentinelGroup`: a master, a replica in sync with it, and three sentinels that agree on the
//! master and promote the replica once the master is killed.
#![allow(clippy::unwrap_used, reason = "test code fails loudly")]

use std::time::Duration;

use sentinel_testkit::redis_sentinel::{MASTER_NAME, SentinelGroup};

/// Far above a normal failover (a few seconds): only a broken group takes this long.
const FAILOVER_DEADLINE: Duration = Duration::from_secs(45);

#[test]
fn killing_the_master_promotes_the_replica() {
    let group = SentinelGroup::spawn_with_password("pw/with#odd?chars");
    assert_eq!(group.master_name(), MASTER_NAME);
    assert_eq!(group.sentinel_urls().len(), 3);
    let old = group.master_addr().unwrap();
    assert_eq!(
        old,
        group.servers()[0].addr(),
        "the first node starts as master"
    );
    assert_eq!(group.master().unwrap().port(), group.servers()[0].port());

    // The replica holds what was written on the master.
    let master = group.servers()[0].client();
    let replica = group.servers()[1].client();
    let mut m = master.get_connection().unwrap();
    let () = redis::cmd("AUTH")
        .arg("pw/with#odd?chars")
        .query(&mut m)
        .unwrap();
    let () = redis::cmd("SET").arg("k").arg("v").query(&mut m).unwrap();
    let () = redis::cmd("WAIT")
        .arg(1)
        .arg(5_000)
        .query::<i64>(&mut m)
        .map(|_| ())
        .unwrap();
    let mut r = replica.get_connection().unwrap();
    let () = redis::cmd("AUTH")
        .arg("pw/with#odd?chars")
        .query(&mut r)
        .unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut r).unwrap();
    assert_eq!(v, "v");

    group.servers()[0].stop();
    let new = group.wait_for_new_master(old, FAILOVER_DEADLINE).unwrap();
    assert_eq!(new, group.servers()[1].addr(), "the replica was promoted");
    assert_eq!(group.master_addr().unwrap(), new);
    // The promoted replica takes writes and kept the data. (Sentinel closed the clients of
    // the node it reconfigured, so connect again.)
    let mut r = replica.get_connection().unwrap();
    let () = redis::cmd("AUTH")
        .arg("pw/with#odd?chars")
        .query(&mut r)
        .unwrap();
    let () = redis::cmd("SET").arg("k2").arg("v2").query(&mut r).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut r).unwrap();
    assert_eq!(v, "v");
}
