//! Scopes, subjects and the one [`KeyBuilder`] that makes every store key.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::ConfigError;
use crate::{Algorithm, Event, Fingerprint};

/// Whom a limit counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Scope {
    /// Each user, across all chats.
    #[default]
    User,
    /// Each chat, all users together.
    Chat,
    /// Each user separately in each chat.
    UserInChat,
    /// Everyone together.
    Global,
    /// The event's own custom key ([`Event::with_custom_key`]).
    Custom,
}

/// A concrete subject: the value of a [`Scope`] for one event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Subject {
    /// A Telegram user id.
    User(i64),
    /// A Telegram chat id.
    Chat(i64),
    /// A user in a chat.
    UserInChat {
        /// The user id.
        user: i64,
        /// The chat id.
        chat: i64,
    },
    /// Everyone.
    Global,
    /// Any caller-chosen string (escaped or hashed in keys).
    Custom(String),
}

impl Subject {
    /// The subject `scope` selects for `event`.
    ///
    /// Updates without the needed id fall back rather than fail: a user scope without a user
    /// (channel posts) uses the chat; a chat scope without a chat uses the user; a custom scope
    /// without a custom key uses the user-in-chat rules; nothing at all is [`Subject::Global`].
    pub fn for_event(scope: Scope, event: &Event) -> Self {
        let (user, chat) = (event.user(), event.chat());
        let fallback = || match (user, chat) {
            (Some(u), _) => Self::User(u),
            (None, Some(c)) => Self::Chat(c),
            (None, None) => Self::Global,
        };
        match scope {
            Scope::User => fallback(),
            Scope::Chat => chat.map_or_else(fallback, Self::Chat),
            Scope::UserInChat => match (user, chat) {
                (Some(user), Some(chat)) => Self::UserInChat { user, chat },
                _ => fallback(),
            },
            Scope::Global => Self::Global,
            Scope::Custom => event
                .custom_key()
                .map_or_else(fallback, |k| Self::Custom(k.to_owned())),
        }
    }

    /// The encoded form that goes between the braces of a key. Never contains `{`, `}` or `:`
    /// beyond the fixed tags, and different subjects never encode alike.
    pub fn encode(&self) -> String {
        match self {
            Self::User(u) => format!("u{u}"),
            Self::Chat(c) => format!("c{c}"),
            Self::UserInChat { user, chat } => format!("u{user}c{chat}"),
            Self::Global => "g".to_owned(),
            Self::Custom(s) => format!("x{}", escape(s)),
        }
    }
}

impl Subject {
    /// The subject back out of its [encoded form](Subject::encode), for admin tools reading
    /// store keys. `None` when `encoded` is not the exact encoding of a subject, and for a
    /// custom subject whose name was hashed (longer than 64 characters or with characters
    /// outside `[A-Za-z0-9_.-]`): a hash cannot be turned back into the name.
    ///
    /// ```
    /// use sentinel_core::Subject;
    ///
    /// assert_eq!(Subject::decode("u42"), Some(Subject::User(42)));
    /// assert_eq!(Subject::decode("u7c-100"), Some(Subject::UserInChat { user: 7, chat: -100 }));
    /// assert_eq!(Subject::decode("x=api-key"), Some(Subject::Custom("api-key".into())));
    /// assert_eq!(Subject::decode(&Subject::Custom("a b".into()).encode()), None); // hashed
    /// assert_eq!(Subject::decode("u007"), None); // not what `encode` writes
    /// ```
    pub fn decode(encoded: &str) -> Option<Self> {
        let subject = match encoded.as_bytes().first()? {
            b'g' => Self::Global,
            b'x' => {
                let name = encoded.get(1..)?.strip_prefix('=')?;
                Self::Custom(name.to_owned())
            }
            b'c' => Self::Chat(encoded.get(1..)?.parse().ok()?),
            b'u' => {
                let rest = encoded.get(1..)?;
                match rest.split_once('c') {
                    Some((user, chat)) => Self::UserInChat {
                        user: user.parse().ok()?,
                        chat: chat.parse().ok()?,
                    },
                    None => Self::User(rest.parse().ok()?),
                }
            }
            _ => return None,
        };
        // Only the canonical form: `u+7`, `u007` or `x=a b` parse above but are not what
        // `encode` writes, so they name no key this crate made.
        (subject.encode() == encoded).then_some(subject)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(u) => write!(f, "user {u}"),
            Self::Chat(c) => write!(f, "chat {c}"),
            Self::UserInChat { user, chat } => write!(f, "user {user} in chat {chat}"),
            Self::Global => f.write_str("global"),
            Self::Custom(s) => write!(f, "custom {}", escape(s)),
        }
    }
}

/// What a key stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// Rate-limit state of one algorithm.
    RateLimit(Algorithm),
    /// A debounce entry.
    Debounce,
    /// A blocklist record.
    Block,
    /// Escalation strikes.
    Strikes,
}

