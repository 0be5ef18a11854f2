//! Which keys name a secret: word-aware matching of header names, query parameters, detail,
//! JSON and `Debug` field names.
//!
//! A key is split into words at `_ - . [ ]`, spaces, percent escapes and camelCase boundaries
//! (`X-Auth-Token` → `x auth token`, `clientSecret` → `client secret`, `AWS_SECRET_ACCESS_KEY`
//! → `aws secret access key`). It is sensitive when
//!
//! * a word is a sensitive word (`password`, `token`, `secret`, `auth`, `session`, …) — whole
//!   words only, so `author`, `tokenizer`, `passport` and `secretary` are not — unless the last
//!   word says the value is only about the secret (`token_type`, `password_length`,
//!   `session_count`);
//! * a word *ends* with a glued sensitive stem (`dbpassword`, `accesstoken`, `apikey`);
//! * a word is `key` (or `keys`), unless the word before it names a key that is no secret
//!   (`primary_key`, `cache_key`, `idempotency_key`) — `key_id` is not a key;
//! * the whole key is one of the exact keys (`pin`, `sig`, `code` in a query string), or the
//!   key names a client address (`x-forwarded-for`) and PII is not allowed.
//!
//! The allowlist wins over everything (`sec-websocket-key`, `access-control-allow-credentials`).

/// Sensitive whole words.
pub const DEFAULT_SENSITIVE_WORDS: &[&str] = &[
    "password",
    "passwords",
    "passwd",
    "passphrase",
    "passcode",
    "pwd",
    "pass",
    "pw",
    "secret",
    "secrets",
    "token",
    "tokens",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "creds",
    "cookie",
    "cookies",
    "session",
    "sessionid",
    "sessid",
    "csrf",
    "xsrf",
    "signature",
    "sig",
    "otp",
    "totp",
    "mfa",
    "pin",
    "cvv",
    "cvc",
    "ssn",
    "bearer",
    "jwt",
    "apikey",
    "privatekey",
    "secretkey",
    "accesskey",
    "dsn",
    "sas",
    "salt",
    "nonce",
    "mnemonic",
    "privkey",
    "phpsessid",
    "authkey",
    "psk",
    "storepass",
    "keypass",
    "hmac",
];

/// Glued stems: a word ending with one of these is sensitive (`dbpassword`, `accesstoken`).
pub const DEFAULT_GLUED_STEMS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "authkey",
    "privatekey",
    "secretkey",
    "accesskey",
    "sessionid",
    "credentials",
    "credential",
];

/// Last words that make a key about a secret rather than the secret (`token_type`).
pub const DEFAULT_HARMLESS_SUFFIXES: &[&str] = &[
    "count",
    "counts",
    "len",
    "length",
    "size",
    "type",
    "kind",
    "expires",
    "expiry",
    "expiration",
    "ttl",
    "timeout",
    "policy",
    "required",
    "enabled",
    "mode",
    "format",
    "version",
    "present",
    "set",
    "hint",
    "strength",
    "rotated",
    "scope",
    "scopes",
    "in",
    "at",
];

/// Words before `key` that name a key which is no secret (`primary_key`, `cache_key`).
pub const DEFAULT_HARMLESS_KEY_QUALIFIERS: &[&str] = &[
    "primary",
    "foreign",
    "sort",
    "partition",
    "cache",
    "idempotency",
    "public",
    "routing",
    "shard",
    "hash",
    "row",
    "object",
    "dedup",
    "lookup",
    "natural",
    "composite",
    "unique",
    "index",
    "websocket",
    "map",
    "group",
    "message",
    "redis",
    "bucket",
    "file",
    "field",
    "translation",
    "i18n",
    "next",
    "last",
    "first",
    "s3",
    "hotkey",
    "hot",
    "short",
    "foreign",
    "dictionary",
    "table",
];

