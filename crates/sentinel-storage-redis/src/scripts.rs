//! The Lua scripts, their arguments, and decoding their replies.
//!
//! Every rate-limit script takes one key (`KEYS[1]`, the state) and the same arguments:
//!
//! | ARGV | meaning |
//! |---|---|
//! | 1 | `now` in µs since the epoch, or empty for Redis `TIME` |
//! | 2 | limit |
//! | 3 | period in µs |
//! | 4 | cost |
//! | 5 | `1` to peek (change nothing), else `0` |
//! | 6 | extra TTL in ms (client-clock grace) |
//! | 7 | GCRA only: emission interval in µs |
//!
//! and replies `{allowed (0/1), remaining, retry_after µs (-1 = never), reset_after µs}`.

use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Cmd, ErrorKind, RedisError, RedisResult, Script, ServerErrorKind, Value};
use sentinel_core::{Algorithm, Decision, Quota, StoreError, Timestamp};

use crate::error::protocol;

/// The most any script adds to `now`: 2^46 µs, more than the longest period (a year) plus the
/// largest limit. The scripts compute on offsets from `now`, which stay exact in Lua's doubles
/// below 2^53.
pub(crate) const MAX_SPAN_MICROS: u64 = 1 << 46;

/// The largest client timestamp the scripts accept: anything a script adds to it stays within
/// `u64`, as in the reference (which saturates there).
pub(crate) const MAX_CLIENT_MICROS: u64 = u64::MAX - MAX_SPAN_MICROS;

macro_rules! script {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(
                include_str!("lua/prelude.lua"),
                include_str!("lua/clock.lua"),
                include_str!(concat!("lua/", $file))
            ))
        })
    };
}

static GCRA: LazyLock<Script> = script!("gcra.lua");
static SLIDING_WINDOW: LazyLock<Script> = script!("sliding_window.lua");
static FIXED_WINDOW: LazyLock<Script> = script!("fixed_window.lua");
/// Debounce with a client clock (server-clock debounce is a plain `SET NX PX`).
pub(crate) static DEBOUNCE: LazyLock<Script> = script!("debounce.lua");

/// A single-purpose script's body as a local Lua function of `(KEYS, ARGV, now)`, for the
/// plan script.
macro_rules! step_fn {
    ($name:literal, $file:literal) => {
        concat!(
            "local function ",
            $name,
            "(KEYS, ARGV, now)\n",
            include_str!(concat!("lua/", $file)),
            "\nend\n"
        )
    };
}

/// What the plan script and the function library share: the prelude, the single-purpose
/// scripts' bodies as functions, and the plan's helpers; all definitions.
macro_rules! plan_definitions {
    () => {
        concat!(
            include_str!("lua/prelude.lua"),
            step_fn!("step_sliding_window", "sliding_window.lua"),
            step_fn!("step_gcra", "gcra.lua"),
            step_fn!("step_fixed_window", "fixed_window.lua"),
            step_fn!("debounce_client", "debounce.lua"),
            include_str!("lua/plan_defs.lua"),
        )
    };
}

/// One update's whole plan in one `EVALSHA` (see `lua/plan.lua`): the definitions, the clock
/// and the plan on top. Every call runs all of it; Redis 7+ gets [`PLAN_LIBRARY`] instead.
pub(crate) static PLAN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        plan_definitions!(),
        include_str!("lua/clock.lua"),
        include_str!("lua/plan.lua")
    ))
});

/// The plan as a Redis 7 function library: the same code as [`PLAN`], but its definitions
/// run once, when `FUNCTION LOAD` loads the library, and each `FCALL` runs only the clock and
/// the plan. The library and its function are named after the SHA1 of the code, so servers
/// shared by different versions of this crate keep one library per version.
pub(crate) static PLAN_LIBRARY: LazyLock<Library> = LazyLock::new(|| {
    let body = concat!(
        plan_definitions!(),
        "local function plan(KEYS, ARGV)\n",
        include_str!("lua/clock.lua"),
        include_str!("lua/plan.lua"),
        "\nend\n"
    );
    let sha = Script::new(body).get_hash().to_owned();
    let function = format!("sentinel_plan_{sha}");
    Library {
        source: format!(
            "#!lua name=sentinel_{sha}\n{body}redis.register_function('{function}', plan)\n"
        ),
        function,
    }
});

