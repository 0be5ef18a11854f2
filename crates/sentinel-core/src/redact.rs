//! Keeping credentials out of every printed URL: [`redact_url`], [`url_secrets`], and the
//! [`Redactor`] and [`SecretUrl`] built on them. One implementation, used by every crate that
//! prints a URL (the Redis store's config and errors, telemon's `Config`).
//!
//! The parser assumes nothing about how the password was written: unencoded `/ # ? @ :` in a
//! password, percent-encoded passwords, user names, bare tokens (`redis://token@host`),
//! comma-separated lists of URLs (Cluster and Sentinel node lists), credentials in query
//! parameters (`?password=`, `sentinel_password=`, `token=`, …), `rediss://`,
//! `redis+sentinel://` and unix sockets (`redis+unix:///path?pass=…`). When a URL can be read
//! two ways (an `@` after the first `/`, `?` or `#`), the secrets of **both** readings are
//! masked: more may be hidden than needed, never less.
//!
//! ```
//! use sentinel_core::redact::redact_url;
//!
//! assert_eq!(redact_url("redis://alice:s3cret@10.0.0.1:6379/2"), "redis://alice:***@10.0.0.1:6379/2");
//! // A generated password with an unencoded `/`: the user-info ends at the last `@`.
//! assert_eq!(redact_url("redis://:S3cret/Pw4@host:6379/0"), "redis://:***@host:6379/0");
//! assert_eq!(
//!     redact_url("redis://:a@h1:6379,redis://:b@h2:6379"),
//!     "redis://:***@h1:6379,redis://:***@h2:6379"
//! );
//! assert_eq!(redact_url("redis+unix:///tmp/r.sock?db=1&pass=s3cret"), "redis+unix:///tmp/r.sock?db=1&pass=***");
//! ```

use std::ops::Range;

use percent_encoding::{
    AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode,
};

mod redactor;
mod secret_url;

pub use redactor::Redactor;
pub use secret_url::SecretUrl;

/// What replaces a secret in any message.
pub const MASK: &str = "***";

/// The WHATWG user-info percent-encode set: how URL parsers (the `url` crate, hence the Redis
/// client) re-encode a password they print.
const USERINFO: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'|');

/// `text` (a URL, or a comma-separated list of URLs) with every credential replaced by
/// [`MASK`]: the password of the user-info (`user:***@host`), a user-info without a password
/// after a `:` whole (a bare token: `***@host`), and the value of every query parameter whose name suggests a
/// credential (`pass`, `pwd`, `token`, `secret`, `auth`, `key`, `credential` in any case, e.g.
/// `password`, `sentinel_password`, `access_token`). Text without `://` is masked whole when it
/// holds an `@` or a `?` (it may then be a credential), and kept otherwise.
///
/// Never panics; the result never contains a credential of `text`, raw or as written (a query
/// value ends at the next `&`, as every URL parser reads it).
#[must_use]
pub fn redact_url(text: &str) -> String {
    let spans = merged(secret_spans(text));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        out.push_str(MASK);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Every credential in `text` (as [`redact_url`] finds them), in each form it may be printed
/// in: as written, percent-decoded, and percent-encoded (user-info set and every
/// non-alphanumeric byte). Longest first, without duplicates or empty strings; for
/// [`Redactor`], which removes them from arbitrary text such as a client library's errors.
#[must_use]
pub fn url_secrets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for span in secret_spans(text) {
        let raw = &text[span];
        let decoded = percent_decode_str(raw).decode_utf8_lossy().into_owned();
        for form in [raw, decoded.as_str()] {
            found.push(utf8_percent_encode(form, USERINFO).to_string());
            found.push(utf8_percent_encode(form, NON_ALPHANUMERIC).to_string());
        }
        found.push(raw.to_owned());
        found.push(decoded);
    }
    found.retain(|s| !s.is_empty());
    found.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    found.dedup();
    found
}

/// The byte ranges of `text` that may hold credentials (each reading's, so they may overlap).
fn secret_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = 0;
    for end in list_separators(text).into_iter().chain([text.len()]) {
        spans_of_one(&text[start..end], start, &mut spans);
        start = end + 1;
    }
    spans.retain(|s| !s.is_empty());
    spans
}

/// `spans` sorted, overlapping and touching ones merged.
fn merged(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.sort_by_key(|s| s.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// Positions of the commas that separate URLs in a list: a `,` followed (after spaces) by a
/// scheme and `://`.
fn list_separators(text: &str) -> Vec<usize> {
    text.match_indices(',')
        .map(|(i, _)| i)
        .filter(|&i| starts_with_scheme(text[i + 1..].trim_start()))
        .collect()
}

/// Whether `s` starts with `scheme://` (a letter, then letters, digits, `+`, `-`, `.`).
fn starts_with_scheme(s: &str) -> bool {
    let Some(end) = s.find("://") else {
        return false;
    };
    let scheme = &s.as_bytes()[..end];
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Adds the credential spans of one URL (at `offset` in the whole text) to `spans`.
fn spans_of_one(url: &str, offset: usize, spans: &mut Vec<Range<usize>>) {
    let Some(scheme_end) = url.find("://") else {
        if url.contains(['@', '?']) {
            let trimmed = url.trim();
            let lead = url.len() - url.trim_start().len();
            spans.push(offset + lead..offset + lead + trimmed.len());
        }
        return;
    };
    let base = offset + scheme_end + 3;
    let rest = &url[scheme_end + 3..];
    // Reading A (RFC 3986): the authority ends at the first `/`, `?` or `#`.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if let Some(at) = rest[..authority_end].rfind('@') {
        spans.push(password_span(&rest[..at], base));
    }
    query_spans(&rest[authority_end..], base + authority_end, spans);
    // Reading B (a password with unencoded `/ ? # @`): the user-info ends at the last `@`.
    if let Some(at) = rest.rfind('@')
        && at >= authority_end
    {
        spans.push(password_span(&rest[..at], base));
        let host_start = at + 1;
        query_spans(&rest[host_start..], base + host_start, spans);
    }
}

/// The secret part of a user-info starting at `base`: after the first `:`, or all of it when
/// there is no `:` (a bare token) or nothing follows it (`token:`, a token that ends in `:`).
fn password_span(userinfo: &str, base: usize) -> Range<usize> {
    match userinfo.find(':') {
        Some(colon) if colon + 1 < userinfo.len() => base + colon + 1..base + userinfo.len(),
        _ => base..base + userinfo.len(),
    }
}

/// The values of credential parameters in the query of `tail` (text from the end of the host
/// on, at `base`). A value runs to the next `&` or the end (a `#` does not end it: Redis URLs
/// have no fragment, and a password may hold one).
fn query_spans(tail: &str, base: usize, spans: &mut Vec<Range<usize>>) {
    let Some(q) = tail.find('?') else {
        return;
    };
    let mut pos = q + 1;
    for pair in tail[q + 1..].split('&') {
        if let Some((name, value)) = pair.split_once('=')
            && is_secret_param(name)
        {
            let start = base + pos + name.len() + 1;
            spans.push(start..start + value.len());
        }
        pos += pair.len() + 1;
    }
}

/// Whether a query parameter named `name` holds a credential.
fn is_secret_param(name: &str) -> bool {
    let name = percent_decode_str(name)
        .decode_utf8_lossy()
        .to_ascii_lowercase();
    [
        "pass",
        "pwd",
        "token",
        "secret",
        "auth",
        "key",
        "credential",
    ]
    .iter()
    .any(|w| name.contains(w))
}

#[cfg(test)]
mod tests;
