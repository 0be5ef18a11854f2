//! [`TowerConfigError`]: what is wrong with a layer's configuration.

/// What is wrong with a [`RateLimitLayerBuilder`](crate::RateLimitLayerBuilder)'s
/// configuration; each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TowerConfigError {
    /// A trusted-proxy entry is neither a CIDR network nor an address.
    #[error(
        "trusted proxy {entry:?} is neither a CIDR network (10.0.0.0/8, fd00::/8) nor an IP address"
    )]
    InvalidProxy {
        /// The entry as given.
        entry: String,
    },
    /// The IPv6 grouping prefix is outside 1–128.
    #[error("ipv6_prefix is /{0}; use a prefix length from 1 to 128 (64 groups one host's /64)")]
    Ipv6Prefix(u8),
    /// A route names a policy the engine does not have.
    #[error(
        "route {route:?} uses policy {policy:?}, which the engine's PolicyRegistry does not have; add it with PolicyRegistry::builder().policy({policy:?}, ...)"
    )]
    UnknownPolicy {
        /// The route.
        route: String,
        /// The policy name.
        policy: String,
    },
    /// A route is not a path.
    #[error(
        "route {0:?} must be a path starting with '/' (the axum route template, e.g. /users/{{id}})"
    )]
    InvalidRoute(String),
    /// The same method and route were given twice.
    #[error("route {route:?} is configured twice for {method}; keep one")]
    DuplicateRoute {
        /// The route.
        route: String,
        /// The method, or `any method`.
        method: String,
    },
    /// The status for blocked clients is not an error status.
    #[error("blocked_status {0} is not a 4xx or 5xx status; use e.g. 403")]
    BlockedStatus(u16),
}
