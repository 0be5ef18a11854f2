//! Scrubbing: secrets out of every field **before** anything is stored or sent, and once more
//! over the final rendered message.
//!
//! Defence in depth, each layer in its own module:
//!
//! * [`keys`]: which **keys** name a secret — header names, query parameters, detail, JSON and
//!   `Debug` field names — matched word by word (`X-Auth-Token`, `clientSecret`,
//!   `AWS_SECRET_ACCESS_KEY`), so `author`, `tokenizer`, `passport` and `secretary` survive.
//! * [`key_value`]: values named by a sensitive key in **free text**, whatever the shape:
//!   `key=value`, query strings, headers and cookies, JSON (escaped quotes, JSON inside JSON),
//!   Rust `Debug` (`Some("…")`, tuple pairs, tuple structs, nested structs), percent-encoded
//!   keys, and prose (`password 'x'`, netrc, Redis `AUTH`).
//! * [`patterns`]: secrets recognisable by their **shape** with no key nearby: private-key
//!   blocks (also across lines), URL credentials, `Bearer`/`Basic` credentials, the token
//!   formats of many providers, Luhn-valid card numbers.
//! * Your own rules: [`ScrubConfig::extra_patterns`] and a closure hook
//!   ([`ScrubConfig::hook`]).
//! * A **last pass** over each rendered message before it is handed to the transport, so
//!   nothing that formatting assembles slips through.
//!
//! **Bounded cost**: text is cut to the configured maximum length *before* any pattern runs
//! (with a little slack so a secret at the cut is still recognised whole, and the partial token
//! at the cut is dropped); backtraces are cut to a number of lines first. The `regex` crate is
//! linear-time and the value scanner moves forward only, so no input can make scrubbing slow.

pub mod key_value;
pub mod keys;
pub mod patterns;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use regex::Regex;

use crate::alert::Alert;
pub use keys::{DEFAULT_PII_KEYS, KeyRules};
use keys::{KeyContext, KeyMatcher};
pub use patterns::FILTERED;

/// Extra characters scanned past the cut so a secret crossing it is still recognised.
const SLACK: usize = 512;

/// Longest backtrace line kept, in characters.
const MAX_BACKTRACE_LINE: usize = 300;

/// A closure that scrubs text further (your own secret shapes); see [`ScrubConfig::hook`].
pub type ScrubHook = Arc<dyn for<'a> Fn(&'a str) -> Cow<'a, str> + Send + Sync>;

/// What the scrubber filters and how much text it keeps.
#[derive(Clone)]
pub struct ScrubConfig {
    /// Which keys are sensitive (word lists; see [`keys`]).
    pub keys: KeyRules,
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
    /// A closure run after every built-in rule and the extra patterns, on every text field and
    /// on the final message (see [`ScrubConfig::hook`]).
    pub hook: Option<ScrubHook>,
}

impl fmt::Debug for ScrubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Counts only: a pattern may spell out the very secret it filters.
        f.debug_struct("ScrubConfig")
            .field("sensitive_words", &self.keys.sensitive_words.len())
            .field("exact_keys", &self.keys.exact_keys.len())
            .field("allowed_keys", &self.keys.allowed_keys.len())
            .field("send_pii", &self.send_pii)
            .field("max_string_len", &self.max_string_len)
            .field("max_backtrace_lines", &self.max_backtrace_lines)
            .field("max_details", &self.max_details)
            .field("extra_patterns", &self.extra_patterns.len())
            .field("hook", &self.hook.is_some())
            .finish()
    }
}

impl Default for ScrubConfig {
    fn default() -> Self {
        Self {
            keys: KeyRules::default(),
            send_pii: false,
            max_string_len: 2048,
            max_backtrace_lines: 30,
            max_details: 40,
            extra_patterns: Vec::new(),
            hook: None,
        }
    }
}

