//! [`Telemon::verify`]: asks Telegram whether alerts can be delivered, before the first one is
//! needed: the token (`getMe`), every destination chat (`getChat`), the bot's membership and
//! right to post there (`getChatMember` with the bot's id), and each forum thread (a
//! `sendChatAction` into it, which Telegram refuses for a thread that does not exist).

use sentinel_telegram::sender::{BotApi, SendError};
use serde_json::{Value, json};

use crate::alert::Level;
use crate::telemon::Telemon;
use crate::transport::Destination;

/// What [`Telemon::verify`] found wrong, saying what to fix. Never contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Telegram answered `401 Unauthorized` to `getMe`.
    #[error(
        "token rejected by Telegram: check TELEMON_BOT_TOKEN (copy it again from @BotFather; a revoked token stops working)"
    )]
    TokenRejected,
    /// The chat does not exist, or the bot has never been added to it.
    #[error(
        "chat {chat_id}: not found: check the id (groups and channels look like -1001234567890) and add the bot to the chat (a private chat: send the bot /start first)"
    )]
    ChatNotFound {
        /// The chat.
        chat_id: i64,
    },
    /// The bot is not (or no longer) a member of the chat.
    #[error("the bot is not a member of chat {chat_id} (status: {status}): add it")]
    NotMember {
        /// The chat.
        chat_id: i64,
        /// The bot's status there (`left`, `kicked`).
        status: String,
    },
    /// The bot is in the chat but may not post there.
    #[error("the bot cannot post in chat {chat_id}: {fix}")]
    CannotPost {
        /// The chat.
        chat_id: i64,
        /// What to change.
        fix: &'static str,
    },
    /// The forum topic does not exist in the chat.
    #[error(
        "thread {thread_id} does not exist in chat {chat_id}: check the topic's id (the number after the chat in a message link)"
    )]
    ThreadNotFound {
        /// The chat.
        chat_id: i64,
        /// The topic (`message_thread_id`).
        thread_id: i32,
    },
    /// The Bot API could not be reached or answered something else (scrubbed of the token).
    #[error("cannot verify with the Telegram Bot API: {0}")]
    Api(String),
}

/// What [`Telemon::verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The bot's username (from `getMe`); `None` when delivery does not go through Telegram
    /// (a custom transport, or a disabled handle), so there was nothing to ask.
    pub bot_username: Option<String>,
    /// Every distinct destination checked, in level order (critical, warning, info).
    pub destinations: Vec<Destination>,
}

impl Telemon {
    /// Checks with Telegram that alerts can be delivered: the token is accepted, every
    /// destination chat exists, the bot is a member allowed to post there, and every
    /// configured forum thread exists. Call it once at start-up and fail loudly.
    ///
    /// Handles that do not deliver through Telegram (a custom transport, or disabled) have
    /// nothing to check and return `Ok` with `bot_username: None`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let config = telemon_alerts::Config::from_env()?;
    /// let telemon = telemon_alerts::Telemon::builder().config(&config).build()?;
    /// telemon.verify().await?; // e.g. "the bot is not a member of chat -100123 (status: left): add it"
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The first problem found, as a [`VerifyError`] saying what to fix.
    pub async fn verify(&self) -> Result<Verified, VerifyError> {
        let (Some(api), Some(routes)) = (self.inner.bot_api.as_ref(), self.inner.routes) else {
            return Ok(Verified {
                bot_username: None,
                destinations: Vec::new(),
            });
        };
        let me = api.call("getMe", &json!({})).await.map_err(|e| match e {
            SendError::Api { code: 401, .. } => VerifyError::TokenRejected,
            other => VerifyError::Api(other.to_string()),
        })?;
        let bot_id = me["id"].as_i64().unwrap_or(0);
        let mut destinations: Vec<Destination> = Vec::new();
        for level in Level::ALL {
            let d = routes.get(level);
            if !destinations.contains(&d) {
                destinations.push(d);
            }
        }
        for d in &destinations {
            check_destination(api, bot_id, *d).await?;
        }
        Ok(Verified {
            bot_username: me["username"].as_str().map(str::to_owned),
            destinations,
        })
    }
}

