//! One update's plan as one call of the plan (`lua/plan.lua`): `FCALL` of the plan library on
//! Redis 7+, else `EVALSHA` of the plan script; and its reply.

use redis::{Cmd, Value};
use sentinel_core::{Algorithm, BlockRecord, Plan, PlanOutcome, StoreError};

use crate::error::protocol;
use crate::scripts::{self, MAX_SPAN_MICROS, Program, ceil_millis, decode_fields};

/// The PX of a block record's key (`None` for a permanent block): as long as it lasts, plus
/// 1 ms for Redis's truncating expiry clock, plus the client-clock grace.
pub(crate) fn block_px(record: &BlockRecord, grace_ms: u64) -> Option<u64> {
    record.expires_at.map(|end| {
        ceil_millis(end.saturating_since(record.blocked_at))
            .saturating_add(1)
            .saturating_add(grace_ms)
    })
}

fn algorithm_tag(algorithm: Algorithm) -> Result<&'static str, StoreError> {
    match algorithm {
        Algorithm::SlidingWindow => Ok("sw"),
        Algorithm::Gcra => Ok("gcra"),
        Algorithm::FixedWindow => Ok("fw"),
        other => Err(protocol(format_args!(
            "algorithm {other:?} has no Redis script"
        ))),
    }
}

/// The call of `program` (the plan script or the plan library) for `plan` (`now` from
/// [`scripts::now_arg`]): `EVALSHA sha …` or `FCALL function …`, with the same keys and
/// arguments.
pub(crate) fn command(
    program: Program,
    plan: &Plan,
    now: &str,
    grace_ms: u64,
) -> Result<Cmd, StoreError> {
    let nkeys = plan.keys().count();
    let mut cmd = Cmd::with_capacity(7 + nkeys + plan.limits.len() * 4 + 4, 256);
    match program {
        Program::Script(s) => cmd.arg("EVALSHA").arg(s.get_hash()),
        Program::Library(l) => cmd.arg("FCALL").arg(l.function()),
    };
    cmd.arg(nkeys);
    for key in plan.keys() {
        cmd.arg(key);
    }
    // The counts, packed as the script reads them: each below 256.
    let (blocks, limits) = (plan.blocks.len(), plan.limits.len());
    if blocks > 255 || limits > 255 {
        return Err(protocol(format_args!(
            "a plan with {blocks} block keys and {limits} limits is more than the plan script takes (255 each)"
        )));
    }
    let counts = blocks + 256 * limits + if plan.strike.is_some() { 65_536 } else { 0 };
    cmd.arg(now).arg(grace_ms).arg(counts);
    match &plan.debounce {
        Some(d) => {
            let window_us = u64::try_from(d.window.as_micros()).unwrap_or(u64::MAX);
            if window_us > MAX_SPAN_MICROS {
                return Err(protocol(format_args!(
                    "debounce window {:?} is longer than the Redis scripts support (2^46 us)",
                    d.window
                )));
            }
            if now.is_empty() {
                // Server clock: the window is the key's PX, rounded up, at least 1 ms.
                cmd.arg(window_us.div_ceil(1_000).max(1));
            } else {
                cmd.arg(window_us);
            }
        }
        None => {
            cmd.arg("");
        }
    }
    for l in &plan.limits {
        let tag = algorithm_tag(l.algorithm)?;
        cmd.arg(tag).arg(l.quota.limit()).arg(l.cost);
        // The one of period and emission interval the algorithm reads.
        if l.algorithm == Algorithm::Gcra {
            cmd.arg(l.quota.emission_interval_micros());
        } else {
            cmd.arg(l.quota.period_micros());
        }
    }
    if let Some(s) = &plan.strike {
        cmd.arg(s.quota.limit())
            .arg(s.quota.period_micros())
            .arg(s.record.encode());
        match block_px(&s.record, grace_ms) {
            Some(px) => cmd.arg(px),
            None => cmd.arg(""),
        };
    }
    Ok(cmd)
}

fn int(v: &Value) -> Result<i64, StoreError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(protocol(format_args!(
            "plan script replied {} where an integer belongs",
            scripts::kind(other)
        ))),
    }
}

fn index(v: &Value, len: usize, what: &str) -> Result<usize, StoreError> {
    usize::try_from(int(v)?)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| protocol(format_args!("plan script replied an out-of-range {what}")))
}

