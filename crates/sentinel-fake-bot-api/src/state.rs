//! The fake's mutable state, behind one mutex (never held across an `.await`).

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;

use super::{Fault, RecordedCall, SentMessage, WebhookSetting, updates};

/// Update kinds Telegram delivers when `allowed_updates` is empty or was never set.
const NOT_DELIVERED_BY_DEFAULT: [&str; 3] =
    ["chat_member", "message_reaction", "message_reaction_count"];

/// The fault-table key of a method name (`"*"` stays `"*"`).
pub(crate) fn fault_key(method: &str) -> String {
    method.to_ascii_lowercase()
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) updates: VecDeque<Value>,
    next_update_id: i64,
    pub(crate) allowed_updates: Option<Vec<String>>,
    pub(crate) deliver_all_kinds: bool,
    pub(crate) webhook: Option<WebhookSetting>,
    pub(crate) calls: Vec<RecordedCall>,
    pub(crate) sent: Vec<SentMessage>,
    pub(crate) unauthorized: u64,
    message_ids: HashMap<i64, i64>,
    /// Per chat: the bot message carrying the keyboard that `callback_query` presses.
    keyboard_messages: HashMap<i64, i64>,
    callback_counter: u64,
    pub(crate) known_callback_ids: HashSet<String>,
    pub(crate) chats: HashMap<i64, Value>,
    usernames: HashMap<String, i64>,
    pub(crate) commands: Value,
    pub(crate) faults_once: HashMap<String, VecDeque<Fault>>,
    pub(crate) faults_sticky: HashMap<String, Fault>,
    pub(crate) blocked_chats: HashSet<i64>,
    pub(crate) down: bool,
    /// Chats that do not exist for the bot ("chat not found").
    pub(crate) missing_chats: HashSet<i64>,
    /// `(chat, user)` → status set with `FakeBotApi::set_member_status`.
    pub(crate) members: HashMap<(i64, i64), String>,
    /// Forum chats → their topics (`message_thread_id`s). Chats not here accept any thread.
    pub(crate) topics: HashMap<i64, HashSet<i64>>,
}

impl State {
    /// Queues an update, assigning an id when missing. Returns the id.
    pub(crate) fn push_update(&mut self, mut update: Value) -> i64 {
        let id = match update.get("update_id").and_then(Value::as_i64) {
            Some(id) => id,
            None => {
                let id = self.next_update_id.max(1);
                if let Some(obj) = update.as_object_mut() {
                    obj.insert("update_id".to_owned(), id.into());
                }
                id
            }
        };
        self.next_update_id = self.next_update_id.max(id.saturating_add(1));
        if let Some(query_id) = update
            .get("callback_query")
            .and_then(|q| q.get("id"))
            .and_then(Value::as_str)
        {
            self.known_callback_ids.insert(query_id.to_owned());
        }
        self.updates.push_back(update);
        id
    }

    /// Applies `offset` as `getUpdates` does: ids below a positive offset are confirmed and
    /// forgotten; a negative offset keeps only the last `-offset` updates.
    pub(crate) fn confirm(&mut self, offset: i64) {
        if offset > 0 {
            self.updates
                .retain(|u| u.get("update_id").and_then(Value::as_i64).unwrap_or(0) >= offset);
        } else if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        }
    }

    /// Drops pending updates whose kind the bot did not subscribe to, then returns up to
    /// `limit` of the rest.
    pub(crate) fn deliverable(&mut self, limit: usize) -> Vec<Value> {
        if !self.deliver_all_kinds {
            let allowed = self.allowed_updates.clone().unwrap_or_default();
            self.updates.retain(|u| is_allowed(u, &allowed));
        }
        self.updates.iter().take(limit).cloned().collect()
    }

    /// The next message id in `chat` (shared by incoming and sent messages).
    pub(crate) fn next_message_id(&mut self, chat: i64) -> i64 {
        let next = self.message_ids.entry(chat).or_insert(0);
        *next += 1;
        *next
    }

    /// The bot message in `chat` whose inline keyboard `callback_query` presses: made on the
    /// first press, the same for every later one.
    pub(crate) fn keyboard_message_id(&mut self, chat: i64) -> i64 {
        if let Some(id) = self.keyboard_messages.get(&chat) {
            return *id;
        }
        let id = self.next_message_id(chat);
        self.keyboard_messages.insert(chat, id);
        id
    }

    pub(crate) fn next_callback(&mut self) -> u64 {
        self.callback_counter += 1;
        self.callback_counter
    }

    /// The `Chat` object for `id` (registered, else derived from the id's sign and size).
    pub(crate) fn chat_json(&self, id: i64) -> Value {
        if let Some(chat) = self.chats.get(&id) {
            return chat.clone();
        }
        updates::chat(id)
    }

    /// A numeric chat id from a `chat_id` parameter: an integer, a numeric string, or an
    /// `@username` (mapped to a stable fake channel id).
    pub(crate) fn resolve_chat_id(&mut self, value: &Value) -> Option<i64> {
        match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) if s.starts_with('@') && s.len() > 1 => {
                let next = -1_002_000_000_000 - i64::try_from(self.usernames.len()).unwrap_or(0);
                let id = *self.usernames.entry(s.to_ascii_lowercase()).or_insert(next);
                self.chats.entry(id).or_insert_with(|| {
                    serde_json::json!({ "id": id, "type": "channel", "title": s[1..].to_owned(), "username": s[1..].to_owned() })
                });
                Some(id)
            }
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Whether a thread is refused ("message thread not found") in `chat`: thread 1 always
    /// (as before), and in a forum with registered topics, any thread not among them.
    pub(crate) fn thread_missing(&self, chat: i64, thread: Option<i64>) -> bool {
        match thread {
            None => false,
            Some(1) => true,
            Some(t) => self.topics.get(&chat).is_some_and(|ts| !ts.contains(&t)),
        }
    }

    /// Takes the fault for `method`, if any: a queued one-shot first, then a sticky one.
    pub(crate) fn take_fault(&mut self, method: &str) -> Option<Fault> {
        let key = fault_key(method);
        for k in [key.as_str(), "*"] {
            if let Some(queue) = self.faults_once.get_mut(k)
                && let Some(fault) = queue.pop_front()
            {
                return Some(fault);
            }
        }
        self.faults_sticky
            .get(&key)
            .or_else(|| self.faults_sticky.get("*"))
            .cloned()
    }
}

/// Whether an update's kind is in `allowed` (empty = Telegram's default set).
fn is_allowed(update: &Value, allowed: &[String]) -> bool {
    let Some(kind) = update
        .as_object()
        .and_then(|o| o.keys().find(|k| k.as_str() != "update_id"))
    else {
        return true;
    };
    if allowed.is_empty() {
        !NOT_DELIVERED_BY_DEFAULT.contains(&kind.as_str())
    } else {
        allowed.iter().any(|a| a == kind)
    }
}
