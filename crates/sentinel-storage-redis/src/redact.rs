//! Keeping credentials out of every message: [`SecretUrl`] and [`Redactor`].

use std::fmt;

/// What replaces a secret in any message.
pub(crate) const MASK: &str = "***";

/// A Redis URL that may carry a password. `Debug` and `Display` show it redacted
/// (`redis://user:***@host:6379`); only [`SecretUrl::expose`] gives the real text, and only the
/// connection code calls it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretUrl(String);

impl SecretUrl {
    pub(crate) fn new(url: String) -> Self {
        Self(url)
    }

    /// The URL with its credentials, for the Redis client only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The secrets inside this URL (password, query credentials), for [`Redactor`].
    fn secrets(&self) -> Vec<String> {
        secrets_of(&self.0)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_url(&self.0), f)
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// `url` with its password (and any `pass`/`password` query value) replaced by `***`.
///
/// `redis://user:pw@host:6379/0` → `redis://user:***@host:6379/0`; `redis://:pw@host` →
/// `redis://:***@host`; a user-info without `:` (which some providers use for a bare token) is
/// masked whole: `redis://token@host` → `redis://***@host`. Text that is not a URL is masked
/// whole unless it has no `@` and no query (then it holds no credentials).
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return if url.contains('@') || url.contains('?') {
            MASK.to_owned()
        } else {
            url.to_owned()
        };
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..rest_start]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push(':');
                    out.push_str(MASK);
                }
                None => out.push_str(MASK),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = &rest[authority_end..];
    match tail.find('?') {
        Some(q) => {
            out.push_str(&tail[..=q]);
            let (query, fragment) = match tail[q + 1..].find('#') {
                Some(h) => (&tail[q + 1..q + 1 + h], &tail[q + 1 + h..]),
                None => (&tail[q + 1..], ""),
            };
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if is_secret_param(k) => format!("{k}={MASK}"),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
            out.push_str(fragment);
        }
        None => out.push_str(tail),
    }
    out
}

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "pass" | "password" | "token" | "auth")
}

/// Every credential in `url`, as it appears in the text and percent-decoded.
fn secrets_of(url: &str) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            let secret = userinfo.split_once(':').map_or(userinfo, |(_, pw)| pw);
            found.push(secret.to_owned());
        }
        if let Some(q) = rest.find('?') {
            let query = rest[q + 1..].split('#').next().unwrap_or_default();
            for pair in query.split('&') {
                if let Some((k, v)) = pair.split_once('=')
                    && is_secret_param(k)
                {
                    found.push(v.to_owned());
                }
            }
        }
    } else if url.contains('@') {
        found.push(url.to_owned());
    }
    let decoded: Vec<String> = found.iter().map(|s| percent_decode(s)).collect();
    found.extend(decoded);
    found.retain(|s| !s.is_empty());
    found.sort();
    found.dedup();
    found
}

/// `%XX` sequences decoded; anything malformed kept as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes known secrets from arbitrary text (error messages from the Redis client).
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for the credentials in `urls`.
    pub(crate) fn for_urls<'a>(urls: impl IntoIterator<Item = &'a SecretUrl>) -> Self {
        let mut secrets: Vec<String> = urls.into_iter().flat_map(SecretUrl::secrets).collect();
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// Whether `text` contains a secret.
    pub(crate) fn leaks(&self, text: &str) -> bool {
        self.secrets.iter().any(|s| text.contains(s.as_str()))
    }

    /// `text` with every secret masked.
    pub(crate) fn scrub(&self, text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_and_password() {
        assert_eq!(
            redact_url("redis://alice:s3cret@10.0.0.1:6379/2"),
            "redis://alice:***@10.0.0.1:6379/2"
        );
        assert_eq!(
            redact_url("rediss://:s3cret@host:6380"),
            "rediss://:***@host:6380"
        );
        assert_eq!(redact_url("redis://token@host"), "redis://***@host");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
        assert_eq!(
            redact_url("redis+unix:///tmp/r.sock?db=1&pass=s3cret"),
            "redis+unix:///tmp/r.sock?db=1&pass=***"
        );
        assert_eq!(redact_url("a:b@c"), "***");
        // An `@` inside the password: the last `@` ends the user-info.
        assert_eq!(redact_url("redis://u:p@ss@host"), "redis://u:***@host");
    }

    #[test]
    fn scrubs_raw_and_percent_decoded_secrets() {
        let url = SecretUrl::new("redis://u:p%40ss%3Aw0rd@host:1".into());
        let r = Redactor::for_urls([&url]);
        assert!(r.leaks("auth failed for p@ss:w0rd"));
        assert_eq!(r.scrub("x p@ss:w0rd y p%40ss%3Aw0rd"), "x *** y ***");
        assert!(!format!("{url:?} {url}").contains("w0rd"));
    }

    #[test]
    fn percent_decode_is_total() {
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("ab%20"), "ab ");
    }
}
