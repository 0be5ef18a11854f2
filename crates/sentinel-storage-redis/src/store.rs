//! [`RedisStore`]: the storage traits over Redis.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use redis::{RedisError, Value};
use sentinel_core::{
    Algorithm, BlockRecord, BlocklistStore, DebounceStore, Decision, Plan, PlanOutcome, Quota,
    RateLimitStore, Store, StoreError, Timestamp,
};

use crate::config::{ConnectionMode, DEFAULT_CONNECTIONS, RedisConfig, TimeSource};
use crate::connection::{Backend, Conn, Lanes, Lease};
use crate::error::{RedisConfigError, breaks_connection, map_redis, protocol};
use crate::redact::Redactor;
use crate::scripts::{
    self, MAX_SPAN_MICROS, Program, Step, ceil_millis, decode_decision, decode_flag,
};

/// What one call can fail with before it is mapped to a [`StoreError`].
pub(crate) enum CallError {
    /// The client or the server reported an error.
    Redis(RedisError),
    /// The reply made no sense.
    Reply(StoreError),
}

impl From<RedisError> for CallError {
    fn from(e: RedisError) -> Self {
        Self::Redis(e)
    }
}

impl From<StoreError> for CallError {
    fn from(e: StoreError) -> Self {
        Self::Reply(e)
    }
}

/// Everything the store needs besides its pool.
pub(crate) struct StoreSettings {
    /// Where it connects, redacted, for `Debug`.
    pub(crate) target: String,
    pub(crate) redactor: Redactor,
    pub(crate) time_source: TimeSource,
    pub(crate) mode: ConnectionMode,
    pub(crate) connect_timeout: Duration,
    pub(crate) command_timeout: Duration,
    /// Extra TTL in client-clock mode (zero in server-clock mode).
    pub(crate) grace: Duration,
    /// Whether to send the plan as `FCALL` of the plan library (see [`RedisConfig::functions`]).
    pub(crate) functions: bool,
}

/// The sentinel storage traits ([`RateLimitStore`], [`DebounceStore`], [`BlocklistStore`])
/// over Redis, standalone, Sentinel-managed or Cluster. Cheap to clone; share one per process.
///
/// - **One round trip per update**: the engine's whole plan (blocklist, debounce, rate limits,
///   strike, escalation) is one `FCALL` of the plan library on Redis 7+ (else one `EVALSHA`
///   of the plan script) on a standalone server (on Cluster, see the crate docs); each
///   single-purpose rate-limit step is one `EVALSHA` (scripts and the library reload
///   automatically when the server lost them, e.g. when Redis restarted empty); a debounce is
///   one `SET NX PX`; blocklist reads are one `GET`.
/// - **Every key has a TTL** — the time until the state stops mattering — except permanent
///   blocks (`expires_at: None`), which stay until unblocked.
/// - **Errors are typed**: connection, I/O and pool failures are [`StoreError::Unavailable`],
///   an exceeded connect or command timeout is [`StoreError::Timeout`], a reply that makes no
///   sense is [`StoreError::Protocol`]; a broken connection is replaced on the next call.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use sentinel_core::Sentinel;
/// use sentinel_storage_redis::RedisStore;
///
/// let store = RedisStore::from_url("redis://127.0.0.1:6379")?;
/// store.ping().await?;
/// let sentinel = Sentinel::builder().store(Arc::new(store)).build()?;
/// # drop(sentinel); Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
    /// The deadline for one whole [`Store::evaluate`] (connection included).
    check_timeout: Duration,
}

