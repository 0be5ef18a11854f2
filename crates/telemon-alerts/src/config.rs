//! Configuration from `TELEMON_*` environment variables (through [`figment`]), validated with
//! messages that name the variable.
//!
//! | Variable | Default | Meaning |
//! |---|---|---|
//! | `TELEMON_ENABLED` | `true` | `false` turns every report into a no-op |
//! | `TELEMON_BOT_TOKEN` | — | Bot API token (never printed) |
//! | `TELEMON_API_URL` | `https://api.telegram.org` | Bot API base URL (local Bot API server, tests) |
//! | `TELEMON_CHAT_ID` | — (required when enabled) | chat for every level |
//! | `TELEMON_THREAD_ID` | — | forum topic for every level |
//! | `TELEMON_{CRITICAL,WARNING,INFO}_CHAT_ID` | `TELEMON_CHAT_ID` | chat per level |
//! | `TELEMON_{CRITICAL,WARNING,INFO}_THREAD_ID` | `TELEMON_THREAD_ID` | topic per level |
//! | `TELEMON_SERVICE` | — | service name shown in messages |
//! | `TELEMON_ENVIRONMENT` | — | environment shown in messages |
//! | `TELEMON_INSTANCE` | the host name | instance (host, pod) shown in messages |
//! | `TELEMON_RELEASE` | what [`TelemonBuilder::release`](crate::TelemonBuilder::release) was given | release (version, commit) shown in messages |
//! | `TELEMON_COOLDOWN_SECS` | `600` | repeats of one incident within this are counted, not sent |
//! | `TELEMON_DIGEST_WINDOW_SECS` | `300` | Warning digest window |
//! | `TELEMON_MAX_ALERTS_PER_MINUTE` | `20` | immediate messages per minute across workers (`0` = no limit); the rest go to a flood digest |
//! | `TELEMON_QUEUE_CAPACITY` | `1024` | bounded queue size; beyond it alerts are dropped and counted |
//! | `TELEMON_SLOW_REQUEST_MS` | off | requests slower than this become Warning alerts |
//! | `TELEMON_REPORT_STATUSES` | `500-599` | statuses the HTTP layer reports (`500,502-504`) |
//! | `TELEMON_IGNORE_PATHS` | — | comma-separated path prefixes, segment-aware (`/health,/docs`) |
//! | `TELEMON_IGNORE_STATUSES` | — | comma-separated statuses never reported |
//! | `TELEMON_IGNORE_ERROR_TYPES` | — | comma-separated error type names never reported |
//! | `TELEMON_CAPTURE_HEADERS` | `false` | include scrubbed request headers in HTTP alerts |
//! | `TELEMON_SEND_PII` | `false` | keep client IP headers/keys instead of filtering them |
//! | `TELEMON_MAX_STRING_LENGTH` | `2048` | longest kept string (cut before scrubbing) |
//! | `TELEMON_MAX_BACKTRACE_LINES` | `30` | most backtrace lines kept |
//! | `TELEMON_DAILY_REPORT_UTC` | off | `HH:MM` UTC time of the daily report |
//! | `TELEMON_REDIS_URL` | — | Redis for cross-worker dedup (password never printed) |
//! | `TELEMON_KEY_PREFIX` | `telemon` | prefix of every store key |
//! | `TELEMON_SHUTDOWN_TIMEOUT_SECS` | `5` | suggested `shutdown` deadline ([`Telemon::shutdown_timeout`](crate::Telemon::shutdown_timeout)) |
//!
//! Any other `TELEMON_*` variable is refused with the closest known name
//! (`TELEMON_CHATID: unknown variable; did you mean TELEMON_CHAT_ID?`): a typo would otherwise
//! silently leave the default in place, and a warning logged before the application has set up
//! its `tracing` subscriber is lost. A chat id of `0` is refused too (no chat has it).

use std::fmt;
use std::time::Duration;

use figment::providers::Env;
use figment::value::Value;
use figment::{Figment, Provider as _};
use sentinel_core::redact::redact_url;

use crate::alert::Level;
use crate::daily::DailyReport;
use crate::route::Routes;
use crate::transport::Destination;

