//! Redis Sentinel (feature `sentinel`): [`SentinelTarget`], the sentinels the store asks
//! where the master is, and the credentials it uses on the master.

use std::fmt;
use std::fmt::Write as _;
use std::time::Duration;

use deadpool_redis::Runtime;
use deadpool_redis::sentinel::{Manager, Pool, SentinelNodeConnectionInfo, SentinelServerType};

use crate::error::{RedisConfigError, invalid_url};
use crate::redact::{Redactor, SecretUrl};

/// A Sentinel-managed master: its name, the sentinels that know it, and what to log in with
/// on the master (the sentinels' own credentials are in their URLs).
pub(crate) struct SentinelTarget {
    pub(crate) master_name: String,
    pub(crate) sentinels: Vec<SecretUrl>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) db: i64,
}

impl fmt::Debug for SentinelTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sentinel")
            .field("master_name", &self.master_name)
            .field("sentinels", &self.sentinels)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .finish()
    }
}

impl SentinelTarget {
    pub(crate) fn new(master_name: String, sentinels: Vec<SecretUrl>) -> Self {
        Self {
            master_name,
            sentinels,
            username: None,
            password: None,
            db: 0,
        }
    }

    /// Masks the sentinels' passwords and the master's, in every form.
    pub(crate) fn redactor(&self) -> Redactor {
        // The master password as the password of a URL, so the one redactor finds every
        // form of it (as given, percent-encoded).
        let master = self.password.as_deref().map(|p| {
            let mut url = String::from("redis://:");
            for b in p.bytes() {
                let _ = write!(url, "%{b:02X}");
            }
            url.push_str("@master");
            url
        });
        Redactor::for_urls(
            self.sentinels
                .iter()
                .map(|u| u.expose().to_owned())
                .chain(master),
        )
    }

    /// How the target is shown in `Debug` and errors: `sentinel:NAME@URL,URL` (redacted).
    pub(crate) fn shown(&self) -> String {
        let urls = self
            .sentinels
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        format!("sentinel:{}@{urls}", self.master_name)
    }

    /// Checks the target and creates the pool (no connection yet).
    pub(crate) fn pool(
        &self,
        pool_size: usize,
        connect_timeout: Duration,
        recycle_timeout: Duration,
        redactor: &Redactor,
    ) -> Result<Pool, RedisConfigError> {
        if self.master_name.trim().is_empty() {
            return Err(RedisConfigError::Invalid(
                "RedisConfig::sentinel needs the master's name as the sentinels know it \
                 (`sentinel monitor NAME …`), got an empty name"
                    .into(),
            ));
        }
        if self.sentinels.is_empty() {
            return Err(RedisConfigError::Invalid(
                "RedisConfig::sentinel needs at least one sentinel URL (redis://host:26379)".into(),
            ));
        }
        if self.db < 0 {
            return Err(RedisConfigError::Invalid(format!(
                "master_db must be 0 or more, got {}",
                self.db
            )));
        }
        for url in &self.sentinels {
            let tls = url
                .expose()
                .get(..9)
                .is_some_and(|s| s.eq_ignore_ascii_case("rediss://"));
            if tls {
                return Err(RedisConfigError::Invalid(format!(
                    "{url}: TLS (rediss://) with Redis Sentinel is not supported yet; \
                     use redis:// sentinel URLs"
                )));
            }
        }
        let node = SentinelNodeConnectionInfo {
            tls_mode: None,
            redis_connection_info: Some(deadpool_redis::RedisConnectionInfo {
                db: self.db,
                username: self.username.clone(),
                password: self.password.clone(),
                ..Default::default()
            }),
        };
        let manager = Manager::new(
            self.sentinels.iter().map(SecretUrl::expose).collect(),
            self.master_name.clone(),
            Some(node),
            SentinelServerType::Master,
        )
        .map_err(|e| invalid_url(self.shown(), &e, redactor))?;
        Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(connect_timeout))
            .recycle_timeout(Some(recycle_timeout))
            .build()
            .map_err(|e| RedisConfigError::Pool(redactor.scrub(&e.to_string())))
    }
}
