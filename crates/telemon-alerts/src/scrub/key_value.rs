//! Secrets named by their key, in every shape text carries them: `key=value` and query
//! strings, `key: value` lines and HTTP headers, JSON (escaped quotes, JSON inside a JSON
//! string), Rust `Debug` output (`api_key: Some("…")`, `Password("…")`,
//! `("AWS_SECRET_ACCESS_KEY", "…")`, `Header { name: "x-api-key", value: "…" }`, nested
//! structs), cookies (every pair of a `Cookie:` line, `Set-Cookie`), percent-encoded keys and
//! separators (`tok%65n=…`, `password%3D…`), and prose (`password 'x'`, `passwd x`, netrc
//! lines, the Redis `AUTH [user] <password>` and `AUTH2` commands, SQL `IDENTIFIED BY 'x'`,
//! Redis `requirepass`/`masterauth`, `--client-secret x` flags), multi-field tuple structs
//! (`Credentials("svc", "pw")`, whole body), generic fields of sensitive types
//! (`AccessToken { value: … }`), JSON name/value objects (`{"name":"DB_PASSWORD","value":…}`)
//! and array pairs (`["X-Api-Key", …]`).
//!
//! Kept: a path segment before `:` (`src/token_store.rs:42:5`, `/etc/passwd: …`), `null`,
//! `true`, `false`, `YES`, `NO`, counts after plural keys (`signing keys: 2`), prose words.
//!
//! One linear-time regex finds candidate keys; a small scanner then finds where each value
//! ends — across quotes with escapes at any nesting depth, balanced brackets and `Some(…)`
//! wrappers — so the whole value goes, however it is spelled.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::FILTERED;
use super::keys::{KeyContext, KeyMatcher};

/// Candidate keys. Groups: `key` (+`sep`) for `key=value`; `tkey` for `("key", value)`;
/// `nkey` for `name: "key", value: …`; `ts` for `Name(value)`; `pk` for prose; `auth` for the
/// Redis command.
static CANDIDATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        // ("AWS_SECRET_ACCESS_KEY", "…") and JSON pairs ["X-Api-Key", "…"] — a tuple or
        // array of a quoted name and a value.
        r#"[\(\[]\s*(?P<tkey>\\*"[^"\\\n]{1,96}\\*")\s*,\s*"#,
        // Header { name: "x-api-key", value: "…" }, {"name":"DB_PASSWORD","value":"…"},
        // <add key="ApiKey" value="…"/> and similar name/value pairs.
        r#"|\\*"?(?-u:\b)(?:name|key|header|field)\\*"?\s*[:=]\s*(?P<nkey>\\*"[^"\\\n]{1,96}\\*")\s*,?\s*\\*"?(?:value|val)\\*"?\s*[:=]\s*"#,
        // --client-secret value, --password=value (command lines).
        r"|(?m:^|[ \t])--(?P<flag>[A-Za-z][A-Za-z0-9\-]{1,63})(?:=|[ \t]+)",
        // key=value, key: value, "key": value, \"key\":\"value\", key => value, tok%65n%3D…,
        // and a JSON key split from its value across lines.
        r#"|(?P<key>\\*["'`]?(?:[A-Za-z0-9_.\-\[\]]|%[0-9A-Fa-f]{2})+\\*["'`]?)\s*(?P<sep>=>|:=|=|:|%3[DdAa])[ \t]*"#,
        // Password("…"), ApiKey(…), SecretString("…"), Credentials("user", "pw").
        r"|(?-u:\b)(?P<ts>[A-Z][A-Za-z0-9]{1,63})\(",
        // AccessToken { value: "…" }: a sensitive type name hides its whole body.
        r"|(?-u:\b)(?P<ss>[A-Z][A-Za-z0-9]{1,63}) ?\{",
        // password 'x', passwd x, netrc `password x`, SQL `IDENTIFIED BY 'x'`, Redis
        // `requirepass x` / `masterauth x`, `pass phrase 'x'`, `Set password to 'x'`.
        r"|(?i:(?-u:\b)(?P<pk>password|passwd|passphrase|passcode|pass[ \t]+phrase|identified[ \t]+by|requirepass|masterauth))[ \t]+(?:(?:is|was|to)[ \t]+)?",
        // Redis AUTH [user] <password> and AUTH2 user password (MIGRATE), also as Debug
        // arguments ("AUTH", "pw").
        r#"|(?P<auth>\\*"?(?-u:\b)AUTH2?\\*"?)(?:[ \t]+|\s*,\s*)"#,
        // <password>…</password>
        r"|<(?P<xkey>[A-Za-z_][A-Za-z0-9_.\-:]{0,63})>",
    ))
    .ok()
});

