//! [`SubjectKeys`]: which store keys belong to a user or a chat, for
//! [`Sentinel::forget`](crate::Sentinel::forget) and [`Store::forget`](crate::Store::forget).
//!
//! Every key is `{prefix}:{kind}:{{tag}}:{rest}` ([`KeyBuilder`]), and the subject's encoded
//! form is the tag between the braces. A key is **of a subject** when its tag names it:
//!
//! | Forgotten subject | Keys deleted (tags) |
//! |---|---|
//! | [`Subject::User`]`(u)` | the user's own keys `{u<u>}`, and the user in every chat `{u<u>c<any chat>}` |
//! | [`Subject::Chat`]`(c)` | the chat's own keys `{c<c>}`, and every user in that chat `{u<any user>c<c>}` |
//! | [`Subject::UserInChat`] | that pair only `{u<u>c<c>}` |
//! | [`Subject::Custom`]`(s)` | that custom key only `{x<escaped s>}` |
//! | [`Subject::Global`] | refused: those keys are everyone's |
//!
//! Every kind of key goes: rate-limit state of every policy and every limit, debounce
//! fingerprints, strikes, blocklist records (and kinds added later, since the kind is not
//! looked at). Keys of other subjects, of other prefixes, and telemon's coordination keys are
//! never touched.

use crate::error::ConfigError;
use crate::key::{KeyBuilder, Subject};

/// The keys of one subject under one prefix: an exact test ([`SubjectKeys::matches`]) and
/// the Redis `SCAN MATCH` patterns that find them ([`SubjectKeys::patterns`]). See the
/// [module docs](self) for which keys count.
///
/// ```
/// use sentinel_core::{KeyBuilder, Subject, forget::SubjectKeys};
///
/// let keys = KeyBuilder::new("bot")?;
/// let user = SubjectKeys::new(&keys, &Subject::User(42))?;
/// assert!(user.matches("bot:rl-sw:{u42}:=start"));
/// assert!(user.matches("bot:db:{u42c-100}:=all:0123abcd"));
/// assert!(!user.matches("bot:rl-sw:{u421}:=start"));
/// assert!(!user.matches("bot:rl-sw:{c42}:=start"));
/// assert!(!user.matches("other:rl-sw:{u42}:=start"));
///
/// let chat = SubjectKeys::new(&keys, &Subject::Chat(-100))?;
/// assert!(chat.matches("bot:bl:{c-100}:=all"));
/// assert!(chat.matches("bot:st:{u7c-100}:=start"));
/// assert!(!chat.matches("bot:st:{u7c-1001}:=start"));
/// # Ok::<(), sentinel_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectKeys {
    prefix: String,
    subject: Subject,
    /// The exact tag of the subject's own keys.
    own: String,
    patterns: Vec<String>,
}

impl SubjectKeys {
    /// The keys `keys` makes for `subject`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for [`Subject::Global`], whose keys are shared by everyone.
    pub fn new(keys: &KeyBuilder, subject: &Subject) -> Result<Self, ConfigError> {
        let prefix = keys.prefix().to_owned();
        let own = subject.encode();
        // The prefix and every tag are [A-Za-z0-9_.=#-] only (KeyBuilder validates the
        // prefix, `Subject::encode` escapes custom strings), so nothing needs glob escaping.
        let pattern = |tag: &str| format!("{prefix}:*:{{{tag}}}:*");
        let patterns = match subject {
            Subject::User(u) => vec![pattern(&own), pattern(&format!("u{u}c*"))],
            Subject::Chat(c) => vec![pattern(&own), pattern(&format!("u*c{c}"))],
            Subject::UserInChat { .. } | Subject::Custom(_) => vec![pattern(&own)],
            Subject::Global => {
                return Err(ConfigError::Invalid(
                    "cannot forget the global subject: its keys are shared by every user; \
                     forget a user, a chat, a user in a chat or a custom key"
                        .to_owned(),
                ));
            }
        };
        Ok(Self {
            prefix,
            subject: subject.clone(),
            own,
            patterns,
        })
    }

