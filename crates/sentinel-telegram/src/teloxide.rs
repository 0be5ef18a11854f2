//! The teloxide adapter: a [`Guard`] a bot chains in front of its handler branches.
//!
//! The guard reads every update ([`Extractor::from_teloxide`](crate::update::Extractor::from_teloxide)), asks the
//! [`Sentinel`] about it, and either passes it on or **drops** it with `Break(Ok(()))`: a
//! dropped update reaches no handler and no default handler, so a flood does not become a flood
//! of `Unhandled update` warnings. Drops are logged at `debug` level only.
//!
//! - **Any bot type.** [`Guard::handler`] answers through the dispatcher's own bot: teloxide's
//!   `Bot` or any stack of the `Throttle`, `DefaultParseMode` and `CacheMe` adaptors around it,
//!   found at run time (the handler's type cannot name the bot's: see [`Guard::handler`]).
//!   Other bot types: [`Guard::handler_for`].
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

mod bot;
mod extract;
mod stats;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::ControlFlow;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use dptree::di::DependencyMap;
use dptree::{HandlerDescription, HandlerSignature, Type};
use sentinel_core::Sentinel;
use teloxide::dispatching::{DpHandlerDescription, UpdateFilterExt, UpdateHandler};
use teloxide::requests::Requester;
use teloxide::types::Update;

pub use crate::guard::Outcome;
pub use stats::GuardStats;

use crate::guard::{
    ChatAdmins, Checked, GuardCore, GuardCoreBuilder, Notice, ReplyContext, Response,
};
use crate::reachability::Reachability;
use crate::update::{BotStatusChange, HandlerNamer, UpdateInfo, UpdateKind};
#[cfg(feature = "webhook")]
use bot::BotAdmins;
use bot::{BotLookup, GuardBot, KNOWN, LazyBotAdmins, probe};
use stats::{Counters, bump};

/// The default reply to a throttled user; `{secs}` becomes the whole seconds to wait.
pub const DEFAULT_REPLY: &str = "Too many messages — try again in {secs} s";

struct Shared {
    core: GuardCore,
    counters: Counters,
}