/// An invalid or missing variable. The message names it; secret values are never echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigEnvError {
    /// A variable with a value that cannot be used.
    #[error("{var} {reason}")]
    Invalid {
        /// The variable, e.g. `TELEMON_CHAT_ID`.
        var: &'static str,
        /// What is wrong, e.g. `must be an integer (got "abc")`.
        reason: String,
    },
    /// A variable that must be set.
    #[error("{var} must be set{hint}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// Why it is needed.
        hint: &'static str,
    },
    /// A `TELEMON_*` variable that is not in the table (usually a typo).
    #[error("{var}: unknown variable; {}", match suggestion {
        Some(s) => format!("did you mean {s}?"),
        None => "see the TELEMON_* table in the telemon_alerts::config docs".to_owned(),
    })]
    Unknown {
        /// The variable as set, e.g. `TELEMON_CHATID`.
        var: String,
        /// The closest known variable, if one is close.
        suggestion: Option<&'static str>,
    },
}

/// Every variable [`Config`] reads, in the order of the table above.
pub const VARIABLES: &[&str] = &[
    "TELEMON_ENABLED",
    "TELEMON_BOT_TOKEN",
    "TELEMON_API_URL",
    "TELEMON_CHAT_ID",
    "TELEMON_THREAD_ID",
    "TELEMON_CRITICAL_CHAT_ID",
    "TELEMON_WARNING_CHAT_ID",
    "TELEMON_INFO_CHAT_ID",
    "TELEMON_CRITICAL_THREAD_ID",
    "TELEMON_WARNING_THREAD_ID",
    "TELEMON_INFO_THREAD_ID",
    "TELEMON_SERVICE",
    "TELEMON_ENVIRONMENT",
    "TELEMON_INSTANCE",
    "TELEMON_RELEASE",
    "TELEMON_COOLDOWN_SECS",
    "TELEMON_DIGEST_WINDOW_SECS",
    "TELEMON_MAX_ALERTS_PER_MINUTE",
    "TELEMON_QUEUE_CAPACITY",
    "TELEMON_SLOW_REQUEST_MS",
    "TELEMON_REPORT_STATUSES",
    "TELEMON_IGNORE_PATHS",
    "TELEMON_IGNORE_STATUSES",
    "TELEMON_IGNORE_ERROR_TYPES",
    "TELEMON_CAPTURE_HEADERS",
    "TELEMON_SEND_PII",
    "TELEMON_MAX_STRING_LENGTH",
    "TELEMON_MAX_BACKTRACE_LINES",
    "TELEMON_DAILY_REPORT_UTC",
    "TELEMON_REDIS_URL",
    "TELEMON_KEY_PREFIX",
    "TELEMON_SHUTDOWN_TIMEOUT_SECS",
];