/// Field names that say nothing of what they hold: inside a type whose name is sensitive
/// (`AccessToken { value: … }`) their value is the secret.
static GENERIC_FIELD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:value|val|inner|raw|data|bytes|contents|string|secret|0)[ \t]*:[ \t]*")
        .ok()
});

/// Authorization schemes: the credential follows the scheme word.
const SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "digest",
    "token",
    "bot",
    "apikey",
    "negotiate",
    "ntlm",
    "dpop",
    "gnap",
    "hoba",
    "mutual",
    "oauth",
    "sharedkey",
    "sharedaccesssignature",
    "aws4-hmac-sha256",
    "signature",
];

/// Lower-case words that follow "password" in prose without being one.
const PROSE_STOPWORDS: &[&str] = &[
    "a",
    "an",
    "and",
    "are",
    "at",
    "authentication",
    "be",
    "been",
    "but",
    "by",
    "called",
    "cannot",
    "change",
    "changed",
    "check",
    "configured",
    "does",
    "empty",
    "expired",
    "failed",
    "field",
    "for",
    "from",
    "has",
    "hash",
    "have",
    "in",
    "incorrect",
    "invalid",
    "is",
    "length",
    "manager",
    "mismatch",
    "missing",
    "must",
    "no",
    "not",
    "of",
    "on",
    "or",
    "pair",
    "permission",
    "policy",
    "rejected",
    "required",
    "reset",
    "set",
    "should",
    "signature",
    "the",
    "to",
    "too",
    "update",
    "updated",
    "was",
    "were",
    "will",
    "with",
    "wrong",
];

/// Set-Cookie attributes whose values are kept.
const COOKIE_ATTRIBUTES: &[&str] = &[
    "path", "domain", "expires", "max-age", "samesite", "priority", "version", "comment",
];

/// How a value was found, which decides how it is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Between quotes: the quotes stay, the inside goes.
    Quoted { open: usize, close: usize },
    /// Anything else: the whole extent goes.
    Whole,
}

/// The extent of one value in the text.
#[derive(Debug, Clone, Copy)]
struct Value {
    start: usize,
    end: usize,
    shape: Shape,
}

/// `%5F` → `_` (invalid escapes kept as they are).
pub(crate) fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

