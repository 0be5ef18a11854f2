//! Rendering: Telegram HTML with escaping, structure-aware truncation, and the plain-text
//! twin sent when Telegram rejects the markup.
//!
//! A message is a list of blocks, each a self-contained HTML fragment (`<b>…</b>`,
//! `<pre>…</pre>`, `<code>…</code>`). Truncation shortens the *text* inside the longest
//! shrinkable blocks (message, backtrace, details) before escaping, so a tag or an entity is
//! never cut, and the result is at most the limit in characters of HTML source (which is never
//! less than what Telegram counts after parsing entities).

use std::fmt::Write as _;
use std::time::Duration;

use crate::alert::{Alert, Level};

/// Telegram's limit for one message, in characters.
pub const TELEGRAM_MAX_CHARS: usize = 4096;

/// Escapes `<`, `>`, `&` and `"` for Telegram HTML ([`sentinel_telegram::html::escape`], owned).
///
/// ```
/// use telemon_alerts::format::escape_html;
/// assert_eq!(escape_html("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
/// ```
pub fn escape_html(text: &str) -> String {
    // One escaper for the workspace: the sender's.
    sentinel_telegram::html::escape(text).into_owned()
}

/// How a block's text is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Bold,
    Italic,
    Code,
    Pre,
}

impl Style {
    fn tags(self) -> (&'static str, &'static str) {
        match self {
            Self::Plain => ("", ""),
            Self::Bold => ("<b>", "</b>"),
            Self::Italic => ("<i>", "</i>"),
            Self::Code => ("<code>", "</code>"),
            Self::Pre => ("<pre>", "</pre>"),
        }
    }
}

/// One fragment of a line.
#[derive(Debug, Clone)]
struct Span {
    style: Style,
    text: String,
    /// Whether truncation may shorten it.
    shrinkable: bool,
}

/// A message under construction: lines of spans.
#[derive(Debug, Clone, Default)]
pub(crate) struct Doc {
    lines: Vec<Vec<Span>>,
}

/// The two renderings of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// Telegram HTML.
    pub html: String,
    /// The same content without markup (fallback when Telegram rejects the HTML).
    pub plain: String,
}

fn truncate_chars(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
        s.push('…');
    }
}

impl Doc {
    pub(crate) fn line(&mut self) -> LineBuilder<'_> {
        self.lines.push(Vec::new());
        let idx = self.lines.len() - 1;
        LineBuilder { doc: self, idx }
    }

    fn html_len(&self) -> usize {
        let mut n = self.lines.len().saturating_sub(1);
        for line in &self.lines {
            for s in line {
                let (o, c) = s.style.tags();
                n += o.len() + c.len() + escaped_len(&s.text);
            }
        }
        n
    }

    /// Renders within `max` characters of HTML, shortening shrinkable spans as needed.
    pub(crate) fn render(mut self, max: usize) -> Rendered {
        let mut guard = 0;
        loop {
            let len = self.html_len();
            if len <= max || guard > 256 {
                break;
            }
            guard += 1;
            let excess = len - max;
            // The longest shrinkable span.
            let Some(span) = self
                .lines
                .iter_mut()
                .flatten()
                .filter(|s| s.shrinkable && s.text.chars().count() > 1)
                .max_by_key(|s| s.text.len())
            else {
                // Nothing left to shrink: drop lines from the end until it fits.
                if self.lines.len() > 1 {
                    self.lines.pop();
                    continue;
                }
                break;
            };
            let chars = span.text.chars().count();
            // Escaping only grows text, so removing `excess` characters removes at least
            // `excess` HTML characters; +1 for the ellipsis.
            let keep = chars.saturating_sub(excess + 1).max(1);
            truncate_chars(&mut span.text, keep.saturating_sub(1));
            if keep <= 1 {
                span.shrinkable = false;
            }
        }
        let mut html = String::new();
        let mut plain = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                html.push('\n');
                plain.push('\n');
            }
            for s in line {
                let (o, c) = s.style.tags();
                html.push_str(o);
                html.push_str(&escape_html(&s.text));
                html.push_str(c);
                plain.push_str(&s.text);
            }
        }
        // Last resort (only reachable with absurd limits): never exceed `max`.
        if html.chars().count() > max {
            html = escape_html(&plain.chars().take(max / 6).collect::<String>());
        }
        truncate_chars(&mut plain, max.saturating_sub(1));
        Rendered { html, plain }
    }
}

