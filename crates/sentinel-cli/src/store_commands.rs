//! The commands that talk to the Redis store: block, unblock, blocked, peek, reset, forget,
//! ping.

use std::sync::Arc;

use sentinel_core::{RateLimitStore, Sentinel, Subject, SubjectKeys};
use sentinel_storage_redis::{RedisConfig, RedisStore};
use serde_json::{Value, json};

use crate::args::{Cli, Command};
use crate::blocked::{format_blocked, record_json, record_text};
use crate::failure::Failure;

/// The store and an engine over it (default policies: the admin calls need none).
struct Connection {
    store: RedisStore,
    sentinel: Sentinel,
}

fn connect(cli: &Cli) -> Result<Connection, Failure> {
    let url = cli.redis_url.as_deref().unwrap_or_default();
    if url.trim().is_empty() {
        return Err(Failure::Usage(
            "no Redis URL: set REDIS_URL or pass --redis-url redis://host:6379".to_owned(),
        ));
    }
    let config = if cli.cluster {
        RedisConfig::cluster(url.split(',').map(str::trim).filter(|u| !u.is_empty()))
    } else {
        RedisConfig::new(url)
    };
    let store = config
        .connect_timeout(cli.timeout)
        .command_timeout(cli.timeout)
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let sentinel = Sentinel::builder()
        .store(Arc::new(store.clone()))
        .prefix(cli.prefix.clone())
        .build()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(Connection { store, sentinel })
}

/// Runs a store command; returns what to print.
pub(crate) async fn run(cli: &Cli) -> Result<String, Failure> {
    let Connection { store, sentinel } = connect(cli)?;
    let now = sentinel.clock().now();
    match &cli.command {
        Command::Block {
            subject,
            duration,
            reason,
            by,
        } => {
            let subject = subject.subject();
            let record = sentinel.block(&subject, *duration, reason, by).await?;
            Ok(format!("blocked {subject} {}", record_text(&record, now)))
        }
        Command::Unblock { subject } => {
            let subject = subject.subject();
            Ok(if sentinel.unblock(&subject).await? {
                format!("unblocked {subject}")
            } else {
                format!("{subject} was not blocked")
            })
        }
        Command::Blocked { json } => {
            // `format_blocked` labels subjects from their encoded form, as `peek` shows them.
            let entries: Vec<_> = sentinel
                .list_blocked()
                .await?
                .into_iter()
                .map(|(subject, record)| (subject.encode(), record))
                .collect();
            Ok(format_blocked(&entries, now, *json))
        }
        Command::Peek { subject, json } => peek(&store, &sentinel, &subject.subject(), *json).await,
        Command::Reset { subject, policy } => {
            let subject = subject.subject();
            let keys = subject_keys(&sentinel, &subject)?;
            let mut deleted = 0;
            for key in store.keys_of(&keys).await? {
                let parts = KeyParts::of(&key, sentinel.keys().prefix());
                let state = parts.kind.starts_with("rl-") || parts.kind == "st";
                if state && policy.as_deref().is_none_or(|p| p == parts.policy) {
                    store.reset(&key).await?;
                    deleted += 1;
                }
            }
            Ok(format!(
                "reset {subject}: {deleted} rate-limit and strike keys deleted"
            ))
        }
        Command::Forget { subject } => {
            let subject = subject.subject();
            let deleted = sentinel.forget(&subject).await?;
            Ok(format!("forgot {subject}: {deleted} keys deleted"))
        }
        Command::Ping => {
            store.ping().await?;
            Ok("ok: Redis answers".to_owned())
        }
        Command::Alerts { .. } => Err(Failure::Usage("not a store command".to_owned())),
    }
}

fn subject_keys(sentinel: &Sentinel, subject: &Subject) -> Result<SubjectKeys, Failure> {
    SubjectKeys::new(sentinel.keys(), subject).map_err(|e| Failure::Usage(e.to_string()))
}

/// A key split for display: `{prefix}:{kind}:{{tag}}:{policy}[:...]`.
struct KeyParts<'k> {
    kind: &'k str,
    policy: String,
}

impl<'k> KeyParts<'k> {
    fn of(key: &'k str, prefix: &str) -> Self {
        let rest = key
            .strip_prefix(prefix)
            .and_then(|k| k.strip_prefix(':'))
            .unwrap_or(key);
        let (kind, rest) = rest.split_once(':').unwrap_or((rest, ""));
        let after_tag = rest.split_once("}:").map_or("", |(_, r)| r);
        let raw = after_tag.split(':').next().unwrap_or_default();
        // Plain names are stored as `=name`; long or unusual ones as a hash (`#...`).
        let policy = raw.strip_prefix('=').unwrap_or(raw).to_owned();
        Self { kind, policy }
    }

    fn kind_label(&self) -> &'static str {
        match self.kind {
            "rl-sw" => "rate limit (sliding window)",
            "rl-gcra" => "rate limit (GCRA)",
            "rl-fw" => "rate limit (fixed window)",
            "db" => "debounce fingerprint",
            "st" => "strikes",
            "bl" => "block",
            _ => "other",
        }
    }
}

async fn peek(
    store: &RedisStore,
    sentinel: &Sentinel,
    subject: &Subject,
    json: bool,
) -> Result<String, Failure> {
    let now = sentinel.clock().now();
    let keys = subject_keys(sentinel, subject)?;
    let block = sentinel.blocked(subject).await?;
    let found = store.keys_of(&keys).await?;
    let prefix = sentinel.keys().prefix();
    if json {
        let keys: Vec<Value> = found
            .iter()
            .map(|k| {
                let p = KeyParts::of(k, prefix);
                json!({ "key": k, "kind": p.kind, "policy": p.policy })
            })
            .collect();
        return Ok(json!({
            "subject": subject.to_string(),
            "blocked": block.map(|r| record_json(&subject.to_string(), &r, now)),
            "keys": keys,
        })
        .to_string());
    }
    let mut out = match &block {
        Some(r) => format!("{subject}: blocked {}", record_text(r, now)),
        None => format!("{subject}: not blocked"),
    };
    out.push_str(&format!("\n{} keys", found.len()));
    for k in &found {
        let p = KeyParts::of(k, prefix);
        out.push_str(&format!("\n  {:<28} {:<12} {k}", p.kind_label(), p.policy));
    }
    Ok(out)
}
