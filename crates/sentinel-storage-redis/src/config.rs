//! [`RedisConfig`]: where Redis is and how to talk to it; [`TimeSource`], [`ConnectionMode`].

use std::fmt;
use std::time::Duration;

use deadpool_redis::Runtime;
use redis::AsyncConnectionConfig;

use crate::connection::Backend;
use crate::error::{RedisConfigError, invalid_url};
use crate::redact::{Redactor, SecretUrl};
#[cfg(feature = "sentinel")]
use crate::sentinel::SentinelTarget;
use crate::store::{RedisStore, StoreSettings};

/// Default [`RedisConfig::pool_size`].
pub const DEFAULT_POOL_SIZE: usize = 16;
/// Default number of multiplexed connections ([`ConnectionMode::Multiplexed`]).
pub const DEFAULT_CONNECTIONS: usize = 2;
/// Default [`RedisConfig::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default [`RedisConfig::command_timeout`].
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// Default [`RedisConfig::client_clock_ttl_grace`].
pub const DEFAULT_CLIENT_CLOCK_TTL_GRACE: Duration = Duration::from_secs(60);

/// Where the store reads "now" from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TimeSource {
    /// Redis's own clock (`TIME`, read inside each script). The default: every worker shares
    /// one clock, so workers whose clocks disagree still agree on every decision. The `now`
    /// passed to rate-limit calls is ignored; debounce windows are `SET NX PX` on Redis's clock.
    /// Blocklist records carry their own expiry and are compared with the caller's `now`.
    #[default]
    Server,
    /// The `now` each call receives (the engine's [`Clock`](sentinel_core::Clock)), passed to
    /// the scripts as an argument. For deterministic tests with a
    /// [`ManualClock`](sentinel_core::ManualClock); in production, all workers' clocks must
    /// agree. Keys still expire on Redis's clock, so their TTL is the state's lifetime plus
    /// [`RedisConfig::client_clock_ttl_grace`]: a client clock that runs slow (or stands still)
    /// never loses state early. Timestamps must be below `u64::MAX` − 2^46 µs.
    Client,
}

/// How calls get a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionMode {
    /// The default: the store checks this many connections out of the pool once and keeps
    /// them; every call is sent on one of them (round robin), and calls from concurrent tasks
    /// are pipelined on the same socket. One round trip per decision, and the fastest mode
    /// (see the crate docs). A broken connection is handed back and replaced on the next call.
    Multiplexed(usize),
    /// Every call checks a connection out of the pool and returns it afterwards. deadpool
    /// pings a reused connection before handing it out (`UNWATCH` + `PING`), so a call costs
    /// that round trip plus the script's. Use it to share one pool evenly with other code.
    Pooled,
}

impl Default for ConnectionMode {
    fn default() -> Self {
        Self::Multiplexed(DEFAULT_CONNECTIONS)
    }
}

/// Where the store connects.
enum Target {
    Url(SecretUrl),
    Pool(deadpool_redis::Pool),
    #[cfg(feature = "cluster")]
    ClusterUrls(Vec<SecretUrl>),
    #[cfg(feature = "cluster")]
    ClusterPool(deadpool_redis::cluster::Pool),
    #[cfg(feature = "sentinel")]
    Sentinel(SentinelTarget),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(u) => f.debug_tuple("Url").field(u).finish(),
            Self::Pool(p) => f.debug_tuple("Pool").field(&p.status()).finish(),
            #[cfg(feature = "cluster")]
            Self::ClusterUrls(u) => f.debug_tuple("ClusterUrls").field(u).finish(),
            #[cfg(feature = "cluster")]
            Self::ClusterPool(p) => f.debug_tuple("ClusterPool").field(&p.status()).finish(),
            #[cfg(feature = "sentinel")]
            Self::Sentinel(t) => t.fmt(f),
        }
    }
}