impl ScrubConfig {
    /// Adds a closure run after the built-in rules on every text field, and again on the
    /// final message — so make it idempotent (scrubbing its own output changes nothing).
    /// Return [`Cow::Borrowed`] when nothing changes.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use telemon_alerts::scrub::{ScrubConfig, Scrubber};
    ///
    /// let config = ScrubConfig::default().hook(|text: &str| match text.find("EMP-") {
    ///     Some(i) if text[i + 4..].starts_with(|c: char| c.is_ascii_digit()) => {
    ///         let end = text[i + 4..]
    ///             .find(|c: char| !c.is_ascii_digit())
    ///             .map_or(text.len(), |n| i + 4 + n);
    ///         Cow::Owned(format!("{}EMP-[Filtered]{}", &text[..i], &text[end..]))
    ///     }
    ///     _ => Cow::Borrowed(text),
    /// });
    /// let s = Scrubber::new(config);
    /// assert_eq!(s.scrub_text("badge EMP-204863 denied"), "badge EMP-[Filtered] denied");
    /// assert_eq!(s.scrub_text("badge EMP-[Filtered] denied"), "badge EMP-[Filtered] denied");
    /// ```
    #[must_use]
    pub fn hook(
        mut self,
        hook: impl for<'a> Fn(&'a str) -> Cow<'a, str> + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
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
/// assert_eq!(
///     s.scrub_text(r#"Config { api_key: Some("k-123"), port: 80 }"#),
///     r#"Config { api_key: Some("[Filtered]"), port: 80 }"#
/// );
/// assert!(s.is_sensitive_key("X-Auth-Token"));
/// assert!(!s.is_sensitive_key("author"));
/// assert_eq!(s.scrub_query("page=2&token=abc"), "page=2&token=[Filtered]");
/// ```
#[derive(Debug, Clone)]
pub struct Scrubber {
    config: ScrubConfig,
    keys: KeyMatcher,
}

impl Default for Scrubber {
    fn default() -> Self {
        Self::new(ScrubConfig::default())
    }
}

/// The byte index of the `n`th character, or `None` if `s` is shorter.
fn char_boundary(s: &str, n: usize) -> Option<usize> {
    s.char_indices().nth(n).map(|(i, _)| i)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=' | '.' | '~' | '%')
}

/// Cuts `out` to `max` characters, dropping the partial token at the cut (it may be the start
/// of a secret the rules could not recognise because it continued past the scan) and marking
/// the cut with `…`. Returns whether it cut.
fn cut_at_token(out: &mut String, max: usize) -> bool {
    let Some(i) = char_boundary(out, max) else {
        return false;
    };
    out.truncate(i);
    let keep = out.trim_end_matches(is_token_char).len();
    out.truncate(keep);
    out.push('…');
    true
}

impl Scrubber {
    /// A scrubber for `config`.
    pub fn new(config: ScrubConfig) -> Self {
        let keys = KeyMatcher::new(config.keys.clone(), config.send_pii);
        Self { config, keys }
    }

    /// The configuration.
    pub fn config(&self) -> &ScrubConfig {
        &self.config
    }

    /// Whether values under `key` are filtered (header names, detail and JSON keys; see
    /// [`keys`]). Case-insensitive; `-`, `_` and `.` separate words.
    pub fn is_sensitive_key(&self, key: &str) -> bool {
        self.keys.is_sensitive(key, KeyContext::Field)
    }

    /// Every rule over the whole of `text`, with no cut. Text holding percent escapes is also
    /// read decoded (`tok%65n=…`, `123%3AAA…`, a JSON body in a query value): when the decoded
    /// reading reveals a secret, the decoded, scrubbed text replaces it.
    fn scrub_whole<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = self.rules(text);
        // JSON escapes (`pass\u0077ord`, `\u0022` quotes of JSON in JSON, `\/\/` in URLs):
        // read unescaped too.
        if let Some(unescaped) = key_value::json_unescape(&out)
            && let Cow::Owned(clean) = self.rules(&unescaped)
        {
            out = Cow::Owned(clean);
        }
        // Percent escapes, decoded up to twice (`%253D` is a double-encoded `=`): when a
        // decoded reading reveals a secret, the decoded, scrubbed text replaces it.
        if !key_value::has_percent_escape(&out) {
            return out;
        }
        let once = key_value::percent_decode(&out).into_owned();
        if let Cow::Owned(clean) = self.rules(&once) {
            return Cow::Owned(clean);
        }
        if key_value::has_percent_escape(&once) {
            let twice = key_value::percent_decode(&once);
            if let Cow::Owned(clean) = self.rules(&twice) {
                return Cow::Owned(clean);
            }
        }
        out
    }