/// A Redis 7 function library holding one function.
pub(crate) struct Library {
    /// What `FUNCTION LOAD` sends.
    source: String,
    /// The function's name, for `FCALL`.
    function: String,
}

impl Library {
    /// The function's name, for `FCALL`.
    pub(crate) fn function(&self) -> &str {
        &self.function
    }

    /// `FUNCTION LOAD REPLACE` (on every master of a Cluster). `REPLACE`: the name is the
    /// code's SHA1, so a library of that name already loaded is this one.
    pub(crate) async fn load_async<C: ConnectionLike>(&self, conn: &mut C) -> RedisResult<()> {
        redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(&self.source)
            .exec_async(conn)
            .await
    }
}

/// Code the server keeps and the client calls by name: a script (`EVALSHA`) or a function
/// library (`FCALL`).
#[derive(Clone, Copy)]
pub(crate) enum Program {
    Script(&'static Script),
    Library(&'static Library),
}

impl Program {
    /// Whether `e` says the server does not have this code (any more): `NOSCRIPT` for a script,
    /// `ERR Function not found` for a library's function.
    fn missing(self, e: &RedisError) -> bool {
        match self {
            Self::Script(_) => e.kind() == ErrorKind::Server(ServerErrorKind::NoScript),
            Self::Library(_) => {
                e.kind() == ErrorKind::Server(ServerErrorKind::ResponseError)
                    && e.detail()
                        .is_some_and(|d| d.starts_with("Function not found"))
            }
        }
    }

    async fn load<C: ConnectionLike>(self, conn: &mut C) -> RedisResult<()> {
        match self {
            Self::Script(s) => s.load_async(conn).await.map(drop),
            Self::Library(l) => l.load_async(conn).await,
        }
    }
}

/// Whether `e` says the server cannot run functions for this client: a server before Redis 7
/// (`FCALL` and `FUNCTION` are unknown commands) or an ACL that forbids them (`NOPERM` for the
/// `fcall` or a `function` command; not a `NOPERM` for a key, which `EVALSHA` would get too).
pub(crate) fn functions_unavailable(e: &RedisError) -> bool {
    let detail = e.detail().unwrap_or_default().to_ascii_lowercase();
    match e.kind() {
        ErrorKind::Server(ServerErrorKind::NoPerm) => {
            detail.contains("'fcall'") || detail.contains("'function")
        }
        ErrorKind::Server(ServerErrorKind::ResponseError) => detail.starts_with("unknown command"),
        _ => false,
    }
}

/// The script of `algorithm`, if this crate knows it.
pub(crate) fn for_algorithm(algorithm: Algorithm) -> Option<&'static Script> {
    match algorithm {
        Algorithm::SlidingWindow => Some(&SLIDING_WINDOW),
        Algorithm::Gcra => Some(&GCRA),
        Algorithm::FixedWindow => Some(&FIXED_WINDOW),
        _ => None,
    }
}

/// Every script, for `SCRIPT LOAD`.
pub(crate) fn all() -> [&'static Script; 5] {
    [&SLIDING_WINDOW, &GCRA, &FIXED_WINDOW, &DEBOUNCE, &PLAN]
}

/// The `now` argument: the client timestamp, or empty for the server clock.
pub(crate) fn now_arg(now: Option<Timestamp>) -> Result<String, StoreError> {
    match now {
        None => Ok(String::new()),
        Some(t) if t.as_micros() <= MAX_CLIENT_MICROS => Ok(t.as_micros().to_string()),
        Some(t) => Err(StoreError::Protocol(format!(
            "timestamp {t} is too close to the end of time (u64::MAX - 2^46 us) for the Redis scripts"
        ))),
    }
}

/// A whole number of milliseconds, rounded up (for PX).
pub(crate) fn ceil_millis(d: Duration) -> u64 {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    ms.saturating_add(u64::from(!d.subsec_nanos().is_multiple_of(1_000_000)))
}

/// One rate-limit step to send.
pub(crate) struct Step<'a> {
    pub(crate) key: &'a str,
    pub(crate) algorithm: Algorithm,
    pub(crate) quota: &'a Quota,
    pub(crate) cost: u32,
    pub(crate) peek: bool,
}

