//! A local three-master Redis Cluster on loopback ports, for tests.
//!
//! [`RedisCluster::spawn`] starts three `redis-server --cluster-enabled yes` nodes (each a
//! [`RedisServer`] with its own port, directory and `nodes.conf`), splits the 16384 hash
//! slots between them, introduces them to each other, and waits until every node reports
//! `cluster_state:ok` and knows all three masters. It needs only `redis-server`, not
//! `redis-cli`. All nodes are killed on drop.
//!
//! [`RedisCluster::spawn_with_replicas`] adds replicas to every master, for failover tests:
//! the nodes declare a silent node failed after [`FAILOVER_NODE_TIMEOUT`], and a replica is
//! promoted in its master's place a few seconds after the master is killed (or at once with
//! `CLUSTER FAILOVER` on the replica). [`RedisCluster::wait_until_master`] polls for it.
//!
//! ```no_run
//! use sentinel_testkit::redis_cluster::RedisCluster;
//!
//! let cluster = RedisCluster::spawn();
//! let client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
//! # drop(client);
//! ```

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use crate::redis_server::{RedisServer, command};

/// Number of master nodes.
const MASTERS: usize = 3;
/// Number of hash slots in a Redis Cluster.
const SLOTS: u16 = 16_384;
/// How long the nodes may take to agree on the cluster layout.
const FORM_DEADLINE: Duration = Duration::from_secs(30);
/// How many times a whole cluster is rebuilt when a node's port is taken meanwhile.
const ATTEMPTS: usize = 3;
/// `cluster-node-timeout` of a cluster without replicas (nothing to fail over to).
const NODE_TIMEOUT: Duration = Duration::from_millis(5_000);
/// `cluster-node-timeout` of a cluster with replicas: how long a node may be silent before
/// the others flag it failed and its replica takes over.
pub const FAILOVER_NODE_TIMEOUT: Duration = Duration::from_millis(2_000);

/// A running three-master Redis Cluster, with or without replicas. Killed on drop.
#[derive(Debug)]
pub struct RedisCluster {
    /// The masters (as started), then the replicas: replica `r` of master `m` is node
    /// `MASTERS + m * replicas + r`.
    nodes: Vec<RedisServer>,
    replicas: usize,
}

impl RedisCluster {
    /// Starts a three-master cluster on free loopback ports and waits until it is ready.
    ///
    /// # Panics
    ///
    /// If the cluster cannot be started or does not form; the message says why.
    #[must_use]
    pub fn spawn() -> Self {
        Self::try_spawn().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`spawn`](Self::spawn), returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// When `redis-server` is missing, a node fails to start, or the cluster does not reach
    /// `cluster_state:ok` within the deadline.
    pub fn try_spawn() -> io::Result<Self> {
        Self::try_spawn_with_replicas(0)
    }