    /// The subject.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Redis glob patterns (`SCAN MATCH`) that together find every key of the subject. They
    /// may also find a few others; keep only the keys [`SubjectKeys::matches`] accepts.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The tag (the part between the braces) of `key` if it is a key under this prefix.
    fn tag_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        let rest = key.strip_prefix(self.prefix.as_str())?.strip_prefix(':')?;
        let (kind, rest) = rest.split_once(':')?;
        if kind.is_empty() || kind.contains(['{', '}']) {
            return None;
        }
        let rest = rest.strip_prefix('{')?;
        let (tag, after) = rest.split_once('}')?;
        (after.is_empty() || after.starts_with(':')).then_some(tag)
    }

    /// Whether `key` is a key of the subject (see the [module docs](self)).
    pub fn matches(&self, key: &str) -> bool {
        let Some(tag) = self.tag_of(key) else {
            return false;
        };
        if tag == self.own {
            return true;
        }
        let is_id = |s: &str| !s.is_empty() && s.parse::<i64>().is_ok();
        match &self.subject {
            // {u<u>c<chat>}: `own` is "u<u>".
            Subject::User(_) => tag
                .strip_prefix(self.own.as_str())
                .and_then(|t| t.strip_prefix('c'))
                .is_some_and(is_id),
            // {u<user>c<c>}: `own` is "c<c>".
            Subject::Chat(_) => tag
                .strip_prefix('u')
                .and_then(|t| t.strip_suffix(self.own.as_str()))
                .is_some_and(is_id),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(subject: &Subject) -> SubjectKeys {
        SubjectKeys::new(&KeyBuilder::new("bot").unwrap(), subject).unwrap()
    }

    #[test]
    fn each_subject_matches_exactly_its_keys() {
        let pair = keys(&Subject::UserInChat { user: 1, chat: -5 });
        assert!(pair.matches("bot:db:{u1c-5}:=_:00ff"));
        assert!(!pair.matches("bot:db:{u1}:=_:00ff"));
        assert!(!pair.matches("bot:db:{c-5}:=_:00ff"));
        assert!(!pair.matches("bot:db:{u1c-55}:=_:00ff"));

        let custom = keys(&Subject::Custom("10.0.0.1".into()));
        assert!(custom.matches("bot:rl-gcra:{x=10.0.0.1}:=api"));
        assert!(!custom.matches("bot:rl-gcra:{x=10.0.0.10}:=api"));

        let user = keys(&Subject::User(1));
        for other in [
            "bot2:rl-sw:{u1}:=_",  // another prefix
            "bo:rl-sw:{u1}:=_",    // a shorter one
            "bot:rl-sw:{u1}x:=_",  // text after the tag
            "bot:rl-sw:{u1c}:=_",  // not a chat id
            "bot:rl-sw:{u1cx}:=_", // not a chat id
            "bot:rl-sw:{x=u1}:=_", // a custom key that looks like the user
            "bot:rl-sw:{g}:=_",    // global
            "bot:{u1}:=_",         // no kind
            "bot:rl-sw:u1:=_",     // no braces
        ] {
            assert!(!user.matches(other), "{other}");
        }
        assert!(user.matches("bot:bl:{u1}:=all"));
        assert!(user.matches("bot:st:{u1c1}:=_"));

        let chat = keys(&Subject::Chat(1));
        assert!(chat.matches("bot:rl-fw:{c1}:=_"));
        assert!(chat.matches("bot:rl-fw:{u-3c1}:=_"));
        assert!(!chat.matches("bot:rl-fw:{u1}:=_"));
        assert!(!chat.matches("bot:rl-fw:{uc1}:=_"));
        assert!(!chat.matches("bot:rl-fw:{u3c11}:=_"));
    }

    #[test]
    fn patterns_name_the_tags_and_global_is_refused() {
        assert_eq!(
            keys(&Subject::User(42)).patterns(),
            ["bot:*:{u42}:*", "bot:*:{u42c*}:*"]
        );
        assert_eq!(
            keys(&Subject::Chat(-100)).patterns(),
            ["bot:*:{c-100}:*", "bot:*:{u*c-100}:*"]
        );
        let e = SubjectKeys::new(&KeyBuilder::new("bot").unwrap(), &Subject::Global).unwrap_err();
        assert!(e.to_string().contains("cannot forget the global subject"));
    }
}
