//! [`RedisConfigError`], and how Redis and pool errors become [`StoreError`]s.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use deadpool_redis::redis::{ErrorKind, RedisError, ServerErrorKind};
use sentinel_core::StoreError;

use crate::redact::Redactor;

/// Invalid [`RedisConfig`](crate::RedisConfig), caught by
/// [`RedisConfig::build`](crate::RedisConfig::build) before any connection is made.
///
/// URLs in these messages are redacted (`redis://user:***@host`); a password never appears.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisConfigError {
    /// The URL could not be parsed.
    #[error("invalid Redis URL {url}: {reason}")]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `rediss://` URL, but the crate was built without the `tls` feature.
    #[error("{url} needs TLS: enable the `tls` feature of sentinel-storage-redis")]
    TlsNotEnabled {
        /// The URL, redacted.
        url: String,
    },
    /// The environment variable holding the URL is missing or not UTF-8.
    #[error("environment variable {0} is not set (or not UTF-8); set it to a redis:// URL")]
    MissingEnv(String),
    /// An option that only applies to pools this crate creates was set on an existing pool.
    #[error(
        "`{0}` does not apply to an existing pool: configure the deadpool pool itself, or build from a URL"
    )]
    PoolOption(&'static str),
    /// An out-of-range option; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// The connection pool could not be created.
    #[error("cannot create the Redis connection pool: {0}")]
    Pool(String),
}

/// A Redis error whose text contained a credential, with that credential masked.
#[derive(Debug)]
struct Redacted(String);

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Redacted {}

/// Whether the connection that produced `e` should be replaced.
pub(crate) fn breaks_connection(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
        || e.is_timeout()
}

/// Maps a Redis client error onto the engine's error kinds.
///
/// - network, connection, authentication or permission (`NOAUTH`, `WRONGPASS`, `NOPERM`),
///   "server busy/loading/failing over", no sentinel naming a reachable master (during a
///   Sentinel failover, or a wrong master name) → `Unavailable`;
/// - the client's own response timeout → `Timeout`;
/// - anything else the server said (a script error, a wrong-type key) → `Protocol`.
pub(crate) fn map_redis(e: RedisError, timeout: Duration, redactor: &Redactor) -> StoreError {
    if e.is_timeout() {
        return StoreError::Timeout(timeout);
    }
    let transient_server = matches!(
        e.kind(),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
                | ServerErrorKind::TryAgain
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ReadOnly
                | ServerErrorKind::Moved
                | ServerErrorKind::Ask
        )
    );
    let unavailable = transient_server
        || e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_cluster_error()
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"))
        || matches!(
            e.kind(),
            ErrorKind::AuthenticationFailed
                | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::NoValidReplicasFoundBySentinel
                | ErrorKind::InvalidClientConfig
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Io
        );
    if unavailable {
        StoreError::Unavailable(boxed(e, redactor))
    } else {
        StoreError::Protocol(redactor.scrub(&e.to_string()))
    }
}

/// The error as a source, with credentials masked if its text contains any.
fn boxed(e: RedisError, redactor: &Redactor) -> Box<dyn StdError + Send + Sync> {
    let display = e.to_string();
    let debug = format!("{e:?}");
    if redactor.leaks(&display) || redactor.leaks(&debug) {
        Box::new(Redacted(redactor.scrub(&display)))
    } else {
        Box::new(e)
    }
}

/// Maps a pool error (getting a connection) onto the engine's error kinds.
pub(crate) fn map_pool(
    e: deadpool_redis::PoolError,
    connect_timeout: Duration,
    redactor: &Redactor,
) -> StoreError {
    match e {
        deadpool_redis::PoolError::Timeout(_) => StoreError::Timeout(connect_timeout),
        deadpool_redis::PoolError::Backend(e) => map_redis(e, connect_timeout, redactor),
        other => StoreError::Unavailable(Box::new(Redacted(redactor.scrub(&other.to_string())))),
    }
}

/// A reply that is not what the script or command returns.
pub(crate) fn protocol(what: impl fmt::Display) -> StoreError {
    StoreError::Protocol(what.to_string())
}

/// Builds a [`RedisConfigError::InvalidUrl`] from a client parse error.
pub(crate) fn invalid_url(url: String, e: &RedisError, redactor: &Redactor) -> RedisConfigError {
    RedisConfigError::InvalidUrl {
        url,
        reason: redactor.scrub(&e.to_string()),
    }
}
