//! Finding the dispatcher's bot in the dptree dependencies, whichever teloxide adaptor wraps
//! it, and answering through it.
//!
//! Why at run time: `Dispatcher::builder(bot: R, handler: UpdateHandler<E>)` takes a handler
//! of type `dptree::Handler<'static, Result<(), E>, DpHandlerDescription>`; the bot type `R`
//! appears nowhere in it, so nothing in `.chain(guard.handler())` can infer `R` at compile
//! time. dptree checks types at `DispatcherBuilder::build` by `TypeId`, and a
//! [`DependencyMap`] can only be asked for a type the asker names. So the guard declares no
//! bot type to dptree (nothing to fail at start) and, when it needs the bot, asks the
//! dependencies for each bot type it knows ([`KNOWN`]): teloxide's `Bot` and every stack of
//! `Throttle`, `DefaultParseMode` and `CacheMe` around it. The first hit is remembered, so
//! later lookups cost one map probe.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use dptree::di::DependencyMap;
use teloxide::Bot;
use teloxide::adaptors::{CacheMe, DefaultParseMode, Throttle};
use teloxide::payloads::{AnswerCallbackQuerySetters, SendMessageSetters};
use teloxide::requests::{Request, Requester};
use teloxide::types::{CallbackQueryId, ChatId, MessageId, ReplyParameters, ThreadId};

use crate::guard::{AdminLookupError, CallbackAnswer, ChatAdmins, NoticeMessage};

/// What the guard asks of the dispatcher's bot, object-safe so one handler serves every bot
/// type. Implemented for every teloxide [`Requester`]. Each call is one HTTP request, so the
/// boxed future (`async_trait`) is not the cost that matters.
#[sentinel_core::async_trait]
pub(crate) trait GuardBot: Send + Sync {
    /// `answerCallbackQuery`; `true` when Telegram accepted it.
    async fn answer_callback(&self, answer: CallbackAnswer) -> bool;
    /// `sendMessage` with the notice; `true` when Telegram accepted it.
    async fn send_notice(&self, notice: NoticeMessage) -> bool;
    /// `getChatAdministrators`, as user ids.
    async fn administrators(&self, chat_id: i64) -> Result<Vec<i64>, AdminLookupError>;
}

#[sentinel_core::async_trait]
impl<R> GuardBot for R
where
    R: Requester + Send + Sync,
{
    async fn answer_callback(&self, answer: CallbackAnswer) -> bool {
        // Built in a block so no request value (maybe not `Send`) lives across an await.
        let send = {
            let req = self.answer_callback_query(CallbackQueryId(answer.callback_query_id));
            match answer.text {
                Some(text) => req.text(text).send(),
                None => req.send(),
            }
        };
        send.await.is_ok()
    }

    async fn send_notice(&self, notice: NoticeMessage) -> bool {
        let reply_to = notice
            .reply_to_message_id
            .and_then(|m| i32::try_from(m).ok());
        let thread = notice.thread_id.and_then(|t| i32::try_from(t).ok());
        let send = {
            let mut req = self.send_message(ChatId(notice.chat_id), notice.text);
            if let Some(m) = reply_to {
                req = req.reply_parameters(
                    ReplyParameters::new(MessageId(m)).allow_sending_without_reply(),
                );
            }
            if let Some(t) = thread {
                req = req.message_thread_id(ThreadId(MessageId(t)));
            }
            req.send()
        };
        send.await.is_ok()
    }

    async fn administrators(&self, chat_id: i64) -> Result<Vec<i64>, AdminLookupError> {
        let send = { self.get_chat_administrators(ChatId(chat_id)).send() };
        let members = send.await.map_err(|_| AdminLookupError::Failed)?;
        Ok(members
            .iter()
            .filter_map(|m| i64::try_from(m.user.id.0).ok())
            .collect())
    }
}

/// Looks one bot type up in the dependencies (an `Arc` clone, no allocation).
pub(crate) type Probe = fn(&DependencyMap) -> Option<Arc<dyn GuardBot>>;

