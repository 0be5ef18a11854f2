//! A Redis master, one replica and three Redis Sentinels on loopback ports, for failover tests.
//!
//! [`SentinelGroup::spawn`] starts a master and a replica of it, waits until the replica is in
//! sync, then starts three sentinels (`redis-server redis.conf --sentinel`, the same binary:
//! nothing else to install) that monitor the master as [`MASTER_NAME`] with a quorum of 2, and
//! waits until every sentinel knows the replica and the two other sentinels. The sentinels
//! declare the master down after [`DOWN_AFTER`] without an answer and promote the replica in
//! a few seconds. Every process is a [`RedisServer`], so it dies with the test process even
//! when the group sits in a `static`.
//!
//! Tests wait for a failover by polling ([`SentinelGroup::wait_for_new_master`]), never by
//! sleeping a fixed time.
//!
//! ```no_run
//! use std::time::Duration;
//! use sentinel_testkit::redis_sentinel::SentinelGroup;
//!
//! let group = SentinelGroup::spawn();
//! let old = group.master_addr().unwrap();
//! group.master().unwrap().stop(); // kill the master
//! let new = group.wait_for_new_master(old, Duration::from_secs(30)).unwrap();
//! assert_ne!(old, new);
//! ```

use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::redis_server::{RedisServer, command};

/// The name the sentinels know the master by (`sentinel monitor NAME …`).
pub const MASTER_NAME: &str = "sentinel-test-master";
/// How long a master may not answer before a sentinel considers it down
/// (`down-after-milliseconds`).
pub const DOWN_AFTER: Duration = Duration::from_millis(1_000);
/// `failover-timeout`: also how long a failed election waits before the next (twice this).
const FAILOVER_TIMEOUT: Duration = Duration::from_millis(3_000);
/// How long the group may take to form (replica in sync, sentinels acquainted).
const FORM_DEADLINE: Duration = Duration::from_secs(30);
/// Pause between two polls.
const POLL: Duration = Duration::from_millis(50);
/// Number of sentinels; the quorum is 2.
const SENTINELS: usize = 3;

/// A master, its replica and three sentinels. All killed on drop.
#[derive(Debug)]
pub struct SentinelGroup {
    /// The data nodes: the first master, then its replica.
    servers: Vec<RedisServer>,
    sentinels: Vec<RedisServer>,
    password: Option<String>,
}