/// Decodes the plan script's reply for `plan`. Anything malformed is
/// [`StoreError::Protocol`].
pub(crate) fn decode(reply: &Value, plan: &Plan) -> Result<PlanOutcome, StoreError> {
    let Value::Array(items) = reply else {
        return Err(protocol(format_args!(
            "plan script replied {}, expected an array",
            scripts::kind(reply)
        )));
    };
    let decision = |fields: &[Value], i: usize| {
        let limit = plan.limits.get(i).map_or(0, |l| l.quota.limit());
        decode_fields(fields, limit)
    };
    match items.as_slice() {
        [tag, i, raw] if int(tag)? == 1 => {
            let index = index(i, plan.blocks.len(), "block index")?;
            let text = match raw {
                Value::BulkString(b) => {
                    std::str::from_utf8(b).map_err(|_| protocol("blocklist record is not UTF-8"))?
                }
                other => {
                    return Err(protocol(format_args!(
                        "plan script replied {} for a block record",
                        scripts::kind(other)
                    )));
                }
            };
            let record = BlockRecord::decode(text)?;
            Ok(PlanOutcome::Blocked { index, record })
        }
        [tag] if int(tag)? == 2 => Ok(PlanOutcome::Debounced),
        [tag, i, remaining, reset] if int(tag)? == 3 => {
            if int(i)? == -1 && plan.limits.is_empty() {
                return Ok(PlanOutcome::Allowed { decision: None });
            }
            let i = index(i, plan.limits.len(), "limit index")?;
            // An allowed decision: allowed 1 and retry_after 0 are implied.
            let fields = [
                Value::Int(1),
                remaining.clone(),
                Value::Int(0),
                reset.clone(),
            ];
            let d = decision(&fields, i)?;
            Ok(PlanOutcome::Allowed { decision: Some(d) })
        }
        [tag, i, fields @ .., esc] if fields.len() == 4 && int(tag)? == 4 => {
            let index = index(i, plan.limits.len(), "limit index")?;
            let decision = decision(fields, index)?;
            if decision.allowed {
                return Err(protocol("plan script throttled with a grant"));
            }
            let escalated = match (int(esc)?, &plan.strike) {
                (0, _) => None,
                (1, Some(s)) => Some(s.record.clone()),
                _ => {
                    return Err(protocol(
                        "plan script replied an unexpected escalation flag",
                    ));
                }
            };
            Ok(PlanOutcome::Throttled {
                index,
                decision,
                escalated,
            })
        }
        _ => Err(protocol(format_args!(
            "plan script replied {} values in an unknown shape",
            items.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sentinel_core::plan::LimitStep;
    use sentinel_core::{Quota, Timestamp};

    use super::*;

    fn plan() -> Plan {
        let mut plan = Plan::new(Timestamp::from_secs(1));
        plan.blocks.push("b".into());
        plan.limits.push(LimitStep {
            key: "l".into(),
            algorithm: Algorithm::Gcra,
            quota: Quota::new(5, Duration::from_secs(1)).unwrap(),
            cost: 1,
        });
        plan
    }

    fn arr(v: &[i64]) -> Value {
        Value::Array(v.iter().map(|&i| Value::Int(i)).collect())
    }

    #[test]
    fn an_allowed_reply_is_four_values() {
        let outcome = decode(&arr(&[3, 0, 4, 200_000]), &plan()).unwrap();
        let PlanOutcome::Allowed { decision: Some(d) } = outcome else {
            panic!("{outcome:?}");
        };
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining), (5, 4));
        assert_eq!(d.retry_after, Some(Duration::ZERO));
        assert_eq!(d.reset_after, Duration::from_millis(200));
        assert!(matches!(
            decode(&arr(&[3, -1, 0, 0]), &Plan::new(Timestamp::EPOCH)).unwrap(),
            PlanOutcome::Allowed { decision: None }
        ));
    }

    #[test]
    fn malformed_plan_replies_are_protocol_errors_not_panics() {
        let bad = [
            Value::Nil,
            arr(&[]),
            arr(&[9]),
            // Allowed: index out of range, remaining above the limit, a negative reset, the
            // old six-value shape, no limit to report for -1.
            arr(&[3, 1, 4, 0]),
            arr(&[3, 0, 6, 0]),
            arr(&[3, 0, 4, -1]),
            arr(&[3, 0, 1, 4, 0, 0]),
            arr(&[3, -1, 0, 0]),
            // Throttled with a grant, or with an unknown escalation flag.
            arr(&[4, 0, 1, 4, 0, 0, 0]),
            arr(&[4, 0, 0, 0, 100, 100, 1]),
            // Blocked with a number for the record.
            arr(&[1, 0, 7]),
            Value::Array(vec![
                Value::Int(3),
                Value::Nil,
                Value::Int(1),
                Value::Int(0),
            ]),
        ];
        for reply in &bad {
            assert!(
                matches!(decode(reply, &plan()), Err(StoreError::Protocol(_))),
                "{reply:?}"
            );
        }
    }
}