/// Edit distance (insertions, deletions, substitutions) between two ASCII-ish names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known variable closest to `var` (upper case, with the prefix), if it is close: at most
/// a third of its name (without the prefix) away, equal once `_` are ignored (`CHATID` →
/// `CHAT_ID`), or a known name it begins (`CHAT` → `CHAT_ID`).
fn closest_variable(var: &str) -> Option<&'static str> {
    let squash = |s: &str| s.replace('_', "");
    VARIABLES
        .iter()
        .map(|k| {
            let d = if squash(k) == squash(var) {
                0
            } else {
                edit_distance(var, k)
            };
            (d, *k)
        })
        .filter(|(d, k)| {
            *d <= (k.len().saturating_sub("TELEMON_".len()) / 3).max(2)
                || (var.len() >= "TELEMON_".len() + 4 && k.starts_with(var))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The first key of `figment` that is not a known variable, as a [`ConfigEnvError::Unknown`].
fn unknown_variable(figment: &Figment) -> Option<ConfigEnvError> {
    let data = figment.data().ok()?;
    let mut keys: Vec<String> = data
        .values()
        .flat_map(|dict| dict.keys().cloned())
        .collect();
    keys.sort();
    keys.into_iter().find_map(|key| {
        let var = format!("TELEMON_{}", key.to_ascii_uppercase());
        (!VARIABLES.contains(&var.as_str())).then(|| ConfigEnvError::Unknown {
            suggestion: closest_variable(&var),
            var,
        })
    })
}

/// Configuration read from `TELEMON_*` variables. See the module docs for the table.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `TELEMON_ENABLED`.
    pub enabled: bool,
    /// `TELEMON_BOT_TOKEN` (redacted in `Debug`).
    pub bot_token: Option<String>,
    /// `TELEMON_API_URL` (credentials redacted in `Debug`).
    pub api_url: Option<String>,
    /// `TELEMON_CHAT_ID`.
    pub chat_id: Option<i64>,
    /// `TELEMON_THREAD_ID`.
    pub thread_id: Option<i32>,
    /// Per-level overrides: (level, chat, thread).
    pub per_level: Vec<(Level, Option<i64>, Option<i32>)>,
    /// `TELEMON_SERVICE`.
    pub service: Option<String>,
    /// `TELEMON_ENVIRONMENT`.
    pub environment: Option<String>,
    /// `TELEMON_INSTANCE` (the builder defaults to the host name).
    pub instance: Option<String>,
    /// `TELEMON_RELEASE` (overrides what the builder was given).
    pub release: Option<String>,
    /// `TELEMON_COOLDOWN_SECS`.
    pub cooldown: Duration,
    /// `TELEMON_DIGEST_WINDOW_SECS`.
    pub digest_window: Duration,
    /// `TELEMON_MAX_ALERTS_PER_MINUTE` (`None` = unlimited).
    pub immediate_per_minute: Option<u32>,
    /// `TELEMON_QUEUE_CAPACITY`.
    pub queue_capacity: usize,
    /// `TELEMON_SLOW_REQUEST_MS`.
    pub slow_request: Option<Duration>,
    /// `TELEMON_REPORT_STATUSES`.
    pub report_statuses: Option<Vec<u16>>,
    /// `TELEMON_IGNORE_PATHS`.
    pub ignore_paths: Vec<String>,
    /// `TELEMON_IGNORE_STATUSES`.
    pub ignore_statuses: Vec<u16>,
    /// `TELEMON_IGNORE_ERROR_TYPES`.
    pub ignore_error_types: Vec<String>,
    /// `TELEMON_CAPTURE_HEADERS`.
    pub capture_headers: bool,
    /// `TELEMON_SEND_PII`.
    pub send_pii: bool,
    /// `TELEMON_MAX_STRING_LENGTH`.
    pub max_string_len: usize,
    /// `TELEMON_MAX_BACKTRACE_LINES`.
    pub max_backtrace_lines: usize,
    /// `TELEMON_DAILY_REPORT_UTC`.
    pub daily_report: Option<DailyReport>,
    /// `TELEMON_REDIS_URL` (password redacted in `Debug`).
    pub redis_url: Option<String>,
    /// `TELEMON_KEY_PREFIX`.
    pub key_prefix: Option<String>,
    /// `TELEMON_SHUTDOWN_TIMEOUT_SECS`.
    pub shutdown_timeout: Duration,
}

impl PartialEq for DailyReport {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}
impl Eq for DailyReport {}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("enabled", &self.enabled)
            .field("bot_token", &self.bot_token.as_ref().map(|_| "[redacted]"))
            .field("api_url", &self.api_url.as_deref().map(redact_url))
            .field("chat_id", &self.chat_id)
            .field("thread_id", &self.thread_id)
            .field("per_level", &self.per_level)
            .field("service", &self.service)
            .field("environment", &self.environment)
            .field("instance", &self.instance)
            .field("release", &self.release)
            .field("cooldown", &self.cooldown)
            .field("digest_window", &self.digest_window)
            .field("immediate_per_minute", &self.immediate_per_minute)
            .field("queue_capacity", &self.queue_capacity)
            .field("slow_request", &self.slow_request)
            .field("report_statuses", &self.report_statuses)
            .field("ignore_paths", &self.ignore_paths)
            .field("ignore_statuses", &self.ignore_statuses)
            .field("ignore_error_types", &self.ignore_error_types)
            .field("capture_headers", &self.capture_headers)
            .field("send_pii", &self.send_pii)
            .field("max_string_len", &self.max_string_len)
            .field("max_backtrace_lines", &self.max_backtrace_lines)
            .field("daily_report", &self.daily_report)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("key_prefix", &self.key_prefix)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

/// Raw variable access with typed, named errors.
struct Vars {
    figment: Figment,
}

fn value_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(_, s) => Some(s.clone()),
        Value::Char(_, c) => Some(c.to_string()),
        Value::Bool(_, b) => Some(b.to_string()),
        Value::Num(_, n) => n
            .to_i128()
            .map(|i| i.to_string())
            .or_else(|| n.to_u128().map(|u| u.to_string()))
            .or_else(|| n.to_f64().map(|f| f.to_string())),
        Value::Array(_, items) => Some(
            items
                .iter()
                .filter_map(value_to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Empty(..) | Value::Dict(..) => None,
    }
}

fn bad(var: &'static str, reason: impl Into<String>) -> ConfigEnvError {
    ConfigEnvError::Invalid {
        var,
        reason: reason.into(),
    }
}

impl Vars {
    /// The raw string of `var` (`TELEMON_X` → figment key `x`); empty counts as unset.
    fn raw(&self, var: &'static str) -> Option<String> {
        let key = var
            .strip_prefix("TELEMON_")
            .unwrap_or(var)
            .to_ascii_lowercase();
        self.figment
            .find_value(&key)
            .ok()
            .and_then(|v| value_to_string(&v))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    fn string(&self, var: &'static str) -> Option<String> {
        self.raw(var)
    }

    fn int<T: std::str::FromStr>(
        &self,
        var: &'static str,
        what: &str,
    ) -> Result<Option<T>, ConfigEnvError> {
        match self.raw(var) {
            None => Ok(None),
            Some(s) => s
                .parse::<T>()
                .map(Some)
                .map_err(|_| bad(var, format!("must be {what} (got {s:?})"))),
        }
    }

    /// A chat id: an integer other than 0 (no chat has id 0; an unset id often reads as 0).
    fn chat(&self, var: &'static str) -> Result<Option<i64>, ConfigEnvError> {
        match self.int::<i64>(var, "an integer")? {
            Some(0) => Err(bad(
                var,
                "must not be 0: set the chat's id (a group or channel id looks like \
                 -1001234567890, a private chat's is the user's id)",
            )),
            other => Ok(other),
        }
    }

    fn bool(&self, var: &'static str, default: bool) -> Result<bool, ConfigEnvError> {
        match self.raw(var).map(|s| s.to_ascii_lowercase()) {
            None => Ok(default),
            Some(s) => match s.as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(bad(var, format!("must be true or false (got {s:?})"))),
            },
        }
    }

    fn secs(&self, var: &'static str, default: u64, min: u64) -> Result<Duration, ConfigEnvError> {
        let v = self
            .int::<u64>(var, "a whole number of seconds")?
            .unwrap_or(default);
        if v < min {
            return Err(bad(var, format!("must be at least {min} (got {v})")));
        }
        Ok(Duration::from_secs(v))
    }

    fn list(&self, var: &'static str) -> Vec<String> {
        self.raw(var)
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn statuses(&self, var: &'static str) -> Result<Option<Vec<u16>>, ConfigEnvError> {
        let Some(raw) = self.raw(var) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let parse = |s: &str| -> Result<u16, ConfigEnvError> {
                match s.trim().parse::<u16>() {
                    Ok(v) if (100..=599).contains(&v) => Ok(v),
                    _ => Err(bad(
                        var,
                        format!(
                            "must list HTTP statuses 100-599 or ranges like 500-599 (got {part:?})"
                        ),
                    )),
                }
            };
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (parse(a)?, parse(b)?);
                    if a > b {
                        return Err(bad(var, format!("has an empty range {part:?}")));
                    }
                    out.extend(a..=b);
                }
                None => out.push(parse(part)?),
            }
        }
        Ok(Some(out))
    }
}

