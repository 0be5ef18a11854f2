//! [`BotAdmins`]: [`ChatAdmins`] through the dispatcher's bot (`getChatAdministrators`).

use teloxide::requests::{Request, Requester};
use teloxide::types::ChatId;

use crate::guard::{AdminLookupError, ChatAdmins};

/// Asks `getChatAdministrators` of any teloxide bot type.
pub(crate) struct BotAdmins<'a, R>(pub(crate) &'a R);

#[sentinel_core::async_trait]
impl<R> ChatAdmins for BotAdmins<'_, R>
where
    R: Requester + Send + Sync,
{
    async fn administrators(&self, chat_id: i64) -> Result<Vec<i64>, AdminLookupError> {
        // Built in a block so no request value (maybe not `Send`) lives across an await.
        let send = { self.0.get_chat_administrators(ChatId(chat_id)).send() };
        let members = send.await.map_err(|_| AdminLookupError::Failed)?;
        Ok(members
            .iter()
            .filter_map(|m| i64::try_from(m.user.id.0).ok())
            .collect())
    }
}