/// Guards a teloxide bot with a [`Sentinel`]. Cheap to clone; clones share counters and state.
///
/// Build with [`Guard::builder`] (or [`Guard::new`] for the defaults), then chain
/// [`Guard::handler`] in front of the bot's branches. The decisions are the framework-free
/// [`GuardCore`]'s (see [`crate::guard`]); this adapter reads teloxide's `Update`, sends the
/// answers with the dispatcher's bot and counts. See the [module docs](self).
#[derive(Clone)]
pub struct Guard {
    shared: Arc<Shared>,
    handler_name: Option<Arc<str>>,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("core", &self.shared.core)
            .field("handler_name", &self.handler_name)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Guard`]: the [`GuardCoreBuilder`] options, for a teloxide bot.
#[derive(Debug)]
pub struct GuardBuilder {
    core: GuardCoreBuilder,
}

/// `template` with `{secs}` replaced.
fn render(template: &str, secs: u64) -> String {
    template.replace("{secs}", &secs.to_string())
}

impl GuardBuilder {
    /// How updates are named for per-handler policies (default: the bot command).
    #[must_use]
    pub fn namer(mut self, namer: HandlerNamer) -> Self {
        self.core = self.core.namer(namer);
        self
    }

    /// Whether users are told anything (default `true`). Without replies, dropped callback
    /// queries are still answered, silently.
    #[must_use]
    pub fn reply(mut self, on: bool) -> Self {
        self.core = self.core.replies(on);
        self
    }

    /// One reply text for every throttle; `{secs}` becomes the whole seconds to wait
    /// (rounded up). Turns replies on. For texts per policy or per language use
    /// [`GuardBuilder::reply_with`].
    #[must_use]
    pub fn reply_text(mut self, template: impl Into<String>) -> Self {
        let template: String = template.into();
        self.core = self.core.reply_with(move |cx: &ReplyContext<'_>| {
            Some(Notice::new(render(&template, cx.retry_after_secs())))
        });
        self
    }

    /// The notice texts, per policy, language, chat type…: see
    /// [`GuardCoreBuilder::reply_with`].
    #[must_use]
    pub fn reply_with<F>(mut self, f: F) -> Self
    where
        F: Fn(&ReplyContext<'_>) -> Option<Notice> + Send + Sync + 'static,
    {
        self.core = self.core.reply_with(f);
        self
    }

    /// A one-time notice with the block's end when a throttle escalates into a block: see
    /// [`GuardCoreBuilder::block_notice`].
    #[must_use]
    pub fn block_notice(mut self, on: bool) -> Self {
        self.core = self.core.block_notice(on);
        self
    }

    /// The set that records users who blocked the bot (default: a new one; read it back with
    /// [`Guard::reachability`]). Share it with a [`sender`](crate::sender).
    #[must_use]
    pub fn reachability(mut self, reachability: Reachability) -> Self {
        self.core = self.core.reachability(reachability);
        self
    }

    /// Update types passed without a check: see [`GuardCoreBuilder::exempt_kinds`].
    #[must_use]
    pub fn exempt(mut self, kinds: impl IntoIterator<Item = UpdateKind>) -> Self {
        self.core = self.core.exempt_kinds(kinds);
        self
    }

    /// Users never checked: see [`GuardCoreBuilder::exempt_users`].
    #[must_use]
    pub fn exempt_users(mut self, users: impl IntoIterator<Item = i64>) -> Self {
        self.core = self.core.exempt_users(users);
        self
    }

    /// Chats where nothing is checked: see [`GuardCoreBuilder::exempt_chats`].
    #[must_use]
    pub fn exempt_chats(mut self, chats: impl IntoIterator<Item = i64>) -> Self {
        self.core = self.core.exempt_chats(chats);
        self
    }

    /// Updates for which `predicate` is `true` are never checked: see
    /// [`GuardCoreBuilder::bypass`].
    #[must_use]
    pub fn bypass<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&UpdateInfo) -> bool + Send + Sync + 'static,
    {
        self.core = self.core.bypass(predicate);
        self
    }

    /// Exempts each group's administrators, asked of the dispatcher's bot with
    /// `getChatAdministrators` and cached for `ttl`: see
    /// [`GuardCoreBuilder::exempt_chat_admins`].
    #[must_use]
    pub fn exempt_chat_admins(mut self, ttl: Duration) -> Self {
        self.core = self.core.exempt_chat_admins(ttl);
        self
    }

    /// Decides "one reply per subject per window" with this engine instead of in process:
    /// see [`GuardCoreBuilder::notice_limiter`].
    #[must_use]
    pub fn notice_limiter(mut self, engine: Sentinel) -> Self {
        self.core = self.core.notice_limiter(engine);
        self
    }

    /// Builds the guard.
    pub fn build(self) -> Guard {
        Guard {
            shared: Arc::new(Shared {
                core: self.core.build(),
                counters: Counters::default(),
            }),
            handler_name: None,
        }
    }
}

impl Guard {
    /// Starts building a guard on `sentinel`.
    pub fn builder(sentinel: Sentinel) -> GuardBuilder {
        GuardBuilder {
            core: GuardCore::builder(sentinel),
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

    /// The framework-free core this adapter drives.
    pub fn core(&self) -> &GuardCore {
        &self.shared.core
    }

    /// The engine.
    pub fn sentinel(&self) -> &Sentinel {
        self.shared.core.sentinel()
    }

    /// Users who blocked the bot, as seen by this guard.
    pub fn reachability(&self) -> &Reachability {
        self.shared.core.reachability()
    }

    /// The guard's counters, with its engine's ([`GuardStats::engine`]).
    pub fn stats(&self) -> GuardStats {
        self.shared.counters.snapshot(self.sentinel().stats())
    }

    /// Reads `update` as this guard does (namer and forced handler name applied).
    pub fn update_info(&self, update: &Update) -> UpdateInfo {
        let mut info = self.shared.core.extractor().from_teloxide(update);
        if let Some(name) = &self.handler_name {
            info.handler = Some(name.to_string());
        }
        info
    }

    /// Decides about `update`: records `my_chat_member` block changes, checks the engine and
    /// counts the outcome. Sends nothing (and asks no chat administrators).
    pub async fn check(&self, update: &Update) -> Outcome {
        let info = self.update_info(update);
        let checked = self.shared.core.check(&info).await;
        self.count(&checked);
        checked.outcome
    }

    fn count(&self, c: &Checked) {
        let n = &self.shared.counters;
        match c.bot_status {
            Some((_, BotStatusChange::Blocked)) => bump(&n.users_blocked_bot),
            Some((_, BotStatusChange::Unblocked)) => bump(&n.users_unblocked_bot),
            None => {}
        }
        // Checked verdicts are counted once, by the engine (`GuardStats::engine`).
        if c.album_follower {
            bump(if c.passes() {
                &n.album_items_passed
            } else {
                &n.album_items_dropped
            });
        } else if c.outcome == Outcome::Exempt {
            bump(&n.exempt);
        }
        if c.notice_suppressed {
            bump(&n.notices_suppressed);
        }
    }

    /// Reads and checks `update` (chat administrators asked of `bot`, if given) and counts
    /// the outcome: what the webhook listener does first.
    #[cfg(feature = "webhook")]
    pub(crate) async fn decide<R>(&self, bot: Option<&R>, update: &Update) -> (UpdateInfo, Checked)
    where
        R: Requester + Send + Sync,
    {
        match bot {
            Some(bot) => self.decide_with(&BotAdmins(bot), update).await,
            None => {
                let info = self.update_info(update);
                let checked = self.shared.core.check(&info).await;
                self.count(&checked);
                (info, checked)
            }
        }
    }

    /// Reads and checks `update`, chat administrators asked of `admins`, and counts the
    /// outcome: what [`Guard::handler`] does first.
    async fn decide_with(&self, admins: &dyn ChatAdmins, update: &Update) -> (UpdateInfo, Checked) {
        let info = self.update_info(update);
        let checked = self.shared.core.check_with_admins(&info, admins).await;
        self.count(&checked);
        (info, checked)
    }

    /// Sends `response` with `bot`: the callback answer and the notice.
    pub(crate) async fn respond<B: GuardBot + ?Sized>(&self, bot: &B, response: Response) {
        let n = &self.shared.counters;
        if let Some(answer) = response.callback {
            if bot.answer_callback(answer).await {
                bump(&n.callbacks_answered);
            } else {
                bump(&n.send_failures);
                tracing::debug!("sentinel guard: answerCallbackQuery failed");
            }
        }
        let Some(notice) = response.notice else {
            return;
        };
        if bot.send_notice(notice).await {
            bump(&n.notices_sent);
        } else {
            bump(&n.send_failures);
            tracing::debug!("sentinel guard: the notice failed");
        }
    }

    /// The guard as a dptree handler: chain it in front of the branches,
    /// `dptree::entry().chain(guard.handler()).branch(…)`.
    ///
    /// Works with whatever bot the dispatcher was built with: teloxide's `Bot` or any stack of
    /// the `Throttle`, `DefaultParseMode` and `CacheMe` adaptors around it (`Throttle<Bot>`,
    /// `DefaultParseMode<Throttle<Bot>>`, …). The guard finds that bot in the dispatcher's
    /// dependencies when it needs it (to answer a dropped update or to ask for chat
    /// administrators) and answers through it, so the adaptors apply to its answers too.
    ///
    /// Why not by type inference: `Dispatcher::builder(bot, handler)` takes an
    /// `UpdateHandler<E>`, whose type does not mention the bot type, and dptree checks handler
    /// inputs by `TypeId` when the dispatcher is built. So this handler declares no bot type
    /// (a dispatcher never fails to start because of it) and looks the known bot types up at
    /// run time. For a bot type outside that list (your own adaptor, `Trace`,
    /// `ErasedRequester`…) use [`Guard::handler_for`]; with `handler()` such a bot still gets
    /// every update checked and dropped, but its dropped updates go unanswered, a warning is
    /// logged once and [`GuardStats::unanswered`] counts them.
    ///
    /// Passed updates continue with an [`UpdateInfo`] added to the dependencies, so endpoints
    /// can take it as a parameter.
    ///
    /// ```
    /// use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope, Sentinel, SystemClock};
    /// use sentinel_storage_memory::MemoryStore;
    /// use sentinel_telegram::teloxide::Guard;
    /// use std::sync::Arc;
    /// use teloxide::{adaptors::DefaultParseMode, dispatching::UpdateHandler, prelude::*};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let policy = Policy::new().rate_limit(Quota::per_minute(20)?, Algorithm::SlidingWindow, Scope::User);
    /// let sentinel = Sentinel::builder()
    ///     .store(Arc::new(MemoryStore::new(SystemClock)))
    ///     .policies(PolicyRegistry::single(policy)?)
    ///     .build()?;
    /// let guard = Guard::new(sentinel);
    /// let tree: UpdateHandler<teloxide::RequestError> = dptree::entry()
    ///     .chain(guard.handler())
    ///     .branch(Update::filter_message().endpoint(
    ///         |bot: DefaultParseMode<Bot>, msg: Message| async move {
    ///             bot.send_message(msg.chat.id, "<b>pong</b>").await?;
    ///             Ok(())
    ///         },
    ///     ));
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// # let _enter = rt.enter();
    /// let bot = Bot::new("1:token").parse_mode(teloxide::types::ParseMode::Html);
    /// // Builds (dptree's type check passes) and runs with the adapted bot.
    /// let _dispatcher = Dispatcher::builder(bot, tree).build();
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn handler<E>(&self) -> UpdateHandler<E>
    where
        E: Send + Sync + 'static,
    {
        self.make_handler(BotLookup::new(KNOWN), None)
    }

