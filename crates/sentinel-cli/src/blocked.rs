//! How `sentinel blocked` and `sentinel peek` show block records.

use std::time::{Duration, UNIX_EPOCH};

use sentinel_core::{BlockRecord, Timestamp};
use serde_json::{Value, json};

/// A subject's encoded form (`u42`, `c-100`, `u1c-100`) as words.
pub(crate) fn subject_label(encoded: &str) -> String {
    let id = |s: &str| s.parse::<i64>().ok();
    if let Some(rest) = encoded.strip_prefix('u') {
        if let Some(user) = id(rest) {
            return format!("user {user}");
        }
        if let Some((u, c)) = rest.split_once('c')
            && let (Some(user), Some(chat)) = (id(u), id(c))
        {
            return format!("user {user} in chat {chat}");
        }
    }
    if let Some(chat) = encoded.strip_prefix('c').and_then(id) {
        return format!("chat {chat}");
    }
    encoded.to_owned()
}

fn rfc3339(t: Timestamp) -> String {
    let at = UNIX_EPOCH + Duration::from_micros(t.as_micros());
    humantime::format_rfc3339_seconds(at).to_string()
}

fn remaining(r: &BlockRecord, now: Timestamp) -> Option<Duration> {
    r.remaining(now).map(|d| Duration::from_secs(d.as_secs()))
}

/// One record as JSON.
pub(crate) fn record_json(subject: &str, r: &BlockRecord, now: Timestamp) -> Value {
    json!({
        "subject": subject,
        "reason": r.reason,
        "blocked_by": r.blocked_by,
        "blocked_at": rfc3339(r.blocked_at),
        "expires_at": r.expires_at.map(rfc3339),
        "remaining_secs": remaining(r, now).map(|d| d.as_secs()),
    })
}

/// One record as words: `until <time> (<left> left), reason: <reason>, by <who>`.
pub(crate) fn record_text(r: &BlockRecord, now: Timestamp) -> String {
    let until = match (r.expires_at, remaining(r, now)) {
        (Some(at), Some(left)) => format!(
            "until {} ({} left)",
            rfc3339(at),
            humantime::format_duration(left)
        ),
        _ => "until unblocked".to_owned(),
    };
    format!("{until}, reason: {}, by {}", r.reason, r.blocked_by)
}

/// The blocks in force (as `Sentinel::list_blocked` returns them: encoded subject, record),
/// as a table or a JSON array. The one place that formats the list.
pub(crate) fn format_blocked(
    entries: &[(String, BlockRecord)],
    now: Timestamp,
    json: bool,
) -> String {
    if json {
        let list: Vec<Value> = entries
            .iter()
            .map(|(s, r)| record_json(&subject_label(s), r, now))
            .collect();
        return Value::Array(list).to_string();
    }
    if entries.is_empty() {
        return "no blocks in force".to_owned();
    }
    let rows: Vec<[String; 4]> = entries
        .iter()
        .map(|(s, r)| {
            let left = remaining(r, now).map_or_else(
                || "permanent".to_owned(),
                |d| humantime::format_duration(d).to_string(),
            );
            [
                subject_label(s),
                left,
                r.blocked_by.clone(),
                r.reason.clone(),
            ]
        })
        .collect();
    let header = ["SUBJECT", "REMAINING", "BY", "REASON"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let [a, b, c, d] = cells;
        format!(
            "{a:<wa$}  {b:<wb$}  {c:<wc$}  {d}",
            wa = widths[0],
            wb = widths[1],
            wc = widths[2]
        )
        .trim_end()
        .to_owned()
    };
    let mut out = vec![line(header)];
    out.extend(rows.iter().map(|r| line([&r[0], &r[1], &r[2], &r[3]])));
    out.join("\n")
}
