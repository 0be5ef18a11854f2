//! Scrubbing: secrets out of every field **before** anything is stored or sent.
//!
//! * Sensitive **keys** (header names, query parameters, detail keys, JSON keys), compared
//!   case-insensitively with `-` read as `_`: exact names (`authorization`, `cookie`, `otp`,
//!   `key`, …) and fragments (`password`, `token`, `secret`, `api_key`, `session`, …). Their
//!   values become `[Filtered]`.
//! * Secret-shaped **values** anywhere in free text (messages, error chains, backtraces, query
//!   strings, header and detail values): `key=value` secrets, Bearer/Basic credentials, JWTs,
//!   Telegram bot tokens, URLs with credentials (including `redis://:pw@host`), AWS, Google,
//!   Slack, GitHub and Stripe keys, private-key blocks and Luhn-valid card numbers.
//! * **Bounded cost**: text is cut to the configured maximum length *before* any pattern runs
//!   (with a little slack so a secret at the cut is still recognised whole, and the partial
//!   token at the cut is dropped); backtraces are cut to a number of lines first. The `regex`
//!   crate is linear-time, so no input can make scrubbing slow.

pub mod patterns;

use std::borrow::Cow;
use std::fmt;

use regex::Regex;

use crate::alert::Alert;
pub use patterns::FILTERED;

/// Headers always filtered (normalised: lower case, `_` for `-`).
pub const DEFAULT_SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy_authorization",
    "cookie",
    "set_cookie",
    "x_api_key",
    "api_key",
    "apikey",
    "x_auth_token",
    "x_csrf_token",
    "x_xsrf_token",
    "x_session_id",
    "x_telegram_bot_api_secret_token",
    "x_amz_security_token",
];

/// Headers that identify a person (client addresses); filtered unless PII is allowed.
pub const DEFAULT_PII_HEADERS: &[&str] = &[
    "x_forwarded_for",
    "x_real_ip",
    "forwarded",
    "cf_connecting_ip",
    "true_client_ip",
];

/// Key fragments: a key containing any of these is sensitive (`db_password`, `X-Auth-Token`).
pub const DEFAULT_KEY_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "auth",
    "credential",
    "privatekey",
    "private_key",
    "session",
    "cookie",
    "csrf",
    "xsrf",
    "bearer",
    "signature",
];

/// Keys that are sensitive only as a whole (a fragment `key` would hit `monkey`).
pub const DEFAULT_EXACT_KEYS: &[&str] = &[
    "otp",
    "two_factor",
    "key",
    "sig",
    "pin",
    "cvv",
    "cvc",
    "card_number",
    "ssn",
];

/// Keys that identify a person; filtered unless PII is allowed.
pub const DEFAULT_PII_KEYS: &[&str] = &["ip_address", "remote_addr", "client_ip"];

/// Extra characters scanned past the cut so a secret crossing it is still recognised.
const SLACK: usize = 512;

/// What the scrubber filters and how much text it keeps.
#[derive(Clone)]
pub struct ScrubConfig {
    /// Header names whose values are always filtered (any case, `-` = `_`).
    pub sensitive_headers: Vec<String>,
    /// Key fragments (substring match) that make a key sensitive.
    pub key_fragments: Vec<String>,
    /// Keys sensitive only as a whole.
    pub exact_keys: Vec<String>,
    /// Keep client addresses (`X-Forwarded-For`, `ip_address`) instead of filtering them.
    pub send_pii: bool,
    /// Longest kept string, in characters (longer ones are cut before scanning).
    pub max_string_len: usize,
    /// Most backtrace lines kept.
    pub max_backtrace_lines: usize,
    /// Most details kept per alert.
    pub max_details: usize,
    /// Extra value patterns: every match is replaced by `[Filtered]`.
    pub extra_patterns: Vec<Regex>,
}

