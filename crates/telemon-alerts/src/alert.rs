//! [`Alert`]: what a capture point hands to the pipeline, and its [`Level`].

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// Any error a service returns, boxed: what [`Alert::error`] and the task wrappers accept
/// through `Into` (`anyhow::Error` converts into it, keeping its chain).
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// How loud an alert is, which decides its route.
///
/// * [`Level::Critical`]: sent at once (after deduplication).
/// * [`Level::Warning`]: folded into a digest per window (per endpoint: count, max, p95).
/// * [`Level::Info`]: sent at once, silently (`disable_notification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum Level {
    /// Informational: delivered without a notification sound.
    Info,
    /// Something degraded: collected into a periodic digest.
    Warning,
    /// Something broke: delivered at once.
    #[default]
    Critical,
}

impl Level {
    /// Lower-case name: `critical`, `warning`, `info`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }

    /// All levels, loudest first.
    pub const ALL: [Self; 3] = [Self::Critical, Self::Warning, Self::Info];
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HTTP side of an alert: set by the axum layer, or by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpContext {
    /// Request method (`GET`).
    pub method: String,
    /// The route template (`/users/{id}`) when known, otherwise the raw path.
    pub route: String,
    /// Whether `route` is a template (from axum's `MatchedPath`) rather than a raw path.
    pub route_is_template: bool,
    /// The query string without `?` (scrubbed before use).
    pub query: Option<String>,
    /// Response status, if one was produced.
    pub status: Option<u16>,
    /// Time from request to response (or panic).
    pub latency: Option<Duration>,
    /// Request headers (only when header capture is enabled; scrubbed before use).
    pub headers: Vec<(String, String)>,
}

/// A captured, not yet rendered backtrace (compares equal to any other).
#[derive(Clone)]
pub(crate) struct RawBacktrace(pub(crate) std::sync::Arc<std::backtrace::Backtrace>);

impl PartialEq for RawBacktrace {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for RawBacktrace {}

/// One thing worth telling a human about.
///
/// Built with [`Alert::critical`], [`Alert::warning`] or [`Alert::info`] and the chained
/// setters. Nothing here is scrubbed yet: the pipeline scrubs every field before anything is
/// stored or sent.
///
/// ```
/// use telemon_alerts::{Alert, Level};
///
/// let alert = Alert::critical("payment failed")
///     .message("card declined for order 1234")
///     .detail("order", "1234")
///     .fingerprint("payments:declined");
/// assert_eq!(alert.level(), Level::Critical);
/// assert_eq!(alert.title_str(), "payment failed");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Alert {
    pub(crate) level: Level,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) details: Vec<(String, String)>,
    pub(crate) error_type: Option<String>,
    pub(crate) error_chain: Vec<String>,
    pub(crate) http: Option<HttpContext>,
    pub(crate) backtrace: Option<String>,
    /// Captured by the panic hook; rendered (symbols resolved) on the worker.
    pub(crate) raw_backtrace: Option<RawBacktrace>,
    pub(crate) fingerprint: Option<String>,
    pub(crate) occurrence_id: Option<String>,
    pub(crate) source: Option<&'static str>,
}

impl fmt::Debug for Alert {
    // Unscrubbed content may hold secrets: Debug shows the shape, not the text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alert")
            .field("level", &self.level)
            .field("title_len", &self.title.len())
            .field("message_len", &self.message.len())
            .field("details", &self.details.len())
            .field("error_chain", &self.error_chain.len())
            .field("http", &self.http.is_some())
            .field("occurrence_id", &self.occurrence_id)
            .finish_non_exhaustive()
    }
}

impl Alert {
    /// An alert of `level` titled `title`.
    pub fn new(level: Level, title: impl Into<String>) -> Self {
        Self {
            level,
            title: title.into(),
            ..Self::default()
        }
    }

    /// A [`Level::Critical`] alert.
    pub fn critical(title: impl Into<String>) -> Self {
        Self::new(Level::Critical, title)
    }

    /// A [`Level::Warning`] alert.
    pub fn warning(title: impl Into<String>) -> Self {
        Self::new(Level::Warning, title)
    }

    /// A [`Level::Info`] alert.
    pub fn info(title: impl Into<String>) -> Self {
        Self::new(Level::Info, title)
    }

    /// Sets the level.
    #[must_use]
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Sets the message body.
    #[must_use]
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Adds a `key: value` detail. Values of sensitive keys are filtered.
    #[must_use]
    pub fn detail(mut self, key: impl Into<String>, value: impl fmt::Display) -> Self {
        self.details.push((key.into(), value.to_string()));
        self
    }

    /// Records `error` and its whole `source()` chain (rendered outermost first, under
    /// "Caused by"). Takes any error a service returns: a concrete error type,
    /// `Box<dyn Error + Send + Sync>`, `anyhow::Error` (its context chain), or a string. The
    /// type name shown and used for grouping is `E`'s (`io::Error`, `anyhow::Error`) unless set
    /// with [`Alert::error_type`]. To record an error you only borrow, use [`Alert::error_ref`].
    ///
    /// ```
    /// use telemon_alerts::Alert;
    /// let boxed: Box<dyn std::error::Error + Send + Sync> = "connection reset".into();
    /// let a = Alert::critical("sync failed").error(boxed);
    /// # let _ = a;
    /// let a = Alert::critical("sync failed").error(std::io::Error::other("disk full"));
    /// # let _ = a;
    /// ```
    #[must_use]
    pub fn error<E: Into<BoxError>>(mut self, error: E) -> Self {
        let ty = std::any::type_name::<E>();
        let boxed: BoxError = error.into();
        self.record_error(ty, &*boxed);
        self
    }