    /// Shapes, named values, the extra patterns, the hook.
    fn rules<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = patterns::scrub_text(text);
        if let Cow::Owned(s) = key_value::scrub(&out, &self.keys) {
            out = Cow::Owned(s);
        }
        for re in &self.config.extra_patterns {
            if let Cow::Owned(s) = re.replace_all(&out, FILTERED) {
                out = Cow::Owned(s);
            }
        }
        if let Some(hook) = &self.config.hook
            && let Cow::Owned(s) = hook(&out)
        {
            out = Cow::Owned(s);
        }
        out
    }

    /// Scrubs free text: cut to the maximum length, then every secret replaced.
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
        let mut out = self.scrub_whole(scan).into_owned();
        if cut_at.is_some() {
            cut_at_token(&mut out, max);
        }
        out
    }

    /// The last pass over a whole rendered message (no cut): `None` when nothing in it needed
    /// filtering, which is the normal case since every field was scrubbed already.
    pub(crate) fn last_pass(&self, message: &str) -> Option<String> {
        match self.scrub_whole(message) {
            // A rule may rebuild the text without changing it (a replacer that keeps a
            // look-alike): only a real change counts.
            Cow::Owned(s) if s != message => Some(s),
            _ => None,
        }
    }

    /// Scrubs a query string (`a=1&token=x`): values of sensitive parameters (including
    /// query-only ones such as OAuth's `code`) are filtered; the others are shown
    /// percent-decoded and scanned like free text.
    ///
    /// ```
    /// # use telemon_alerts::scrub::Scrubber;
    /// let s = Scrubber::default();
    /// assert_eq!(s.scrub_query("code=4%2F0Ab&page=2"), "code=[Filtered]&page=2");
    /// assert_eq!(
    ///     s.scrub_query("q=%7B%22password%22%3A%22x1%22%7D"),
    ///     r#"q={"password":"[Filtered]"}"#
    /// );
    /// ```
    pub fn scrub_query(&self, query: &str) -> String {
        let cut = char_boundary(query, self.config.max_string_len).unwrap_or(query.len());
        let mut out = String::with_capacity(cut);
        for (n, pair) in query[..cut].split('&').enumerate() {
            if n > 0 {
                out.push('&');
            }
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = key_value::percent_decode(k);
            let value = key_value::percent_decode(v);
            out.push_str(&self.scrub_text_max(&key, 128));
            if pair.contains('=') {
                out.push('=');
            }
            if !value.is_empty() && self.keys.is_sensitive(&key, KeyContext::Query) {
                out.push_str(FILTERED);
            } else {
                out.push_str(&self.scrub_text(&value));
            }
        }
        if cut < query.len() {
            cut_at_token(&mut out, self.config.max_string_len);
        }
        out
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

    /// Scrubs a backtrace: at most `max_backtrace_lines` lines, scanned **as a whole** (a
    /// private key printed across lines goes whole), then each line cut to 300 characters.
    pub fn scrub_backtrace(&self, backtrace: &str) -> String {
        let max = self.config.max_backtrace_lines;
        let mut lines = backtrace.lines();
        let mut kept = String::new();
        for line in lines.by_ref().take(max) {
            if !kept.is_empty() {
                kept.push('\n');
            }
            // Bound each line before scanning (with slack, so a secret at the cut is seen).
            let end = char_boundary(line, MAX_BACKTRACE_LINE + SLACK).unwrap_or(line.len());
            kept.push_str(&line[..end]);
        }
        let rest = lines.count();
        let scrubbed = self.scrub_whole(&kept);
        let mut out = String::with_capacity(scrubbed.len());
        for (i, line) in scrubbed.lines().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let mut line = line.to_owned();
            cut_at_token(&mut line, MAX_BACKTRACE_LINE);
            out.push_str(&line);
        }
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
            alert.backtrace = Some(crate::backtrace::fold_frameworks(&raw.0.to_string()));
        }
        alert.backtrace = alert.backtrace.map(|b| self.scrub_backtrace(&b));
        alert.fingerprint = alert.fingerprint.map(|f| self.scrub_text_max(&f, 256));
        alert
    }
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
        assert_eq!(s.scrub_query("api%5Fkey=abc&x=1"), "api_key=[Filtered]&x=1");
        assert_eq!(s.scrub_query("a=%"), "a=%");
    }

    #[test]
    fn double_percent_encoding_and_json_escapes_are_read_through() {
        let s = Scrubber::default();
        let out = s.scrub_text("q=api_key%253Ddbl-2Wm8%2526x%253D1");
        assert!(!out.contains("dbl-2Wm8"), "{out}");
        let out = s.scrub_text(r#"{"body":"{\u0022password\u0022:\u0022uq-5Tz2\u0022}"}"#);
        assert!(!out.contains("uq-5Tz2"), "{out}");
        let out = s.scrub_text(r#"{"pass\u0077ord":"uk-7Hq3"}"#);
        assert!(!out.contains("uk-7Hq3"), "{out}");
        // Harmless escapes are left as they are.
        assert_eq!(s.scrub_text("a%2520b \\u0041"), "a%2520b \\u0041");
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
