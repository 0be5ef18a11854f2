//! Listing blocklist records: `SCAN MATCH` (on every master of a Cluster) and `MGET`.

use std::collections::BTreeSet;

use redis::Value;
use sentinel_core::{BlockRecord, StoreError};

use crate::error::protocol;
use crate::scripts::kind;
use crate::store::RedisStore;

/// Keys per `SCAN` page hint and per `MGET`.
pub(crate) const BATCH: usize = 256;

/// `prefix` as a literal in a Redis glob pattern: `\`, `*`, `?`, `[` and `]` escaped.
pub(crate) fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '\\' | '*' | '?' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One `SCAN` reply: the next cursor and the keys.
fn decode_page(reply: &Value) -> Result<(u64, Vec<String>), StoreError> {
    let Value::Array(parts) = reply else {
        return Err(protocol(format_args!("SCAN replied {}", kind(reply))));
    };
    let [cursor, keys] = parts.as_slice() else {
        return Err(protocol("SCAN replied a malformed page"));
    };
    let cursor = match cursor {
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| protocol("SCAN replied a malformed cursor"))?,
        Value::Int(i) => {
            u64::try_from(*i).map_err(|_| protocol("SCAN replied a negative cursor"))?
        }
        other => return Err(protocol(format_args!("SCAN cursor is {}", kind(other)))),
    };
    let Value::Array(keys) = keys else {
        return Err(protocol(format_args!("SCAN keys are {}", kind(keys))));
    };
    let keys = keys
        .iter()
        .filter_map(|k| match k {
            // Keys that are not UTF-8 are not ours.
            Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
            Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    Ok((cursor, keys))
}

fn scan_cmd(cursor: u64, pattern: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(BATCH);
    cmd
}

/// Every key starting with `prefix`, sorted, each once. Each page is one call (with its own
/// timeout), so a large keyspace is listed in many short steps.
pub(crate) async fn keys_with_prefix(
    store: &RedisStore,
    prefix: &str,
) -> Result<Vec<String>, StoreError> {
    let pattern = format!("{}*", glob_escape(prefix));
    keys_matching(store, &[pattern], &|k| k.starts_with(prefix)).await
}

/// Every key that one of `patterns` (`SCAN MATCH`, on every master of a Cluster) finds and
/// `keep` accepts, sorted, each once.
pub(crate) async fn keys_matching(
    store: &RedisStore,
    patterns: &[String],
    keep: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<String>, StoreError> {
    let mut found = BTreeSet::new();
    for pattern in patterns {
        if store.pool().is_some() {
            let mut cursor = 0;
            loop {
                let reply: Value =
                    store
                        .run(|mut c| async move {
                            Ok(scan_cmd(cursor, pattern).query_async(&mut c).await?)
                        })
                        .await?;
                let (next, keys) = decode_page(&reply)?;
                found.extend(keys.into_iter().filter(|k| keep(k)));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        } else {
            #[cfg(feature = "cluster")]
            cluster::scan(store, pattern, keep, &mut found).await?;
        }
    }
    Ok(found.into_iter().collect())
}

/// The values of `keys` (`MGET`), in order.
pub(crate) async fn get_many(
    store: &RedisStore,
    keys: &[String],
) -> Result<Vec<Value>, StoreError> {
    let reply: Value = store
        .run(|mut c| async move { Ok(redis::cmd("MGET").arg(keys).query_async(&mut c).await?) })
        .await?;
    match reply {
        Value::Array(values) if values.len() == keys.len() => Ok(values),
        other => Err(protocol(format_args!(
            "MGET of {} keys replied {}",
            keys.len(),
            kind(&other)
        ))),
    }
}

/// A value found while listing: a blocklist record (a JSON object), or `None` for anything
/// else under the prefix (rate-limit state, debounce entries: strings of digits, hashes, which
/// `MGET` reads as nil). A JSON object that is not a record is [`StoreError::Protocol`].
pub(crate) fn decode_listed(value: &Value) -> Result<Option<BlockRecord>, StoreError> {
    match value {
        Value::BulkString(b) if b.first() == Some(&b'{') => decode_record(value),
        _ => Ok(None),
    }
}

/// A stored blocklist record: `None` when absent, [`StoreError::Protocol`] when not ours.
pub(crate) fn decode_record(value: &Value) -> Result<Option<BlockRecord>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(b) => {
            let text =
                std::str::from_utf8(b).map_err(|_| protocol("blocklist record is not UTF-8"))?;
            BlockRecord::decode(text).map(Some)
        }
        other => Err(protocol(format_args!(
            "blocklist record is {}",
            kind(other)
        ))),
    }
}

#[cfg(feature = "cluster")]
mod cluster {
    use std::collections::BTreeSet;

    use redis::Value;
    use redis::cluster_routing::{MultipleNodeRoutingInfo, RoutingInfo, SingleNodeRoutingInfo};
    use sentinel_core::StoreError;

    use super::{decode_page, scan_cmd};
    use crate::connection::Conn;
    use crate::error::protocol;
    use crate::scripts::kind;
    use crate::store::{CallError, RedisStore};

    async fn route(
        mut conn: Conn,
        cmd: redis::Cmd,
        routing: RoutingInfo,
    ) -> Result<Value, CallError> {
        match &mut conn {
            Conn::Cluster(c) => Ok(c.route_command(cmd, routing).await?),
            Conn::Single(_) => Err(CallError::Reply(protocol("not a Cluster connection"))),
        }
    }

    /// SCAN on every master: the first page from all at once, then each master's cursor on
    /// that master.
    pub(super) async fn scan(
        store: &RedisStore,
        pattern: &str,
        keep: &(dyn Fn(&str) -> bool + Sync),
        found: &mut BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let first: Value = store
            .run(|c| {
                route(
                    c,
                    scan_cmd(0, pattern),
                    RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
                )
            })
            .await?;
        let Value::Map(pages) = first else {
            return Err(protocol(format_args!(
                "SCAN on all masters replied {}",
                kind(&first)
            )));
        };
        for (addr, page) in pages {
            let addr = match &addr {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                Value::SimpleString(s) => s.clone(),
                other => {
                    return Err(protocol(format_args!("node address is {}", kind(other))));
                }
            };
            let (host, port) = addr
                .rsplit_once(':')
                .and_then(|(h, p)| p.parse::<u16>().ok().map(|p| (h.to_owned(), p)))
                .ok_or_else(|| protocol("malformed node address"))?;
            if let Value::ServerError(e) = &page {
                return Err(StoreError::Unavailable(
                    format!("SCAN failed on a Cluster node: {:?}", e.code()).into(),
                ));
            }
            let (mut cursor, keys) = decode_page(&page)?;
            found.extend(keys.into_iter().filter(|k| keep(k)));
            while cursor != 0 {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port,
                });
                let reply: Value = store
                    .run(|c| route(c, scan_cmd(cursor, pattern), routing))
                    .await?;
                let (next, keys) = decode_page(&reply)?;
                found.extend(keys.into_iter().filter(|k| keep(k)));
                cursor = next;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("bot:bl:"), "bot:bl:");
        assert_eq!(glob_escape(r"a*b?c[d]e\f"), r"a\*b\?c\[d\]e\\f");
    }

    #[test]
    fn pages_decode_defensively() {
        let page = Value::Array(vec![
            Value::BulkString(b"17".to_vec()),
            Value::Array(vec![
                Value::BulkString(b"p:bl:{u1}:=all".to_vec()),
                Value::BulkString(vec![0xff, 0xfe]),
            ]),
        ]);
        assert_eq!(
            decode_page(&page).unwrap(),
            (17, vec!["p:bl:{u1}:=all".to_owned()])
        );
        for bad in [
            Value::Nil,
            Value::Array(vec![Value::BulkString(b"x".to_vec()), Value::Array(vec![])]),
            Value::Array(vec![Value::Int(-1), Value::Array(vec![])]),
            Value::Array(vec![Value::Int(0)]),
            Value::Array(vec![Value::Int(0), Value::Nil]),
        ] {
            assert!(matches!(decode_page(&bad), Err(StoreError::Protocol(_))));
        }
    }

    #[test]
    fn records_decode_defensively() {
        assert!(decode_record(&Value::Nil).unwrap().is_none());
        assert!(matches!(
            decode_record(&Value::BulkString(b"{not json".to_vec())),
            Err(StoreError::Protocol(_))
        ));
        assert!(matches!(
            decode_record(&Value::BulkString(vec![0xff])),
            Err(StoreError::Protocol(_))
        ));
        assert!(matches!(
            decode_record(&Value::Int(3)),
            Err(StoreError::Protocol(_))
        ));
        // Listing skips what is not a record, but not a broken record.
        for other in [
            Value::Nil,
            Value::BulkString(b"1700000000".to_vec()),
            Value::BulkString(b"12:3".to_vec()),
        ] {
            assert!(decode_listed(&other).unwrap().is_none());
        }
        assert!(matches!(
            decode_listed(&Value::BulkString(b"{\"reason\":1}".to_vec())),
            Err(StoreError::Protocol(_))
        ));
    }
}