struct Inner {
    backend: Backend,
    lanes: Lanes,
    settings: StoreSettings,
    grace_ms: u64,
    /// Whether the plan goes as `FCALL` of the plan library: the setting, until the server
    /// shows it cannot run functions for us; then `EVALSHA` of the plan script, for good.
    functions: AtomicBool,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.inner.settings;
        f.debug_struct("RedisStore")
            .field("target", &s.target)
            .field("cluster", &self.is_cluster())
            .field("time_source", &s.time_source)
            .field("mode", &s.mode)
            .field("connect_timeout", &s.connect_timeout)
            .field("command_timeout", &s.command_timeout)
            .field("check_timeout", &self.check_timeout)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Whether `e` says the server cannot run functions for this client (see
    /// [`scripts::functions_unavailable`]); if so, the plan goes as `EVALSHA` from now on.
    fn without_functions(&self, e: &RedisError) -> bool {
        if !scripts::functions_unavailable(e) {
            return false;
        }
        if self.functions.swap(false, Ordering::Relaxed) {
            tracing::debug!(
                kind = ?e.kind(),
                "Redis cannot run functions for this client; the plan goes as EVALSHA from now on"
            );
        }
        true
    }
}

impl RedisStore {
    pub(crate) fn new(backend: Backend, settings: StoreSettings) -> Self {
        let lanes = match settings.mode {
            ConnectionMode::Multiplexed(n) => Lanes::new(n),
            _ => Lanes::new(0),
        };
        let grace_ms = ceil_millis(settings.grace);
        let functions = AtomicBool::new(settings.functions);
        Self {
            check_timeout: settings.command_timeout,
            inner: Arc::new(Inner {
                backend,
                lanes,
                settings,
                grace_ms,
                functions,
            }),
        }
    }

    /// A store for the standalone Redis at `url`, with default settings
    /// ([`RedisConfig::new`]`(url).build()`).
    ///
    /// # Errors
    /// As [`RedisConfig::build`].
    pub fn from_url(url: impl Into<String>) -> Result<Self, RedisConfigError> {
        RedisConfig::new(url).build()
    }

    /// A store around a pool you already have, with default settings (and at most
    /// [`DEFAULT_CONNECTIONS`] of its connections kept). Use [`RedisConfig::from_pool`] to
    /// change them.
    pub fn from_pool(pool: deadpool_redis::Pool) -> Self {
        let connections = DEFAULT_CONNECTIONS.min(pool.status().max_size).max(1);
        let settings = StoreSettings {
            target: "pool".into(),
            redactor: Redactor::default(),
            time_source: TimeSource::default(),
            mode: ConnectionMode::Multiplexed(connections),
            connect_timeout: crate::config::DEFAULT_CONNECT_TIMEOUT,
            command_timeout: crate::config::DEFAULT_COMMAND_TIMEOUT,
            grace: Duration::ZERO,
            functions: true,
        };
        Self::new(Backend::Single(pool), settings)
    }

    /// Sets the deadline for one whole update ([`Store::evaluate`]): getting a connection,
    /// the plan script, and on Cluster every step of a plan that spans slots. When it passes,
    /// the call fails with [`StoreError::Timeout`] and the engine's `FailMode` decides.
    /// Default: the command timeout. Admin calls keep the per-command timeouts only.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sentinel_storage_redis::RedisStore;
    /// let store = RedisStore::from_url("redis://127.0.0.1:6379")?
    ///     .with_check_timeout(Duration::from_millis(50))?;
    /// assert_eq!(store.check_timeout(), Duration::from_millis(50));
    /// assert!(store.clone().with_check_timeout(Duration::ZERO).is_err());
    /// # Ok::<(), sentinel_storage_redis::RedisConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`RedisConfigError::Invalid`] for a zero timeout.
    pub fn with_check_timeout(mut self, timeout: Duration) -> Result<Self, RedisConfigError> {
        if timeout.is_zero() {
            return Err(RedisConfigError::Invalid(
                "check_timeout must be positive (it bounds every check; use e.g. 200 ms)".into(),
            ));
        }
        self.check_timeout = timeout;
        Ok(self)
    }

    /// The deadline for one whole update (see [`RedisStore::with_check_timeout`]).
    pub fn check_timeout(&self) -> Duration {
        self.check_timeout
    }

    /// Where "now" comes from.
    pub fn time_source(&self) -> TimeSource {
        self.inner.settings.time_source
    }

    /// The standalone pool (`None` for a Cluster or Sentinel store).
    pub fn pool(&self) -> Option<&deadpool_redis::Pool> {
        match &self.inner.backend {
            Backend::Single(p) => Some(p),
            #[cfg(any(feature = "cluster", feature = "sentinel"))]
            _ => None,
        }
    }

    /// The Cluster pool (`None` for a standalone or Sentinel store).
    #[cfg(feature = "cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
    pub fn cluster_pool(&self) -> Option<&deadpool_redis::cluster::Pool> {
        match &self.inner.backend {
            Backend::Cluster(p) => Some(p),
            _ => None,
        }
    }