/// Whole keys (normalised: lower case, `_` for `-` and `.`) that are sensitive on their own.
pub const DEFAULT_EXACT_KEYS: &[&str] = &[
    "key",
    "keys",
    "two_factor",
    "2fa",
    "card_number",
    "cardnumber",
    "pan",
    "iban",
    "proxy_authorization",
    "set_cookie",
    "x_amz_security_token",
    "private",
    "client_secret",
    "seed_phrase",
    "seedphrase",
    "connect_sid",
    "code_verifier",
    "client_assertion",
];

/// Whole keys that are secrets only in a query string or a form (`?code=…` of OAuth).
pub const DEFAULT_QUERY_KEYS: &[&str] = &["code", "state", "ticket", "k", "s"];

/// Whole keys that are never sensitive, whatever their words (normalised).
pub const DEFAULT_ALLOWED_KEYS: &[&str] = &[
    "sec_websocket_key",
    "sec_websocket_accept",
    "access_control_allow_credentials",
    "access_control_allow_headers",
    "access_control_expose_headers",
    "www_authenticate",
    "token_type",
    "token_endpoint",
    "authorization_endpoint",
    "auth_method",
    "key_id",
    "kid",
    "author",
    "pin_code_length",
    "max_tokens",
    "input_tokens",
    "output_tokens",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
];

/// Headers and keys that identify a person (client addresses); filtered unless PII is allowed.
pub const DEFAULT_PII_KEYS: &[&str] = &[
    "x_forwarded_for",
    "x_real_ip",
    "forwarded",
    "cf_connecting_ip",
    "true_client_ip",
    "ip_address",
    "remote_addr",
    "client_ip",
];

/// The word lists the scrubber's key matcher applies; part of
/// [`ScrubConfig`](crate::scrub::ScrubConfig).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRules {
    /// Sensitive whole words ([`DEFAULT_SENSITIVE_WORDS`]).
    pub sensitive_words: Vec<String>,
    /// Glued stems ([`DEFAULT_GLUED_STEMS`]).
    pub glued_stems: Vec<String>,
    /// Harmless last words ([`DEFAULT_HARMLESS_SUFFIXES`]).
    pub harmless_suffixes: Vec<String>,
    /// Harmless qualifiers of `key` ([`DEFAULT_HARMLESS_KEY_QUALIFIERS`]).
    pub harmless_key_qualifiers: Vec<String>,
    /// Whole keys always sensitive ([`DEFAULT_EXACT_KEYS`]).
    pub exact_keys: Vec<String>,
    /// Whole keys sensitive in query strings ([`DEFAULT_QUERY_KEYS`]).
    pub query_keys: Vec<String>,
    /// Whole keys never sensitive ([`DEFAULT_ALLOWED_KEYS`]).
    pub allowed_keys: Vec<String>,
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for KeyRules {
    fn default() -> Self {
        Self {
            sensitive_words: owned(DEFAULT_SENSITIVE_WORDS),
            glued_stems: owned(DEFAULT_GLUED_STEMS),
            harmless_suffixes: owned(DEFAULT_HARMLESS_SUFFIXES),
            harmless_key_qualifiers: owned(DEFAULT_HARMLESS_KEY_QUALIFIERS),
            exact_keys: owned(DEFAULT_EXACT_KEYS),
            query_keys: owned(DEFAULT_QUERY_KEYS),
            allowed_keys: owned(DEFAULT_ALLOWED_KEYS),
        }
    }
}

/// Where a key was found: query-only keys count only in a query string or form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyContext {
    /// A header, detail, JSON or `Debug` field name, or `key: value` in prose.
    Field,
    /// A query-string or form parameter (`?code=…`).
    Query,
}

/// Longest key considered (longer "keys" are prose, not names).
const MAX_KEY_LEN: usize = 96;
/// Most words considered in one key.
const MAX_WORDS: usize = 16;

/// A key split into words, lower-cased into a fixed buffer (no allocation per key).
struct Words {
    buf: [u8; MAX_KEY_LEN],
    spans: [(u8, u8); MAX_WORDS],
    n: usize,
    normalised_len: usize,
    norm: [u8; MAX_KEY_LEN],
}