fn escaped_len(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            '<' | '>' => 4,
            '&' => 5,
            '"' => 6,
            _ => 1,
        })
        .sum()
}

/// Adds spans to one line.
pub(crate) struct LineBuilder<'d> {
    doc: &'d mut Doc,
    idx: usize,
}

impl LineBuilder<'_> {
    fn push(self, style: Style, text: impl Into<String>, shrinkable: bool) -> Self {
        self.doc.lines[self.idx].push(Span {
            style,
            text: text.into(),
            shrinkable,
        });
        self
    }
    pub(crate) fn text(self, t: impl Into<String>) -> Self {
        self.push(Style::Plain, t, false)
    }
    pub(crate) fn text_long(self, t: impl Into<String>) -> Self {
        self.push(Style::Plain, t, true)
    }
    pub(crate) fn bold(self, t: impl Into<String>) -> Self {
        self.push(Style::Bold, t, false)
    }
    pub(crate) fn italic(self, t: impl Into<String>) -> Self {
        self.push(Style::Italic, t, false)
    }
    pub(crate) fn code(self, t: impl Into<String>) -> Self {
        self.push(Style::Code, t, false)
    }
    pub(crate) fn code_long(self, t: impl Into<String>) -> Self {
        self.push(Style::Code, t, true)
    }
    pub(crate) fn pre_long(self, t: impl Into<String>) -> Self {
        self.push(Style::Pre, t, true)
    }
}

/// `1.2 s`, `340 ms`, `12 µs`.
pub fn human_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us >= 3_600_000_000 {
        let m = d.as_secs() / 60;
        format!("{}h {}m", m / 60, m % 60)
    } else if us >= 60_000_000 {
        let s = d.as_secs();
        format!("{}m {}s", s / 60, s % 60)
    } else if us >= 10_000_000 {
        format!("{} s", d.as_secs())
    } else if us >= 1_000_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else if us >= 1_000 {
        format!("{} ms", us / 1_000)
    } else {
        format!("{us} µs")
    }
}

/// `9999` → `9,999`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn level_badge(level: Level) -> &'static str {
    match level {
        Level::Critical => "🔴 CRITICAL",
        Level::Warning => "🟡 WARNING",
        Level::Info => "🔵 INFO",
    }
}

/// Who is talking: service, environment, instance (host, pod) and release.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    pub service: String,
    pub environment: String,
    pub instance: String,
    pub release: String,
}

impl Origin {
    fn header(&self, doc: &mut Doc, badge: &str) {
        let mut l = doc.line().bold(badge.to_owned());
        if !self.service.is_empty() {
            l = l.text(" · ").bold(self.service.clone());
        }
        if !self.environment.is_empty() {
            l = l.text(format!(" [{}]", self.environment));
        }
        if !self.instance.is_empty() {
            l = l.text(" · on ").code(self.instance.clone());
        }
        if !self.release.is_empty() {
            let _ = l.text(" · release ").code(self.release.clone());
        }
    }
}

/// This machine's host name, without a dependency: `/proc/sys/kernel/hostname` (Linux), else
/// `HOSTNAME` / `COMPUTERNAME`; empty when none is known.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().chars().take(64).collect())
        .unwrap_or_default()
}