impl KeyKind {
    /// The fixed tag in the key (`rl-sw`, `rl-gcra`, `rl-fw`, `db`, `bl`, `st`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RateLimit(Algorithm::SlidingWindow) => "rl-sw",
            Self::RateLimit(Algorithm::Gcra) => "rl-gcra",
            Self::RateLimit(Algorithm::FixedWindow) => "rl-fw",
            Self::Debounce => "db",
            Self::Block => "bl",
            Self::Strikes => "st",
        }
    }
}

/// Characters that pass through [`escape`] unchanged.
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Longest string kept readable in a key; longer ones are hashed.
const MAX_PLAIN: usize = 64;

/// Escapes a user-supplied string for use in a key: short strings of `[A-Za-z0-9_.-]` stay as
/// they are (prefixed `=`), anything else becomes `#` + 32 hex digits of its SHA-256. The two
/// forms cannot collide, and the result never contains `:`, `{`, `}`, `*`, `?`, `[`, spaces
/// or control characters.
///
/// ```
/// use sentinel_core::key::escape;
/// assert_eq!(escape("start"), "=start");
/// assert!(escape("a:b{c}").starts_with('#'));
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_PLAIN) + 1);
    write_escaped(&mut out, s);
    out
}

/// [`escape`] appended to `out` (no intermediate string, even for the hashed form).
pub(crate) fn write_escaped(out: &mut String, s: &str) {
    if s.len() <= MAX_PLAIN && s.bytes().all(is_plain) {
        out.push('=');
        out.push_str(s);
    } else {
        let d = Sha256::digest(s.as_bytes());
        out.push('#');
        push_hex(out, &d[..16]);
    }
}

/// Appends `fp` as debounce keys carry it: URL-safe base64 without padding, 22 characters
/// of `[A-Za-z0-9_-]` (hex would take 32, and push the usual debounce key past the memory
/// store's inline key length), without allocating once `out` has room.
pub(crate) fn push_fingerprint(out: &mut String, fp: &Fingerprint) {
    use base64::Engine as _;
    // Into a stack buffer, then one copy: `encode_string` goes through a chunked writer that
    // costs ten times the encoding itself.
    let mut buf = [0u8; 24];
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode_slice(fp.as_bytes(), &mut buf)
        .unwrap_or(0);
    // base64 output is ASCII.
    out.push_str(std::str::from_utf8(buf.get(..n).unwrap_or_default()).unwrap_or_default());
}

/// Appends `bytes` as lower-case hex (what `hex::encode` returns), without allocating.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

/// Appends the decimal form of `v` (what `write!(out, "{v}")` writes) without the formatting
/// machinery: keys are written on every check.
pub(crate) fn push_i64(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends a subject's encoded form ([`Subject::encode`]).
fn push_subject(out: &mut String, subject: &Subject) {
    match subject {
        Subject::User(u) => {
            out.push('u');
            push_i64(out, *u);
        }
        Subject::Chat(c) => {
            out.push('c');
            push_i64(out, *c);
        }
        Subject::UserInChat { user, chat } => {
            out.push('u');
            push_i64(out, *user);
            out.push('c');
            push_i64(out, *chat);
        }
        Subject::Global => out.push('g'),
        Subject::Custom(s) => {
            out.push('x');
            write_escaped(out, s);
        }
    }
}

/// Appends the encoded form of the subject `scope` selects for `event`: exactly
/// `Subject::for_event(scope, event).encode()`, without building the subject (a custom key
/// is not copied).
pub(crate) fn push_subject_for(out: &mut String, scope: Scope, event: &Event) {
    let (user, chat) = (event.user(), event.chat());
    let fallback = |out: &mut String| match (user, chat) {
        (Some(u), _) => {
            out.push('u');
            push_i64(out, u);
        }
        (None, Some(c)) => {
            out.push('c');
            push_i64(out, c);
        }
        (None, None) => out.push('g'),
    };
    match scope {
        Scope::User => fallback(out),
        Scope::Chat => match chat {
            Some(c) => {
                out.push('c');
                push_i64(out, c);
            }
            None => fallback(out),
        },
        Scope::UserInChat => match (user, chat) {
            (Some(u), Some(c)) => {
                out.push('u');
                push_i64(out, u);
                out.push('c');
                push_i64(out, c);
            }
            _ => fallback(out),
        },
        Scope::Global => out.push('g'),
        Scope::Custom => match event.custom_key() {
            Some(k) => {
                out.push('x');
                write_escaped(out, k);
            }
            None => fallback(out),
        },
    }
}

/// The two fixed parts of a key around its subject ([`KeyBuilder::parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyParts {
    head: String,
    tail: String,
}