impl fmt::Debug for ScrubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScrubConfig")
            .field("sensitive_headers", &self.sensitive_headers.len())
            .field("key_fragments", &self.key_fragments.len())
            .field("exact_keys", &self.exact_keys.len())
            .field("send_pii", &self.send_pii)
            .field("max_string_len", &self.max_string_len)
            .field("max_backtrace_lines", &self.max_backtrace_lines)
            .field("max_details", &self.max_details)
            .field("extra_patterns", &self.extra_patterns.len())
            .finish()
    }
}

impl Default for ScrubConfig {
    fn default() -> Self {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Self {
            sensitive_headers: own(DEFAULT_SENSITIVE_HEADERS),
            key_fragments: own(DEFAULT_KEY_FRAGMENTS),
            exact_keys: own(DEFAULT_EXACT_KEYS),
            send_pii: false,
            max_string_len: 2048,
            max_backtrace_lines: 30,
            max_details: 40,
            extra_patterns: Vec::new(),
        }
    }
}

/// Applies a [`ScrubConfig`].
///
/// ```
/// use telemon_alerts::scrub::Scrubber;
///
/// let s = Scrubber::default();
/// assert_eq!(
///     s.scrub_text("connect redis://:hunter2@cache:6379 failed"),
///     "connect redis://[Filtered]@cache:6379 failed"
/// );
/// assert!(s.is_sensitive_key("X-Auth-Token"));
/// assert!(!s.is_sensitive_key("monkey"));
/// assert_eq!(s.scrub_query("page=2&token=abc"), "page=2&token=[Filtered]");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    config: ScrubConfig,
}