impl Words {
    /// Splits `key` (already percent-decoded) into words; `None` when it is too long.
    fn split(key: &str) -> Option<Self> {
        let bytes = key.as_bytes();
        if bytes.len() > MAX_KEY_LEN || bytes.is_empty() {
            return None;
        }
        let mut w = Self {
            buf: [0; MAX_KEY_LEN],
            spans: [(0, 0); MAX_WORDS],
            n: 0,
            normalised_len: 0,
            norm: [0; MAX_KEY_LEN],
        };
        // Normalised whole key: lower case, separators as `_`, trimmed of quotes/brackets.
        let mut nlen = 0;
        for &b in bytes {
            let c = match b {
                b'-' | b'.' | b' ' => b'_',
                b'[' | b']' | b'"' | b'\'' | b'`' | b'\\' => continue,
                _ => b.to_ascii_lowercase(),
            };
            w.norm[nlen] = c;
            nlen += 1;
        }
        w.normalised_len = nlen;
        let mut len = 0usize;
        let mut start = 0usize;
        let mut prev: Option<u8> = None;
        for (i, &b) in bytes.iter().enumerate() {
            let next = bytes.get(i + 1).copied();
            if !b.is_ascii_alphanumeric() {
                w.close(start, len);
                start = len;
                prev = None;
                continue;
            }
            // camelCase: aB → a|B; ABc → A|Bc.
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() && b.is_ascii_uppercase() => true,
                Some(p)
                    if p.is_ascii_uppercase()
                        && b.is_ascii_uppercase()
                        && next.is_some_and(|n| n.is_ascii_lowercase()) =>
                {
                    true
                }
                _ => false,
            };
            if boundary {
                w.close(start, len);
                start = len;
            }
            w.buf[len] = b.to_ascii_lowercase();
            len += 1;
            prev = Some(b);
        }
        w.close(start, len);
        Some(w)
    }

    fn close(&mut self, start: usize, end: usize) {
        if end > start && self.n < MAX_WORDS {
            // Both fit in u8: MAX_KEY_LEN < 256.
            self.spans[self.n] = (start as u8, end as u8);
            self.n += 1;
        }
    }

    fn word(&self, i: usize) -> &str {
        let (s, e) = self.spans[i];
        std::str::from_utf8(&self.buf[s as usize..e as usize]).unwrap_or("")
    }

    fn normalised(&self) -> &str {
        std::str::from_utf8(&self.norm[..self.normalised_len]).unwrap_or("")
    }
}

fn contains(list: &[String], s: &str) -> bool {
    list.iter().any(|e| e == s)
}

/// Applies [`KeyRules`] (and the PII switch) to keys.
#[derive(Debug, Clone)]
pub(crate) struct KeyMatcher {
    rules: KeyRules,
    send_pii: bool,
}

impl KeyMatcher {
    pub(crate) fn new(rules: KeyRules, send_pii: bool) -> Self {
        Self { rules, send_pii }
    }