    /// [`Guard::handler`] answering through a bot of exactly type `R`: for a bot type the
    /// guard does not find by itself (see [`Guard::handler`]). `R` must be the type the
    /// dispatcher was built with; dptree checks that when the dispatcher is built (and
    /// `DispatcherBuilder::build` panics with the missing type's name and this call's
    /// location if it is not).
    ///
    /// ```
    /// use sentinel_core::{Algorithm, Policy, PolicyRegistry, Quota, Scope, Sentinel, SystemClock};
    /// use sentinel_storage_memory::MemoryStore;
    /// use sentinel_telegram::teloxide::Guard;
    /// use std::sync::Arc;
    /// use teloxide::{dispatching::UpdateHandler, prelude::*};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let policy = Policy::new().rate_limit(Quota::per_minute(20)?, Algorithm::SlidingWindow, Scope::User);
    /// # let sentinel = Sentinel::builder()
    /// #     .store(Arc::new(MemoryStore::new(SystemClock)))
    /// #     .policies(PolicyRegistry::single(policy)?)
    /// #     .build()?;
    /// let guard = Guard::new(sentinel);
    /// // Names the bot type; here one the guard would also find by itself.
    /// type MyBot = teloxide::adaptors::DefaultParseMode<Bot>;
    /// let tree: UpdateHandler<teloxide::RequestError> =
    ///     dptree::entry().chain(guard.handler_for::<MyBot, _>());
    /// # let _ = tree;
    /// # Ok(())
    /// # }
    /// ```
    #[track_caller]
    pub fn handler_for<R, E>(&self) -> UpdateHandler<E>
    where
        R: Requester + Clone + Send + Sync + 'static,
        E: Send + Sync + 'static,
    {
        self.make_handler(BotLookup::new(&[probe::<R>]), Some(Type::of::<R>()))
    }