/// `X-Api-Key` → `x_api_key`.
fn normalise_key(key: &str) -> Cow<'_, str> {
    if key.bytes().all(|b| !b.is_ascii_uppercase() && b != b'-') {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(
            key.chars()
                .map(|c| {
                    if c == '-' {
                        '_'
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
        )
    }
}

/// The byte index of the `n`th character, or `None` if `s` is shorter.
fn char_boundary(s: &str, n: usize) -> Option<usize> {
    s.char_indices().nth(n).map(|(i, _)| i)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=' | '.' | '~' | '%')
}

impl Scrubber {
    /// A scrubber for `config`.
    pub fn new(config: ScrubConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &ScrubConfig {
        &self.config
    }

    /// Whether values under `key` are filtered (header names, query parameters, detail and
    /// JSON keys). Case-insensitive; `-` and `_` are the same.
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        let k = normalise_key(key);
        let k = k.as_ref();
        if self.config.exact_keys.iter().any(|e| e == k)
            || self.config.sensitive_headers.iter().any(|e| e == k)
            || self
                .config
                .key_fragments
                .iter()
                .any(|f| k.contains(f.as_str()))
        {
            return true;
        }
        !self.config.send_pii && (DEFAULT_PII_HEADERS.contains(&k) || DEFAULT_PII_KEYS.contains(&k))
    }

    /// Scrubs free text: cut to the maximum length, then every secret-shaped value replaced.
    pub fn scrub_text(&self, text: &str) -> String {
        self.scrub_text_max(text, self.config.max_string_len)
    }

    fn scrub_text_max(&self, text: &str, max: usize) -> String {
        let cut_at = char_boundary(text, max);
        let scan = match cut_at {
            None => text,
            // Scan a little past the cut so a secret crossing it is recognised whole.
            Some(_) => match char_boundary(text, max.saturating_add(SLACK)) {
                Some(i) => &text[..i],
                None => text,
            },
        };
        let mut out = patterns::scrub_text(scan).into_owned();
        for re in &self.config.extra_patterns {
            if let Cow::Owned(s) = re.replace_all(&out, FILTERED) {
                out = s;
            }
        }
        if cut_at.is_some()
            && let Some(i) = char_boundary(&out, max)
        {
            out.truncate(i);
            // Drop the partial token at the cut: it may be the start of a secret that
            // the patterns could not recognise because it continued past the scan.
            let keep = out.trim_end_matches(is_token_char).len();
            out.truncate(keep);
            out.push('…');
        }
        out
    }

    /// Scrubs a query string (`a=1&token=x`): values of sensitive parameters are filtered,
    /// the rest are scanned like free text.
    pub fn scrub_query(&self, query: &str) -> String {
        let query = self.scrub_text(query);
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if self.is_sensitive_key(&percent_decode_lossy(k)) => {
                    if v.is_empty() {
                        pair.to_owned()
                    } else {
                        format!("{k}={FILTERED}")
                    }
                }
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Scrubs `(name, value)` headers: sensitive names lose their value, others are scanned.
    pub fn scrub_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers
            .iter()
            .take(self.config.max_details)
            .map(|(k, v)| {
                let k = self.scrub_text_max(k, 128);
                if self.is_sensitive_key(&k) {
                    (k, FILTERED.to_owned())
                } else {
                    let v = self.scrub_text(v);
                    (k, v)
                }
            })
            .collect()
    }

    /// Scrubs a backtrace: at most `max_backtrace_lines` lines, each scanned.
    pub fn scrub_backtrace(&self, backtrace: &str) -> String {
        let max = self.config.max_backtrace_lines;
        let mut lines = backtrace.lines();
        let mut out = String::new();
        for line in lines.by_ref().take(max) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&self.scrub_text_max(line, 300));
        }
        let rest = lines.count();
        if rest > 0 {
            out.push_str(&format!("\n… {rest} more lines"));
        }
        out
    }

    /// Scrubs every field of `alert`.
    pub(crate) fn scrub_alert(&self, mut alert: Alert) -> Alert {
        alert.title = self.scrub_text_max(&alert.title, 256);
        alert.message = self.scrub_text(&alert.message);
        alert.details.truncate(self.config.max_details);
        for (k, v) in &mut alert.details {
            *k = self.scrub_text_max(k, 128);
            *v = if self.is_sensitive_key(k) {
                FILTERED.to_owned()
            } else {
                self.scrub_text(v)
            };
        }
        alert.error_type = alert.error_type.map(|t| self.scrub_text_max(&t, 256));
        alert.error_chain.truncate(16);
        for e in &mut alert.error_chain {
            *e = self.scrub_text(e);
        }
        if let Some(http) = alert.http.as_mut() {
            http.method = self.scrub_text_max(&http.method, 16);
            // A raw path may carry a token segment (`/reset/<token>`): scan it too.
            http.route = self.scrub_text_max(&http.route, 512);
            http.query = http.query.as_deref().map(|q| self.scrub_query(q));
            http.headers = self.scrub_headers(&http.headers);
        }
        if alert.backtrace.is_none()
            && let Some(raw) = alert.raw_backtrace.take()
        {
            alert.backtrace = Some(in_app_frames(&raw.0.to_string()));
        }
        alert.backtrace = alert.backtrace.map(|b| self.scrub_backtrace(&b));
        alert.fingerprint = alert.fingerprint.map(|f| self.scrub_text_max(&f, 256));
        alert
    }
}

/// Drops the frames of the panic machinery and the runtime from a rendered `std` backtrace
/// (frame lines and their `at file:line` lines), keeping the application's.
fn in_app_frames(rendered: &str) -> String {
    const NOISE: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "__rust",
        "rust_begin_unwind",
        "tokio::",
        "futures_util::",
        "futures_core::",
        "telemon_alerts::",
        "tower::",
        "axum::",
        "hyper::",
        "<core::",
        "<alloc::",
        "<std::",
        "<futures_util::",
        "<tokio::",
        "<telemon_alerts::",
        "<tower::",
        "<axum::",
        "_start",
        "__libc_start",
        "start_thread",
        "clone3",
    ];
    let mut out = Vec::new();
    let mut keep_location = false;
    for line in rendered.lines() {
        let t = line.trim_start();
        if t.starts_with("at ") {
            if keep_location {
                out.push(line);
            }
            continue;
        }
        let name = t.split_once(": ").map_or(t, |(_, n)| n);
        keep_location = !NOISE.iter().any(|n| name.starts_with(n));
        if keep_location {
            out.push(line);
        }
    }
    if out.is_empty() {
        rendered.to_owned()
    } else {
        out.join("\n")
    }
}