    /// The pool of connections to the Sentinel-managed master (`None` for a standalone or
    /// Cluster store).
    #[cfg(feature = "sentinel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sentinel")))]
    pub fn sentinel_pool(&self) -> Option<&deadpool_redis::sentinel::Pool> {
        match &self.inner.backend {
            Backend::Sentinel(p) => Some(p),
            _ => None,
        }
    }

    fn is_cluster(&self) -> bool {
        #[cfg(feature = "cluster")]
        return matches!(self.inner.backend, Backend::Cluster(_));
        #[cfg(not(feature = "cluster"))]
        false
    }

    /// Checks that Redis answers (`PING`, on every master of a Cluster), within the timeouts.
    /// For health checks.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] or [`StoreError::Timeout`] when it does not,
    /// [`StoreError::Protocol`] when it answers something other than `PONG`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let reply: Value = self
            .run(|mut c| async move { Ok(redis::cmd("PING").query_async(&mut c).await?) })
            .await?;
        match reply {
            Value::SimpleString(s) if s == "PONG" => Ok(()),
            Value::Okay => Ok(()),
            other => Err(protocol(format_args!(
                "PING replied {}, expected PONG",
                scripts::kind(&other)
            ))),
        }
    }

    /// Loads every script (`SCRIPT LOAD`, on every node of a Cluster) and, on Redis 7+, the plan
    /// library (`FUNCTION LOAD`, on every master of a Cluster). Optional: calls load what is
    /// missing by themselves. Useful at startup to fail early when an ACL forbids scripting.
    /// A server that cannot run functions for this client (before Redis 7, or an ACL without
    /// `FUNCTION LOAD`) is no error: the plan then goes as `EVALSHA`.
    ///
    /// # Errors
    /// As [`RedisStore::ping`].
    pub async fn load_scripts(&self) -> Result<(), StoreError> {
        for script in scripts::all() {
            let sha: String = self
                .run(|mut c| async move { Ok(script.load_async(&mut c).await?) })
                .await?;
            if sha != script.get_hash() {
                return Err(protocol("SCRIPT LOAD replied an unexpected SHA1"));
            }
        }
        if self.inner.functions.load(Ordering::Relaxed) {
            let inner = &*self.inner;
            self.run(|mut c| async move {
                match scripts::PLAN_LIBRARY.load_async(&mut c).await {
                    Err(e) if inner.without_functions(&e) => Ok(()),
                    other => Ok(other?),
                }
            })
            .await?;
        }
        Ok(())
    }

