//! Value patterns that look like secrets, compiled once.
//!
//! Sources (see `shared/research/alerting-anchors.md` §7(b)): Relay's PII regexes (bearer, PEM,
//! URL auth, credit cards), gitleaks' rules (Telegram, AWS, JWT) and a generalised
//! `key=value` rule. All run on the `regex` crate, which is linear-time in the input.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};

#[path = "formats.rs"]
mod formats;

/// What replaces a secret.
pub const FILTERED: &str = "[Filtered]";

/// How the matches of one pattern are replaced.
type Replacer = fn(&Captures<'_>) -> String;

/// One compiled pattern and how its matches are replaced.
struct Pattern {
    regex: Regex,
    replace: Replacer,
}

fn whole(_: &Captures<'_>) -> String {
    FILTERED.to_owned()
}

fn keep_first_group(c: &Captures<'_>) -> String {
    format!("{}{FILTERED}", c.get(1).map_or("", |m| m.as_str()))
}

fn scheme_credentials(c: &Captures<'_>) -> String {
    let cred = c.get(2).map_or("", |m| m.as_str());
    // "basic authentication", "token validation": an English word, not a credential.
    if cred.bytes().all(|b| b.is_ascii_lowercase()) {
        return c.get(0).map_or("", |m| m.as_str()).to_owned();
    }
    keep_first_group(c)
}

/// Keeps group 1, filters the middle, keeps group 2 (`scott/[Filtered]@`, `:[Filtered]@tcp(`).
fn keep_around(c: &Captures<'_>) -> String {
    format!(
        "{}{FILTERED}{}",
        c.get(1).map_or("", |m| m.as_str()),
        c.get(2).map_or("", |m| m.as_str())
    )
}

/// An `Authorization` value: a quoted one keeps its opening quote, a bare one goes to the
/// end of the line (Digest and Token parameters hold quoted credentials).
fn auth_line(c: &Captures<'_>) -> String {
    let quote = c.get(2).map_or("", |m| m.as_str());
    format!("{}{quote}{FILTERED}", c.get(1).map_or("", |m| m.as_str()))
}

fn url_auth(c: &Captures<'_>) -> String {
    format!("{}{FILTERED}@", c.get(1).map_or("", |m| m.as_str()))
}

fn card(c: &Captures<'_>) -> String {
    let m = c.get(0).map_or("", |m| m.as_str());
    if luhn_card(m) {
        FILTERED.to_owned()
    } else {
        m.to_owned()
    }
}

/// Whether `s` (digits with optional spaces or dashes) is a plausible card number: 13–19
/// digits, a known issuer prefix and a valid Luhn checksum.
pub(crate) fn luhn_card(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let prefix_ok = matches!(
        digits.as_slice(),
        [4, ..]
            | [5, 1..=5, ..]
            | [2, 2..=7, ..]
            | [3, 0 | 4..=8, ..]
            | [6, 0, 1, 1, ..]
            | [6, 2 | 5, ..]
    );
    if !prefix_ok {
        return false;
    }
    let mut sum = 0;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut d = *d;
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// The ordered pattern list. Order matters: block- and URL-shaped secrets first, then bearer
/// tokens (so `Authorization: Bearer x` loses the token, not just the word), then
/// self-identifying tokens, then card numbers. Values named by a key are
/// [`key_value`](super::key_value)'s.
static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    let mut specs: Vec<(&str, Replacer)> = vec![
        // Private-key blocks: PEM, OpenSSH, PGP, SSH2 (`---- BEGIN SSH2 … ----`).
        (
            r"(?s)-{4,5} ?BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}.*?(?:-{4,5} ?END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)? ?-{4,5}|\z)",
            whole,
        ),
        // PuTTY key files: header to the MAC line.
        (
            r"(?s)PuTTY-User-Key-File-\d+:.*?(?:Private-MAC: ?[0-9a-fA-F]+|\z)",
            whole,
        ),
        // URL userinfo: scheme://user:pass@ and scheme://:pass@ (Relay's rule misses the empty
        // user and passwords with punctuation). An unencoded password may hold `/` or `@`
        // (base64, generated): everything up to the last `@` of the token goes.
        (
            r"(?i)(?-u:\b)([a-z][a-z0-9+.\-]*:(?:\\?/){2})[^\s:/@?#\\]*:\S*@",
            url_auth,
        ),
        // Protocol-relative `//user:pass@host`.
        (r#"((?:^|[\s"'(=,])//[^\s:/@?#]+:)[^\s@]*(@)"#, keep_around),
        // Oracle `sqlplus scott/pw@//db`, `jdbc:oracle:thin:scott/pw@host`.
        (
            r"(?i)((?:(?-u:\b)sqlplus[ \t]+|jdbc:oracle:[a-z]+:)[^\s/@:]+/)[^\s@]+(@)",
            keep_around,
        ),
        // Go MySQL DSN `user:pw@tcp(host:3306)/db`.
        (
            r"((?-u:\b)[A-Za-z0-9_.\-]+:)[^\s@:]+(@(?:tcp|tcp6|udp|unix)\()",
            keep_around,
        ),
        // Passwords on command lines: `redis-cli -a pw`, `sshpass -p pw`, `mysql -ppw`,
        // `mysql -p'a b'`, `curl -u user:pw`.
        (
            r#"((?-u:\b)(?:redis-cli(?:[ \t][^\n]*?)?[ \t]-a|sshpass(?:[ \t][^\n]*?)?[ \t]-p)[ \t]+)(?:'[^'\n]*'|"[^"\n]*"|[^\s'"]+)"#,
            keep_first_group,
        ),
        (
            r#"((?-u:\b)mysql(?:dump|admin)?(?:[ \t][^\n]*?)?[ \t]-p)(?:'[^'\n]*'|"[^"\n]*"|[^\s'"]+)"#,
            keep_first_group,
        ),
        (
            r#"((?-u:\b)curl(?:[ \t][^\n]*?)?[ \t](?:-u|--user)[ \t]+[^\s:'"]*:)(?:'[^'\n]*'|"[^"\n]*"|[^\s'"]+)"#,
            keep_first_group,
        ),
        // `Authorization: <scheme> <credentials>` lines: everything after the colon.
        (
            r#"(?i)(?-u:\b)((?:proxy[-_])?authorization["']?\s*[:=]\s*)(?:(["'])[^\r\n"']+|[^\s"'][^\r\n]*)"#,
            auth_line,
        ),
        // Bearer / Basic / Token / Digest credentials in free text.
        (
            r"(?i)(?-u:\b)((?:bearer|basic|digest|token)\s+)([A-Za-z0-9._~+/\-]{8,}=*)",
            scheme_credentials,
        ),
    ];
    // Self-identifying token formats (provider prefixes), then the generic rules.
    specs.extend(formats::FORMATS.iter().map(|f| (f.regex, f.replace)));
    specs.extend::<[(&str, Replacer); 1]>([
        // Card numbers (Luhn-checked in `card`).
        (r"(?-u:\b)[2-6](?:[ \-]?\d){12,18}(?-u:\b)", card),
    ]);
    specs
        .into_iter()
        .filter_map(|(re, replace)| Regex::new(re).ok().map(|regex| Pattern { regex, replace }))
        .collect()
});

/// A one-pass prefilter: which patterns can match at all.
static SET: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(PATTERNS.iter().map(|p| p.regex.as_str())).ok());