impl Config {
    /// Reads `TELEMON_*` from the process environment.
    ///
    /// # Errors
    /// [`ConfigEnvError`] naming the first invalid or missing variable.
    pub fn from_env() -> Result<Self, ConfigEnvError> {
        Self::from_figment(Figment::from(Env::prefixed("TELEMON_")))
    }

    /// Reads from any figment whose keys are the variable names without `TELEMON_`, lower
    /// case (`chat_id`), e.g. `Env::prefixed("TELEMON_")` merged with a TOML file. Every key
    /// must be one of [`VARIABLES`]: any other is refused as [`ConfigEnvError::Unknown`], with
    /// the closest known name (so give telemon its own figment, or a `focus`ed one).
    ///
    /// # Errors
    /// [`ConfigEnvError`] naming the first invalid or missing variable.
    pub fn from_figment(figment: Figment) -> Result<Self, ConfigEnvError> {
        if let Some(e) = unknown_variable(&figment) {
            return Err(e);
        }
        let v = Vars { figment };
        let enabled = v.bool("TELEMON_ENABLED", true)?;
        let chat_id = v.chat("TELEMON_CHAT_ID")?;
        let thread_id = v.int::<i32>("TELEMON_THREAD_ID", "an integer")?;
        let mut per_level = Vec::new();
        for (level, chat_var, thread_var) in [
            (
                Level::Critical,
                "TELEMON_CRITICAL_CHAT_ID",
                "TELEMON_CRITICAL_THREAD_ID",
            ),
            (
                Level::Warning,
                "TELEMON_WARNING_CHAT_ID",
                "TELEMON_WARNING_THREAD_ID",
            ),
            (
                Level::Info,
                "TELEMON_INFO_CHAT_ID",
                "TELEMON_INFO_THREAD_ID",
            ),
        ] {
            let c = v.chat(chat_var)?;
            let t = v.int::<i32>(thread_var, "an integer")?;
            if c.is_some() || t.is_some() {
                per_level.push((level, c, t));
            }
        }
        let bot_token = v.string("TELEMON_BOT_TOKEN");
        if let Some(t) = bot_token.as_deref() {
            // Shape check only; the value is never echoed.
            let ok = t.split_once(':').is_some_and(|(id, secret)| {
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && secret.len() >= 20
            });
            if !ok {
                return Err(bad(
                    "TELEMON_BOT_TOKEN",
                    "does not look like a bot token (<digits>:<secret> from @BotFather)",
                ));
            }
        }
        let api_url = v.string("TELEMON_API_URL");
        if let Some(u) = api_url.as_deref()
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(bad(
                "TELEMON_API_URL",
                "must start with http:// or https://",
            ));
        }
        let every_level_has_chat = per_level.iter().filter(|(_, c, _)| c.is_some()).count() == 3;
        if enabled && chat_id.is_none() && !every_level_has_chat {
            return Err(ConfigEnvError::Missing {
                var: "TELEMON_CHAT_ID",
                hint: " (or TELEMON_ENABLED=false), unless every level has its own TELEMON_<LEVEL>_CHAT_ID",
            });
        }
        let immediate = v
            .int::<u32>("TELEMON_MAX_ALERTS_PER_MINUTE", "a whole number")?
            .unwrap_or(20);
        let queue_capacity = v
            .int::<usize>("TELEMON_QUEUE_CAPACITY", "a whole number")?
            .unwrap_or(1024);
        if queue_capacity == 0 || queue_capacity > 1_000_000 {
            return Err(bad(
                "TELEMON_QUEUE_CAPACITY",
                format!("must be between 1 and 1000000 (got {queue_capacity})"),
            ));
        }
        let slow = v.int::<u64>("TELEMON_SLOW_REQUEST_MS", "a whole number of milliseconds")?;
        let max_string_len = v
            .int::<usize>("TELEMON_MAX_STRING_LENGTH", "a whole number")?
            .unwrap_or(2048);
        if !(64..=65_536).contains(&max_string_len) {
            return Err(bad(
                "TELEMON_MAX_STRING_LENGTH",
                format!("must be between 64 and 65536 (got {max_string_len})"),
            ));
        }
        let max_backtrace_lines = v
            .int::<usize>("TELEMON_MAX_BACKTRACE_LINES", "a whole number")?
            .unwrap_or(30);
        if max_backtrace_lines > 500 {
            return Err(bad(
                "TELEMON_MAX_BACKTRACE_LINES",
                format!("must be at most 500 (got {max_backtrace_lines})"),
            ));
        }
        let daily_report = match v.raw("TELEMON_DAILY_REPORT_UTC") {
            None => None,
            Some(s) => Some(DailyReport::parse(&s).map_err(|_| {
                bad(
                    "TELEMON_DAILY_REPORT_UTC",
                    format!("must be a UTC time HH:MM (got {s:?})"),
                )
            })?),
        };
        let key_prefix = v.string("TELEMON_KEY_PREFIX");
        if let Some(p) = key_prefix.as_deref()
            && sentinel_core::KeyBuilder::new(p).is_err()
        {
            return Err(bad(
                "TELEMON_KEY_PREFIX",
                format!("must be 1-64 characters of [A-Za-z0-9_.-] (got {p:?})"),
            ));
        }
        let mut ignore_statuses = Vec::new();
        for s in v.list("TELEMON_IGNORE_STATUSES") {
            match s.parse::<u16>() {
                Ok(n) if (100..=599).contains(&n) => ignore_statuses.push(n),
                _ => {
                    return Err(bad(
                        "TELEMON_IGNORE_STATUSES",
                        format!("must list HTTP statuses 100-599 (got {s:?})"),
                    ));
                }
            }
        }
        let redis_url = v.string("TELEMON_REDIS_URL");
        if let Some(u) = redis_url.as_deref()
            && !(u.starts_with("redis://")
                || u.starts_with("rediss://")
                || u.starts_with("redis+unix://"))
        {
            return Err(bad(
                "TELEMON_REDIS_URL",
                "must start with redis://, rediss:// or redis+unix://",
            ));
        }
        Ok(Self {
            enabled,
            bot_token,
            api_url,
            chat_id,
            thread_id,
            per_level,
            service: v.string("TELEMON_SERVICE"),
            environment: v.string("TELEMON_ENVIRONMENT"),
            instance: v.string("TELEMON_INSTANCE"),
            release: v.string("TELEMON_RELEASE"),
            cooldown: v.secs("TELEMON_COOLDOWN_SECS", 600, 1)?,
            digest_window: v.secs("TELEMON_DIGEST_WINDOW_SECS", 300, 1)?,
            immediate_per_minute: (immediate > 0).then_some(immediate),
            queue_capacity,
            slow_request: slow.filter(|ms| *ms > 0).map(Duration::from_millis),
            report_statuses: v.statuses("TELEMON_REPORT_STATUSES")?,
            ignore_paths: v.list("TELEMON_IGNORE_PATHS"),
            ignore_statuses,
            ignore_error_types: v.list("TELEMON_IGNORE_ERROR_TYPES"),
            capture_headers: v.bool("TELEMON_CAPTURE_HEADERS", false)?,
            send_pii: v.bool("TELEMON_SEND_PII", false)?,
            max_string_len,
            max_backtrace_lines,
            daily_report,
            redis_url,
            key_prefix,
            shutdown_timeout: v.secs("TELEMON_SHUTDOWN_TIMEOUT_SECS", 5, 0)?,
        })
    }

    /// Destinations per level, if a chat is configured.
    pub fn routes(&self) -> Option<Routes> {
        let base = self.chat_id.map(|c| Destination {
            chat_id: c,
            thread_id: self.thread_id,
        });
        let mut routes = base.map(Routes::new);
        for (level, chat, thread) in &self.per_level {
            let Some(chat) = chat.or(self.chat_id) else {
                continue;
            };
            let d = Destination {
                chat_id: chat,
                thread_id: thread.or(self.thread_id),
            };
            routes = Some(routes.unwrap_or(Routes::new(d)).level(*level, d));
        }
        routes
    }
}