/// `%5F` → `_` for key comparison (invalid escapes are kept as they are).
fn percent_decode_lossy(s: &str) -> Cow<'_, str> {
    if !s.contains('%') && !s.contains('+') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_and_dash_insensitive() {
        let s = Scrubber::default();
        for k in [
            "Authorization",
            "COOKIE",
            "x-api-key",
            "X_Api_Key",
            "db_password",
            "Set-Cookie",
            "otp",
            "X-Forwarded-For",
            "client_secret",
        ] {
            assert!(s.is_sensitive_key(k), "{k}");
        }
        for k in [
            "monkey",
            "keyword",
            "user_id",
            "page",
            "content-type",
            "accept",
        ] {
            assert!(!s.is_sensitive_key(k), "{k}");
        }
    }

    #[test]
    fn pii_headers_kept_when_allowed() {
        let s = Scrubber::new(ScrubConfig {
            send_pii: true,
            ..ScrubConfig::default()
        });
        assert!(!s.is_sensitive_key("X-Forwarded-For"));
        assert!(s.is_sensitive_key("authorization"));
    }

    #[test]
    fn percent_encoded_query_keys() {
        let s = Scrubber::default();
        assert_eq!(
            s.scrub_query("api%5Fkey=abc&x=1"),
            "api%5Fkey=[Filtered]&x=1"
        );
        assert_eq!(s.scrub_query("a=%"), "a=%");
    }

    #[test]
    fn huge_input_is_cut_before_scanning_and_secret_at_cut_is_dropped() {
        let s = Scrubber::new(ScrubConfig {
            max_string_len: 100,
            ..ScrubConfig::default()
        });
        let secret = "Zq9".repeat(400); // a long token crossing the cut and the slack
        let text = format!("{}{}", "a ".repeat(45), secret);
        let out = s.scrub_text(&text);
        assert!(out.chars().count() <= 101);
        assert!(!out.contains("Zq9"), "{out}");
        assert!(out.ends_with('…'));
        let huge = "x".repeat(5_000_000);
        assert!(s.scrub_text(&huge).chars().count() <= 101);
    }

    #[test]
    fn backtrace_lines_are_capped() {
        let s = Scrubber::new(ScrubConfig {
            max_backtrace_lines: 3,
            ..ScrubConfig::default()
        });
        let bt = (0..10)
            .map(|i| format!("frame {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let out = s.scrub_backtrace(&bt);
        assert_eq!(out, "frame 0\nframe 1\nframe 2\n… 7 more lines");
    }

    #[test]
    fn utf8_cut_never_panics() {
        let s = Scrubber::new(ScrubConfig {
            max_string_len: 7,
            ..ScrubConfig::default()
        });
        for text in ["é".repeat(20), "🦀".repeat(20), "aé🦀".repeat(9)] {
            let out = s.scrub_text(&text);
            assert!(out.chars().count() <= 8);
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn scrubbing_never_panics_and_is_bounded(s in any::<String>(), max in 1usize..300) {
                let sc = Scrubber::new(ScrubConfig { max_string_len: max, ..ScrubConfig::default() });
                let out = sc.scrub_text(&s);
                prop_assert!(out.chars().count() <= max + 1);
                let _ = sc.scrub_query(&s);
                let _ = sc.scrub_backtrace(&s);
            }

            #[test]
            fn planted_password_never_survives(prefix in "[a-z ]{0,40}", pw in "[A-Za-z0-9!$#*]{8,30}") {
                let out = Scrubber::default().scrub_text(&format!("{prefix} password={pw} end"));
                prop_assert!(!out.contains(&pw), "{}", out);
            }
        }
    }
}