/// `\u0077` → `w` and `\/` → `/` (printable ASCII escapes of JSON only); `None` when `s`
/// holds none.
pub(crate) fn json_unescape(s: &str) -> Option<String> {
    if !s.contains("\\u00") && !s.contains("\\/") {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut changed = false;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'/') {
                out.push(b'/');
                i += 2;
                changed = true;
                continue;
            }
            if b.get(i + 1) == Some(&b'u')
                && b.get(i + 2) == Some(&b'0')
                && b.get(i + 3) == Some(&b'0')
                && let (Some(h), Some(l)) = (hex(b.get(i + 4)), hex(b.get(i + 5)))
                && (0x20..0x7f).contains(&(h * 16 + l))
            {
                out.push(h * 16 + l);
                i += 6;
                changed = true;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    // Only ASCII bytes replaced ASCII escapes: still UTF-8.
    changed.then(|| String::from_utf8(out).ok()).flatten()
}

fn hex(c: Option<&u8>) -> Option<u8> {
    let c = *c?;
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Whether `s` holds at least one `%XX` escape.
pub(crate) fn has_percent_escape(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

fn is_stop(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'&' | b',' | b';' | b')' | b']' | b'}' | b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\'
        )
}

/// The number of `\` immediately before byte `i`.
fn backslashes_before(b: &[u8], i: usize) -> usize {
    b[..i].iter().rev().take_while(|&&c| c == b'\\').count()
}

/// From `start` (just after an opening delimiter of `level` backslashes and a quote), the
/// index of the closing quote, or `None` when the string is not closed.
fn closing_quote(b: &[u8], start: usize, quote: u8, level: usize) -> Option<usize> {
    let mut i = start;
    while i < b.len() {
        if b[i] == quote {
            let run = backslashes_before(b, i);
            // At level 0 an even run of `\` is literal backslashes, not an escape; at a
            // nested level the delimiter has exactly `level` backslashes.
            if run == level || (level == 0 && run.is_multiple_of(2)) {
                return Some(i);
            }
        }
        if quote == b'\'' && b[i] == b'\n' {
            return None;
        }
        i += 1;
    }
    None
}

/// The index just past the bracket matching the one at `open`, quotes respected; `None`
/// when unbalanced.
fn balanced(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' if backslashes_before(b, i).is_multiple_of(2) => {
                i = closing_quote(b, i + 1, b'"', 0)?;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// How far past an opening bracket a type's body is looked for: bounds the work per
/// candidate, so that scanning stays linear in the text.
const MAX_BODY: usize = 16 * 1024;

/// [`balanced`], looking at most [`MAX_BODY`] bytes past `open`.
fn balanced_near(b: &[u8], open: usize) -> Option<usize> {
    balanced(&b[..b.len().min(open.saturating_add(MAX_BODY))], open)
}

/// The largest char boundary of `text` at or before `i`.
fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn line_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .map_or(b.len(), |p| from + p)
}

fn ident_len(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b':')
        .count()
}

/// Past white space, escaped (`\n`) or not.
fn skip_space(b: &[u8], mut i: usize) -> usize {
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(c), _) if c.is_ascii_whitespace() => i += 1,
            (Some(b'\\'), Some(b'n' | b'r' | b't')) => i += 2,
            _ => return i,
        }
    }
}

/// The end of a bare token starting at `from`.
fn bare_end(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| is_stop(c))
        .map_or(b.len(), |p| from + p)
}

/// Finds the value starting at `start`.
fn scan_value(text: &str, start: usize) -> Option<Value> {
    let b = text.as_bytes();
    let mut i = start;
    // Wrappers: Some(…), Ok(…), Secret(…), up to three deep.
    let mut wrappers = 0;
    let mut innermost = None;
    while wrappers < 3 {
        let n = ident_len(b, i);
        if n > 0 && b.get(i + n) == Some(&b'(') && b[i].is_ascii_alphabetic() {
            innermost = Some(i + n);
            i += n + 1;
            // Pretty Debug (`{:#?}`) puts the wrapped value on its own line (written `\n`
            // when the Debug text was itself escaped).
            i = skip_space(b, i);
            wrappers += 1;
        } else {
            break;
        }
    }
    if let Some(open) = innermost {
        // `Basic("admin", "pw")`: a wrapper of several fields loses all of them.
        return tuple_body(text, open);
    }
    scan_plain(text, i)
}

/// The fields inside the bracket at `open` (`Credentials("svc", "pw")`, pretty or not): a
/// single field is filtered as a value (its quotes stay), several fields go whole.
fn tuple_body(text: &str, open: usize) -> Option<Value> {
    let b = text.as_bytes();
    let Some(end) = balanced_near(b, open) else {
        return scan_plain(text, skip_space(b, open + 1));
    };
    let close = end - 1;
    let start = skip_space(b, open + 1);
    if start >= close {
        return None;
    }
    if let Some(v) = scan_plain(text, start) {
        let mut j = skip_space(b, v.end);
        if b.get(j) == Some(&b',') {
            j = skip_space(b, j + 1);
        }
        if j >= close {
            return Some(v);
        }
    }
    // Several fields: everything between the brackets, white space around it kept.
    let mut last = close;
    while last > start && b[last - 1].is_ascii_whitespace() {
        last -= 1;
    }
    Some(Value {
        start,
        end: last,
        shape: Shape::Whole,
    })
}

