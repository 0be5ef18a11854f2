//! Getting a connection: the pool ([`Backend`]), the connection types ([`Conn`]), and the
//! multiplexed connections the store keeps ([`Lanes`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, RedisFuture, Value};
use sentinel_core::StoreError;

use crate::error::map_pool;
use crate::redact::Redactor;

/// The pool connections come from.
pub(crate) enum Backend {
    Single(deadpool_redis::Pool),
    #[cfg(feature = "cluster")]
    Cluster(deadpool_redis::cluster::Pool),
    /// The master a Redis Sentinel names; a new connection asks the sentinels again.
    #[cfg(feature = "sentinel")]
    Sentinel(deadpool_redis::sentinel::Pool),
}

impl Backend {
    /// The pool's maximum size.
    pub(crate) fn max_size(&self) -> usize {
        match self {
            Self::Single(p) => p.status().max_size,
            #[cfg(feature = "cluster")]
            Self::Cluster(p) => p.status().max_size,
            #[cfg(feature = "sentinel")]
            Self::Sentinel(p) => p.status().max_size,
        }
    }

    /// Whether `e` says the connection no longer reaches the master although it still works:
    /// a Sentinel-managed server that was demoted to a replica (`READONLY`), so the next call
    /// asks the sentinels again. (Sentinel also disconnects clients of a demoted master; this
    /// covers the moment before.) A standalone server answering `READONLY` is a replica by
    /// configuration, and reconnecting would not help.
    pub(crate) fn stale_after(&self, e: &redis::RedisError) -> bool {
        match self {
            #[cfg(feature = "sentinel")]
            Self::Sentinel(_) => matches!(
                e.kind(),
                redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
            ),
            _ => {
                let _ = e;
                false
            }
        }
    }

    /// One connection checked out of the pool.
    async fn checkout(&self) -> Result<Held, deadpool_redis::PoolError> {
        match self {
            Self::Single(p) => p.get().await.map(Held::Single),
            #[cfg(feature = "cluster")]
            Self::Cluster(p) => p.get().await.map(Held::Cluster),
            #[cfg(feature = "sentinel")]
            Self::Sentinel(p) => p.get().await.map(Held::Sentinel),
        }
    }
}

/// A connection checked out of the pool; back to the pool on drop.
pub(crate) enum Held {
    Single(deadpool_redis::Connection),
    #[cfg(feature = "cluster")]
    Cluster(deadpool_redis::cluster::Connection),
    #[cfg(feature = "sentinel")]
    Sentinel(deadpool_redis::sentinel::Connection),
}

impl Held {
    /// A handle on the same socket (cheap: both connection types are multiplexed).
    fn conn(&self) -> Conn {
        match self {
            Self::Single(c) => Conn::Single(MultiplexedConnection::clone(c)),
            #[cfg(feature = "cluster")]
            Self::Cluster(c) => Conn::Cluster(redis::cluster_async::ClusterConnection::clone(c)),
            #[cfg(feature = "sentinel")]
            Self::Sentinel(c) => Conn::Single(MultiplexedConnection::clone(c)),
        }
    }
}

/// A connection to send commands on: standalone or Cluster.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(MultiplexedConnection),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            #[cfg(feature = "cluster")]
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            #[cfg(feature = "cluster")]
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// A connection for one call, and where it came from (to replace it if it breaks).
pub(crate) struct Lease {
    pub(crate) conn: Conn,
    /// Where a multiplexed connection came from, to [`Lanes::discard`] it.
    pub(crate) origin: Option<Origin>,
    /// The pooled connection, held for the call in pooled mode.
    pub(crate) held: Option<Held>,
}

/// A kept connection's lane and generation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    lane: usize,
    generation: u64,
}

/// One kept connection and its generation (bumped each time it is replaced).
struct Slot {
    generation: u64,
    conn: Conn,
    _held: Held,
}

struct Lane {
    slot: RwLock<Option<Slot>>,
    refill: tokio::sync::Mutex<()>,
}

/// The multiplexed connections the store keeps (empty in pooled mode).
pub(crate) struct Lanes {
    lanes: Vec<Lane>,
    next: AtomicUsize,
    generation: AtomicU64,
}

impl Lanes {
    pub(crate) fn new(count: usize) -> Self {
        Self {
            lanes: (0..count)
                .map(|_| Lane {
                    slot: RwLock::new(None),
                    refill: tokio::sync::Mutex::new(()),
                })
                .collect(),
            next: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// A connection for one call: the next kept connection (round robin), or — in pooled
    /// mode — one checked out of the pool for the call. Bounded by `connect_timeout`.
    pub(crate) async fn lease(
        &self,
        backend: &Backend,
        connect_timeout: Duration,
        redactor: &Redactor,
    ) -> Result<Lease, StoreError> {
        let checkout = async {
            backend
                .checkout()
                .await
                .map_err(|e| map_pool(e, connect_timeout, redactor))
        };
        if self.lanes.is_empty() {
            let held = tokio::time::timeout(connect_timeout, checkout)
                .await
                .map_err(|_| StoreError::Timeout(connect_timeout))??;
            return Ok(Lease {
                conn: held.conn(),
                origin: None,
                held: Some(held),
            });
        }
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len();
        let lane = &self.lanes[index];
        if let Some(lease) = Self::current(lane, index) {
            return Ok(lease);
        }
        // Refill: one task connects, the others wait for it (within the timeout).
        let refill = async {
            let _guard = lane.refill.lock().await;
            if let Some(lease) = Self::current(lane, index) {
                return Ok(lease);
            }
            let held = checkout.await?;
            let generation = self.generation.fetch_add(1, Ordering::Relaxed);
            let conn = held.conn();
            *lane.slot.write().unwrap_or_else(PoisonError::into_inner) = Some(Slot {
                generation,
                conn: conn.clone(),
                _held: held,
            });
            Ok(Lease {
                conn,
                origin: Some(Origin {
                    lane: index,
                    generation,
                }),
                held: None,
            })
        };
        tokio::time::timeout(connect_timeout, refill)
            .await
            .map_err(|_| StoreError::Timeout(connect_timeout))?
    }

    fn current(lane: &Lane, index: usize) -> Option<Lease> {
        let slot = lane.slot.read().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().map(|s| Lease {
            conn: s.conn.clone(),
            origin: Some(Origin {
                lane: index,
                generation: s.generation,
            }),
            held: None,
        })
    }

    /// Hands the connection from `origin` back to the pool (which checks it before reuse),
    /// so the next call on its lane gets a fresh one. Only the first report for one connection
    /// does anything.
    pub(crate) fn discard(&self, origin: Option<Origin>) {
        let Some(Origin { lane, generation }) = origin else {
            return;
        };
        let Some(lane) = self.lanes.get(lane) else {
            return;
        };
        let stale = {
            let mut slot = lane.slot.write().unwrap_or_else(PoisonError::into_inner);
            if slot.as_ref().is_some_and(|s| s.generation == generation) {
                slot.take()
            } else {
                None
            }
        };
        // Back to the pool outside the lock.
        drop(stale);
    }
}
