//! [`Exemptions`]: who and what the guard never checks.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use crate::update::{UpdateInfo, UpdateKind};

/// A `bypass` predicate.
pub(crate) type BypassFn = Arc<dyn Fn(&UpdateInfo) -> bool + Send + Sync>;

/// The exemptions known without a Bot API call.
#[derive(Clone)]
pub(crate) struct Exemptions {
    pub(crate) kinds: Vec<UpdateKind>,
    pub(crate) users: HashSet<i64>,
    pub(crate) chats: HashSet<i64>,
    pub(crate) bypass: Option<BypassFn>,
}

impl fmt::Debug for Exemptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exemptions")
            .field("kinds", &self.kinds)
            .field("users", &self.users.len())
            .field("chats", &self.chats.len())
            .field("bypass", &self.bypass.is_some())
            .finish()
    }
}

impl Default for Exemptions {
    fn default() -> Self {
        Self {
            kinds: vec![
                UpdateKind::MyChatMember,
                UpdateKind::PreCheckoutQuery,
                UpdateKind::ShippingQuery,
            ],
            users: HashSet::new(),
            chats: HashSet::new(),
            bypass: None,
        }
    }
}

impl Exemptions {
    /// Whether `info` is exempt by its type, user, chat or the predicate.
    pub(crate) fn covers(&self, info: &UpdateInfo) -> bool {
        self.kinds.contains(&info.kind)
            || [info.user_id, info.from_id]
                .into_iter()
                .flatten()
                .any(|u| self.users.contains(&u))
            || info.chat_id.is_some_and(|c| self.chats.contains(&c))
            || self.bypass.as_ref().is_some_and(|f| f(info))
    }
}