/// A digest window as people read it: `07:10–07:15 UTC` for whole minutes, with seconds
/// otherwise (`07:12:05–07:12:10 UTC`), and the date when the window crosses midnight.
pub(crate) fn window_span(start_secs: u64, end_secs: u64) -> String {
    let whole_minutes = start_secs.is_multiple_of(60) && end_secs.is_multiple_of(60);
    let clock = |t: u64| {
        let s = t % 86_400;
        if whole_minutes {
            format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
        } else {
            format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
        }
    };
    let same_day = start_secs / 86_400 == end_secs.saturating_sub(1) / 86_400;
    if same_day {
        format!("{}–{} UTC", clock(start_secs), clock(end_secs))
    } else {
        format!(
            "{}–{} UTC (until {})",
            clock(start_secs),
            clock(end_secs),
            crate::daily::date_of_day(end_secs / 86_400)
        )
    }
}

/// Counts carried by an alert that follows suppressed repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Suppressed {
    pub count: u64,
    pub over: Option<Duration>,
}

fn suppressed_line(doc: &mut Doc, s: Suppressed) {
    let over = s
        .over
        .map(|d| format!(" (over {})", human_duration(d)))
        .unwrap_or_default();
    let _ = doc
        .line()
        .italic(format!("+{} since last{over}", thousands(s.count)));
}

fn http_line(doc: &mut Doc, a: &Alert) {
    if let Some(h) = a.http.as_ref() {
        let mut l = doc
            .line()
            .code(format!("{} {}", h.method, h.route).trim().to_owned());
        if let Some(status) = h.status {
            l = l.text(format!(" → {status}"));
        }
        if let Some(lat) = h.latency {
            let _ = l.text(format!(" · {}", human_duration(lat)));
        }
    }
}

/// A message of plain text only (no markup), within `max` characters of HTML.
pub(crate) fn plain_only(text: String, max: usize) -> Rendered {
    let mut doc = Doc::default();
    doc.line().text_long(text);
    doc.render(max)
}

/// Renders a (scrubbed) alert.
pub(crate) fn render_alert(
    a: &Alert,
    origin: &Origin,
    fingerprint: &str,
    suppressed: Option<Suppressed>,
    max: usize,
) -> Rendered {
    let mut doc = Doc::default();
    origin.header(&mut doc, level_badge(a.level));
    let _ = doc.line().bold(a.title.clone());
    http_line(&mut doc, a);
    if let Some(s) = suppressed.filter(|s| s.count > 0) {
        suppressed_line(&mut doc, s);
    }
    if !a.message.is_empty() {
        let _ = doc.line().pre_long(a.message.clone());
    }
    if a.error_chain.len() > 1 {
        let _ = doc.line().bold("Caused by");
        for (i, e) in a.error_chain.iter().enumerate().skip(1) {
            let _ = doc.line().text(format!("{i}. ")).text_long(e.clone());
        }
    }
    if let Some(ty) = a.error_type.as_deref() {
        let _ = doc.line().text("type ").code(ty.to_owned());
    }
    if !a.details.is_empty() {
        for (k, v) in &a.details {
            let _ = doc.line().text(format!("{k}: ")).code_long(v.clone());
        }
    }
    if let Some(h) = a.http.as_ref() {
        if let Some(q) = h.query.as_deref().filter(|q| !q.is_empty()) {
            let _ = doc.line().text("query: ").code_long(q.to_owned());
        }
        if !h.headers.is_empty() {
            let mut all = String::new();
            for (k, v) in &h.headers {
                let _ = writeln!(all, "{k}: {v}");
            }
            let _ = doc.line().bold("Headers");
            let _ = doc.line().pre_long(all.trim_end().to_owned());
        }
    }
    if let Some(bt) = a.backtrace.as_deref().filter(|b| !b.is_empty()) {
        let _ = doc.line().bold("Backtrace");
        let _ = doc.line().pre_long(bt.to_owned());
    }
    let mut l = doc
        .line()
        .text("fp ")
        .code(fingerprint.chars().take(12).collect::<String>());
    if let Some(id) = a.occurrence_id.as_deref() {
        l = l.text(" · occurrence ").code(id.to_owned());
    }
    let _ = l;
    doc.render(max)
}

