//! [`Redactor`]: removes known credentials from arbitrary text.

use std::fmt;

use super::{MASK, url_secrets};

/// Removes the credentials of some URLs from arbitrary text, such as the errors of a client
/// library that may echo its URL. Every form of each secret is masked (as written,
/// percent-decoded, percent-encoded; see [`url_secrets`]), longest first.
///
/// ```
/// use sentinel_core::redact::Redactor;
///
/// let r = Redactor::for_urls(["redis://u:p%40ss%2Fw0rd@host:1"]);
/// assert!(r.leaks("auth failed for p@ss/w0rd"));
/// assert_eq!(r.scrub("x p@ss/w0rd y p%40ss%2Fw0rd"), "x *** y ***");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redactor {
    /// Longest first, so a secret containing another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for the credentials in `urls` (each a URL or a comma-separated list).
    pub fn for_urls<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut secrets: Vec<String> = urls
            .into_iter()
            .flat_map(|u| url_secrets(u.as_ref()))
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Self { secrets }
    }

    /// Whether `text` contains a secret in any form.
    #[must_use]
    pub fn leaks(&self, text: &str) -> bool {
        self.secrets.iter().any(|s| text.contains(s.as_str()))
    }

    /// `text` with every secret masked.
    #[must_use]
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}
