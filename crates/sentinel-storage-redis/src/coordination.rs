//! The coordination contract ([`CoordinationStore`]) on [`RedisStore`]: one command or one
//! script per primitive, every key written with a TTL (`PX`), time from the Redis server.
//!
//! | primitive | Redis |
//! |---|---|
//! | `add` | one script: `GET`, then `SET value PX ttl` (a decimal counter, saturating at 2^53 − 1) |
//! | `count`, `get` | `GET` |
//! | `claim` | `SET key 1 NX PX ttl` |
//! | `put` | `SET key value PX ttl` |
//! | `list` | `SCAN MATCH prefix*` (every master of a Cluster), then `MGET` |
//! | `delete_prefix` | `SCAN MATCH prefix*`, then `DEL` |
//! | `ping` | `PING` (every master of a Cluster) |
//!
//! Each primitive touches one key, except the prefix operations, which never assume their keys
//! share a slot; callers put a `{hash tag}` in their keys to keep one logical record in one
//! slot.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::{Script, Value};
use sentinel_core::coordination::{MAX_COUNT, check_key, check_prefix, check_ttl, parse_count};
use sentinel_core::{CoordinationStore, StoreError};

use crate::error::protocol;
use crate::scripts::kind;
use crate::store::RedisStore;

static ADD: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/coordination_add.lua")));

/// A `GET` reply: the bytes, or `None`.
fn bytes(reply: Value, what: &str) -> Result<Option<Vec<u8>>, StoreError> {
    match reply {
        Value::Nil => Ok(None),
        Value::BulkString(b) => Ok(Some(b)),
        Value::SimpleString(s) => Ok(Some(s.into_bytes())),
        other => Err(protocol(format_args!("{what} replied {}", kind(&other)))),
    }
}

/// A `SET` reply: `true` for OK, `false` for nil (an `NX` that lost).
fn set_reply(reply: &Value) -> Result<bool, StoreError> {
    match reply {
        Value::Okay => Ok(true),
        Value::SimpleString(s) if s == "OK" => Ok(true),
        Value::Nil => Ok(false),
        other => Err(protocol(format_args!(
            "SET replied {}, expected OK or nil",
            kind(other)
        ))),
    }
}

impl RedisStore {
    /// The first `limit` keys under `prefix`, in key order.
    async fn first_keys(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let mut keys = crate::scan::keys_with_prefix(self, prefix).await?;
        keys.truncate(limit);
        Ok(keys)
    }
}

#[async_trait]
impl CoordinationStore for RedisStore {
    async fn add(&self, key: &str, delta: u64, ttl: Duration) -> Result<u64, StoreError> {
        check_key(key)?;
        let px = check_ttl(ttl)?;
        let delta = delta.min(MAX_COUNT);
        let reply: Value =
            self.run(|mut c| async move {
                Ok(ADD.key(key).arg(delta).arg(px).invoke_async(&mut c).await?)
            })
            .await?;
        match reply {
            Value::Int(-1) => Err(StoreError::Protocol(format!(
                "coordination key {key:?} holds a value, not a counter"
            ))),
            Value::Int(n) => u64::try_from(n)
                .map_err(|_| protocol("the counter script replied a negative total")),
            other => Err(protocol(format_args!(
                "the counter script replied {}",
                kind(&other)
            ))),
        }
    }

    async fn count(&self, key: &str) -> Result<u64, StoreError> {
        match CoordinationStore::get(self, key).await? {
            Some(b) => parse_count(key, &b),
            None => Ok(0),
        }
    }

    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        check_key(key)?;
        let px = check_ttl(ttl)?;
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
        set_reply(&reply)
    }

    async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), StoreError> {
        check_key(key)?;
        let px = check_ttl(ttl)?;
        let reply: Value = self
            .run(|mut c| async move {
                Ok(redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(px)
                    .query_async(&mut c)
                    .await?)
            })
            .await?;
        if set_reply(&reply)? {
            Ok(())
        } else {
            Err(protocol("SET without NX replied nil"))
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let reply: Value = self
            .run(|mut c| async move { Ok(redis::cmd("GET").arg(key).query_async(&mut c).await?) })
            .await?;
        bytes(reply, "GET")
    }

    async fn list(&self, prefix: &str, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        check_prefix(prefix, limit)?;
        let keys = self.first_keys(prefix, limit).await?;
        let mut out = Vec::with_capacity(keys.len());
        for batch in keys.chunks(crate::scan::BATCH) {
            let values = crate::scan::get_many(self, batch).await?;
            for (key, value) in batch.iter().zip(values) {
                // Expired since the scan, or not a string (another contract's state): skipped.
                if let Ok(Some(v)) = bytes(value, "MGET") {
                    out.push((key.clone(), v));
                }
            }
        }
        Ok(out)
    }

    async fn delete_prefix(&self, prefix: &str, limit: usize) -> Result<usize, StoreError> {
        check_prefix(prefix, limit)?;
        let keys = self.first_keys(prefix, limit).await?;
        let mut deleted = 0usize;
        for batch in keys.chunks(crate::scan::BATCH) {
            let reply: Value =
                self.run(|mut c| async move {
                    Ok(redis::cmd("DEL").arg(batch).query_async(&mut c).await?)
                })
                .await?;
            match reply {
                Value::Int(n) => {
                    deleted = deleted.saturating_add(usize::try_from(n).unwrap_or(0));
                }
                other => {
                    return Err(protocol(format_args!("DEL replied {}", kind(&other))));
                }
            }
        }
        Ok(deleted)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        RedisStore::ping(self).await
    }
}
