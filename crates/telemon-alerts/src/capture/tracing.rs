//! A [`tracing_subscriber::Layer`] that turns ERROR events into alerts, with their fields
//! (scrubbed like everything else), the names of the spans they happened in, and the error
//! chain of fields recorded with `record_error`. The crate's own events (target
//! `telemon_alerts…`) and the Bot API sender's (`sentinel_telegram…`) are ignored, so the
//! reporter never reports about itself.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::alert::{Alert, Level};
use crate::telemon::Telemon;

/// Targets never reported by default.
pub const DEFAULT_IGNORED_TARGETS: &[&str] = &["telemon_alerts", "sentinel_telegram"];

/// ERROR events → alerts.
///
/// ```
/// use telemon_alerts::{Telemon, capture::tracing::TelemonTracingLayer};
/// use tracing_subscriber::layer::SubscriberExt;
/// let subscriber = tracing_subscriber::registry().with(TelemonTracingLayer::new(Telemon::disabled()));
/// tracing::subscriber::with_default(subscriber, || tracing::error!(order = 7, "payment failed"));
/// ```
#[derive(Debug, Clone)]
pub struct TelemonTracingLayer {
    telemon: Telemon,
    level: Level,
    ignored: Vec<String>,
}

impl TelemonTracingLayer {
    /// A layer reporting ERROR events as [`Level::Critical`] alerts.
    pub fn new(telemon: Telemon) -> Self {
        Self {
            telemon,
            level: Level::Critical,
            ignored: DEFAULT_IGNORED_TARGETS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }

    /// The alert level for ERROR events.
    #[must_use]
    pub fn alert_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Also ignores events whose target starts with `prefix` (e.g. a noisy dependency).
    #[must_use]
    pub fn ignore_target(mut self, prefix: impl Into<String>) -> Self {
        self.ignored.push(prefix.into());
        self
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(String, String)>,
    chain: Vec<String>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.fields.len() >= 32 {
            return;
        }
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        if field.name() == "message" {
            self.message = s;
        } else {
            self.fields.push((field.name().to_owned(), s));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else if self.fields.len() < 32 {
            self.fields
                .push((field.name().to_owned(), value.to_owned()));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.chain.is_empty() {
            self.chain = crate::alert::error_chain(value);
        }
        if self.fields.len() < 32 {
            self.fields
                .push((field.name().to_owned(), value.to_string()));
        }
    }
}

/// The first 120 characters of `line`. A cut drops the word it falls in: the title is cut
/// before scrubbing, and a secret cut in half no longer looks like one to the scrubber.
fn cut_title(line: &str) -> String {
    match line.char_indices().nth(120) {
        None => line.to_owned(),
        Some((i, _)) => {
            let head = line[..i].trim_end_matches(|c: char| !c.is_whitespace());
            let head = head.trim_end();
            if head.is_empty() {
                String::new()
            } else {
                format!("{head}…")
            }
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for TelemonTracingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() != tracing::Level::ERROR {
            return;
        }
        let target = meta.target();
        if self.ignored.iter().any(|t| target.starts_with(t.as_str())) {
            return;
        }
        let mut f = Fields::default();
        event.record(&mut f);
        let title = match f.message.lines().next().map(cut_title) {
            Some(l) if !l.is_empty() => l,
            _ => format!("error in {target}"),
        };
        // The body repeats nothing: only a message longer than its title (several lines, or
        // cut) is shown again in full.
        let body = if f.message.trim() == title {
            String::new()
        } else {
            f.message
        };
        let mut alert = Alert::new(self.level, title)
            .message(body)
            .detail("target", target)
            .source("tracing");
        if let Some(scope) = ctx.event_scope(event) {
            let spans: Vec<&str> = scope.from_root().map(|s| s.name()).collect();
            if !spans.is_empty() {
                alert = alert.detail("spans", spans.join(" > "));
            }
        }
        if let (Some(file), Some(line)) = (meta.file(), meta.line()) {
            alert = alert.detail("at", format_args!("{file}:{line}"));
        }
        for (k, v) in f.fields {
            alert = alert.detail(k, v);
        }
        alert.error_chain = f.chain;
        self.telemon.report(alert);
    }
}