    /// Starts a three-master cluster with `replicas` replicas of each master and waits until
    /// every replica is in sync and known as such to every node.
    ///
    /// # Panics
    ///
    /// If the cluster cannot be started or does not form; the message says why.
    #[must_use]
    pub fn spawn_with_replicas(replicas: usize) -> Self {
        Self::try_spawn_with_replicas(replicas).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`spawn_with_replicas`](Self::spawn_with_replicas), returning the error instead of
    /// panicking.
    ///
    /// # Errors
    ///
    /// As [`try_spawn`](Self::try_spawn).
    pub fn try_spawn_with_replicas(replicas: usize) -> io::Result<Self> {
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            match Self::try_spawn_once(replicas) {
                Ok(cluster) => return Ok(cluster),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("redis cluster: no attempt made")))
    }

    fn try_spawn_once(replicas: usize) -> io::Result<Self> {
        let total = MASTERS * (1 + replicas);
        let timeout = if replicas == 0 {
            NODE_TIMEOUT
        } else {
            FAILOVER_NODE_TIMEOUT
        };
        let timeout = timeout.as_millis().to_string();
        let mut nodes = Vec::with_capacity(total);
        for _ in 0..total {
            nodes.push(RedisServer::try_spawn_with_args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                &timeout,
                // A replica may always take over, however long since it heard its master.
                "--cluster-replica-validity-factor",
                "0",
            ])?);
        }
        let cluster = Self { nodes, replicas };
        cluster.assign_slots_and_meet()?;
        cluster.wait_until_ok()?;
        if replicas > 0 {
            cluster.attach_replicas()?;
        }
        Ok(cluster)
    }

    /// `CLUSTER REPLICATE` on every replica, then waits until each is in sync and every node
    /// lists all of them as replicas.
    fn attach_replicas(&self) -> io::Result<()> {
        for m in 0..MASTERS {
            let id = command(self.nodes[m].addr(), &[&["CLUSTER", "MYID"]])?;
            for r in 0..self.replicas {
                let replica = &self.nodes[MASTERS + m * self.replicas + r];
                command(replica.addr(), &[&["CLUSTER", "REPLICATE", &id]])?;
            }
        }
        let replicas = MASTERS * self.replicas;
        self.wait_for(
            "every replica in sync and known to every node",
            |node, i| {
                let nodes = command(node.addr(), &[&["CLUSTER", "NODES"]])?;
                let known = nodes.lines().filter(|l| l.contains("slave")).count();
                let synced = i < MASTERS
                    || command(node.addr(), &[&["INFO", "replication"]])?
                        .contains("master_link_status:up");
                Ok(known == replicas && synced)
            },
        )
    }

    /// What `redis-cli --cluster create` does: slot ranges, distinct config epochs, MEET.
    fn assign_slots_and_meet(&self) -> io::Result<()> {
        let per_node = SLOTS.div_ceil(MASTERS as u16);
        let mut first = 0_u16;
        for (i, node) in self.nodes[..MASTERS].iter().enumerate() {
            let last = first.saturating_add(per_node - 1).min(SLOTS - 1);
            let slots: Vec<String> = (first..=last).map(|s| s.to_string()).collect();
            let mut args = vec!["CLUSTER", "ADDSLOTS"];
            args.extend(slots.iter().map(String::as_str));
            command(node.addr(), &[&args])?;
            let epoch = (i + 1).to_string();
            command(node.addr(), &[&["CLUSTER", "SET-CONFIG-EPOCH", &epoch]])?;
            first = last.saturating_add(1);
        }
        let first_node = self.nodes[0].addr();
        // Replicas too: they are introduced as empty masters, then told whom to replicate.
        for node in &self.nodes[1..] {
            let port = node.port().to_string();
            command(first_node, &[&["CLUSTER", "MEET", "127.0.0.1", &port]])?;
        }
        Ok(())
    }

    fn wait_until_ok(&self) -> io::Result<()> {
        let known = format!("cluster_known_nodes:{}", self.nodes.len());
        self.wait_for("cluster_state:ok", |node, _| {
            let info = command(node.addr(), &[&["CLUSTER", "INFO"]])?;
            Ok(info.contains("cluster_state:ok")
                && info.contains("cluster_slots_assigned:16384")
                && info.contains(&known))
        })
    }

    /// Polls every running node with `ready` (given the node and its index) until all are
    /// ready; errors count as "not yet". Fails after [`FORM_DEADLINE`].
    fn wait_for(
        &self,
        what: &str,
        ready: impl Fn(&RedisServer, usize) -> io::Result<bool>,
    ) -> io::Result<()> {
        let deadline = Instant::now() + FORM_DEADLINE;
        loop {
            // The CLUSTER INFO of the first node not yet ready, if any.
            let not_ready = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, node)| node.is_running())
                .find_map(|(i, node)| {
                    let ok = ready(node, i).unwrap_or(false);
                    (!ok).then(|| command(node.addr(), &[&["CLUSTER", "INFO"]]).unwrap_or_default())
                });
            let Some(last_info) = not_ready else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "redis cluster on ports {:?}: no {what} within {FORM_DEADLINE:?}; \
                         last CLUSTER INFO:\n{last_info}",
                        self.ports()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until `node` says it is a master and every running node reports
    /// `cluster_state:ok` (after a failover: the replica took over and every slot is served
    /// again).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::TimedOut`] when that does not happen within the cluster's formation
    /// deadline (30 s).
    pub fn wait_until_master(&self, node: &RedisServer) -> io::Result<()> {
        self.wait_for("promoted master serving every slot", |n, _| {
            let ok = command(n.addr(), &[&["CLUSTER", "INFO"]])?.contains("cluster_state:ok");
            Ok(ok && command(node.addr(), &[&["INFO", "replication"]])?.contains("role:master"))
        })
    }

    /// The nodes' URLs, `redis://127.0.0.1:PORT/`: the masters, then the replicas.
    #[must_use]
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes' ports: the masters, then the replicas.
    #[must_use]
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// The nodes themselves, for fault tests (for example stopping one master): the three
    /// masters as started, then the replicas (see [`replica_of`](Self::replica_of)). A node
    /// that is restarted comes back empty and outside the cluster (its `nodes.conf` is gone).
    #[must_use]
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The first replica started for master `master` (0, 1 or 2), if the cluster has replicas.
    #[must_use]
    pub fn replica_of(&self, master: usize) -> Option<&RedisServer> {
        (master < MASTERS && self.replicas > 0)
            .then(|| &self.nodes[MASTERS + master * self.replicas])
    }
}
