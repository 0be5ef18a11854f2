//! Grouping: which occurrences are the same incident.
//!
//! The fingerprint is SHA-256 ([`sentinel_core::Fingerprint`]) of the error type, the method
//! and route **template**, the title and the first line of the message, after
//! [`normalize`] replaced the parts that vary between occurrences (numbers, UUIDs, hex ids,
//! e-mail and IP addresses, dates, durations) by placeholders. So `/users/17` and
//! `/users/42`, or "order 1231 failed" and "order 99 failed", are one incident. An explicit
//! [`Alert::fingerprint`](crate::Alert::fingerprint) replaces all of that.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use sentinel_core::Fingerprint;

use crate::alert::Alert;

/// One pass over the text; the first alternative that matches names the placeholder.
static VARIABLE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<uuid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)",
        r"|(?P<email>\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b)",
        r"|(?P<date>\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?)",
        r"|(?P<ip>\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b|\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b)",
        // `_` is a word character, so `\b` alone misses `req_5f3a9c2d`: an underscore also
        // delimits a hex id (and is put back by `normalize`).
        r"|(?P<hex>(?:\b|_)(?:0x[0-9a-fA-F]+|[0-9a-fA-F]*\d[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*|[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\d[0-9a-fA-F]*)(?:\b|_))",
        r"|(?P<duration>\b\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)\b)",
        r"|(?P<float>\b\d+\.\d+\b)",
        r"|(?P<int>\d+)",
    ))
    .ok()
});

const NAMES: [&str; 8] = [
    "uuid", "email", "date", "ip", "hex", "duration", "float", "int",
];

/// Replaces the variable parts of `text` by placeholders (`<int>`, `<uuid>`, `<hex>`,
/// `<email>`, `<ip>`, `<date>`, `<duration>`, `<float>`).
///
/// ```
/// use telemon_alerts::fingerprint::normalize;
/// assert_eq!(normalize("order 1231 failed"), "order <int> failed");
/// assert_eq!(
///     normalize("user 550e8400-e29b-41d4-a716-446655440000 at 10.0.0.7"),
///     "user <uuid> at <ip>"
/// );
/// assert_eq!(normalize("/users/42/files/deadbeef12"), "/users/<int>/files/<hex>");
/// ```
pub fn normalize(text: &str) -> Cow<'_, str> {
    let Some(re) = VARIABLE.as_ref() else {
        return Cow::Borrowed(text);
    };
    re.replace_all(text, |c: &Captures<'_>| {
        let name = NAMES
            .iter()
            .find(|n| c.name(n).is_some())
            .copied()
            .unwrap_or("var");
        if name == "hex" {
            let m = c.get(0).map_or("", |m| m.as_str());
            let lead = if m.starts_with('_') { "_" } else { "" };
            let trail = if m.len() > 1 && m.ends_with('_') {
                "_"
            } else {
                ""
            };
            format!("{lead}<{name}>{trail}")
        } else {
            format!("<{name}>")
        }
    })
}

/// Longest slice of the message that takes part in grouping.
const MESSAGE_PREFIX: usize = 300;

/// The grouping key of a (scrubbed) alert: its override if set, otherwise the parts above.
pub fn fingerprint_of(alert: &Alert) -> Fingerprint {
    if let Some(fp) = alert.fingerprint.as_deref() {
        return Fingerprint::of(format!("override\x1f{fp}"));
    }
    let first_line = alert.message.lines().next().unwrap_or("");
    let first_line = match first_line.char_indices().nth(MESSAGE_PREFIX) {
        Some((i, _)) => &first_line[..i],
        None => first_line,
    };
    let (method, route) = match alert.http.as_ref() {
        Some(h) if h.route_is_template => (h.method.as_str(), Cow::Borrowed(h.route.as_str())),
        Some(h) => (h.method.as_str(), normalize(&h.route)),
        None => ("", Cow::Borrowed("")),
    };
    Fingerprint::of(format!(
        "v1\x1f{}\x1f{method} {route}\x1f{}\x1f{}",
        alert.error_type.as_deref().unwrap_or(""),
        normalize(&alert.title),
        normalize(first_line),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::HttpContext;

    #[test]
    fn placeholders() {
        assert_eq!(normalize("took 1500ms"), "took <duration>");
        assert_eq!(normalize("at 2024-05-01T10:00:00Z"), "at <date>");
        assert_eq!(normalize("mail bob@example.com"), "mail <email>");
        assert_eq!(normalize("ptr 0x7ffd1234"), "ptr <hex>");
        assert_eq!(
            normalize("commit 3f786850e387550fdab836ed7e6dc881de23001b"),
            "commit <hex>"
        );
        assert_eq!(normalize("ratio 0.75"), "ratio <float>");
        assert_eq!(normalize("no variables here"), "no variables here");
        assert_eq!(
            normalize("deadbeef"),
            "deadbeef",
            "hex words without digits stay"
        );
    }

    #[test]
    fn hex_ids_after_underscores_are_one_incident() {
        assert_eq!(normalize("req_5f3a9c2d failed"), "req_<hex> failed");
        assert_eq!(normalize("req_9b2c71aa failed"), "req_<hex> failed");
        assert_eq!(normalize("order_5f3a9c2d_retry"), "order_<hex>_retry");
        assert_eq!(normalize("job_17 failed"), "job_<int> failed");
        assert_eq!(normalize("snake_case_name"), "snake_case_name");
        let a = Alert::critical("lookup").message("session sess_4e1c9a0b expired");
        let b = Alert::critical("lookup").message("session sess_a07f3d21 expired");
        assert_eq!(fingerprint_of(&a), fingerprint_of(&b));
    }

    #[test]
    fn same_incident_different_ids() {
        let a = Alert::critical("db error")
            .message("row 17 locked by 10.0.0.1")
            .error_type("sqlx::Error");
        let b = Alert::critical("db error")
            .message("row 42 locked by 10.0.0.9")
            .error_type("sqlx::Error");
        assert_eq!(fingerprint_of(&a), fingerprint_of(&b));
        let c = Alert::critical("db error")
            .message("row 42 locked by 10.0.0.9")
            .error_type("io::Error");
        assert_ne!(fingerprint_of(&a), fingerprint_of(&c));
    }

    #[test]
    fn raw_paths_are_normalised_templates_are_not() {
        let raw = |p: &str| {
            Alert::critical("boom").http(HttpContext {
                method: "GET".into(),
                route: p.into(),
                ..HttpContext::default()
            })
        };
        assert_eq!(
            fingerprint_of(&raw("/users/17")),
            fingerprint_of(&raw("/users/42"))
        );
        let t1 = Alert::critical("boom").route("GET", "/users/{id}");
        let t2 = Alert::critical("boom").route("POST", "/users/{id}");
        assert_ne!(fingerprint_of(&t1), fingerprint_of(&t2));
    }

    #[test]
    fn override_wins() {
        let a = Alert::critical("x").message("1").fingerprint("same");
        let b = Alert::critical("y").message("2").fingerprint("same");
        assert_eq!(fingerprint_of(&a), fingerprint_of(&b));
    }
}