/// Renders the follow-up that reports repeats suppressed since the last alert.
pub(crate) fn render_followup(
    a: &Alert,
    origin: &Origin,
    fingerprint: &str,
    suppressed: Suppressed,
    max: usize,
) -> Rendered {
    let mut doc = Doc::default();
    origin.header(&mut doc, "🔁 REPEATED");
    let _ = doc.line().bold(a.title.clone());
    http_line(&mut doc, a);
    suppressed_line(&mut doc, suppressed);
    if !a.message.is_empty() {
        let _ = doc.line().text("last: ").code_long(a.message.clone());
    }
    let _ = doc
        .line()
        .text("fp ")
        .code(fingerprint.chars().take(12).collect::<String>());
    doc.render(max)
}

/// One line of the flood digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FloodEntry {
    pub title: String,
    pub message: String,
    pub count: u64,
}

/// Renders alerts folded by flood protection.
pub(crate) fn render_flood(
    origin: &Origin,
    entries: &[FloodEntry],
    total: u64,
    distinct: u64,
    max: usize,
) -> Rendered {
    let mut doc = Doc::default();
    origin.header(&mut doc, "🔴 FLOOD");
    let _ = doc.line().bold(format!(
        "{} more alerts ({} distinct) folded into this digest",
        thousands(total),
        thousands(distinct)
    ));
    for e in entries {
        let _ = doc
            .line()
            .text(format!("{}× ", thousands(e.count)))
            .bold(e.title.clone())
            .text(" — ")
            .text_long(e.message.lines().next().unwrap_or("").to_owned());
    }
    let shown = entries.len() as u64;
    if distinct > shown {
        let _ = doc.line().italic(format!(
            "… and {} more distinct",
            thousands(distinct - shown)
        ));
    }
    doc.render(max)
}

/// One endpoint row of a Warning digest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DigestRow {
    pub endpoint: String,
    pub count: u64,
    pub max: Option<Duration>,
    pub p95: Option<Duration>,
    pub sample: String,
}

/// Renders a Warning digest for one window.
pub(crate) fn render_digest(
    origin: &Origin,
    window_label: &str,
    rows: &[DigestRow],
    total_rows: usize,
    max: usize,
) -> Rendered {
    let mut doc = Doc::default();
    origin.header(&mut doc, "🟡 WARNING DIGEST");
    let _ = doc.line().text(window_label.to_owned());
    for r in rows {
        let mut l = doc
            .line()
            .code(r.endpoint.clone())
            .text(format!(" — {}×", thousands(r.count)));
        if let Some(m) = r.max {
            l = l.text(format!(" · max {}", human_duration(m)));
        }
        if let Some(p) = r.p95 {
            l = l.text(format!(" · p95 {}", human_duration(p)));
        }
        if !r.sample.is_empty() {
            l = l.text(" · ").text_long(r.sample.clone());
        }
        let _ = l;
    }
    if total_rows > rows.len() {
        let _ = doc
            .line()
            .italic(format!("… and {} more endpoints", total_rows - rows.len()));
    }
    doc.render(max)
}

