//! [`ChatKind`]: the type of chat an event happened in, for per-chat-type policies.

/// The type of chat an event happened in. Selects a per-chat-type policy
/// ([`PolicyRegistryBuilder::chat_policy`](crate::PolicyRegistryBuilder::chat_policy)).
///
/// ```
/// use sentinel_core::{ChatKind, Event};
/// let e = Event::new().with_chat(-100).with_chat_kind(ChatKind::Supergroup);
/// assert_eq!(e.chat_kind(), Some(ChatKind::Supergroup));
/// assert_eq!(ChatKind::Supergroup.policy_name(), "_supergroup");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatKind {
    /// A private chat with one user.
    Private,
    /// A basic group.
    Group,
    /// A supergroup.
    Supergroup,
    /// A channel.
    Channel,
}

impl ChatKind {
    /// Every kind, in index order.
    pub const ALL: [Self; 4] = [Self::Private, Self::Group, Self::Supergroup, Self::Channel];

    /// The name the keys of its policy use: `_private`, `_group`, `_supergroup`, `_channel`
    /// (names starting with `_` are reserved, so no named policy can collide).
    pub const fn policy_name(self) -> &'static str {
        match self {
            Self::Private => "_private",
            Self::Group => "_group",
            Self::Supergroup => "_supergroup",
            Self::Channel => "_channel",
        }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Self::Private => 0,
            Self::Group => 1,
            Self::Supergroup => 2,
            Self::Channel => 3,
        }
    }
}