/// The value starting at `i`, with no wrapper around it.
fn scan_plain(text: &str, i: usize) -> Option<Value> {
    let b = text.as_bytes();
    let first = *b.get(i)?;
    let value = match first {
        b'\\' | b'"' => {
            let level = b[i..].iter().take_while(|&&c| c == b'\\').count();
            if b.get(i + level) != Some(&b'"') {
                return bare(b, i);
            }
            let open = i + level + 1;
            let close = closing_quote(b, open, b'"', level).unwrap_or(b.len());
            // The closing delimiter's backslashes stay with it.
            let inner_end = close.saturating_sub(level).max(open);
            Value {
                start: i,
                end: (close + 1).min(b.len()),
                shape: Shape::Quoted {
                    open,
                    close: inner_end,
                },
            }
        }
        b'\'' | b'`' => {
            let open = i + 1;
            let close = closing_quote(b, open, first, 0).unwrap_or_else(|| line_end(b, open));
            Value {
                start: i,
                end: (close + 1).min(b.len()),
                shape: Shape::Quoted { open, close },
            }
        }
        b'{' | b'[' | b'(' => {
            if text[i..].starts_with(FILTERED) {
                return None;
            }
            let end = balanced(b, i).unwrap_or_else(|| line_end(b, i));
            Value {
                start: i,
                end,
                shape: Shape::Whole,
            }
        }
        _ => {
            // A struct value: `Credentials { … }`.
            let n = ident_len(b, i);
            let after = i + n;
            let gap = b[after..].iter().take_while(|&&c| c == b' ').count();
            if n > 0 && b.get(after + gap) == Some(&b'{') {
                let end = balanced(b, after + gap).unwrap_or_else(|| line_end(b, i));
                Value {
                    start: i,
                    end,
                    shape: Shape::Whole,
                }
            } else {
                return bare(b, i);
            }
        }
    };
    Some(value)
}

fn bare(b: &[u8], i: usize) -> Option<Value> {
    let end = bare_end(b, i);
    (end > i).then_some(Value {
        start: i,
        end,
        shape: Shape::Whole,
    })
}

/// After a scheme word (`Bearer`), the credential that follows it.
fn with_scheme(text: &str, v: Value) -> Value {
    let word = &text[v.start..v.end];
    if v.shape != Shape::Whole || !SCHEMES.iter().any(|s| word.eq_ignore_ascii_case(s)) {
        return v;
    }
    let b = text.as_bytes();
    let gap = b[v.end..].iter().take_while(|&&c| c == b' ').count();
    if gap == 0 {
        return v;
    }
    // Parameters (`AWS4-HMAC-SHA256 Credential=…, Signature=…`) run to the end of the line
    // or the closing quote.
    let end = b[v.end..]
        .iter()
        .position(|&c| matches!(c, b'\n' | b'\r' | b'"' | b'\'' | b'\\'))
        .map_or(b.len(), |p| v.end + p);
    Value { end, ..v }
}

fn is_cookie_key(key: &str) -> bool {
    let k = unquote(key);
    k.eq_ignore_ascii_case("cookie") || k.eq_ignore_ascii_case("set-cookie")
}

/// `a=1; b=2` → `a=[Filtered]; b=[Filtered]`; Set-Cookie attributes are kept.
fn filter_cookies(value: &str, out: &mut String) {
    for (n, part) in value.split(';').enumerate() {
        if n > 0 {
            out.push(';');
        }
        // Set-Cookie lines joined with `,` (`Path=/, session=…`); a comma in `Expires=Wed,
        // 21 Oct` leaves a piece with no `=`, which is kept.
        for (k, piece) in part.split(',').enumerate() {
            if k > 0 {
                out.push(',');
            }
            filter_cookie_pair(piece, out);
        }
    }
}

fn filter_cookie_pair(part: &str, out: &mut String) {
    {
        match part.split_once('=') {
            Some((name, _))
                if !COOKIE_ATTRIBUTES
                    .iter()
                    .any(|a| name.trim().eq_ignore_ascii_case(a)) =>
            {
                out.push_str(name);
                out.push('=');
                out.push_str(FILTERED);
            }
            _ => out.push_str(part),
        }
    }
}