    /// The SHA1 of the script behind `algorithm` (what `EVALSHA` sends), e.g. to benchmark it
    /// with `redis-benchmark`. Its arguments are described in the crate docs.
    pub fn script_sha(algorithm: Algorithm) -> Option<&'static str> {
        scripts::for_algorithm(algorithm).map(|s| s.get_hash())
    }

    /// The `now` to pass to the scripts: the caller's in client-clock mode.
    fn client_now(&self, now: Timestamp) -> Option<Timestamp> {
        match self.inner.settings.time_source {
            TimeSource::Server => None,
            _ => Some(now),
        }
    }

    /// Runs `call` on a connection, within the timeouts, and maps every failure to a
    /// [`StoreError`]. A connection that broke is replaced on the next call.
    pub(crate) async fn run<T, F, Fut>(&self, call: F) -> Result<T, StoreError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let inner = &*self.inner;
        let s = &inner.settings;
        let lease = inner
            .lanes
            .lease(&inner.backend, s.connect_timeout, &s.redactor)
            .await?;
        let Lease { conn, origin, held } = lease;
        let outcome = tokio::time::timeout(s.command_timeout, call(conn)).await;
        drop(held);
        match outcome {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(CallError::Reply(e))) => Err(e),
            Ok(Err(CallError::Redis(e))) => {
                if breaks_connection(&e) || inner.backend.stale_after(&e) {
                    tracing::debug!(kind = ?e.kind(), "replacing a broken Redis connection");
                    inner.lanes.discard(origin);
                }
                Err(map_redis(e, s.command_timeout, &s.redactor))
            }
            Err(_) => {
                tracing::debug!(timeout = ?s.command_timeout, "Redis command timed out; replacing its connection");
                inner.lanes.discard(origin);
                Err(StoreError::Timeout(s.command_timeout))
            }
        }
    }

    async fn step(&self, step: Step<'_>, now: Timestamp) -> Result<Decision, StoreError> {
        let script = scripts::for_algorithm(step.algorithm).ok_or_else(|| {
            protocol(format_args!(
                "algorithm {:?} has no Redis script",
                step.algorithm
            ))
        })?;
        let now = scripts::now_arg(self.client_now(now))?;
        let cmd = step.command(script, &now, self.inner.grace_ms);
        let reply: Value = self
            .run(|mut c| async move {
                Ok(scripts::invoke(&mut c, Program::Script(script), &cmd).await?)
            })
            .await?;
        decode_decision(&reply, step.quota.limit())
    }

    /// Whether every key of `plan` can go into one script call: always on a standalone server,
    /// on Cluster only when they all hash to one slot.
    #[cfg_attr(
        not(feature = "cluster"),
        expect(unused_variables, reason = "only Cluster looks at the keys")
    )]
    fn one_slot(&self, plan: &Plan) -> bool {
        match &self.inner.backend {
            Backend::Single(_) => true,
            #[cfg(feature = "sentinel")]
            Backend::Sentinel(_) => true,
            #[cfg(feature = "cluster")]
            Backend::Cluster(_) => {
                use redis::cluster_routing::Slot;
                let mut keys = plan.keys();
                let first = keys.next().map(Slot::for_key);
                keys.all(|k| Some(Slot::for_key(k)) == first)
            }
        }
    }

    /// Deletes `key`; whether it existed.
    async fn del(&self, key: &str) -> Result<bool, StoreError> {
        let reply: Value = self
            .run(|mut c| async move { Ok(redis::cmd("DEL").arg(key).query_async(&mut c).await?) })
            .await?;
        decode_flag(&reply, "DEL")
    }
}

#[async_trait]
impl RateLimitStore for RedisStore {
    async fn hit(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        cost: u32,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        let step = Step {
            key,
            algorithm,
            quota,
            cost,
            peek: false,
        };
        self.step(step, now).await
    }

    async fn peek(
        &self,
        key: &str,
        algorithm: Algorithm,
        quota: &Quota,
        now: Timestamp,
    ) -> Result<Decision, StoreError> {
        let step = Step {
            key,
            algorithm,
            quota,
            cost: 1,
            peek: true,
        };
        self.step(step, now).await
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        self.del(key).await.map(|_| ())
    }
}

#[async_trait]
impl DebounceStore for RedisStore {
    async fn debounce(
        &self,
        key: &str,
        window: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(now) = self.client_now(now) else {
            // Server clock: the window is the key's TTL.
            let px = ceil_millis(window).max(1);
            let reply: Value = self
                .run(|mut c| async move {
                    Ok(redis::cmd("SET")
                        .arg(key)
                        .arg(1)
                        .arg("NX")
                        .arg("PX")
                        .arg(px)
                        .query_async(&mut c)
                        .await?)
                })
                .await?;
            return match reply {
                Value::Okay => Ok(true),
                Value::SimpleString(s) if s == "OK" => Ok(true),
                Value::Nil => Ok(false),
                other => Err(protocol(format_args!(
                    "SET NX replied {}, expected OK or nil",
                    scripts::kind(&other)
                ))),
            };
        };
        let window_us = u64::try_from(window.as_micros()).unwrap_or(u64::MAX);
        if window_us > MAX_SPAN_MICROS {
            return Err(protocol(format_args!(
                "debounce window {window:?} is longer than the Redis scripts support (2^46 us)"
            )));
        }
        let now = scripts::now_arg(Some(now))?;
        let grace_ms = self.inner.grace_ms;
        let reply: Value = self
            .run(|mut c| async move {
                Ok(scripts::DEBOUNCE
                    .key(key)
                    .arg(now)
                    .arg(window_us)
                    .arg(grace_ms)
                    .invoke_async(&mut c)
                    .await?)
            })
            .await?;
        decode_flag(&reply, "debounce script")
    }
}