/// Replaces every secret-shaped value in `text`.
pub(crate) fn scrub_text(text: &str) -> Cow<'_, str> {
    scrub_text_except(text, None)
}

/// [`scrub_text`] with the pattern whose source is `disabled` left out: tests prove that each
/// rule is needed by showing that its sample leaks without it.
fn scrub_text_except<'t>(text: &'t str, disabled: Option<&str>) -> Cow<'t, str> {
    let Some(set) = SET.as_ref() else {
        // Cannot happen (the patterns are constants); be safe rather than leak.
        return Cow::Owned(FILTERED.to_owned());
    };
    let hits = set.matches(text);
    if !hits.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut out: Cow<'_, str> = Cow::Borrowed(text);
    for (i, p) in PATTERNS.iter().enumerate() {
        // Earlier replacements only shrink or mask; a pattern that did not match the
        // original cannot be made to match by `[Filtered]`.
        if !hits.matched(i) || disabled == Some(p.regex.as_str()) {
            continue;
        }
        let replaced = p.regex.replace_all(&out, |c: &Captures<'_>| (p.replace)(c));
        if let Cow::Owned(s) = replaced {
            out = Cow::Owned(s);
        }
    }
    out
}

/// [`scrub_text`] without the pattern whose source is `disabled`.
#[cfg(test)]
pub(crate) fn scrub_text_without<'t>(text: &'t str, disabled: &str) -> Cow<'t, str> {
    scrub_text_except(text, Some(disabled))
}