impl SentinelGroup {
    /// Starts the group without passwords and waits until it is ready.
    ///
    /// # Panics
    ///
    /// If it cannot be started or does not form; the message says why.
    #[must_use]
    pub fn spawn() -> Self {
        Self::try_spawn(None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the group with `password` required on the master and the replica
    /// (`requirepass`; the replica and the sentinels are given it too). The sentinels
    /// themselves need no password.
    ///
    /// # Panics
    ///
    /// As [`spawn`](Self::spawn).
    #[must_use]
    pub fn spawn_with_password(password: &str) -> Self {
        Self::try_spawn(Some(password)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`spawn`](Self::spawn) or [`spawn_with_password`](Self::spawn_with_password),
    /// returning the error instead of panicking.
    ///
    /// # Errors
    ///
    /// When `redis-server` is missing, a process fails to start, or the group does not form
    /// within its deadline.
    pub fn try_spawn(password: Option<&str>) -> io::Result<Self> {
        let auth: Vec<&str> = password
            .map(|p| vec!["--requirepass", p, "--masterauth", p])
            .unwrap_or_default();
        let master = RedisServer::try_spawn_with_args(auth.iter().copied())?;
        let master_port = master.port().to_string();
        let mut replica_args = auth.clone();
        replica_args.extend(["--replicaof", "127.0.0.1", &master_port]);
        let replica = RedisServer::try_spawn_with_args(replica_args)?;
        let mut group = Self {
            servers: vec![master, replica],
            sentinels: Vec::new(),
            password: password.map(str::to_owned),
        };
        group.wait_until(
            "the replica to be in sync with the master",
            |g| {
                let info = g.info(&g.servers[1], "replication")?;
                Ok(info.contains("master_link_status:up"))
            },
            FORM_DEADLINE,
        )?;
        let mut config = format!(
            "sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} {}\n\
             sentinel failover-timeout {MASTER_NAME} {}\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            DOWN_AFTER.as_millis(),
            FAILOVER_TIMEOUT.as_millis(),
        );
        if let Some(p) = password {
            config.push_str(&format!("sentinel auth-pass {MASTER_NAME} {p}\n"));
        }
        for _ in 0..SENTINELS {
            group.sentinels.push(RedisServer::try_spawn_with_config(
                Some(config.clone()),
                ["--sentinel"],
            )?);
        }
        let ready = format!("slaves=1,sentinels={SENTINELS}");
        group.wait_until(
            "every sentinel to know the replica and the other sentinels",
            |g| {
                for s in &g.sentinels {
                    let info = command(s.addr(), &[&["INFO", "sentinel"]])?;
                    if !(info.contains("status=ok") && info.contains(&ready)) {
                        return Ok(false);
                    }
                }
                Ok(true)
            },
            FORM_DEADLINE,
        )?;
        Ok(group)
    }

    /// The name the sentinels know the master by ([`MASTER_NAME`]).
    #[must_use]
    pub fn master_name(&self) -> &'static str {
        MASTER_NAME
    }

    /// The sentinels' URLs, `redis://127.0.0.1:PORT/`.
    #[must_use]
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels.iter().map(RedisServer::url).collect()
    }

    /// The sentinel processes.
    #[must_use]
    pub fn sentinels(&self) -> &[RedisServer] {
        &self.sentinels
    }

    /// The data nodes: the first master, then its replica (whichever is master now).
    #[must_use]
    pub fn servers(&self) -> &[RedisServer] {
        &self.servers
    }

    /// Where the first sentinel that answers says the master is
    /// (`SENTINEL get-master-addr-by-name`, read from `INFO sentinel`).
    ///
    /// # Errors
    ///
    /// When no sentinel answers with an address.
    pub fn master_addr(&self) -> io::Result<SocketAddr> {
        let mut last = io::Error::other("no sentinel");
        for s in &self.sentinels {
            match command(s.addr(), &[&["INFO", "sentinel"]]).and_then(|i| address_in(&i)) {
                Ok(addr) => return Ok(addr),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The data node the sentinels name as master, if it is one of this group's.
    #[must_use]
    pub fn master(&self) -> Option<&RedisServer> {
        let addr = self.master_addr().ok()?;
        self.servers.iter().find(|s| s.addr() == addr)
    }

    /// Polls until every sentinel names a master other than `old` and that node says it is
    /// a master (`ROLE`), then returns its address.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::TimedOut`] when that does not happen within `deadline`.
    pub fn wait_for_new_master(
        &self,
        old: SocketAddr,
        deadline: Duration,
    ) -> io::Result<SocketAddr> {
        let mut found = None;
        self.wait_until(
            "the sentinels to promote the replica",
            |g| {
                let mut named = None;
                for s in &g.sentinels {
                    let addr = address_in(&command(s.addr(), &[&["INFO", "sentinel"]])?)?;
                    if addr == old || named.is_some_and(|n| n != addr) {
                        return Ok(false);
                    }
                    named = Some(addr);
                }
                let Some(addr) = named else {
                    return Ok(false);
                };
                let Some(node) = g.servers.iter().find(|s| s.addr() == addr) else {
                    return Ok(false);
                };
                if g.info(node, "replication")?.contains("role:master") {
                    found = Some(addr);
                    return Ok(true);
                }
                Ok(false)
            },
            deadline,
        )?;
        found.ok_or_else(|| io::Error::other("no master found"))
    }

    /// `INFO section` of a data node (authenticating when the group has a password).
    fn info(&self, node: &RedisServer, section: &str) -> io::Result<String> {
        match &self.password {
            None => command(node.addr(), &[&["INFO", section]]),
            Some(p) => command(node.addr(), &[&["AUTH", p], &["INFO", section]]),
        }
    }

    /// Polls `ready` until it returns `true` or `deadline` passes (errors count as "not yet").
    fn wait_until(
        &self,
        what: &str,
        mut ready: impl FnMut(&Self) -> io::Result<bool>,
        deadline: Duration,
    ) -> io::Result<()> {
        let end = Instant::now() + deadline;
        let mut last = String::new();
        loop {
            match ready(self) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= end {
                let infos: Vec<String> = self
                    .sentinels
                    .iter()
                    .map(|s| command(s.addr(), &[&["INFO", "sentinel"]]).unwrap_or_default())
                    .collect();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "waited {deadline:?} for {what}; last error: {last:?}; sentinels say: {infos:?}"
                    ),
                ));
            }
            thread::sleep(POLL);
        }
    }
}

/// The master's address in a sentinel's `INFO sentinel` (`…,address=127.0.0.1:PORT,…`).
fn address_in(info: &str) -> io::Result<SocketAddr> {
    info.lines()
        .filter(|l| l.contains(&format!("name={MASTER_NAME},")))
        .find_map(|l| {
            l.split(',')
                .find_map(|field| field.strip_prefix("address="))
                .and_then(|a| a.trim().parse().ok())
        })
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no address for {MASTER_NAME} in INFO sentinel: {info:?}"),
            )
        })
}
