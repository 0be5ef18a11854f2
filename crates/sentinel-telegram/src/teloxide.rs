//! The teloxide adapter: a [`Guard`] a bot chains in front of its handler branches.
//!
//! The guard reads every update ([`Extractor::from_teloxide`]), asks the
//! [`Sentinel`] about it, and either passes it on or **drops** it with `Break(Ok(()))`: a
//! dropped update reaches no handler and no default handler, so a flood does not become a flood
//! of `Unhandled update` warnings. Drops are logged at `debug` level only.
//!
//! - **Subscriptions stay exact.** teloxide derives `allowed_updates` from the handler tree;
//!   the guard's description is `DpHandlerDescription::entry()`, which observes nothing, so
//!   adding it changes nothing about which updates the bot receives.
//! - **Per-handler policies.** The [`HandlerNamer`] names each update (by default its bot
//!   command); the name picks the policy in the engine's
//!   [`PolicyRegistry`](sentinel_core::PolicyRegistry). [`Guard::named`] gives a guard
//!   chained inside one branch a fixed name.
//! - **Answers.** A dropped button press always gets `answerCallbackQuery`, so the button stops
//!   spinning: with the "try again" text when throttled, silently otherwise. A throttled message
//!   gets at most one reply per subject per window: "Too many messages — try again in N s".
//! - **Blocked bots.** A private `my_chat_member` update with status `kicked` marks the user in
//!   the guard's [`Reachability`]; `member` clears it. (The bot only receives these updates if
//!   its tree subscribes to them: chain [`Guard::reachability_handler`] as a branch, or handle
//!   `my_chat_member` yourself.)
//! - **Store failures.** Under [`FailMode::Closed`](sentinel_core::FailMode::Closed) an update
//!   the store could not decide is dropped (and counted); under `Open` it passes.
//!
//! The guard runs inside teloxide's per-chat worker: each update costs one store round trip
//! before its handler runs.
//!
//! ```no_run
//! use std::{sync::Arc, time::Duration};
//! use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope, Sentinel, SystemClock};
//! use sentinel_storage_memory::MemoryStore;
//! use sentinel_telegram::{teloxide::Guard, update::HandlerNamer};
//! use teloxide::{dispatching::UpdateHandler, prelude::*};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let policies = PolicyRegistry::builder()
//!         // Messages: 20 per minute per user.
//!         .default_policy(Policy::new().rate_limit(Quota::per_minute(20)?, Algorithm::SlidingWindow, Scope::User))
//!         // Buttons: the same press twice within 2 s counts once; at most 5 presses per 10 s.
//!         .policy("callback_query", Policy::new()
//!             .debounce(Duration::from_secs(2), Scope::UserInChat)
//!             .rate_limit(Quota::new(5, Duration::from_secs(10))?, Algorithm::Gcra, Scope::User))
//!         .build()?;
//!     let sentinel = Sentinel::builder()
//!         .store(Arc::new(MemoryStore::new(SystemClock)))
//!         .policies(policies)
//!         .build()?;
//!     let guard = Guard::builder(sentinel).namer(HandlerNamer::command_or_kind()).build();
//!
//!     let tree: UpdateHandler<teloxide::RequestError> = dptree::entry()
//!         .chain(guard.handler())
//!         .branch(Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
//!             bot.send_message(msg.chat.id, "pong").await?;
//!             Ok(())
//!         }))
//!         .branch(Update::filter_callback_query().endpoint(|bot: Bot, q: CallbackQuery| async move {
//!             bot.answer_callback_query(q.id).text("done").await?;
//!             Ok(())
//!         }))
//!         .branch(guard.reachability_handler());
//!     Dispatcher::builder(Bot::from_env(), tree).build().dispatch().await;
//!     Ok(())
//! }
//! ```

mod extract;
mod notice;
mod stats;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::ControlFlow;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use dptree::di::DependencyMap;
use dptree::{HandlerDescription, HandlerSignature, Type};
use sentinel_core::{Allowed, Sentinel, Verdict, ceil_secs};
use teloxide::Bot;
use teloxide::dispatching::{DpHandlerDescription, UpdateFilterExt, UpdateHandler};
use teloxide::payloads::{AnswerCallbackQuerySetters, SendMessageSetters};
use teloxide::requests::{Request, Requester};
use teloxide::types::{CallbackQueryId, ChatId, MessageId, ReplyParameters, ThreadId, Update};

pub use stats::GuardStats;

use crate::reachability::Reachability;
use crate::update::{BotStatusChange, ChatType, Extractor, HandlerNamer, UpdateInfo, UpdateKind};
use notice::NoticeLimiter;
use stats::{Counters, bump};