/// The whole plan in one `FCALL` of the plan library (Redis 7+) or `EVALSHA` of the plan
/// script: one round trip per update, whatever the policy. On Cluster, a plan whose keys span several hash slots (the usual case: the
/// user's and the chat's blocks live under different hash tags) is evaluated step by step
/// ([`evaluate_stepwise`](sentinel_core::plan::evaluate_stepwise)); see the crate docs.
#[async_trait]
impl Store for RedisStore {
    async fn evaluate(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        tokio::time::timeout(self.check_timeout, self.evaluate_within(plan))
            .await
            .unwrap_or_else(|_| {
                tracing::debug!(timeout = ?self.check_timeout, "Redis check passed its deadline");
                Err(StoreError::Timeout(self.check_timeout))
            })
    }

    async fn forget(&self, keys: &sentinel_core::SubjectKeys) -> Result<u64, StoreError> {
        self.forget_keys(keys).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        RedisStore::ping(self).await
    }
}

impl RedisStore {
    /// [`Store::evaluate`] without the whole-check deadline.
    async fn evaluate_within(&self, plan: &Plan) -> Result<PlanOutcome, StoreError> {
        if !self.one_slot(plan) {
            return sentinel_core::plan::evaluate_stepwise(self, plan).await;
        }
        let now = scripts::now_arg(self.client_now(plan.now))?;
        let grace_ms = self.inner.grace_ms;
        let inner = &*self.inner;
        let reply: Value = self
            .run(|mut c| async move {
                if inner.functions.load(Ordering::Relaxed) {
                    let library = Program::Library(&scripts::PLAN_LIBRARY);
                    let cmd = crate::plan::command(library, plan, &now, grace_ms)?;
                    match scripts::invoke(&mut c, library, &cmd).await {
                        Err(e) if inner.without_functions(&e) => {}
                        other => return Ok(other?),
                    }
                }
                let script = Program::Script(&scripts::PLAN);
                let cmd = crate::plan::command(script, plan, &now, grace_ms)?;
                Ok(scripts::invoke(&mut c, script, &cmd).await?)
            })
            .await?;
        crate::plan::decode(&reply, plan)
    }
}

#[async_trait]
impl BlocklistStore for RedisStore {
    async fn block(&self, key: &str, record: &BlockRecord) -> Result<(), StoreError> {
        let value = record.encode();
        // A temporary block lives as long as it lasts; a permanent one has no TTL (the one
        // documented exception: it must survive until an admin lifts it).
        let px = crate::plan::block_px(record, self.inner.grace_ms);
        let reply: Value = self
            .run(|mut c| async move {
                let mut cmd = redis::cmd("SET");
                cmd.arg(key).arg(value);
                if let Some(px) = px {
                    cmd.arg("PX").arg(px);
                }
                Ok(cmd.query_async(&mut c).await?)
            })
            .await?;
        match reply {
            Value::Okay => Ok(()),
            Value::SimpleString(s) if s == "OK" => Ok(()),
            other => Err(protocol(format_args!(
                "SET replied {}, expected OK",
                scripts::kind(&other)
            ))),
        }
    }

    async fn unblock(&self, key: &str) -> Result<bool, StoreError> {
        self.del(key).await
    }

    async fn blocked(&self, key: &str, now: Timestamp) -> Result<Option<BlockRecord>, StoreError> {
        let reply: Value = self
            .run(|mut c| async move { Ok(redis::cmd("GET").arg(key).query_async(&mut c).await?) })
            .await?;
        let record = crate::scan::decode_record(&reply)?;
        Ok(record.filter(|r| r.is_active(now)))
    }

    async fn list_blocked(
        &self,
        prefix: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, BlockRecord)>, StoreError> {
        let keys = crate::scan::keys_with_prefix(self, prefix).await?;
        let mut out = Vec::new();
        for batch in keys.chunks(crate::scan::BATCH) {
            let batch = batch.to_vec();
            let values = crate::scan::get_many(self, &batch).await?;
            for (key, value) in batch.into_iter().zip(values) {
                if let Some(record) = crate::scan::decode_listed(&value)?
                    && record.is_active(now)
                {
                    out.push((key, record));
                }
            }
        }
        Ok(out)
    }
}