/// The probe for bot type `R`.
pub(crate) fn probe<R>(deps: &DependencyMap) -> Option<Arc<dyn GuardBot>>
where
    R: Requester + Send + Sync + 'static,
{
    deps.try_get::<R>().map(|bot| bot as Arc<dyn GuardBot>)
}

type T<B> = Throttle<B>;
type P<B> = DefaultParseMode<B>;
type C<B> = CacheMe<B>;

/// The bot types [`crate::teloxide::Guard::handler`] finds by itself: `Bot` and every stack
/// of distinct `Throttle` (T), `DefaultParseMode` (P) and `CacheMe` (C) around it.
pub(crate) const KNOWN: &[Probe] = &[
    probe::<Bot>,
    probe::<T<Bot>>,
    probe::<P<Bot>>,
    probe::<C<Bot>>,
    probe::<P<T<Bot>>>,
    probe::<C<T<Bot>>>,
    probe::<T<P<Bot>>>,
    probe::<C<P<Bot>>>,
    probe::<T<C<Bot>>>,
    probe::<P<C<Bot>>>,
    probe::<C<P<T<Bot>>>>,
    probe::<P<C<T<Bot>>>>,
    probe::<C<T<P<Bot>>>>,
    probe::<T<C<P<Bot>>>>,
    probe::<P<T<C<Bot>>>>,
    probe::<T<P<C<Bot>>>>,
];

/// How one handler finds its bot: the probes to try, the last one that hit, and whether the
/// "no bot found" warning went out.
#[derive(Debug)]
pub(crate) struct BotLookup {
    probes: Box<[Probe]>,
    hit: AtomicUsize,
    warned: AtomicBool,
}

impl BotLookup {
    /// Tries `probes` (in order, the last hit first).
    pub(crate) fn new(probes: &[Probe]) -> Self {
        Self {
            probes: probes.into(),
            hit: AtomicUsize::new(0),
            warned: AtomicBool::new(false),
        }
    }

    /// The dispatcher's bot, or `None` (warned about once) when no probe hits.
    pub(crate) fn find(&self, deps: &DependencyMap) -> Option<Arc<dyn GuardBot>> {
        let last = self.hit.load(Ordering::Relaxed);
        if let Some(bot) = self.probes.get(last).and_then(|p| p(deps)) {
            return Some(bot);
        }
        for (i, p) in self.probes.iter().enumerate() {
            if let Some(bot) = p(deps) {
                self.hit.store(i, Ordering::Relaxed);
                return Some(bot);
            }
        }
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                dependencies = ?deps,
                "sentinel guard: the dispatcher's bot is not a type the guard knows (teloxide \
                 `Bot` in any stack of `Throttle`, `DefaultParseMode`, `CacheMe`), so dropped \
                 updates get no answer and chat administrators are not looked up; chain \
                 `guard.handler_for::<YourBot, _>()` instead of `guard.handler()`"
            );
        }
        None
    }
}

/// [`ChatAdmins`] through the dispatcher's bot, found only if an admin lookup is needed.
pub(crate) struct LazyBotAdmins<'a> {
    pub(crate) lookup: &'a BotLookup,
    pub(crate) deps: &'a DependencyMap,
}

#[sentinel_core::async_trait]
impl ChatAdmins for LazyBotAdmins<'_> {
    async fn administrators(&self, chat_id: i64) -> Result<Vec<i64>, AdminLookupError> {
        match self.lookup.find(self.deps) {
            Some(bot) => bot.administrators(chat_id).await,
            None => Err(AdminLookupError::Failed),
        }
    }
}

/// [`ChatAdmins`] through a known bot (`getChatAdministrators`); the webhook listener's.
#[cfg(feature = "webhook")]
pub(crate) struct BotAdmins<'a, B: ?Sized>(pub(crate) &'a B);

#[cfg(feature = "webhook")]
#[sentinel_core::async_trait]
impl<B> ChatAdmins for BotAdmins<'_, B>
where
    B: GuardBot + ?Sized,
{
    async fn administrators(&self, chat_id: i64) -> Result<Vec<i64>, AdminLookupError> {
        self.0.administrators(chat_id).await
    }
}