/// Builds a [`RedisStore`]: from a URL (`redis://`, `rediss://` with the `tls` feature,
/// `user:password@` in the URL), from Cluster node URLs (`cluster` feature), from the
/// sentinels of a Sentinel-managed master (`sentinel` feature), or around a
/// deadpool pool you already have.
///
/// [`build`](RedisConfig::build) validates everything and creates the pool; it does not
/// connect (the first call does, and [`RedisStore::ping`] checks). `Debug` never shows the
/// password.
///
/// ```
/// use std::time::Duration;
/// use sentinel_storage_redis::{RedisConfig, TimeSource};
///
/// let store = RedisConfig::new("redis://:s3cret@127.0.0.1:6379/0")
///     .pool_size(16)
///     .connect_timeout(Duration::from_secs(1))
///     .command_timeout(Duration::from_millis(200))
///     .time_source(TimeSource::Server)
///     .build()?;
/// assert!(!format!("{store:?}").contains("s3cret"));
/// # Ok::<(), sentinel_storage_redis::RedisConfigError>(())
/// ```
#[must_use]
pub struct RedisConfig {
    target: Target,
    pool_size: Option<usize>,
    connect_timeout: Option<Duration>,
    command_timeout: Duration,
    time_source: TimeSource,
    mode: ConnectionMode,
    client_clock_ttl_grace: Duration,
    functions: bool,
    /// PEM root certificate(s) to trust instead of the built-in roots (`tls` feature).
    tls_root: Option<Vec<u8>>,
    /// A Sentinel-only option set on another target, reported by `build`.
    #[cfg(feature = "sentinel")]
    misapplied: Option<&'static str>,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("target", &self.target)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("time_source", &self.time_source)
            .field("mode", &self.mode)
            .field("client_clock_ttl_grace", &self.client_clock_ttl_grace)
            .field("functions", &self.functions)
            .field("tls_root", &self.tls_root.as_ref().map(|_| "<pem>"))
            .finish()
    }
}

impl RedisConfig {
    fn with_target(target: Target) -> Self {
        Self {
            target,
            pool_size: None,
            connect_timeout: None,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            time_source: TimeSource::default(),
            mode: ConnectionMode::default(),
            client_clock_ttl_grace: DEFAULT_CLIENT_CLOCK_TTL_GRACE,
            functions: true,
            tls_root: None,
            #[cfg(feature = "sentinel")]
            misapplied: None,
        }
    }