impl Step<'_> {
    /// The `EVALSHA` command (`now` from [`now_arg`], `grace_ms` the client-clock grace), built
    /// in one buffer.
    pub(crate) fn command(&self, script: &Script, now: &str, grace_ms: u64) -> Cmd {
        let mut cmd = Cmd::with_capacity(11, 128 + self.key.len());
        cmd.arg("EVALSHA")
            .arg(script.get_hash())
            .arg(1)
            .arg(self.key)
            .arg(now)
            .arg(self.quota.limit())
            .arg(self.quota.period_micros())
            .arg(self.cost)
            .arg(if self.peek { "1" } else { "0" })
            .arg(grace_ms);
        if self.algorithm == Algorithm::Gcra {
            cmd.arg(self.quota.emission_interval_micros());
        }
        cmd
    }
}

/// Sends `cmd` (an `EVALSHA` or `FCALL` of `program`); when the server does not have the
/// program (`NOSCRIPT`, `Function not found`: a server that restarted or failed over empty, a
/// Cluster node that never saw it, a `FUNCTION FLUSH`) loads it and sends `cmd` once more —
/// what `redis::Script::invoke_async` does for scripts, without rebuilding the arguments. The
/// one place that reloads and retries.
pub(crate) async fn invoke<C: ConnectionLike>(
    conn: &mut C,
    program: Program,
    cmd: &Cmd,
) -> RedisResult<Value> {
    match cmd.query_async::<Value>(conn).await {
        Err(e) if program.missing(&e) => {
            program.load(conn).await?;
            cmd.query_async(conn).await
        }
        other => other,
    }
}

/// Decodes a rate-limit script's reply. Anything but four integers in range is
/// [`StoreError::Protocol`].
pub(crate) fn decode_decision(reply: &Value, limit: u32) -> Result<Decision, StoreError> {
    let Value::Array(items) = reply else {
        return Err(protocol(format_args!(
            "rate-limit script replied {}, expected an array",
            kind(reply)
        )));
    };
    decode_fields(items, limit)
}

/// Decodes the four decision fields of a rate-limit script's reply (also part of the plan's).
pub(crate) fn decode_fields(items: &[Value], limit: u32) -> Result<Decision, StoreError> {
    let [allowed, remaining, retry, reset] = items else {
        return Err(protocol(format_args!(
            "rate-limit script replied {} values, expected 4",
            items.len()
        )));
    };
    let allowed = match int(allowed)? {
        0 => false,
        1 => true,
        other => return Err(protocol(format_args!("allowed flag {other} is not 0 or 1"))),
    };
    let remaining = u32::try_from(int(remaining)?)
        .map_err(|_| protocol("remaining out of range"))
        .and_then(|r| {
            if r <= limit {
                Ok(r)
            } else {
                Err(protocol(format_args!(
                    "remaining {r} exceeds the limit {limit}"
                )))
            }
        })?;
    let retry_after = match int(retry)? {
        -1 if !allowed => None,
        us if us >= 0 && (!allowed || us == 0) => Some(micros(us)),
        other => return Err(protocol(format_args!("retry_after {other} out of range"))),
    };
    let reset_after = match int(reset)? {
        us if us >= 0 => micros(us),
        other => return Err(protocol(format_args!("reset_after {other} out of range"))),
    };
    Ok(Decision {
        allowed,
        limit,
        remaining,
        retry_after,
        reset_after,
    })
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

fn int(v: &Value) -> Result<i64, StoreError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(protocol(format_args!(
            "expected an integer, got {}",
            kind(other)
        ))),
    }
}