impl KeyParts {
    /// Writes the key of the subject `scope` selects for `event` into `out` (cleared first).
    pub(crate) fn write_for(&self, out: &mut String, scope: Scope, event: &Event) {
        out.clear();
        out.push_str(&self.head);
        push_subject_for(out, scope, event);
        out.push_str(&self.tail);
    }

    /// Writes the key of a user (`'u'`) or chat (`'c'`) id into `out` (cleared first).
    pub(crate) fn write_id(&self, out: &mut String, tag: char, id: i64) {
        out.clear();
        out.push_str(&self.head);
        out.push(tag);
        push_i64(out, id);
        out.push_str(&self.tail);
    }
}

/// Makes every store key: `{prefix}:{kind}:{{subject}}:{handler}`.
///
/// The braces are a Redis Cluster hash tag, so all keys of one subject live in one slot.
/// `prefix` is validated; subjects and handler names are escaped or hashed ([`escape`]), so no
/// two different (kind, subject, handler) triples produce the same key and no input escapes its
/// braces.
///
/// ```
/// use sentinel_core::{Algorithm, KeyBuilder, KeyKind, Subject};
///
/// let keys = KeyBuilder::new("bot")?;
/// let k = keys.key(KeyKind::RateLimit(Algorithm::Gcra), &Subject::User(42), "start");
/// assert_eq!(k, "bot:rl-gcra:{u42}:=start");
/// # Ok::<(), sentinel_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyBuilder {
    prefix: String,
}