/// `null`, `true`, `false`, `YES`, `NO`: a flag saying whether a secret is set, not one.
fn is_literal(word: &str) -> bool {
    ["null", "true", "false", "yes", "no", "none"]
        .iter()
        .any(|l| word.eq_ignore_ascii_case(l))
}

/// `signing keys: 2`, `tokens=4096`: a plural key followed by a bare number is a count.
fn is_count(key: &str, word: &str) -> bool {
    let key = unquote(key).to_ascii_lowercase();
    word.len() <= 9
        && word.bytes().all(|c| c.is_ascii_digit())
        && [
            "keys",
            "tokens",
            "secrets",
            "passwords",
            "sessions",
            "credentials",
            "cookies",
        ]
        .iter()
        .any(|p| key.ends_with(p))
}

/// Whether a bare prose value is an ordinary word rather than a secret.
fn is_prose_word(word: &str) -> bool {
    word.is_empty()
        || (word.bytes().all(|c| c.is_ascii_lowercase())
            && PROSE_STOPWORDS.binary_search(&word).is_ok())
}

fn unquote(key: &str) -> &str {
    key.trim_matches(|c| c == '"' || c == '\'' || c == '`' || c == '\\')
}

/// What one candidate asks for: the value to filter, if any, and where scanning resumes.
fn decide(text: &str, c: &Captures<'_>, keys: &KeyMatcher) -> (Option<Value>, usize) {
    let Some(m) = c.get(0) else {
        return (None, text.len());
    };
    let b = text.as_bytes();
    if let Some(k) = c.name("key") {
        let sep = c.name("sep").map_or("", |s| s.as_str());
        // `token::Store` is a path, `https://` a scheme: not a key.
        if (sep == ":" && b.get(m.end()) == Some(&b':')) || b.get(m.end()) == Some(&b'/') {
            return (None, k.end().max(m.start() + 1));
        }
        // `/etc/passwd: …`, `src/token_store.rs:42:5`: a path segment, not a key
        // (`/api/token=…` still is one).
        if sep == ":" && m.start() > 0 && b[m.start() - 1] == b'/' {
            return (None, k.end().max(m.start() + 1));
        }
        let raw = unquote(k.as_str());
        let key = percent_decode(raw);
        let before = m.start().checked_sub(1).and_then(|i| b.get(i));
        let context = if matches!(before, Some(b'?' | b'&')) {
            KeyContext::Query
        } else {
            KeyContext::Field
        };
        if !keys.is_sensitive(&key, context) {
            return (None, m.end());
        }
        // A JSON key may be split from its value across lines.
        let at = if k.as_str().ends_with('"') {
            skip_space(b, m.end())
        } else {
            m.end()
        };
        let Some(v) = scan_value(text, at) else {
            return (None, m.end());
        };
        if v.shape == Shape::Whole {
            let word = &text[v.start..v.end];
            if is_literal(word)
                || is_count(&key, word)
                || (sep == ":" && at > m.start() && b[at - 1] == b' ' && is_prose_word(word))
            {
                return (None, v.end);
            }
        }
        return (Some(with_scheme(text, v)), v.end);
    }
    if let Some(flag) = c.name("flag") {
        let name = flag.as_str().to_ascii_lowercase();
        // `--password-file /path`, `--password-stdin`: where the secret is read from.
        let names_a_source = ["-file", "-stdin", "-path", "-dir", "-env", "-command"]
            .iter()
            .any(|s| name.ends_with(s));
        if names_a_source || !keys.is_sensitive(flag.as_str(), KeyContext::Field) {
            return (None, m.end());
        }
        return match scan_value(text, m.end()) {
            Some(v) if !text[v.start..].starts_with('-') => (Some(v), v.end),
            _ => (None, m.end()),
        };
    }
    if let Some(k) = c.name("tkey").or_else(|| c.name("nkey")) {
        // `["AUTH", "user", "pw"]`: the Redis command, both arguments (see `auth`).
        if c.name("tkey").is_some() && matches!(unquote(k.as_str()), "AUTH" | "AUTH2") {
            return (None, k.start());
        }
        if !keys.is_sensitive(unquote(k.as_str()), KeyContext::Field) {
            return (None, k.end());
        }
        return match scan_value(text, m.end()) {
            Some(v) => (Some(with_scheme(text, v)), v.end),
            None => (None, m.end()),
        };
    }
    if let Some(k) = c.name("xkey") {
        if !keys.is_sensitive(k.as_str(), KeyContext::Field) {
            return (None, m.end());
        }
        let end = b[m.end()..]
            .iter()
            .position(|&c| c == b'<')
            .map_or(b.len(), |p| m.end() + p);
        // `ERR AUTH <password> called …`: a placeholder, not an element (no closing tag).
        if end == m.end() || !text[end..].starts_with("</") {
            return (None, m.end());
        }
        let v = Value {
            start: m.end(),
            end,
            shape: Shape::Whole,
        };
        return (Some(v), end);
    }
    if let Some(name) = c.name("ts") {
        if !keys.is_sensitive(name.as_str(), KeyContext::Field) {
            return (None, m.end());
        }
        return match tuple_body(text, m.end() - 1) {
            Some(v) => (Some(v), v.end),
            None => (None, m.end()),
        };
    }
    if let Some(name) = c.name("ss") {
        if !keys.is_sensitive(name.as_str(), KeyContext::Field) {
            return (None, m.end());
        }
        // `AccessToken { value: "…" }`: a field with a generic name holds the secret
        // (`Session { id: 42 }` keeps its id).
        let body_end = balanced_near(b, m.end() - 1)
            .unwrap_or_else(|| floor_boundary(text, m.end().saturating_add(MAX_BODY)));
        let Some(f) = GENERIC_FIELD
            .as_ref()
            .and_then(|re| re.find_at(&text[..body_end], m.end()))
        else {
            return (None, m.end());
        };
        return match scan_value(text, f.end()) {
            Some(v) => (Some(v), v.end),
            None => (None, f.end()),
        };
    }
    if c.name("pk").is_some() || c.name("auth").is_some() {
        let Some(v) = scan_value(text, m.end()) else {
            return (None, m.end());
        };
        if v.shape == Shape::Whole && is_prose_word(&text[v.start..v.end]) {
            return (None, v.end);
        }
        // AUTH user password: the second argument too.
        if c.name("auth").is_some() {
            let gap = b[v.end..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b',' || c == b'\t')
                .count();
            if gap > 0
                && let Some(second) = scan_value(text, v.end + gap)
                && !(second.shape == Shape::Whole && is_prose_word(&text[second.start..second.end]))
            {
                return (
                    Some(Value {
                        start: v.start,
                        end: second.end,
                        shape: Shape::Whole,
                    }),
                    second.end,
                );
            }
        }
        return (Some(v), v.end);
    }
    (None, m.end())
}