/// Decodes a 0/1 integer reply.
pub(crate) fn decode_flag(reply: &Value, what: &str) -> Result<bool, StoreError> {
    match int(reply)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(protocol(format_args!(
            "{what} replied {other}, expected 0 or 1"
        ))),
    }
}

/// A short name for a reply's type, for error messages (never its content).
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Int(_) => "an integer",
        Value::BulkString(_) => "a string",
        Value::Array(_) => "an array",
        Value::SimpleString(_) => "a status",
        Value::Okay => "OK",
        Value::Map(_) => "a map",
        Value::Set(_) => "a set",
        Value::Double(_) => "a double",
        Value::Boolean(_) => "a boolean",
        Value::ServerError(_) => "an error",
        _ => "an unexpected type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(v: &[Value]) -> Value {
        Value::Array(v.to_vec())
    }

    #[test]
    fn decodes_the_four_fields() {
        let d = decode_decision(
            &arr(&[
                Value::Int(0),
                Value::Int(2),
                Value::Int(1500),
                Value::Int(9000),
            ]),
            5,
        )
        .unwrap();
        assert!(!d.allowed);
        assert_eq!(d.remaining, 2);
        assert_eq!(d.retry_after, Some(Duration::from_micros(1500)));
        assert_eq!(d.reset_after, Duration::from_micros(9000));
        let never = decode_decision(
            &arr(&[Value::Int(0), Value::Int(5), Value::Int(-1), Value::Int(0)]),
            5,
        )
        .unwrap();
        assert!(never.is_never());
    }

    #[test]
    fn malformed_replies_are_protocol_errors_not_panics() {
        let bad = [
            Value::Nil,
            Value::Okay,
            arr(&[]),
            arr(&[Value::Int(1), Value::Int(1), Value::Int(0)]),
            arr(&[Value::Int(2), Value::Int(1), Value::Int(0), Value::Int(0)]),
            arr(&[Value::Int(1), Value::Int(-1), Value::Int(0), Value::Int(0)]),
            arr(&[Value::Int(1), Value::Int(6), Value::Int(0), Value::Int(0)]),
            arr(&[Value::Int(1), Value::Int(1), Value::Int(-1), Value::Int(0)]),
            arr(&[Value::Int(1), Value::Int(1), Value::Int(7), Value::Int(0)]),
            arr(&[Value::Int(0), Value::Int(1), Value::Int(-2), Value::Int(0)]),
            arr(&[Value::Int(0), Value::Int(1), Value::Int(0), Value::Int(-5)]),
            arr(&[
                Value::BulkString(b"1".to_vec()),
                Value::Int(1),
                Value::Int(0),
                Value::Int(0),
            ]),
            arr(&[
                Value::Int(1),
                Value::Int(i64::MAX),
                Value::Int(0),
                Value::Int(0),
            ]),
            arr(&[
                Value::Int(0),
                Value::Int(1),
                Value::Int(0),
                Value::Int(0),
                Value::Int(0),
            ]),
        ];
        for reply in &bad {
            assert!(
                matches!(decode_decision(reply, 5), Err(StoreError::Protocol(_))),
                "{reply:?}"
            );
        }
        assert!(matches!(
            decode_flag(&Value::Int(3), "x"),
            Err(StoreError::Protocol(_))
        ));
    }

    #[test]
    fn client_timestamps_are_bounded() {
        assert_eq!(now_arg(None).unwrap(), "");
        assert_eq!(now_arg(Some(Timestamp::from_secs(2))).unwrap(), "2000000");
        assert!(now_arg(Some(Timestamp::from_micros(MAX_CLIENT_MICROS))).is_ok());
        assert!(matches!(
            now_arg(Some(Timestamp::MAX)),
            Err(StoreError::Protocol(_))
        ));
    }

    #[test]
    fn millis_round_up() {
        assert_eq!(ceil_millis(Duration::from_micros(1)), 1);
        assert_eq!(ceil_millis(Duration::from_millis(5)), 5);
        assert_eq!(ceil_millis(Duration::from_micros(5_001)), 6);
        assert_eq!(ceil_millis(Duration::MAX), u64::MAX);
    }
}