    /// The handler: `lookup` finds the bot; `bot_type`, if any, is declared to dptree.
    #[track_caller]
    fn make_handler<E>(&self, lookup: BotLookup, bot_type: Option<Type>) -> UpdateHandler<E>
    where
        E: Send + Sync + 'static,
    {
        let at = Location::caller();
        let guard = self.clone();
        let lookup = Arc::new(lookup);
        let mut obligations = BTreeMap::from([(Type::of::<Update>(), at)]);
        if let Some(ty) = bot_type {
            obligations.insert(ty, at);
        }
        dptree::from_fn_with_description(
            DpHandlerDescription::entry(),
            move |mut deps: DependencyMap, cont| {
                let guard = guard.clone();
                let lookup = Arc::clone(&lookup);
                async move {
                    let Some(update) = deps.try_get::<Update>() else {
                        return cont(deps).await;
                    };
                    // The bot is looked up only if an admin lookup needs it.
                    let admins = LazyBotAdmins {
                        lookup: &lookup,
                        deps: &deps,
                    };
                    let (info, checked) = guard.decide_with(&admins, &update).await;
                    if checked.passes() {
                        deps.insert(info);
                        return cont(deps).await;
                    }
                    let response = checked.response;
                    if response.callback.is_some() || response.notice.is_some() {
                        match lookup.find(&deps) {
                            Some(bot) => guard.respond(bot.as_ref(), response).await,
                            None => bump(&guard.shared.counters.unanswered),
                        }
                    }
                    ControlFlow::Break(Ok(()))
                }
            },
            HandlerSignature::Other {
                obligations,
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
            guard.reachability().observe(&guard.update_info(&update));
            async { Ok(()) }
        })
    }
}