/// Whether the patterns compiled (a test asserts they all do).
#[cfg(test)]
pub(crate) fn pattern_count() -> usize {
    PATTERNS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One sample per shape rule (the provider formats have their own): each is removed by the
    /// rules, and leaks when its own rule alone is disabled — so removing or weakening any shape
    /// rule fails here.
    const SHAPE_SAMPLES: &[(&str, &str)] = &[
        (
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BSamplePem01\n-----END PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0BSamplePem01",
        ),
        (
            "PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 1\nPuttyPrivateBody0102\nPrivate-MAC: 0a1b",
            "PuttyPrivateBody0102",
        ),
        ("redis://app:UrlPw-778899@cache:6379", "UrlPw-778899"),
        ("fetch //deploy:RelPw-445566@host/x", "RelPw-445566"),
        (
            "sqlplus scott/Tiger-Pw-1122@//db:1521/orcl",
            "Tiger-Pw-1122",
        ),
        ("dsn app:GoDsn-Pw-3344@tcp(db:3306)/app", "GoDsn-Pw-3344"),
        (
            "redis-cli -h cache -a RedisCli-Pw-5566 ping",
            "RedisCli-Pw-5566",
        ),
        ("mysql -u root -pMysql-Pw-7788 app", "Mysql-Pw-7788"),
        (
            "curl -u admin:Curl-Pw-9900 https://example.com",
            "Curl-Pw-9900",
        ),
        (
            "Authorization: Negotiate YIIGfwYGKwYBBQUCoIIGczCCBm",
            "YIIGfwYGKwYBBQUCoIIGczCCBm",
        ),
        (
            "retrying with bearer Bearer-Free-Tok-1234 now",
            "Bearer-Free-Tok-1234",
        ),
        ("card 4111 1111 1111 1111 declined", "4111 1111 1111 1111"),
    ];

    #[test]
    fn every_shape_rule_is_needed_and_sufficient() {
        let formats: std::collections::HashSet<&str> =
            formats::FORMATS.iter().map(|f| f.regex).collect();
        for (text, secret) in SHAPE_SAMPLES {
            let out = scrub_text(text);
            assert!(!out.contains(secret), "{text:?} → {out:?}");
        }
        for p in PATTERNS
            .iter()
            .filter(|p| !formats.contains(p.regex.as_str()))
        {
            let needed = SHAPE_SAMPLES
                .iter()
                .any(|(text, secret)| scrub_text_without(text, p.regex.as_str()).contains(secret));
            assert!(needed, "no sample leaks without {}", p.regex.as_str());
        }
    }

    #[test]
    fn all_patterns_compile() {
        assert_eq!(pattern_count(), 12 + formats::FORMATS.len());
        assert!(SET.is_some());
    }

    #[test]
    fn luhn() {
        assert!(luhn_card("4111 1111 1111 1111"));
        assert!(luhn_card("5500-0000-0000-0004"));
        assert!(!luhn_card("4111111111111112"));
        assert!(!luhn_card("1001234567890"));
    }

    #[test]
    fn url_passwords_with_slash_or_at_are_filtered_whole() {
        for (text, pw) in [
            (
                "connect redis://:ab/cd+ef==@cache:6379/0 failed",
                "ab/cd+ef==",
            ),
            ("redis://default:x/Y9k/Qw@cache:6379", "x/Y9k/Qw"),
            ("postgres://app:p@ss/w0rd@db:5432/app", "p@ss/w0rd"),
        ] {
            let s = scrub_text(text);
            assert!(!s.contains(pw), "{s}");
            for part in pw.split(['/', '@']).filter(|p| p.len() >= 2) {
                assert!(!s.contains(part), "{part} survived in {s}");
            }
        }
        assert_eq!(
            scrub_text("redis://:ab/cd@cache:6379/0"),
            "redis://[Filtered]@cache:6379/0"
        );
    }

    #[test]
    fn command_lines_dsns_and_urls_lose_their_passwords() {
        for (text, want) in [
            (
                "redis-cli -h c -a pw1 ping",
                "redis-cli -h c -a [Filtered] ping",
            ),
            ("sshpass -p pw1 ssh h", "sshpass -p [Filtered] ssh h"),
            ("mysql -u r -ppw1 app", "mysql -u r -p[Filtered] app"),
            ("mysql -p'a b c' app", "mysql -p[Filtered] app"),
            (
                "curl -u admin:pw1 https://h",
                "curl -u admin:[Filtered] https://h",
            ),
            (
                "sqlplus scott/pw1@//db:1521/O",
                "sqlplus scott/[Filtered]@//db:1521/O",
            ),
            (
                "jdbc:oracle:thin:scott/pw1@db:1521:O",
                "jdbc:oracle:thin:scott/[Filtered]@db:1521:O",
            ),
            (
                "app:pw1@tcp(db:3306)/app",
                "app:[Filtered]@tcp(db:3306)/app",
            ),
            (
                "fetch //user:pw1@cdn.h/x",
                "fetch //user:[Filtered]@cdn.h/x",
            ),
            (
                r"postgres:\/\/app:pw1@db\/app",
                r"postgres:\/\/[Filtered]@db\/app",
            ),
            ("ssh://git@github.com/o/r", "ssh://git@github.com/o/r"),
            ("https://bob@example.com/p", "https://bob@example.com/p"),
            (
                r#"Authorization: Digest username="bob", response="pw1""#,
                "Authorization: [Filtered]",
            ),
            (
                r#"{"authorization":"Bearer pw1","n":1}"#,
                r#"{"authorization":"[Filtered]","n":1}"#,
            ),
        ] {
            assert_eq!(scrub_text(text), want, "{text}");
        }
    }

    #[test]
    fn authorization_header_in_text_loses_the_token() {
        let s = scrub_text("Authorization: Bearer abcdefghijklmnop123");
        assert!(!s.contains("abcdefghijklmnop123"), "{s}");
    }
}
