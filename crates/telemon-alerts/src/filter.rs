//! What is never reported: ignored paths (segment-aware), error types and status codes.

/// Ignore rules, checked before an alert is queued (paths, statuses) or processed (types).
///
/// Paths are matched **by segment**: ignoring `/docs` ignores `/docs` and `/docs/x`, not
/// `/documents`. A `*` segment matches any one segment (`/api/*/health`).
///
/// ```
/// use telemon_alerts::IgnoreRules;
///
/// let rules = IgnoreRules::default().path("/docs").path("/api/*/health");
/// assert!(rules.ignores_path("/docs"));
/// assert!(rules.ignores_path("/docs/intro"));
/// assert!(!rules.ignores_path("/documents"));
/// assert!(rules.ignores_path("/api/v2/health"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    paths: Vec<Vec<String>>,
    error_types: Vec<String>,
    statuses: Vec<u16>,
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.split('/').filter(|s| !s.is_empty())
}

impl IgnoreRules {
    /// Ignores `prefix` and everything below it (by segment).
    #[must_use]
    pub fn path(mut self, prefix: &str) -> Self {
        self.paths
            .push(segments(prefix).map(str::to_owned).collect());
        self
    }

    /// Ignores alerts whose error type is `ty`, or ends with `::ty`.
    #[must_use]
    pub fn error_type(mut self, ty: impl Into<String>) -> Self {
        self.error_types.push(ty.into());
        self
    }

    /// Ignores responses with `status`.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.statuses.push(status);
        self
    }

    /// Whether `path` (a raw path or a route template) is ignored.
    pub fn ignores_path(&self, path: &str) -> bool {
        if self.paths.is_empty() {
            return false;
        }
        self.paths.iter().any(|pattern| {
            let mut segs = segments(path);
            pattern.iter().all(|p| match segs.next() {
                Some(s) => p == "*" || p == s,
                None => false,
            })
        })
    }

    /// Whether an error of type `ty` is ignored.
    pub fn ignores_error_type(&self, ty: &str) -> bool {
        self.error_types.iter().any(|t| {
            ty == t
                || ty
                    .strip_suffix(t.as_str())
                    .is_some_and(|head| head.ends_with("::"))
        })
    }

    /// Whether `status` is ignored.
    pub fn ignores_status(&self, status: u16) -> bool {
        self.statuses.contains(&status)
    }

    /// Whether nothing is ignored (lets the request path skip the checks).
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.error_types.is_empty() && self.statuses.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_aware_paths() {
        let r = IgnoreRules::default().path("/docs/").path("/metrics");
        assert!(r.ignores_path("/docs"));
        assert!(r.ignores_path("/docs/"));
        assert!(r.ignores_path("/docs/a/b?x=1"));
        assert!(!r.ignores_path("/documents"));
        assert!(!r.ignores_path("/doc"));
        assert!(!r.ignores_path("/api/docs"));
        assert!(r.ignores_path("/metrics"));
        assert!(!r.ignores_path("/metricsx"));
        assert!(!IgnoreRules::default().ignores_path("/docs"));
    }

    #[test]
    fn error_types_match_whole_path_segments() {
        let r = IgnoreRules::default().error_type("NotFound");
        assert!(r.ignores_error_type("NotFound"));
        assert!(r.ignores_error_type("app::errors::NotFound"));
        assert!(!r.ignores_error_type("UserNotFound"));
    }

    #[test]
    fn statuses() {
        let r = IgnoreRules::default().status(503);
        assert!(r.ignores_status(503));
        assert!(!r.ignores_status(500));
    }
}