    /// [`Alert::error`] for an error behind a reference (it is not consumed).
    #[must_use]
    pub fn error_ref<E: StdError + ?Sized + 'static>(mut self, error: &E) -> Self {
        self.record_error(std::any::type_name::<E>(), error);
        self
    }

    fn record_error<E: StdError + ?Sized + 'static>(&mut self, type_name: &str, error: &E) {
        if self.error_type.is_none() {
            self.error_type = Some(short_type_name(type_name));
        }
        self.error_chain = error_chain(error);
        if self.message.is_empty()
            && let Some(first) = self.error_chain.first()
        {
            self.message = first.clone();
        }
    }

    /// Sets the error type used for grouping and ignore lists (`io::Error`, `panic`).
    #[must_use]
    pub fn error_type(mut self, ty: impl Into<String>) -> Self {
        self.error_type = Some(ty.into());
        self
    }

    /// Attaches an HTTP context.
    #[must_use]
    pub fn http(mut self, http: HttpContext) -> Self {
        self.http = Some(http);
        self
    }

    /// Sets route, method and status in one go (route is treated as a template).
    #[must_use]
    pub fn route(mut self, method: impl Into<String>, route: impl Into<String>) -> Self {
        let http = self.http.get_or_insert_with(HttpContext::default);
        http.method = method.into();
        http.route = route.into();
        http.route_is_template = true;
        self
    }

    /// Sets the response status.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.http.get_or_insert_with(HttpContext::default).status = Some(status);
        self
    }

    /// Sets the latency.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.http.get_or_insert_with(HttpContext::default).latency = Some(latency);
        self
    }

    /// Attaches a rendered backtrace (lines are capped and scrubbed).
    #[must_use]
    pub fn backtrace(mut self, backtrace: impl Into<String>) -> Self {
        self.backtrace = Some(backtrace.into());
        self
    }

    /// Attaches the backtrace recorded by the panic hook on this thread, if any.
    pub(crate) fn with_panic_backtrace(mut self) -> Self {
        if let Some(bt) = crate::capture::panic_hook::take() {
            self.raw_backtrace = Some(RawBacktrace(bt));
        }
        self
    }

    /// Overrides the computed fingerprint: alerts with the same override are one incident.
    #[must_use]
    pub fn fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    /// Sets the occurrence id (the axum layer sets the one it returned to the client).
    #[must_use]
    pub fn occurrence_id(mut self, id: impl Into<String>) -> Self {
        self.occurrence_id = Some(id.into());
        self
    }

    /// Names the capture point (`axum`, `tracing`, `task`, `health`, `manual`).
    #[must_use]
    pub fn source(mut self, source: &'static str) -> Self {
        self.source = Some(source);
        self
    }

    /// The level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// The title (unscrubbed).
    pub fn title_str(&self) -> &str {
        &self.title
    }

    /// The HTTP context, if any.
    pub fn http_context(&self) -> Option<&HttpContext> {
        self.http.as_ref()
    }
}

/// The `Display` of `error` and of each `source()`, outermost first, at most 32 deep.
pub(crate) fn error_chain<E: StdError + ?Sized + 'static>(error: &E) -> Vec<String> {
    let mut out = vec![error.to_string()];
    let mut next = error.source();
    while let Some(e) = next {
        if out.len() >= 32 {
            break;
        }
        out.push(e.to_string());
        next = e.source();
    }
    out
}

/// `std::io::error::Error` → `io::Error`; generic arguments kept.
///
/// The parent module and the type name, skipping private modules named `error`/`errors`
/// (`std::io::error::Error`, `serde_json::error::Error`): those are not the paths users write,
/// and `error::Error` says nothing about which error it is.
pub(crate) fn short_type_name(full: &str) -> String {
    let outer_end = full.find('<').unwrap_or(full.len());
    let (head, generics) = full.split_at(outer_end);
    let segments: Vec<&str> = head.split("::").collect();
    let Some((last, path)) = segments.split_last() else {
        return full.to_owned();
    };
    match path
        .iter()
        .rev()
        .find(|s| !matches!(**s, "error" | "errors"))
    {
        Some(parent) => format!("{parent}::{last}{generics}"),
        None => full.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer failed")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_chain_is_outermost_first_and_sets_message() {
        let e = Outer(std::io::Error::other("disk full"));
        let a = Alert::critical("x").error(e);
        assert_eq!(a.error_chain, vec!["outer failed", "disk full"]);
        assert_eq!(a.message, "outer failed");
        assert_eq!(a.error_type.as_deref(), Some("tests::Outer"));
    }

    #[test]
    fn short_type_names() {
        assert_eq!(short_type_name("std::io::error::Error"), "io::Error");
        assert_eq!(
            short_type_name("serde_json::error::Error"),
            "serde_json::Error"
        );
        assert_eq!(
            short_type_name("core::num::error::ParseIntError"),
            "num::ParseIntError"
        );
        assert_eq!(short_type_name("app::errors::NotFound"), "app::NotFound");
        assert_eq!(short_type_name("std::io::Error"), "io::Error");
        assert_eq!(short_type_name("Plain"), "Plain");
        assert_eq!(short_type_name("a::B<c::D>"), "a::B<c::D>");
    }

    #[test]
    fn io_error_type_renders_as_io_error() {
        let a = Alert::critical("x").error(std::io::Error::other("disk full"));
        assert_eq!(a.error_type.as_deref(), Some("io::Error"));
    }

    #[test]
    fn debug_hides_content() {
        let a = Alert::critical("password=hunter2").message("token abc");
        let s = format!("{a:?}");
        assert!(!s.contains("hunter2") && !s.contains("abc"));
    }
}
