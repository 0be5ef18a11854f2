//! A local three-master Redis Cluster on loopback ports, for tests.
//!
//! [`RedisCluster::spawn`] starts three `redis-server --cluster-enabled yes` nodes (each a
//! [`RedisServer`] with its own port, directory and `nodes.conf`), splits the 16384 hash
//! slots between them, introduces them to each other, and waits until every node reports
//! `cluster_state:ok` and knows all three masters. It needs only `redis-server`, not
//! `redis-cli`. All nodes are killed on drop.
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

/// A running three-master Redis Cluster (no replicas). Killed on drop.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
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
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            match Self::try_spawn_once() {
                Ok(cluster) => return Ok(cluster),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("redis cluster: no attempt made")))
    }

    fn try_spawn_once() -> io::Result<Self> {
        let mut nodes = Vec::with_capacity(MASTERS);
        for _ in 0..MASTERS {
            nodes.push(RedisServer::try_spawn_with_args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "5000",
            ])?);
        }
        let cluster = Self { nodes };
        cluster.assign_slots_and_meet()?;
        cluster.wait_until_ok()?;
        Ok(cluster)
    }

    /// What `redis-cli --cluster create` does: slot ranges, distinct config epochs, MEET.
    fn assign_slots_and_meet(&self) -> io::Result<()> {
        let per_node = SLOTS.div_ceil(MASTERS as u16);
        let mut first = 0_u16;
        for (i, node) in self.nodes.iter().enumerate() {
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
        for node in &self.nodes[1..] {
            let port = node.port().to_string();
            command(first_node, &[&["CLUSTER", "MEET", "127.0.0.1", &port]])?;
        }
        Ok(())
    }

    fn wait_until_ok(&self) -> io::Result<()> {
        let deadline = Instant::now() + FORM_DEADLINE;
        let known = format!("cluster_known_nodes:{MASTERS}");
        loop {
            // The CLUSTER INFO of the first node not yet ready, if any.
            let not_ready = self.nodes.iter().find_map(|node| {
                let info = command(node.addr(), &[&["CLUSTER", "INFO"]]).unwrap_or_default();
                let ok = info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_assigned:16384")
                    && info.contains(&known);
                (!ok).then_some(info)
            });
            let Some(last_info) = not_ready else {
                return Ok(());
            };
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "redis cluster on ports {:?} did not reach cluster_state:ok within \
                         {FORM_DEADLINE:?}; last CLUSTER INFO:\n{last_info}",
                        self.ports()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The nodes' URLs, `redis://127.0.0.1:PORT/`, one per master.
    #[must_use]
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes' ports, one per master.
    #[must_use]
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// The nodes themselves, for fault tests (for example stopping one master). A node that
    /// is restarted comes back empty and outside the cluster (its `nodes.conf` is gone).
    #[must_use]
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }
}