    /// Whether values under `key` (already percent-decoded) are secrets.
    pub(crate) fn is_sensitive(&self, key: &str, context: KeyContext) -> bool {
        let Some(words) = Words::split(key) else {
            return false;
        };
        let whole = words.normalised();
        let r = &self.rules;
        if contains(&r.allowed_keys, whole) {
            return false;
        }
        if contains(&r.exact_keys, whole)
            || (context == KeyContext::Query && contains(&r.query_keys, whole))
            || (!self.send_pii && DEFAULT_PII_KEYS.contains(&whole))
        {
            return true;
        }
        if words.n == 0 {
            return false;
        }
        let last = words.word(words.n - 1);
        let harmless_tail = words.n > 1 && contains(&r.harmless_suffixes, last);
        for i in 0..words.n {
            let w = words.word(i);
            let strong = contains(&r.sensitive_words, w)
                || r.glued_stems
                    .iter()
                    .any(|s| w.len() > s.len() && w.ends_with(s.as_str()));
            if strong && !harmless_tail {
                return true;
            }
            if (w == "key" || w == "keys") && i == words.n - 1 {
                let qualifier = i.checked_sub(1).map(|p| words.word(p));
                if !qualifier.is_some_and(|q| contains(&r.harmless_key_qualifiers, q)) {
                    return true;
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> KeyMatcher {
        KeyMatcher::new(KeyRules::default(), false)
    }

    #[test]
    fn sensitive_keys_in_every_spelling() {
        let m = m();
        for k in [
            "password",
            "Password",
            "db_password",
            "DB-PASSWORD",
            "dbPassword",
            "dbpassword",
            "pass",
            "pwd",
            "passphrase",
            "secret_key",
            "private_key",
            "privateKey",
            "client_secret",
            "clientSecret",
            "credentials",
            "AWS_SECRET_ACCESS_KEY",
            "aws_access_key_id_secret",
            "X-Auth-Token",
            "x-api-key",
            "X_Api_Key",
            "apiKey",
            "api-key",
            "Authorization",
            "Proxy-Authorization",
            "Cookie",
            "Set-Cookie",
            "X-Session-Id",
            "sessionId",
            "X-Hub-Signature-256",
            "X-Amz-Signature",
            "X-Amz-Credential",
            "Ocp-Apim-Subscription-Key",
            "x-functions-key",
            "accessToken",
            "refresh_token",
            "id_token",
            "authenticity_token",
            "key",
            "otp",
            "user[password]",
            "spring.datasource.password",
            "X-Forwarded-For",
            "client_ip",
        ] {
            assert!(m.is_sensitive(k, KeyContext::Field), "{k}");
        }
    }

    #[test]
    fn harmless_keys_survive() {
        let m = m();
        for k in [
            "author",
            "Author",
            "tokenizer",
            "tokenizer_path",
            "passport",
            "keyboard",
            "secretary",
            "monkey",
            "keyword",
            "user_id",
            "page",
            "content-type",
            "accept",
            "token_type",
            "token_count",
            "password_length",
            "session_count",
            "primary_key",
            "cache_key",
            "Idempotency-Key",
            "Sec-WebSocket-Key",
            "key_id",
            "Access-Control-Allow-Credentials",
            "WWW-Authenticate",
            "bypass",
            "compass",
            "code",
            "state",
            "status_code",
        ] {
            assert!(!m.is_sensitive(k, KeyContext::Field), "{k}");
        }
    }

    /// Each default, spelled out here rather than read from the lists, so that removing or
    /// weakening any entry fails.
    #[test]
    fn every_default_entry_has_its_effect() {
        let m = m();
        for w in [
            "password",
            "passwords",
            "passwd",
            "passphrase",
            "passcode",
            "pwd",
            "pass",
            "pw",
            "secret",
            "secrets",
            "token",
            "tokens",
            "auth",
            "authorization",
            "credential",
            "credentials",
            "creds",
            "cookie",
            "cookies",
            "session",
            "sessionid",
            "sessid",
            "csrf",
            "xsrf",
            "signature",
            "sig",
            "otp",
            "totp",
            "mfa",
            "pin",
            "cvv",
            "cvc",
            "ssn",
            "bearer",
            "jwt",
            "apikey",
            "privatekey",
            "secretkey",
            "accesskey",
            "dsn",
            "sas",
            "salt",
            "nonce",
            "mnemonic",
            "privkey",
            "phpsessid",
            "authkey",
            "psk",
            "storepass",
            "keypass",
            "hmac",
        ] {
            assert!(m.is_sensitive(w, KeyContext::Field), "word {w}");
            assert!(
                m.is_sensitive(&format!("db_{w}"), KeyContext::Field),
                "db_{w}"
            );
            assert!(
                m.is_sensitive(&format!("{w}_value"), KeyContext::Field),
                "{w}_value"
            );
        }
        for stem in [
            "password",
            "passwd",
            "passphrase",
            "token",
            "secret",
            "apikey",
            "authkey",
            "privatekey",
            "secretkey",
            "accesskey",
            "sessionid",
            "credentials",
            "credential",
        ] {
            assert!(
                m.is_sensitive(&format!("my{stem}"), KeyContext::Field),
                "my{stem}"
            );
        }
        for suffix in [
            "count",
            "counts",
            "len",
            "length",
            "size",
            "type",
            "kind",
            "expires",
            "expiry",
            "expiration",
            "ttl",
            "timeout",
            "policy",
            "required",
            "enabled",
            "mode",
            "format",
            "version",
            "present",
            "set",
            "hint",
            "strength",
            "rotated",
            "scope",
            "scopes",
            "in",
            "at",
        ] {
            assert!(
                !m.is_sensitive(&format!("token_{suffix}"), KeyContext::Field),
                "token_{suffix}"
            );
        }
        for q in [
            "primary",
            "foreign",
            "sort",
            "partition",
            "cache",
            "idempotency",
            "public",
            "routing",
            "shard",
            "hash",
            "row",
            "object",
            "dedup",
            "lookup",
            "natural",
            "composite",
            "unique",
            "index",
            "websocket",
            "map",
            "group",
            "message",
            "redis",
            "bucket",
            "file",
            "field",
            "translation",
            "i18n",
            "next",
            "last",
            "first",
            "s3",
            "hotkey",
            "hot",
            "short",
            "dictionary",
            "table",
        ] {
            assert!(
                !m.is_sensitive(&format!("{q}_key"), KeyContext::Field),
                "{q}_key"
            );
            assert!(
                m.is_sensitive(&format!("{q}_token"), KeyContext::Field),
                "{q}_token"
            );
        }
        for k in [
            "key",
            "keys",
            "two_factor",
            "2fa",
            "card_number",
            "cardnumber",
            "pan",
            "iban",
            "proxy_authorization",
            "set_cookie",
            "x_amz_security_token",
            "private",
            "client_secret",
            "seed_phrase",
            "seedphrase",
            "connect_sid",
            "code_verifier",
            "client_assertion",
        ] {
            assert!(m.is_sensitive(k, KeyContext::Field), "exact {k}");
        }
        for k in ["code", "state", "ticket", "k", "s"] {
            assert!(m.is_sensitive(k, KeyContext::Query), "query {k}");
        }
        for k in [
            "sec_websocket_key",
            "sec_websocket_accept",
            "access_control_allow_credentials",
            "access_control_allow_headers",
            "access_control_expose_headers",
            "www_authenticate",
            "token_type",
            "token_endpoint",
            "authorization_endpoint",
            "auth_method",
            "key_id",
            "kid",
            "author",
            "pin_code_length",
            "max_tokens",
            "input_tokens",
            "output_tokens",
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
        ] {
            assert!(!m.is_sensitive(k, KeyContext::Field), "allowed {k}");
            assert!(!m.is_sensitive(k, KeyContext::Query), "allowed {k}");
        }
        for k in [
            "x_forwarded_for",
            "x_real_ip",
            "forwarded",
            "cf_connecting_ip",
            "true_client_ip",
            "ip_address",
            "remote_addr",
            "client_ip",
        ] {
            assert!(m.is_sensitive(k, KeyContext::Field), "pii {k}");
        }
    }

    #[test]
    fn query_only_keys() {
        let m = m();
        assert!(m.is_sensitive("code", KeyContext::Query));
        assert!(!m.is_sensitive("code", KeyContext::Field));
        assert!(!m.is_sensitive("page", KeyContext::Query));
    }

    #[test]
    fn pii_switch() {
        let allow = KeyMatcher::new(KeyRules::default(), true);
        assert!(!allow.is_sensitive("X-Forwarded-For", KeyContext::Field));
        assert!(allow.is_sensitive("authorization", KeyContext::Field));
    }

    #[test]
    fn overlong_keys_are_prose() {
        let long = "password_".repeat(20);
        assert!(!m().is_sensitive(&long, KeyContext::Field));
    }
}