/// Replaces every value named by a sensitive key.
pub(crate) fn scrub<'t>(text: &'t str, keys: &KeyMatcher) -> Cow<'t, str> {
    let Some(re) = CANDIDATE.as_ref() else {
        // Cannot happen (a constant pattern); be safe rather than leak.
        return Cow::Owned(FILTERED.to_owned());
    };
    let mut out = String::new();
    let mut copied = 0;
    let mut pos = 0;
    while pos < text.len() {
        let Some(c) = re.captures_at(text, pos) else {
            break;
        };
        let (value, resume) = decide(text, &c, keys);
        // Always make progress, on a character boundary.
        let mut next = resume.max(pos + 1);
        while !text.is_char_boundary(next) && next < text.len() {
            next += 1;
        }
        pos = next;
        let Some(v) = value else { continue };
        if v.start < copied || text[v.start..].starts_with(FILTERED) {
            continue;
        }
        let key_is_cookie = c.name("key").is_some_and(|k| is_cookie_key(k.as_str()));
        out.push_str(&text[copied..v.start]);
        match v.shape {
            Shape::Quoted { open, close } => {
                out.push_str(&text[v.start..open]);
                if close > open {
                    out.push_str(FILTERED);
                }
                out.push_str(&text[close..v.end]);
            }
            Shape::Whole if key_is_cookie => {
                // The whole cookie line, every pair of it.
                let end = line_end(text.as_bytes(), v.start);
                filter_cookies(&text[v.start..end], &mut out);
                copied = end;
                pos = pos.max(end);
                continue;
            }
            Shape::Whole => out.push_str(FILTERED),
        }
        copied = v.end;
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::super::keys::KeyRules;
    use super::*;

    fn s(text: &str) -> String {
        scrub(text, &KeyMatcher::new(KeyRules::default(), false)).into_owned()
    }

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        let mut sorted = PROSE_STOPWORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, PROSE_STOPWORDS);
    }

    #[test]
    fn shapes() {
        for (input, want) in [
            ("password=hunter2 next", "password=[Filtered] next"),
            ("a=1&token=abc&b=2", "a=1&token=[Filtered]&b=2"),
            (
                r#"{"password":"x","user":"bob"}"#,
                r#"{"password":"[Filtered]","user":"bob"}"#,
            ),
            (
                r#"{"password":"pa\"ss\"word"}"#,
                r#"{"password":"[Filtered]"}"#,
            ),
            (
                r#"{"body":"{\"api_key\":\"k3y\",\"n\":1}"}"#,
                r#"{"body":"{\"api_key\":\"[Filtered]\",\"n\":1}"}"#,
            ),
            (
                r#"Config { api_key: Some("sk-123"), port: 80 }"#,
                r#"Config { api_key: Some("[Filtered]"), port: 80 }"#,
            ),
            (
                r#"[("AWS_SECRET_ACCESS_KEY", "wJalr/XUtn"), ("REGION", "eu")]"#,
                r#"[("AWS_SECRET_ACCESS_KEY", "[Filtered]"), ("REGION", "eu")]"#,
            ),
            (
                r#"Header { name: "x-api-key", value: "abc123" }"#,
                r#"Header { name: "x-api-key", value: "[Filtered]" }"#,
            ),
            (r#"Password("hunter2")"#, r#"Password("[Filtered]")"#),
            (
                r#"Db { credentials: Creds { user: "u", pw: "p" }, host: "h" }"#,
                r#"Db { credentials: [Filtered], host: "h" }"#,
            ),
            (
                "Cookie: a=1; session=xyz; theme=dark",
                "Cookie: a=[Filtered]; session=[Filtered]; theme=[Filtered]",
            ),
            (
                "Set-Cookie: sid=abc; Path=/; HttpOnly",
                "Set-Cookie: sid=[Filtered]; Path=/; HttpOnly",
            ),
            ("Authorization: Bearer abc.def", "Authorization: [Filtered]"),
            ("tok%65n=abc&x=1", "tok%65n=[Filtered]&x=1"),
            ("password%3Dhunter2", "password%3D[Filtered]"),
            (
                "/cb?code=4/0AbCd&state=1",
                "/cb?code=[Filtered]&state=[Filtered]",
            ),
            ("error code: 500", "error code: 500"),
            ("password 'x y'", "password '[Filtered]'"),
            ("passwd x", "passwd [Filtered]"),
            ("password reset required", "password reset required"),
            (
                "machine h.com login me password s3cr3t",
                "machine h.com login me password [Filtered]",
            ),
            ("AUTH default s3cret", "AUTH [Filtered]"),
            ("AUTH s3cret", "AUTH [Filtered]"),
            ("AUTH failed", "AUTH failed"),
            ("author: Tokenize Ltd", "author: Tokenize Ltd"),
            ("std::token::Kind", "std::token::Kind"),
            ("password=[Filtered]", "password=[Filtered]"),
            ("password=", "password="),
            (
                "<password>x1y2</password>",
                "<password>[Filtered]</password>",
            ),
            (
                "Cfg {\n  token: Some(\n    \"abc\",\n  ),\n}",
                "Cfg {\n  token: Some(\n    \"[Filtered]\",\n  ),\n}",
            ),
            (r#"Credentials("svc", "pw1")"#, r#"Credentials([Filtered])"#),
            (
                "Password(\n    \"pw1\",\n)",
                "Password(\n    \"[Filtered]\",\n)",
            ),
            (
                r#"C { auth: Some(Basic("admin", "pw1")) }"#,
                r#"C { auth: Some(Basic([Filtered])) }"#,
            ),
            (
                r#"AccessToken { value: "t1", expires_at: 9 }"#,
                r#"AccessToken { value: "[Filtered]", expires_at: 9 }"#,
            ),
            ("Session { id: 42 }", "Session { id: 42 }"),
            (
                r#"[{"name":"DB_PASSWORD","value":"v1"}]"#,
                r#"[{"name":"DB_PASSWORD","value":"[Filtered]"}]"#,
            ),
            (
                r#"{"key":"password","value":"v1"}"#,
                r#"{"key":"password","value":"[Filtered]"}"#,
            ),
            (r#"[["X-Api-Key","v1"]]"#, r#"[["X-Api-Key","[Filtered]"]]"#),
            (
                r#"<add key="ApiKey" value="v1" />"#,
                r#"<add key="ApiKey" value="[Filtered]" />"#,
            ),
            (
                "{\"password\"\n:\n\"v1\"}",
                "{\"password\"\n:\n\"[Filtered]\"}",
            ),
            (
                "run --client-secret v1 --x",
                "run --client-secret [Filtered] --x",
            ),
            ("psql --password-file /p", "psql --password-file /p"),
            ("IDENTIFIED BY 'v1';", "IDENTIFIED BY '[Filtered]';"),
            ("Set password to 'v1'", "Set password to '[Filtered]'"),
            ("with pass phrase 'v1'", "with pass phrase '[Filtered]'"),
            (
                "CONFIG SET requirepass v1",
                "CONFIG SET requirepass [Filtered]",
            ),
            ("masterauth v1", "masterauth [Filtered]"),
            ("AUTH2 default v1", "AUTH2 [Filtered]"),
            (
                r#"Cmd { args: ["AUTH", "u", "v1"] }"#,
                r#"Cmd { args: ["AUTH", [Filtered]] }"#,
            ),
            (
                "Set-Cookie: a=1; Path=/, s=v1; Expires=Wed, 21 Oct",
                "Set-Cookie: a=[Filtered]; Path=/, s=[Filtered]; Expires=Wed, 21 Oct",
            ),
            ("at src/password.rs:88:13", "at src/password.rs:88:13"),
            ("GET /api/token=v1/x", "GET /api/token=[Filtered]"),
            (r#"{"password":null}"#, r#"{"password":null}"#),
            ("(using password: YES)", "(using password: YES)"),
            ("signing keys: 2 active", "signing keys: 2 active"),
            (
                "invalid token: signature mismatch",
                "invalid token: signature mismatch",
            ),
            ("username-password pair", "username-password pair"),
            (
                "password authentication failed",
                "password authentication failed",
            ),
            ("ERR AUTH <password> called", "ERR AUTH <password> called"),
            ("Client sent AUTH, but no", "Client sent AUTH, but no"),
        ] {
            assert_eq!(s(input), want, "{input}");
        }
    }

    #[test]
    fn unterminated_values_are_filtered_to_the_end() {
        assert_eq!(s(r#"{"password":"abc"#), r#"{"password":"[Filtered]"#);
        assert_eq!(s("secret: {a: 1"), "secret: [Filtered]");
    }

    #[test]
    fn json_escapes_are_read_unescaped() {
        assert_eq!(
            json_unescape(r#"{"pass\u0077ord":"x","u":"http:\/\/h"}"#).as_deref(),
            Some(r#"{"password":"x","u":"http://h"}"#)
        );
        assert_eq!(json_unescape(r#"\u0000 \u00e9"#), None);
        assert_eq!(json_unescape("plain"), None);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for t in [
            "=",
            ":",
            "\\\"",
            "\"password\":\\",
            "password: \"\\",
            "é=é",
            "🦀password=🦀",
            "Password(",
            "Token {",
            "Basic(\"a\",",
            "AccessToken { value:",
            "--password",
            "\\u00",
            "\\u00zz \\",
            "Token { é",
        ] {
            let _ = s(t);
        }
        // Unbalanced type names, many of them: bounded work each, no panic.
        let many = "Token { value: é Password(Basic(\"a\", ".repeat(2000);
        let _ = s(&many);
    }
}
