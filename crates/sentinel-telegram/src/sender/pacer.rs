//! Pacing with core's GCRA on tokio's clock, the bot-wide 429 pause, and per-chat ordering.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use sentinel_core::{GcraState, Quota, Timestamp};
use tokio::sync::OwnedMutexGuard;
use tokio::time::Instant;

use super::message::Recipient;

/// Forget idle per-chat states once this many are kept.
const PRUNE_ABOVE: usize = 4096;

/// The send rates the sender keeps to. Defaults follow Telegram's FAQ.
///
/// Each quota is run through GCRA, whose burst equals the quota's limit: `per_bot` 30/s lets
/// 30 messages go at once, then one every 1/30 s. For groups the default is **one message every
/// 3 s** rather than "20 per minute" with a burst of 20, because a burst of 20 followed by one
/// every 3 s would put more than 20 messages into the first minute.
///
/// ```
/// use std::time::Duration;
/// use sentinel_telegram::sender::Limits;
/// let limits = Limits::default();
/// assert_eq!(limits.per_chat.period() / limits.per_chat.limit(), Duration::from_secs(1));
/// assert_eq!(limits.per_group.period() / limits.per_group.limit(), Duration::from_secs(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// All sends of the bot together (default 30 per second).
    pub per_bot: Quota,
    /// Sends to one chat (default 1 per second).
    pub per_chat: Quota,
    /// Sends to one group, supergroup or channel (negative chat id or `@username`), on top of
    /// `per_chat` (default 1 per 3 seconds = 20 per minute, evenly spaced).
    pub per_group: Quota,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_bot: fixed(30, Duration::from_secs(1)),
            per_chat: fixed(1, Duration::from_secs(1)),
            per_group: fixed(1, Duration::from_secs(3)),
        }
    }
}

impl Limits {
    /// Custom limits.
    pub fn new(per_bot: Quota, per_chat: Quota, per_group: Quota) -> Self {
        Self {
            per_bot,
            per_chat,
            per_group,
        }
    }
}

/// A quota from constants known to be valid.
fn fixed(limit: u32, period: Duration) -> Quota {
    Quota::new(limit, period).unwrap_or_else(|_| unreachable!("constant quotas are valid"))
}

/// tokio's clock as core [`Timestamp`]s (monotonic; paused time in tests).
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokioClock {
    start: Instant,
}

impl TokioClock {
    pub(crate) fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// Microseconds since this clock was made, plus one second (so no state sits at 0).
    pub(crate) fn now(&self) -> Timestamp {
        let elapsed = u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX);
        Timestamp::from_micros(elapsed.saturating_add(1_000_000))
    }
}

#[derive(Debug, Default)]
struct State {
    bot: GcraState,
    chats: HashMap<Recipient, GcraState>,
    groups: HashMap<Recipient, GcraState>,
    paused_until: Timestamp,
}

/// Shared by all clones of one `BotApi`.
#[derive(Debug)]
pub(crate) struct Pacer {
    limits: Limits,
    enabled: bool,
    clock: TokioClock,
    state: Mutex<State>,
    chat_locks: Mutex<HashMap<Recipient, Arc<tokio::sync::Mutex<()>>>>,
}

/// Holds a chat's turn: sends to one chat go one at a time, in call order.
pub(crate) struct ChatTurn<'a> {
    pacer: &'a Pacer,
    chat: Recipient,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for ChatTurn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.pacer.locks();
        if locks
            .get(&self.chat)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.chat);
        }
    }
}

impl Pacer {
    pub(crate) fn new(limits: Limits, enabled: bool) -> Self {
        Self {
            limits,
            enabled,
            clock: TokioClock::new(),
            state: Mutex::new(State::default()),
            chat_locks: Mutex::new(HashMap::new()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn locks(&self) -> MutexGuard<'_, HashMap<Recipient, Arc<tokio::sync::Mutex<()>>>> {
        self.chat_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for `chat`'s turn (FIFO among sends to the same chat).
    pub(crate) async fn chat_turn(&self, chat: &Recipient) -> ChatTurn<'_> {
        let lock = Arc::clone(self.locks().entry(chat.clone()).or_default());
        let guard = lock.lock_owned().await;
        ChatTurn {
            pacer: self,
            chat: chat.clone(),
            guard: Some(guard),
        }
    }

    /// Pauses every call of the bot for `d` from now (Telegram's `retry_after`).
    pub(crate) fn pause(&self, d: Duration) {
        let until = self.clock.now().saturating_add(d);
        let mut state = self.state();
        state.paused_until = state.paused_until.max(until);
    }

    /// What is left of the 429 pause.
    pub(crate) fn paused_for(&self) -> Duration {
        let now = self.clock.now();
        self.state().paused_until.saturating_since(now)
    }

    /// Waits until the bot is not paused and, for a paced send to `chat`, until every quota
    /// that applies grants one more message (then records it).
    pub(crate) async fn ready(&self, chat: Option<&Recipient>) {
        loop {
            let wait = self.try_ready(chat);
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// How long a paced send to `chat` would wait now, without recording anything.
    pub(crate) fn wait_for(&self, chat: &Recipient) -> Duration {
        self.check(Some(chat), false)
    }

    /// The steady spacing of sends to `chat`: the slowest applicable quota's emission interval.
    pub(crate) fn interval(&self, chat: &Recipient) -> Duration {
        if !self.enabled {
            return Duration::ZERO;
        }
        let every = |q: &Quota| q.period() / q.limit().max(1);
        let mut d = every(&self.limits.per_bot).max(every(&self.limits.per_chat));
        if chat.is_group_or_channel() {
            d = d.max(every(&self.limits.per_group));
        }
        d
    }

    /// Zero if the call may go now (and it is recorded), else how long to wait.
    fn try_ready(&self, chat: Option<&Recipient>) -> Duration {
        self.check(chat, true)
    }

    /// Zero if the call may go now (recorded if `record`), else how long to wait.
    fn check(&self, chat: Option<&Recipient>, record: bool) -> Duration {
        let now = self.clock.now();
        let mut state = self.state();
        if state.paused_until > now {
            return state.paused_until.saturating_since(now);
        }
        let Some(chat) = chat.filter(|_| self.enabled) else {
            return Duration::ZERO;
        };
        let mut bot = state.bot;
        let mut per_chat = state.chats.get(chat).copied().unwrap_or_default();
        let mut per_group = state.groups.get(chat).copied().unwrap_or_default();
        let mut wait = Duration::ZERO;
        let mut step = |s: &mut GcraState, q: &Quota| {
            let d = s.step(now, q, 1);
            if !d.allowed {
                wait = wait.max(d.retry_after.unwrap_or(q.period()));
            }
        };
        step(&mut bot, &self.limits.per_bot);
        step(&mut per_chat, &self.limits.per_chat);
        let group = chat.is_group_or_channel();
        if group {
            step(&mut per_group, &self.limits.per_group);
        }
        if !wait.is_zero() || !record {
            return wait;
        }
        state.bot = bot;
        state.chats.insert(chat.clone(), per_chat);
        if group {
            state.groups.insert(chat.clone(), per_group);
        }
        if state.chats.len() > PRUNE_ABOVE {
            state.chats.retain(|_, s| !s.reset_after(now).is_zero());
            state.groups.retain(|_, s| !s.reset_after(now).is_zero());
        }
        Duration::ZERO
    }
}
