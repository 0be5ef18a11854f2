//! [`Event`]: what the engine checks.

use std::fmt;

use crate::{ChatKind, Fingerprint};

/// One incoming thing to check: a Telegram update, an HTTP request, a job.
///
/// Built with chained methods; everything is optional.
///
/// ```
/// use sentinel_core::Event;
/// let e = Event::new().with_user(42).with_chat(-100).with_handler("start").with_content("/start");
/// assert_eq!(e.user(), Some(42));
/// assert_eq!(e.handler(), Some("start"));
/// assert!(e.fingerprint().is_some());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Event {
    kind: Option<String>,
    user: Option<i64>,
    chat: Option<i64>,
    chat_kind: Option<ChatKind>,
    handler: Option<String>,
    fingerprint: Option<Fingerprint>,
    custom_key: Option<String>,
    cost: Option<u32>,
}

impl Event {
    /// An empty event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the kind (`message`, `callback_query`, …), informational.
    #[must_use]
    pub fn with_kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Sets the user id.
    #[must_use]
    pub fn with_user(mut self, user: i64) -> Self {
        self.user = Some(user);
        self
    }

    /// Sets the chat id.
    #[must_use]
    pub fn with_chat(mut self, chat: i64) -> Self {
        self.chat = Some(chat);
        self
    }

    /// Sets the type of chat, which selects a per-chat-type policy when the handler has no
    /// named policy.
    #[must_use]
    pub const fn with_chat_kind(mut self, kind: ChatKind) -> Self {
        self.chat_kind = Some(kind);
        self
    }

    /// Sets the handler name that selects the policy.
    #[must_use]
    pub fn with_handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = Some(handler.into());
        self
    }

    /// Sets the debounce fingerprint from content (hashed at once; the content is not kept).
    #[must_use]
    pub fn with_content(mut self, content: impl AsRef<[u8]>) -> Self {
        self.fingerprint = Some(Fingerprint::of(content));
        self
    }

    /// Sets a ready fingerprint.
    #[must_use]
    pub fn with_fingerprint(mut self, fp: Fingerprint) -> Self {
        self.fingerprint = Some(fp);
        self
    }

    /// Sets the key used by [`Scope::Custom`](crate::Scope::Custom).
    #[must_use]
    pub fn with_custom_key(mut self, key: impl Into<String>) -> Self {
        self.custom_key = Some(key.into());
        self
    }

    /// Overrides the policy's cost for this event.
    #[must_use]
    pub fn with_cost(mut self, cost: u32) -> Self {
        self.cost = Some(cost);
        self
    }

    /// The kind, if set.
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_deref()
    }

    /// The user id, if any.
    pub const fn user(&self) -> Option<i64> {
        self.user
    }

    /// The chat id, if any.
    pub const fn chat(&self) -> Option<i64> {
        self.chat
    }

    /// The type of chat, if set.
    pub const fn chat_kind(&self) -> Option<ChatKind> {
        self.chat_kind
    }

    /// The handler name, if any.
    pub fn handler(&self) -> Option<&str> {
        self.handler.as_deref()
    }

    /// The debounce fingerprint, if any.
    pub const fn fingerprint(&self) -> Option<&Fingerprint> {
        self.fingerprint.as_ref()
    }

    /// The custom key, if any.
    pub fn custom_key(&self) -> Option<&str> {
        self.custom_key.as_deref()
    }

    /// The cost override, if any.
    pub const fn cost(&self) -> Option<u32> {
        self.cost
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The custom key may be user text: show only whether it is there.
        f.debug_struct("Event")
            .field("kind", &self.kind)
            .field("user", &self.user)
            .field("chat", &self.chat)
            .field("chat_kind", &self.chat_kind)
            .field("handler", &self.handler)
            .field("fingerprint", &self.fingerprint)
            .field("custom_key", &self.custom_key.as_ref().map(|_| ".."))
            .field("cost", &self.cost)
            .finish()
    }
}