    /// A standalone Redis at `url`: `redis://[user][:password@]host[:port][/db]`,
    /// `rediss://…` for TLS (feature `tls`), or `redis+unix:///path`.
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_target(Target::Url(SecretUrl::new(url)))
    }

    /// A standalone Redis at the URL in the environment variable `var` (so the password lives
    /// in the environment, not in code or config files).
    ///
    /// # Errors
    /// [`RedisConfigError::MissingEnv`] when the variable is not set.
    pub fn from_env(var: &str) -> Result<Self, RedisConfigError> {
        std::env::var(var)
            .map(Self::new)
            .map_err(|_| RedisConfigError::MissingEnv(var.to_owned()))
    }

    /// A Redis Cluster, reached through any of `urls` (the rest of the cluster is discovered).
    #[cfg(feature = "cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
    pub fn cluster<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_target(Target::ClusterUrls(
            urls.into_iter().map(SecretUrl::new).collect(),
        ))
    }

    /// A Redis whose master is managed by Redis Sentinel: the store asks the sentinels at
    /// `sentinel_urls` (`redis://[:password@]host:26379`, the sentinels' own password if they
    /// have one) where the master called `master_name` is, connects to it, and after a
    /// failover finds the promoted replica by itself — no restart of the application. While
    /// the master is switching, calls fail with `StoreError::Unavailable` or `Timeout` and the
    /// engine's `FailMode` decides.
    ///
    /// The master's own credentials go in [`master_password`](Self::master_password),
    /// [`master_username`](Self::master_username) and [`master_db`](Self::master_db). TLS
    /// (`rediss://`) is not supported with Sentinel yet. Neither password is ever shown in
    /// `Debug` or an error.
    ///
    /// ```
    /// use sentinel_storage_redis::RedisConfig;
    ///
    /// let store = RedisConfig::sentinel(
    ///     "mymaster",
    ///     [
    ///         "redis://:sentinel-pw@10.0.0.1:26379",
    ///         "redis://:sentinel-pw@10.0.0.2:26379",
    ///         "redis://:sentinel-pw@10.0.0.3:26379",
    ///     ],
    /// )
    /// .master_password("master/pw#1")
    /// .build()?;
    /// let shown = format!("{store:?}");
    /// assert!(shown.contains("mymaster"));
    /// assert!(!shown.contains("sentinel-pw") && !shown.contains("master/pw#1"));
    /// # Ok::<(), sentinel_storage_redis::RedisConfigError>(())
    /// ```
    #[cfg(feature = "sentinel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sentinel")))]
    pub fn sentinel<I, S>(master_name: impl Into<String>, sentinel_urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_target(Target::Sentinel(SentinelTarget::new(
            master_name.into(),
            sentinel_urls.into_iter().map(SecretUrl::new).collect(),
        )))
    }

    /// The password of the Sentinel-managed master (and of the replica promoted in its
    /// place): Redis `requirepass`, or the ACL user's password with
    /// [`master_username`](Self::master_username). Only for [`RedisConfig::sentinel`].
    #[cfg(feature = "sentinel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sentinel")))]
    pub fn master_password(self, password: impl Into<String>) -> Self {
        let password = password.into();
        self.on_sentinel("master_password", |t| t.password = Some(password))
    }

    /// The ACL user to log in as on the Sentinel-managed master (default: the default user).
    /// Only for [`RedisConfig::sentinel`].
    #[cfg(feature = "sentinel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sentinel")))]
    pub fn master_username(self, username: impl Into<String>) -> Self {
        let username = username.into();
        self.on_sentinel("master_username", |t| t.username = Some(username))
    }

    /// The database number on the Sentinel-managed master (default 0). Only for
    /// [`RedisConfig::sentinel`].
    #[cfg(feature = "sentinel")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sentinel")))]
    pub fn master_db(self, db: i64) -> Self {
        self.on_sentinel("master_db", |t| t.db = db)
    }

    /// Applies a Sentinel-only option, or remembers that it was set on another target.
    #[cfg(feature = "sentinel")]
    fn on_sentinel(mut self, option: &'static str, set: impl FnOnce(&mut SentinelTarget)) -> Self {
        match &mut self.target {
            Target::Sentinel(t) => set(t),
            _ => self.misapplied = Some(option),
        }
        self
    }

    /// Around a pool you already have (its size, timeouts and credentials are yours;
    /// [`pool_size`](Self::pool_size) and [`connect_timeout`](Self::connect_timeout) do not
    /// apply). With [`ConnectionMode::Multiplexed`]`(n)` the store keeps `n` of its connections.
    pub fn from_pool(pool: deadpool_redis::Pool) -> Self {
        Self::with_target(Target::Pool(pool))
    }

    /// Around a Cluster pool you already have.
    #[cfg(feature = "cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
    pub fn from_cluster_pool(pool: deadpool_redis::cluster::Pool) -> Self {
        Self::with_target(Target::ClusterPool(pool))
    }

    /// Maximum connections in the pool the store creates (default
    /// [`DEFAULT_POOL_SIZE`]). In [`ConnectionMode::Pooled`], about the number of concurrent
    /// callers; in [`ConnectionMode::Multiplexed`], at least the number of connections.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = Some(size);
        self
    }

    /// How long getting a connection may take: from the pool, or a new one (default
    /// [`DEFAULT_CONNECT_TIMEOUT`]). Exceeding it is [`StoreError::Timeout`](sentinel_core::StoreError::Timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one command (one decision) may take once a connection is in hand (default
    /// [`DEFAULT_COMMAND_TIMEOUT`]). Exceeding it is
    /// [`StoreError::Timeout`](sentinel_core::StoreError::Timeout), which the engine's
    /// `FailMode` then handles.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Where "now" comes from (default [`TimeSource::Server`]).
    pub fn time_source(mut self, source: TimeSource) -> Self {
        self.time_source = source;
        self
    }

    /// How calls get a connection (default [`ConnectionMode::Multiplexed`] with
    /// [`DEFAULT_CONNECTIONS`]).
    pub fn connection_mode(mut self, mode: ConnectionMode) -> Self {
        self.mode = mode;
        self
    }

    /// In [`TimeSource::Client`] mode, how much longer than the state's lifetime keys live in
    /// Redis (default [`DEFAULT_CLIENT_CLOCK_TTL_GRACE`]). Unused with [`TimeSource::Server`].
    pub fn client_clock_ttl_grace(mut self, grace: Duration) -> Self {
        self.client_clock_ttl_grace = grace;
        self
    }

    /// Whether the plan may be sent as a Redis function (default `true`): on Redis 7+ the store
    /// loads the plan as a function library (`FUNCTION LOAD`) and sends each update as one
    /// `FCALL`, which spends less of the server's time per update than the `EVALSHA` of the
    /// plan script; it falls back to `EVALSHA` by itself, for good, when the server does not
    /// know `FCALL` (before Redis 7) or the ACL forbids it. `false` always sends `EVALSHA`,
    /// e.g. behind a proxy that does not pass `FCALL` on. Either way each update is one round
    /// trip with the same decisions.
    pub fn functions(mut self, enabled: bool) -> Self {
        self.functions = enabled;
        self
    }

    /// For `rediss://` URLs: trust the CA certificate(s) in `pem` (PEM text) instead of the
    /// built-in web PKI roots, e.g. a private CA of a self-hosted Redis. Standalone URLs only.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root = Some(pem.into());
        self
    }

    /// Validates and creates the store (and its pool, unless one was given). Connects lazily.
    ///
    /// # Errors
    /// [`RedisConfigError`] for an invalid URL, `rediss://` without the `tls` feature, a zero
    /// size or timeout, more multiplexed connections than the pool holds, or a pool option on
    /// an existing pool.
    pub fn build(self) -> Result<RedisStore, RedisConfigError> {
        if self.command_timeout.is_zero() {
            return Err(RedisConfigError::Invalid(
                "command_timeout must be positive".into(),
            ));
        }
        if self.connect_timeout.is_some_and(|t| t.is_zero()) {
            return Err(RedisConfigError::Invalid(
                "connect_timeout must be positive".into(),
            ));
        }
        if self.pool_size == Some(0) {
            return Err(RedisConfigError::Invalid(
                "pool_size must be at least 1".into(),
            ));
        }
        if self.mode == ConnectionMode::Multiplexed(0) {
            return Err(RedisConfigError::Invalid(
                "ConnectionMode::Multiplexed needs at least 1 connection".into(),
            ));
        }
        #[cfg(feature = "sentinel")]
        if let Some(option) = self.misapplied {
            return Err(RedisConfigError::Invalid(format!(
                "`{option}` applies to RedisConfig::sentinel only; put the credentials of a \
                 standalone or Cluster Redis in its URL"
            )));
        }
        let given_pool = match &self.target {
            Target::Url(_) => false,
            #[cfg(feature = "cluster")]
            Target::ClusterUrls(_) => false,
            #[cfg(feature = "sentinel")]
            Target::Sentinel(_) => false,
            _ => true,
        };
        if self.tls_root.is_some() && !matches!(self.target, Target::Url(_)) {
            return Err(RedisConfigError::Invalid(
                "tls_root_certificate applies to a standalone URL only".into(),
            ));
        }
        if given_pool {
            if self.pool_size.is_some() {
                return Err(RedisConfigError::PoolOption("pool_size"));
            }
            if self.connect_timeout.is_some() {
                return Err(RedisConfigError::PoolOption("connect_timeout"));
            }
        }
        let pool_size = self.pool_size.unwrap_or(DEFAULT_POOL_SIZE);
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let (backend, redactor, target) = match self.target {
            Target::Url(url) => {
                let redactor = Redactor::for_urls([url.expose()]);
                check_scheme(&url)?;
                let conn_config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(connect_timeout))
                    .set_response_timeout(None);
                let manager = match self.tls_root {
                    None => deadpool_redis::Manager::new_with_config(url.expose(), conn_config),
                    Some(pem) => with_root_certificate(&url, pem).and_then(|info| {
                        deadpool_redis::Manager::new_with_config(info, conn_config)
                    }),
                }
                .map_err(|e| invalid_url(url.to_string(), &e, &redactor))?;
                let pool = deadpool_redis::Pool::builder(manager)
                    .max_size(pool_size)
                    .runtime(Runtime::Tokio1)
                    .create_timeout(Some(connect_timeout))
                    .recycle_timeout(Some(self.command_timeout))
                    .build()
                    .map_err(|e| RedisConfigError::Pool(redactor.scrub(&e.to_string())))?;
                (Backend::Single(pool), redactor, url.to_string())
            }
            Target::Pool(pool) => (Backend::Single(pool), Redactor::default(), "pool".into()),
            #[cfg(feature = "cluster")]
            Target::ClusterUrls(urls) => {
                let redactor = Redactor::for_urls(urls.iter().map(SecretUrl::expose));
                if urls.is_empty() {
                    return Err(RedisConfigError::Invalid(
                        "a cluster needs at least one node URL".into(),
                    ));
                }
                for url in &urls {
                    check_scheme(url)?;
                }
                let shown = urls
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",");
                let manager = deadpool_redis::cluster::Manager::new(
                    urls.iter().map(SecretUrl::expose).collect::<Vec<_>>(),
                    false,
                )
                .map_err(|e| invalid_url(shown.clone(), &e, &redactor))?;
                let pool = deadpool_redis::cluster::Pool::builder(manager)
                    .max_size(pool_size)
                    .runtime(Runtime::Tokio1)
                    .create_timeout(Some(connect_timeout))
                    .recycle_timeout(Some(self.command_timeout))
                    .build()
                    .map_err(|e| RedisConfigError::Pool(redactor.scrub(&e.to_string())))?;
                (Backend::Cluster(pool), redactor, shown)
            }
            #[cfg(feature = "cluster")]
            Target::ClusterPool(pool) => (
                Backend::Cluster(pool),
                Redactor::default(),
                "cluster pool".into(),
            ),
            #[cfg(feature = "sentinel")]
            Target::Sentinel(target) => {
                let redactor = target.redactor();
                let pool =
                    target.pool(pool_size, connect_timeout, self.command_timeout, &redactor)?;
                (Backend::Sentinel(pool), redactor, target.shown())
            }
        };
        let max = backend.max_size();
        if let ConnectionMode::Multiplexed(n) = self.mode
            && n > max
        {
            return Err(RedisConfigError::Invalid(format!(
                "ConnectionMode::Multiplexed({n}) needs a pool of at least {n} connections, the pool holds {max}"
            )));
        }
        let grace = match self.time_source {
            TimeSource::Server => Duration::ZERO,
            _ => self.client_clock_ttl_grace,
        };
        Ok(RedisStore::new(
            backend,
            StoreSettings {
                target,
                redactor,
                time_source: self.time_source,
                mode: self.mode,
                connect_timeout,
                command_timeout: self.command_timeout,
                grace,
                functions: self.functions,
            },
        ))
    }
}