impl KeyBuilder {
    /// A builder for keys under `prefix`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidPrefix`] unless `prefix` is 1–64 characters of
    /// `[A-Za-z0-9_.-]`.
    pub fn new(prefix: impl Into<String>) -> Result<Self, ConfigError> {
        let prefix = prefix.into();
        if prefix.is_empty() || prefix.len() > MAX_PLAIN || !prefix.bytes().all(is_plain) {
            return Err(ConfigError::InvalidPrefix(prefix));
        }
        Ok(Self { prefix })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of `kind` for `subject` and `handler`.
    pub fn key(&self, kind: KeyKind, subject: &Subject, handler: &str) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 48 + handler.len());
        self.write_key(&mut key, kind, subject, handler);
        key
    }

    /// Appends the key of `kind` for `subject` and `handler` to `out`, in one buffer (no
    /// intermediate strings for the subject or a plain handler name).
    pub fn write_key(&self, out: &mut String, kind: KeyKind, subject: &Subject, handler: &str) {
        out.push_str(&self.prefix);
        out.push(':');
        out.push_str(kind.as_str());
        out.push_str(":{");
        push_subject(out, subject);
        out.push_str("}:");
        write_escaped(out, handler);
    }

    /// The fixed parts of the keys of `kind` for `handler`: everything before the subject,
    /// and everything after it (with `suffix` appended), so the engine writes a key by
    /// copying two precomputed strings around the subject.
    pub(crate) fn parts(&self, kind: KeyKind, handler: &str, suffix: &str) -> KeyParts {
        let mut head = String::with_capacity(self.prefix.len() + 12);
        head.push_str(&self.prefix);
        head.push(':');
        head.push_str(kind.as_str());
        head.push_str(":{");
        let mut tail = String::from("}:");
        write_escaped(&mut tail, handler);
        tail.push_str(suffix);
        KeyParts { head, tail }
    }

    /// The key of the rate limit at `index` in its policy: [`KeyBuilder::key`] for the first
    /// (index 0), followed by `:` and the index for the others, so two limits of one policy
    /// never share state.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, KeyBuilder, Subject};
    /// let keys = KeyBuilder::new("bot")?;
    /// assert_eq!(keys.limit_key(Algorithm::Gcra, &Subject::User(1), "h", 0), "bot:rl-gcra:{u1}:=h");
    /// assert_eq!(keys.limit_key(Algorithm::Gcra, &Subject::User(1), "h", 2), "bot:rl-gcra:{u1}:=h:2");
    /// # Ok::<(), sentinel_core::ConfigError>(())
    /// ```
    pub fn limit_key(
        &self,
        algorithm: Algorithm,
        subject: &Subject,
        handler: &str,
        index: usize,
    ) -> String {
        let mut key = self.key(KeyKind::RateLimit(algorithm), subject, handler);
        if index > 0 {
            use fmt::Write as _;
            // Writing into a String cannot fail.
            let _ = write!(key, ":{index}");
        }
        key
    }

    /// The debounce key: the [`KeyKind::Debounce`] key followed by `:` and the fingerprint in
    /// URL-safe base64 without padding (22 characters).
    ///
    /// ```
    /// use sentinel_core::{Fingerprint, KeyBuilder, Subject};
    /// let keys = KeyBuilder::new("sentinel")?;
    /// let key = keys.debounce_key(&Subject::User(42), "_", &Fingerprint::of("hi"));
    /// assert!(key.starts_with("sentinel:db:{u42}:=_:"));
    /// assert_eq!(key.len(), "sentinel:db:{u42}:=_:".len() + 22);
    /// # Ok::<(), sentinel_core::ConfigError>(())
    /// ```
    pub fn debounce_key(&self, subject: &Subject, handler: &str, fp: &Fingerprint) -> String {
        let mut key = self.key(KeyKind::Debounce, subject, handler);
        key.push(':');
        push_fingerprint(&mut key, fp);
        key
    }

    /// The blocklist key of `subject` (blocks apply to every handler).
    pub fn block_key(&self, subject: &Subject) -> String {
        self.key(KeyKind::Block, subject, "all")
    }

    /// The prefix shared by every blocklist key, for listing (`SCAN MATCH <this>*`).
    pub fn block_key_prefix(&self) -> String {
        format!("{}:{}:", self.prefix, KeyKind::Block.as_str())
    }

    /// The subject's encoded form back out of a blocklist key made by this builder, for display.
    pub fn subject_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let open = key.find('{')?;
        let close = key[open..].find('}')? + open;
        Some(&key[open + 1..close])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events() -> Vec<Event> {
        let ids = [0, 1, -1, 42, -100_123_456_789, i64::MAX, i64::MIN];
        let customs = [
            None,
            Some("plain-key_1.2"),
            Some(""),
            Some("a:b{c}"),
            Some("ключ"),
            Some("k".repeat(65).leak() as &str),
        ];
        let mut out = Vec::new();
        for user in [None, Some(ids[0])]
            .into_iter()
            .chain(ids.iter().copied().map(Some))
        {
            for chat in [None, Some(7)]
                .into_iter()
                .chain(ids.iter().copied().map(Some))
            {
                for custom in customs {
                    let mut e = Event::new();
                    if let Some(u) = user {
                        e = e.with_user(u);
                    }
                    if let Some(c) = chat {
                        e = e.with_chat(c);
                    }
                    if let Some(k) = custom {
                        e = e.with_custom_key(k);
                    }
                    out.push(e);
                }
            }
        }
        out
    }

    const SCOPES: [Scope; 5] = [
        Scope::User,
        Scope::Chat,
        Scope::UserInChat,
        Scope::Global,
        Scope::Custom,
    ];

    /// The engine's allocation-free subject writer says exactly what `Subject::for_event`
    /// and `Subject::encode` say, for every scope and every shape of event.
    #[test]
    fn subject_written_in_place_is_the_encoded_subject() {
        for e in events() {
            for scope in SCOPES {
                let mut out = String::from("keep:");
                push_subject_for(&mut out, scope, &e);
                let want = format!("keep:{}", Subject::for_event(scope, &e).encode());
                assert_eq!(out, want, "{scope:?} {e:?}");
            }
        }
    }

    /// Keys written from precomputed parts are the keys `KeyBuilder` makes.
    #[test]
    fn keys_from_parts_are_the_builders_keys() {
        let kb = KeyBuilder::new("bot").unwrap_or_else(|e| panic!("{e}"));
        let mut out = String::new();
        for handler in ["_", "start", "a:b", &"h".repeat(70)] {
            for e in events() {
                for scope in SCOPES {
                    let subject = Subject::for_event(scope, &e);
                    for (i, algorithm) in Algorithm::ALL.into_iter().enumerate() {
                        let suffix = if i == 0 {
                            String::new()
                        } else {
                            format!(":{i}")
                        };
                        let parts = kb.parts(KeyKind::RateLimit(algorithm), handler, &suffix);
                        parts.write_for(&mut out, scope, &e);
                        assert_eq!(out, kb.limit_key(algorithm, &subject, handler, i));
                    }
                }
            }
        }
        let parts = kb.parts(KeyKind::Block, "all", "");
        for id in [0, 5, -5, i64::MIN, i64::MAX] {
            parts.write_id(&mut out, 'u', id);
            assert_eq!(out, kb.block_key(&Subject::User(id)));
            parts.write_id(&mut out, 'c', id);
            assert_eq!(out, kb.block_key(&Subject::Chat(id)));
        }
    }

    #[test]
    fn hex_and_decimal_match_the_standard_forms() {
        let mut out = String::new();
        push_hex(&mut out, &[0x00, 0x0f, 0xa5, 0xff]);
        assert_eq!(out, hex::encode([0x00, 0x0f, 0xa5, 0xff]));
        for v in [
            0,
            9,
            10,
            -10,
            99,
            100,
            -100,
            101,
            1_234_567_890,
            123_456_789,
            i64::MIN,
            i64::MAX,
        ] {
            out.clear();
            push_i64(&mut out, v);
            assert_eq!(out, v.to_string());
        }
    }
}