/// The default reply to a throttled user; `{secs}` becomes the whole seconds to wait.
pub const DEFAULT_REPLY: &str = "Too many messages — try again in {secs} s";

/// What the guard decided about one update.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The engine allowed it (`degraded` when the store failed and `FailMode::Open` let it
    /// through).
    Pass(Allowed),
    /// Its type is exempt from checks ([`GuardBuilder::exempt`]).
    Exempt,
    /// Dropped: throttled, debounced or blocked.
    Drop(Verdict),
    /// Dropped: the store failed and the engine fails closed.
    FailedClosed,
}

impl Outcome {
    /// Whether the update goes on to the bot's handlers.
    pub const fn passes(&self) -> bool {
        matches!(self, Self::Pass(_) | Self::Exempt)
    }
}

struct Shared {
    sentinel: Sentinel,
    extractor: Extractor,
    reply: Option<String>,
    reachability: Reachability,
    exempt: Vec<UpdateKind>,
    notices: NoticeLimiter,
    counters: Counters,
}

/// Guards a teloxide bot with a [`Sentinel`]. Cheap to clone; clones share counters and state.
///
/// Build with [`Guard::builder`] (or [`Guard::new`] for the defaults), then chain
/// [`Guard::handler`] in front of the bot's branches. See the [module docs](self).
#[derive(Clone)]
pub struct Guard {
    shared: Arc<Shared>,
    handler_name: Option<Arc<str>>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("sentinel", &self.shared.sentinel)
            .field("namer", self.shared.extractor.namer())
            .field("handler_name", &self.handler_name)
            .field("reply", &self.shared.reply.is_some())
            .field("exempt", &self.shared.exempt)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Guard`].
#[derive(Debug)]
pub struct GuardBuilder {
    sentinel: Sentinel,
    namer: HandlerNamer,
    reply: Option<String>,
    reachability: Option<Reachability>,
    exempt: Vec<UpdateKind>,
    notice_engine: Option<Sentinel>,
}

impl GuardBuilder {
    /// How updates are named for per-handler policies (default: the bot command).
    #[must_use]
    pub fn namer(mut self, namer: HandlerNamer) -> Self {
        self.namer = namer;
        self
    }

    /// Whether throttled users are told when to retry (default `true`). Without replies,
    /// dropped callback queries are still answered, silently.
    #[must_use]
    pub fn reply(mut self, on: bool) -> Self {
        self.reply = on.then(|| {
            self.reply
                .take()
                .unwrap_or_else(|| DEFAULT_REPLY.to_owned())
        });
        self
    }

    /// The reply text; `{secs}` becomes the whole seconds to wait (rounded up). Turns replies
    /// on.
    #[must_use]
    pub fn reply_text(mut self, template: impl Into<String>) -> Self {
        self.reply = Some(template.into());
        self
    }

    /// The set that records users who blocked the bot (default: a new one; read it back with
    /// [`Guard::reachability`]). Share it with a [`sender`](crate::sender).
    #[must_use]
    pub fn reachability(mut self, reachability: Reachability) -> Self {
        self.reachability = Some(reachability);
        self
    }

    /// Update types passed without a check. The default is `my_chat_member` (block and
    /// unblock events must always arrive), `pre_checkout_query` and `shipping_query`
    /// (Telegram cancels a payment whose query goes unanswered).
    #[must_use]
    pub fn exempt(mut self, kinds: impl IntoIterator<Item = UpdateKind>) -> Self {
        self.exempt = kinds.into_iter().collect();
        self
    }

    /// Decides "one reply per subject per window" with this engine instead of in process —
    /// for example one on Redis, so several bot workers send one reply between them. Each
    /// reply is checked as an event with the throttled policy's name as its handler and the
    /// throttled subject as its custom key ([`Scope::Custom`](sentinel_core::Scope::Custom)).
    #[must_use]
    pub fn notice_limiter(mut self, engine: Sentinel) -> Self {
        self.notice_engine = Some(engine);
        self
    }

    /// Builds the guard.
    pub fn build(self) -> Guard {
        Guard {
            shared: Arc::new(Shared {
                sentinel: self.sentinel,
                extractor: Extractor::new().with_namer(self.namer),
                reply: self.reply,
                reachability: self.reachability.unwrap_or_default(),
                exempt: self.exempt,
                notices: self
                    .notice_engine
                    .map_or_else(NoticeLimiter::local, NoticeLimiter::Engine),
                counters: Counters::default(),
            }),
            handler_name: None,
        }
    }
}

/// `template` with `{secs}` replaced.
fn render(template: &str, secs: u64) -> String {
    template.replace("{secs}", &secs.to_string())
}

impl Guard {
    /// Starts building a guard on `sentinel`.
    pub fn builder(sentinel: Sentinel) -> GuardBuilder {
        GuardBuilder {
            sentinel,
            namer: HandlerNamer::default(),
            reply: Some(DEFAULT_REPLY.to_owned()),
            reachability: None,
            exempt: vec![
                UpdateKind::MyChatMember,
                UpdateKind::PreCheckoutQuery,
                UpdateKind::ShippingQuery,
            ],
            notice_engine: None,
        }
    }

    /// A guard with the defaults.
    pub fn new(sentinel: Sentinel) -> Self {
        Self::builder(sentinel).build()
    }

    /// The same guard, but every update it checks has the handler name `name` (and so the
    /// policy of that name): for a guard chained inside one branch.
    #[must_use]
    pub fn named(&self, name: impl Into<String>) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            handler_name: Some(Arc::from(name.into())),
        }
    }

    /// The engine.
    pub fn sentinel(&self) -> &Sentinel {
        &self.shared.sentinel
    }

    /// Users who blocked the bot, as seen by this guard.
    pub fn reachability(&self) -> &Reachability {
        &self.shared.reachability
    }

    /// The guard's counters, with its engine's ([`GuardStats::engine`]).
    pub fn stats(&self) -> GuardStats {
        self.shared.counters.snapshot(self.shared.sentinel.stats())
    }

    /// Reads `update` as this guard does (namer and forced handler name applied).
    pub fn update_info(&self, update: &Update) -> UpdateInfo {
        let mut info = self.shared.extractor.from_teloxide(update);
        if let Some(name) = &self.handler_name {
            info.handler = Some(name.to_string());
        }
        info
    }

    /// Decides about `update`: records `my_chat_member` block changes, checks the engine and
    /// counts the outcome. Sends nothing.
    pub async fn check(&self, update: &Update) -> Outcome {
        self.inspect(update).await.1
    }

    async fn inspect(&self, update: &Update) -> (UpdateInfo, Outcome) {
        let s = &self.shared;
        let info = self.update_info(update);
        match s.reachability.observe(&info) {
            Some((_, BotStatusChange::Blocked)) => bump(&s.counters.users_blocked_bot),
            Some((_, BotStatusChange::Unblocked)) => bump(&s.counters.users_unblocked_bot),
            None => {}
        }
        if s.exempt.contains(&info.kind) {
            bump(&s.counters.exempt);
            return (info, Outcome::Exempt);
        }
        let outcome = match s.sentinel.check(&info.event()).await {
            // Verdicts are counted by the engine (`GuardStats::engine`), not here.
            Ok(Verdict::Allowed(a)) => Outcome::Pass(a),
            Ok(v) => {
                tracing::debug!(
                    update_id = info.update_id,
                    kind = info.kind.as_str(),
                    verdict = v.as_str(),
                    "sentinel guard dropped an update"
                );
                Outcome::Drop(v)
            }
            Err(_) => {
                tracing::debug!(
                    update_id = info.update_id,
                    kind = info.kind.as_str(),
                    "sentinel guard dropped an update: store failed (fail closed)"
                );
                Outcome::FailedClosed
            }
        };
        (info, outcome)
    }

    /// The reply text for a throttled update, if replies are on.
    fn notice_text(&self, outcome: &Outcome) -> Option<(String, Duration)> {
        let Outcome::Drop(Verdict::Throttled(t)) = outcome else {
            return None;
        };
        let template = self.shared.reply.as_deref()?;
        let (_, policy) = self.shared.sentinel.policies().resolve(Some(&t.policy));
        let period = policy
            .limit()
            .map_or(Duration::from_secs(1), |rl| rl.quota.period());
        let wait = match &t.escalated {
            // This throttle got the user blocked: the wait is the block, unless it is forever.
            Some(block) => block.remaining(self.shared.sentinel.clock().now())?,
            None => t.decision.retry_after.unwrap_or(period),
        };
        let secs = ceil_secs(wait).max(1);
        Some((render(template, secs), period.max(wait)))
    }

    /// Answers a dropped update: `answerCallbackQuery` for button presses, and at most one
    /// "try again" reply per subject per window for throttled messages.
    async fn respond<R: Requester>(&self, bot: &R, info: &UpdateInfo, outcome: &Outcome) {
        let s = &self.shared;
        let notice = self.notice_text(outcome);
        if info.kind == UpdateKind::CallbackQuery {
            let Some(id) = &info.callback_query_id else {
                return;
            };
            // Built in a block so no request value (maybe not `Send`) lives across an await.
            let send = {
                let req = bot.answer_callback_query(CallbackQueryId(id.clone()));
                match notice {
                    Some((text, _)) => req.text(text).send(),
                    None => req.send(),
                }
            };
            let sent = send.await;
            match sent {
                Ok(_) => bump(&s.counters.callbacks_answered),
                Err(_) => {
                    bump(&s.counters.send_failures);
                    tracing::debug!("sentinel guard: answerCallbackQuery failed");
                }
            }
            return;
        }
        let (Some((text, window)), Outcome::Drop(Verdict::Throttled(t))) = (notice, outcome) else {
            return;
        };
        // Reply only where a user typed a message; never post into a channel.
        let Some(chat) = info.chat_id else { return };
        if info.kind != UpdateKind::Message || info.chat_type == Some(ChatType::Channel) {
            return;
        }
        let key = format!("{}\u{1f}{}", t.policy, t.subject.encode());
        let now = s.sentinel.clock().now();
        if !s
            .notices
            .allow(&key, &t.policy, &info.event(), now, window)
            .await
        {
            bump(&s.counters.notices_suppressed);
            return;
        }
        // In a group, answer the message itself so everyone sees whom the notice is for.
        let reply_to = info
            .message_id
            .and_then(|m| i32::try_from(m).ok())
            .filter(|_| info.chat_type.as_ref().is_some_and(ChatType::is_group));
        let thread = info.thread_id.and_then(|t| i32::try_from(t).ok());
        let send = {
            let mut req = bot.send_message(ChatId(chat), text);
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
        let sent = send.await;
        match sent {
            Ok(_) => bump(&s.counters.notices_sent),
            Err(_) => {
                bump(&s.counters.send_failures);
                tracing::debug!("sentinel guard: the \"try again\" reply failed");
            }
        }
    }

    /// The guard as a dptree handler for a bot of type [`teloxide::Bot`]: chain it in front of
    /// the branches, `dptree::entry().chain(guard.handler()).branch(…)`.
    ///
    /// Passed updates continue with an [`UpdateInfo`] added to the dependencies, so endpoints
    /// can take it as a parameter.
    #[track_caller]
    pub fn handler<E>(&self) -> UpdateHandler<E>
    where
        E: Send + Sync + 'static,
    {
        self.handler_for::<Bot, E>()
    }

    /// [`Guard::handler`] for any bot type `R` (`Throttle<Bot>`, `DefaultParseMode<Bot>`, …):
    /// the type the dispatcher was built with, used to answer callback queries and reply.
    #[track_caller]
    pub fn handler_for<R, E>(&self) -> UpdateHandler<E>
    where
        R: Requester + Clone + Send + Sync + 'static,
        E: Send + Sync + 'static,
    {
        let at = Location::caller();
        let guard = self.clone();
        dptree::from_fn_with_description(
            DpHandlerDescription::entry(),
            move |mut deps: DependencyMap, cont| {
                let guard = guard.clone();
                async move {
                    let Some(update) = deps.try_get::<Update>() else {
                        return cont(deps).await;
                    };
                    let (info, outcome) = guard.inspect(&update).await;
                    if outcome.passes() {
                        deps.insert(info);
                        return cont(deps).await;
                    }
                    if let Some(bot) = deps.try_get::<R>() {
                        guard.respond(bot.as_ref(), &info, &outcome).await;
                    }
                    ControlFlow::Break(Ok(()))
                }
            },
            HandlerSignature::Other {
                obligations: BTreeMap::from([(Type::of::<Update>(), at), (Type::of::<R>(), at)]),
                guaranteed_outcomes: BTreeSet::from([Type::of::<UpdateInfo>()]),
                conditional_outcomes: BTreeSet::new(),
                continues: true,
            },
        )
    }

    /// A branch that subscribes the bot to `my_chat_member` updates and consumes them after
    /// recording block changes in [`Guard::reachability`]. Add it with `.branch(…)` unless
    /// the bot handles `my_chat_member` itself.
    pub fn reachability_handler<E>(&self) -> UpdateHandler<E>
    where
        E: Send + Sync + 'static,
    {
        let guard = self.clone();
        Update::filter_my_chat_member().endpoint(move |update: Update| {
            // The guard in front (if any) has recorded it already; recording twice is harmless.
            guard
                .shared
                .reachability
                .observe(&guard.update_info(&update));
            async { Ok(()) }
        })
    }
}
