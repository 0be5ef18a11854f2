//! Health checks that alert only on a change of state: one Critical alert when a check starts
//! failing, one Info alert when it recovers (with the downtime), nothing while the state holds.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sentinel_core::CoordinationStore;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::alert::Alert;
use crate::format::human_duration;
use crate::telemon::Telemon;

/// A dependency to watch.
#[async_trait]
pub trait HealthCheck: Send + Sync + 'static {
    /// A short name (`redis`, `postgres`).
    fn name(&self) -> &str;
    /// `Ok` when healthy; the error text is scrubbed before it is sent.
    async fn check(&self) -> Result<(), String>;
}

/// Checks a [`CoordinationStore`] (memory or Redis) with its `ping` (Redis: `PING`, on every
/// master of a Cluster).
pub struct StoreCheck {
    name: String,
    store: Arc<dyn CoordinationStore>,
}

impl fmt::Debug for StoreCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreCheck")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl StoreCheck {
    /// A check named `name` on `store`.
    pub fn new(name: impl Into<String>, store: Arc<dyn CoordinationStore>) -> Self {
        Self {
            name: name.into(),
            store,
        }
    }
}

#[async_trait]
impl HealthCheck for StoreCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self) -> Result<(), String> {
        self.store.ping().await.map_err(|e| e.to_string())
    }
}

/// Pings Redis (`PING` through the store's pool), feature `redis`.
#[cfg(feature = "redis")]
pub struct RedisCheck {
    name: String,
    store: sentinel_storage_redis::RedisStore,
}

#[cfg(feature = "redis")]
impl fmt::Debug for RedisCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCheck")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "redis")]
impl RedisCheck {
    /// A check named `redis` on `store` (a clone of the store the service uses is fine: it
    /// shares the pool).
    pub fn new(store: sentinel_storage_redis::RedisStore) -> Self {
        Self {
            name: "redis".to_owned(),
            store,
        }
    }

    /// Renames the check (several Redis instances).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

#[cfg(feature = "redis")]
#[async_trait]
impl HealthCheck for RedisCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self) -> Result<(), String> {
        // StoreError's Display never contains the password (the store redacts URLs).
        self.store.ping().await.map_err(|e| e.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Unknown,
    Up,
    Down { since: Instant },
}

/// A change reported by [`HealthMonitor::run_once`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// The check started failing.
    Down {
        /// Check name.
        name: String,
    },
    /// The check passes again after being down for `after`.
    Recovered {
        /// Check name.
        name: String,
        /// How long it was down.
        after: Duration,
    },
}

/// Runs [`HealthCheck`]s and reports transitions through a [`Telemon`].
///
/// Each worker runs its own checks; the alerts carry fixed fingerprints
/// (`health:<name>:down` / `:recovered`), so N workers that see the same outage send one alert
/// per cooldown.
pub struct HealthMonitor {
    telemon: Telemon,
    checks: Vec<(Arc<dyn HealthCheck>, State)>,
    timeout: Duration,
}

impl fmt::Debug for HealthMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthMonitor")
            .field(
                "checks",
                &self
                    .checks
                    .iter()
                    .map(|(c, s)| (c.name().to_owned(), s.clone()))
                    .collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HealthMonitor {
    /// A monitor reporting through `telemon`; each check times out after 5 s.
    pub fn new(telemon: Telemon) -> Self {
        Self {
            telemon,
            checks: Vec::new(),
            timeout: Duration::from_secs(5),
        }
    }

    /// Adds a check.
    #[must_use]
    pub fn check(mut self, check: impl HealthCheck) -> Self {
        self.checks.push((Arc::new(check), State::Unknown));
        self
    }

    /// Per-check timeout (a check that does not answer in time is down).
    #[must_use]
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Runs every check once and reports the transitions.
    pub async fn run_once(&mut self) -> Vec<Transition> {
        let mut out = Vec::new();
        for (check, state) in &mut self.checks {
            let result = match tokio::time::timeout(self.timeout, check.check()).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {}", human_duration(self.timeout))),
            };
            let name = check.name().to_owned();
            match (result, &*state) {
                (Ok(()), State::Down { since }) => {
                    let after = since.elapsed();
                    self.telemon.report(
                        Alert::info(format!("{name} recovered"))
                            .message(format!("down for {}", human_duration(after)))
                            .fingerprint(format!("health:{name}:recovered"))
                            .source("health"),
                    );
                    out.push(Transition::Recovered { name, after });
                    *state = State::Up;
                }
                (Ok(()), _) => *state = State::Up,
                (Err(e), State::Up | State::Unknown) => {
                    self.telemon.report(
                        Alert::critical(format!("{name} is down"))
                            .message(e)
                            .fingerprint(format!("health:{name}:down"))
                            .source("health"),
                    );
                    out.push(Transition::Down { name });
                    *state = State::Down {
                        since: Instant::now(),
                    };
                }
                (Err(_), State::Down { .. }) => {}
            }
        }
        out
    }

    /// Runs the checks every `every` on the current runtime.
    pub fn spawn(mut self, every: Duration) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
            loop {
                ticker.tick().await;
                self.run_once().await;
            }
        })
    }
}