/// `getChat`, `getChatMember` (the bot), and the thread if one is set.
async fn check_destination(api: &BotApi, bot_id: i64, d: Destination) -> Result<(), VerifyError> {
    let chat_id = d.chat_id;
    let chat_error = |e: SendError| match e {
        SendError::Api {
            code: 400,
            description,
        } if description.contains("chat not found") => VerifyError::ChatNotFound { chat_id },
        SendError::Api { code: 403, .. } => VerifyError::NotMember {
            chat_id,
            status: "kicked".to_owned(),
        },
        other => VerifyError::Api(other.to_string()),
    };
    let chat = api
        .call("getChat", &json!({ "chat_id": chat_id }))
        .await
        .map_err(chat_error)?;
    let member = api
        .call(
            "getChatMember",
            &json!({ "chat_id": chat_id, "user_id": bot_id }),
        )
        .await
        .map_err(chat_error)?;
    check_membership(chat_id, &chat, &member)?;
    if let Some(thread_id) = d.thread_id {
        let probe = json!({
            "chat_id": chat_id,
            "message_thread_id": thread_id,
            "action": "typing",
        });
        api.call("sendChatAction", &probe)
            .await
            .map_err(|e| match e {
                SendError::Api {
                    code: 400,
                    description,
                } if description.contains("thread not found") => {
                    VerifyError::ThreadNotFound { chat_id, thread_id }
                }
                other => chat_error(other),
            })?;
    }
    Ok(())
}

/// Whether a `ChatMember` lets the bot post in `chat`.
fn check_membership(chat_id: i64, chat: &Value, member: &Value) -> Result<(), VerifyError> {
    let status = member["status"].as_str().unwrap_or("unknown");
    let flag = |k: &str| member[k].as_bool();
    match status {
        "creator" => Ok(()),
        "administrator" => {
            if chat["type"] == "channel" && flag("can_post_messages") == Some(false) {
                Err(VerifyError::CannotPost {
                    chat_id,
                    fix: "give the bot the \"Post messages\" administrator right",
                })
            } else {
                Ok(())
            }
        }
        "member" if chat["type"] == "channel" => Err(VerifyError::CannotPost {
            chat_id,
            fix: "make the bot an administrator of the channel with \"Post messages\"",
        }),
        "member" => Ok(()),
        "restricted" if flag("is_member") == Some(false) => Err(VerifyError::NotMember {
            chat_id,
            status: status.to_owned(),
        }),
        "restricted" if flag("can_send_messages") == Some(false) => Err(VerifyError::CannotPost {
            chat_id,
            fix: "allow the bot to send messages (it is restricted)",
        }),
        "restricted" => Ok(()),
        other => Err(VerifyError::NotMember {
            chat_id,
            status: other.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_rules() {
        let group = json!({ "type": "supergroup" });
        let channel = json!({ "type": "channel" });
        let m = |v: Value| check_membership(-1, &group, &v);
        assert_eq!(m(json!({ "status": "member" })), Ok(()));
        assert_eq!(m(json!({ "status": "creator" })), Ok(()));
        assert!(matches!(
            m(json!({ "status": "left" })),
            Err(VerifyError::NotMember { .. })
        ));
        assert!(matches!(
            m(json!({ "status": "restricted", "is_member": true, "can_send_messages": false })),
            Err(VerifyError::CannotPost { .. })
        ));
        assert!(matches!(
            check_membership(-1, &channel, &json!({ "status": "member" })),
            Err(VerifyError::CannotPost { .. })
        ));
        assert_eq!(
            check_membership(
                -1,
                &channel,
                &json!({ "status": "administrator", "can_post_messages": true })
            ),
            Ok(())
        );
        assert_eq!(
            VerifyError::NotMember {
                chat_id: -100_123,
                status: "left".into()
            }
            .to_string(),
            "the bot is not a member of chat -100123 (status: left): add it"
        );
    }
}