/// Rejects `rediss://` without the `tls` feature, with a message that says what to do; with
/// it, makes sure rustls has a crypto provider.
fn check_scheme(url: &SecretUrl) -> Result<(), RedisConfigError> {
    let tls = url
        .expose()
        .get(..9)
        .is_some_and(|s| s.eq_ignore_ascii_case("rediss://"));
    if tls && !cfg!(feature = "tls") {
        return Err(RedisConfigError::TlsNotEnabled {
            url: url.to_string(),
        });
    }
    #[cfg(feature = "tls")]
    if tls {
        // rustls panics at the first handshake when no process-wide provider is installed and
        // the enabled features do not name exactly one (another crate may enable aws-lc-rs).
        // Install ring unless the application already chose one (then this fails, and theirs
        // is kept).
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    Ok(())
}

/// The connection info of `url` with `pem` as its only trusted root.
#[cfg(feature = "tls")]
fn with_root_certificate(
    url: &SecretUrl,
    pem: Vec<u8>,
) -> redis::RedisResult<redis::ConnectionInfo> {
    let certs = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    };
    redis::Client::build_with_tls(url.expose(), certs).map(|c| c.get_connection_info().clone())
}

/// Without the `tls` feature there is no way to set a root certificate.
#[cfg(not(feature = "tls"))]
fn with_root_certificate(
    _url: &SecretUrl,
    _pem: Vec<u8>,
) -> redis::RedisResult<redis::ConnectionInfo> {
    Err(redis::RedisError::from((
        redis::ErrorKind::InvalidClientConfig,
        "TLS support is not compiled in",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(size: usize) -> deadpool_redis::Pool {
        let mut cfg = deadpool_redis::Config::from_url("redis://127.0.0.1:1/");
        cfg.pool = Some(deadpool_redis::PoolConfig::new(size));
        cfg.create_pool(Some(Runtime::Tokio1)).unwrap()
    }

    fn invalid(config: RedisConfig) -> RedisConfigError {
        config.build().unwrap_err()
    }

    #[test]
    fn out_of_range_options_are_config_errors() {
        let url = "redis://127.0.0.1:1/";
        for config in [
            RedisConfig::new(url).pool_size(0),
            RedisConfig::new(url).command_timeout(Duration::ZERO),
            RedisConfig::new(url).connect_timeout(Duration::ZERO),
            RedisConfig::new(url).connection_mode(ConnectionMode::Multiplexed(0)),
            RedisConfig::new(url)
                .pool_size(2)
                .connection_mode(ConnectionMode::Multiplexed(3)),
            RedisConfig::from_pool(pool(1)).connection_mode(ConnectionMode::Multiplexed(2)),
        ] {
            assert!(matches!(invalid(config), RedisConfigError::Invalid(_)));
        }
    }

    #[test]
    fn pool_options_do_not_apply_to_an_existing_pool() {
        assert_eq!(
            invalid(RedisConfig::from_pool(pool(4)).pool_size(8)),
            RedisConfigError::PoolOption("pool_size")
        );
        assert_eq!(
            invalid(RedisConfig::from_pool(pool(4)).connect_timeout(Duration::from_secs(1))),
            RedisConfigError::PoolOption("connect_timeout")
        );
        let store = RedisConfig::from_pool(pool(4))
            .connection_mode(ConnectionMode::Pooled)
            .build()
            .unwrap();
        assert!(store.pool().is_some());
        // The shortcut keeps at most as many connections as the pool has.
        let store = RedisStore::from_pool(pool(1));
        assert!(format!("{store:?}").contains("Multiplexed(1)"));
    }

    #[test]
    fn missing_environment_variable_is_named() {
        let e = RedisConfig::from_env("SENTINEL_TEST_SURELY_UNSET_VARIABLE").unwrap_err();
        assert_eq!(
            e,
            RedisConfigError::MissingEnv("SENTINEL_TEST_SURELY_UNSET_VARIABLE".into())
        );
        assert!(
            e.to_string()
                .contains("SENTINEL_TEST_SURELY_UNSET_VARIABLE")
        );
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn rediss_without_the_tls_feature_says_so() {
        let e = invalid(RedisConfig::new("rediss://:pw@host:6380"));
        assert_eq!(
            e,
            RedisConfigError::TlsNotEnabled {
                url: "rediss://:***@host:6380".into()
            }
        );
        assert!(e.to_string().contains("enable the `tls` feature"));
    }

    #[test]
    fn defaults() {
        let c = RedisConfig::new("redis://h/");
        assert_eq!(c.mode, ConnectionMode::Multiplexed(DEFAULT_CONNECTIONS));
        assert_eq!(c.time_source, TimeSource::Server);
        assert_eq!(c.command_timeout, DEFAULT_COMMAND_TIMEOUT);
        let store = c.build().unwrap();
        assert_eq!(store.time_source(), TimeSource::Server);
        assert_eq!(store.pool().unwrap().status().max_size, DEFAULT_POOL_SIZE);
    }
}