/// Renders a free-form report (daily report, health transitions): title and lines.
pub(crate) fn render_report(
    origin: &Origin,
    badge: &str,
    title: &str,
    lines: &[(String, String)],
    max: usize,
) -> Rendered {
    let mut doc = Doc::default();
    origin.header(&mut doc, badge);
    let _ = doc.line().bold(title.to_owned());
    for (k, v) in lines {
        let _ = doc.line().text(format!("{k}: ")).code_long(v.clone());
    }
    doc.render(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_spans_read_as_people_write_them() {
        // Whole minutes: HH:MM.
        assert_eq!(window_span(25_800, 26_100), "07:10–07:15 UTC");
        // A 5 s window no longer reads "07:12–07:12".
        assert_eq!(window_span(25_925, 25_930), "07:12:05–07:12:10 UTC");
        // Ending at midnight stays on its day; crossing it names the next day.
        assert_eq!(window_span(86_100, 86_400), "23:55–00:00 UTC");
        assert_eq!(
            window_span(86_370, 86_430),
            "23:59:30–00:00:30 UTC (until 1970-01-02)"
        );
    }

    /// Checks that every tag opened is closed, in order, and that no `<`/`&` is raw.
    pub(crate) fn balanced(html: &str) -> bool {
        let mut stack = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find(['<', '&']) {
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix('&') {
                if !["&lt;", "&gt;", "&amp;", "&quot;"]
                    .iter()
                    .any(|e| tail.starts_with(e))
                {
                    return false;
                }
                rest = after;
                continue;
            }
            let Some(end) = tail.find('>') else {
                return false;
            };
            let tag = &tail[1..end];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name.to_owned()) {
                    return false;
                }
            } else {
                stack.push(tag.to_owned());
            }
            rest = &tail[end + 1..];
        }
        stack.is_empty()
    }

    fn big_alert() -> Alert {
        Alert::critical("<script>alert(1)</script> & friends")
            .message("é<>&\"🦀".repeat(3000))
            .detail("a<b", "x".repeat(5000))
            .backtrace("at <frame>\n".repeat(400))
    }

    #[test]
    fn truncated_html_is_balanced_and_within_limit() {
        let r = render_alert(
            &big_alert(),
            &Origin::default(),
            "abcdef0123456789",
            None,
            4096,
        );
        assert!(r.html.chars().count() <= 4096, "{}", r.html.chars().count());
        assert!(balanced(&r.html), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(r.plain.chars().count() <= 4096);
        assert!(!r.plain.contains("<b>"));
    }

    #[test]
    fn many_limits_never_break_markup() {
        for max in [200, 333, 512, 1000, 2047, 4096] {
            let r = render_alert(&big_alert(), &Origin::default(), "fp", None, max);
            assert!(r.html.chars().count() <= max, "max {max}");
            assert!(balanced(&r.html), "max {max}");
        }
    }

    #[test]
    fn small_alert_untouched() {
        let a = Alert::critical("db down").message("timeout");
        let r = render_alert(
            &a,
            &Origin {
                service: "api".into(),
                environment: "prod".into(),
                instance: "web-1".into(),
                release: "1.4.2".into(),
            },
            "0123456789abcdef",
            Some(Suppressed {
                count: 9_999,
                over: Some(Duration::from_secs(300)),
            }),
            4096,
        );
        assert!(r.html.contains("<b>db down</b>"));
        assert!(
            r.plain
                .starts_with("🔴 CRITICAL · api [prod] · on web-1 · release 1.4.2\n"),
            "{}",
            r.plain
        );
        assert!(r.html.contains("+9,999 since last (over 5m 0s)"));
        assert!(r.html.contains("<pre>timeout</pre>"));
        assert!(r.plain.contains("db down"));
    }

    #[test]
    fn helpers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(human_duration(Duration::from_millis(340)), "340 ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_duration(Duration::from_secs(3700)), "1h 1m");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn text() -> impl Strategy<Value = String> {
            proptest::string::string_regex("[a-zé🦀<>&\"' \n\\`*_]{0,600}").unwrap()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn any_alert_renders_balanced_within_any_limit(
                title in text(),
                message in text(),
                detail in text(),
                bt in text(),
                repeat in 1usize..12,
                max in 200usize..=4096,
            ) {
                let a = Alert::critical(title.repeat(repeat))
                    .message(message.repeat(repeat))
                    .detail("k", detail.repeat(repeat))
                    .backtrace(bt.repeat(repeat));
                let r = render_alert(&a, &Origin::default(), "fp", None, max);
                prop_assert!(r.html.chars().count() <= max);
                prop_assert!(r.plain.chars().count() <= max);
                prop_assert!(balanced(&r.html), "{}", r.html);
            }
        }
    }
}
