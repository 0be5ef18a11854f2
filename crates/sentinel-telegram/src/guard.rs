//! The guard core, with no bot framework in it: from an update's facts to an [`Outcome`] and
//! what to answer ([`Response`]).
//!
//! Adapters (the [teloxide](crate::teloxide) handler, a webhook service, another framework)
//! read an update into an [`UpdateInfo`] (raw Bot API JSON with [`GuardCore::check_json`], or
//! [`Extractor`]), call [`GuardCore::check`], pass the update on when
//! [`Checked::passes`], and otherwise send the [`Response`]: a callback answer
//! (`answerCallbackQuery`, every dropped button press gets one) and/or a notice message
//! (`sendMessage`).
//!
//! What [`GuardCore::check`] does, in order:
//!
//! 1. **Reachability.** A private `my_chat_member` update marks the user as having blocked
//!    (`kicked`) or unblocked the bot in [`GuardCore::reachability`].
//! 2. **Exemptions** ([`GuardCoreBuilder::exempt_kinds`], [`exempt_users`](GuardCoreBuilder::exempt_users),
//!    [`exempt_chats`](GuardCoreBuilder::exempt_chats), [`bypass`](GuardCoreBuilder::bypass),
//!    [`exempt_chat_admins`](GuardCoreBuilder::exempt_chat_admins)): an exempt update passes as
//!    [`Outcome::Exempt`] **without asking the engine**, so it is never throttled, debounced,
//!    counted as a strike or escalated — and an explicit block
//!    ([`Sentinel::block`]) does not apply to it either: to block an exempt user, remove the
//!    exemption.
//! 3. **Albums.** The items of one album (`media_group_id`, per chat) are one event: the first
//!    item is checked, the later ones get its outcome without being counted
//!    ([`Checked::album_follower`]) and without any answer.
//! 4. **The engine** ([`Sentinel::check`]): pass, or drop (throttled, debounced, blocked; or
//!    the store failed under `FailMode::Closed`).
//! 5. **The answer** to a drop: a button press always gets a callback answer (with the notice
//!    text when throttled, silently otherwise). A throttled message gets at most one
//!    "try again" notice per subject per window (the **notice limiter**: in process by default,
//!    or through its own engine with [`GuardCoreBuilder::notice_limiter`]). With
//!    [`GuardCoreBuilder::block_notice`], the throttle that escalates into a block gets a
//!    one-time "blocked until …" notice instead. Blocks set by an admin and debounced repeats
//!    get no notice. Nothing is ever posted into a channel.
//!
//! Texts come from [`GuardCoreBuilder::reply_with`] (per policy, per language, per chat
//! type…) or the built-in English and Russian texts ([`default_text`]).
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use sentinel_core::{Algorithm, ManualClock, Policy, PolicyRegistry, Quota, Scope, Sentinel, Timestamp};
//! use sentinel_storage_memory::MemoryStore;
//! use sentinel_telegram::guard::{GuardCore, Notice, Outcome};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let clock = ManualClock::new(Timestamp::from_secs(1_000));
//! let sentinel = Sentinel::builder()
//!     .store(Arc::new(MemoryStore::new(clock.clone())))
//!     .clock(clock)
//!     .policies(PolicyRegistry::single(
//!         Policy::new().rate_limit(Quota::per_minute(1)?, Algorithm::SlidingWindow, Scope::User),
//!     )?)
//!     .build()?;
//! let guard = GuardCore::builder(sentinel)
//!     .exempt_users([7])
//!     .reply_with(|cx| Some(Notice::new(format!("wait {} s", cx.retry_after_secs()))))
//!     .build();
//!
//! let msg = |user: i64, id: i64| format!(r#"{{"update_id": {id}, "message": {{"message_id": {id}, "date": 0,
//!     "from": {{"id": {user}, "is_bot": false, "first_name": "A"}},
//!     "chat": {{"id": {user}, "type": "private"}}, "text": "hi {id}"}}}}"#);
//! let (_, first) = guard.check_json(msg(42, 1).as_bytes()).await?;
//! assert!(first.passes());
//! let (_, second) = guard.check_json(msg(42, 2).as_bytes()).await?;
//! assert!(!second.passes());
//! assert_eq!(second.response.notice.unwrap().text, "wait 60 s");
//! for id in 3..10 {
//!     let (_, admin) = guard.check_json(msg(7, id).as_bytes()).await?;
//!     assert_eq!(admin.outcome, Outcome::Exempt);
//! }
//! # Ok(()) }
//! ```

mod admins;
mod album;
mod exempt;
mod notice_limiter;
mod outcome;
mod reply;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{Sentinel, Verdict};

pub use admins::{AdminLookupError, ChatAdmins};
pub use outcome::{CallbackAnswer, Checked, NoticeKind, NoticeMessage, Outcome, Response};
pub use reply::{Notice, ReplyContext, default_text};

use crate::reachability::Reachability;
use crate::update::{ChatType, Extractor, HandlerNamer, ParseError, UpdateInfo, UpdateKind};
use admins::AdminCache;
use album::AlbumMemory;
use exempt::Exemptions;
use notice_limiter::NoticeLimiter;
use reply::{ReplyFn, default_reply};

struct Inner {
    sentinel: Sentinel,
    extractor: Extractor,
    exemptions: Exemptions,
    admins: Option<AdminCache>,
    admin_source: Option<Arc<dyn ChatAdmins>>,
    reply: Option<ReplyFn>,
    block_notice: bool,
    notices: NoticeLimiter,
    albums: AlbumMemory,
    reachability: Reachability,
}

/// The framework-free guard. Cheap to clone; clones share state. See the
/// [module docs](self).
#[derive(Clone)]
pub struct GuardCore {
    inner: Arc<Inner>,
}

impl fmt::Debug for GuardCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("GuardCore")
            .field("sentinel", &i.sentinel)
            .field("namer", i.extractor.namer())
            .field("exemptions", &i.exemptions)
            .field("chat_admins_ttl", &i.admins.as_ref().map(AdminCache::ttl))
            .field("reply", &i.reply.is_some())
            .field("block_notice", &i.block_notice)
            .finish_non_exhaustive()
    }
}

/// Builds a [`GuardCore`].
pub struct GuardCoreBuilder {
    sentinel: Sentinel,
    namer: HandlerNamer,
    exemptions: Exemptions,
    admins_ttl: Option<Duration>,
    admin_source: Option<Arc<dyn ChatAdmins>>,
    reply: Option<ReplyFn>,
    block_notice: bool,
    notice_engine: Option<Sentinel>,
    reachability: Option<Reachability>,
}

impl fmt::Debug for GuardCoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardCoreBuilder")
            .field("namer", &self.namer)
            .field("exemptions", &self.exemptions)
            .field("admins_ttl", &self.admins_ttl)
            .field("reply", &self.reply.is_some())
            .field("block_notice", &self.block_notice)
            .finish_non_exhaustive()
    }
}

impl GuardCoreBuilder {
    /// How updates are named for per-handler policies (default: the bot command).
    #[must_use]
    pub fn namer(mut self, namer: HandlerNamer) -> Self {
        self.namer = namer;
        self
    }

    /// Update types passed without a check. The default is `my_chat_member` (block and
    /// unblock events must always arrive), `pre_checkout_query` and `shipping_query`
    /// (Telegram cancels a payment whose query goes unanswered).
    #[must_use]
    pub fn exempt_kinds(mut self, kinds: impl IntoIterator<Item = UpdateKind>) -> Self {
        self.exemptions.kinds = kinds.into_iter().collect();
        self
    }

    /// Users never checked (matched against the acting identity and the raw `from.id`).
    #[must_use]
    pub fn exempt_users(mut self, users: impl IntoIterator<Item = i64>) -> Self {
        self.exemptions.users.extend(users);
        self
    }

    /// Chats in which nothing is checked.
    #[must_use]
    pub fn exempt_chats(mut self, chats: impl IntoIterator<Item = i64>) -> Self {
        self.exemptions.chats.extend(chats);
        self
    }

    /// Updates for which `predicate` returns `true` are never checked. It runs on every
    /// update that is not otherwise exempt: keep it cheap.
    #[must_use]
    pub fn bypass<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&UpdateInfo) -> bool + Send + Sync + 'static,
    {
        self.exemptions.bypass = Some(Arc::new(predicate));
        self
    }

    /// Exempts the administrators of a group or supergroup (and anonymous admins, who write
    /// as the group) in that chat. The list comes from `getChatAdministrators` and is kept
    /// for `ttl` per chat; a failed lookup counts as "no administrators" for `ttl` too. The
    /// adapter supplies the bot to ask ([`GuardCore::check_with_admins`]), or set one with
    /// [`GuardCoreBuilder::chat_admins_source`].
    #[must_use]
    pub const fn exempt_chat_admins(mut self, ttl: Duration) -> Self {
        self.admins_ttl = Some(ttl);
        self
    }

    /// Where [`GuardCore::check`] gets chat administrators from (used only with
    /// [`GuardCoreBuilder::exempt_chat_admins`]).
    #[must_use]
    pub fn chat_admins_source(mut self, source: Arc<dyn ChatAdmins>) -> Self {
        self.admin_source = Some(source);
        self
    }

    /// The notice texts: `f` gets a [`ReplyContext`] (verdict, quota, window,
    /// `retry_after`, the update's facts) and returns the notice, or `None` for no notice (a
    /// button press is then answered silently). The default is [`default_text`].
    #[must_use]
    pub fn reply_with<F>(mut self, f: F) -> Self
    where
        F: Fn(&ReplyContext<'_>) -> Option<Notice> + Send + Sync + 'static,
    {
        self.reply = Some(Arc::new(f));
        self
    }

    /// Whether users are told anything (default `true`). Without replies, dropped button
    /// presses are still answered, silently, and no block notice is sent.
    #[must_use]
    pub fn replies(mut self, on: bool) -> Self {
        self.reply = if on {
            self.reply.take().or_else(|| Some(Arc::new(default_reply)))
        } else {
            None
        };
        self
    }

    /// Whether the throttle that escalates into a block sends a one-time notice with the
    /// block's end ([`NoticeKind::Blocked`]) instead of the "try again" notice (default
    /// `false`).
    #[must_use]
    pub const fn block_notice(mut self, on: bool) -> Self {
        self.block_notice = on;
        self
    }

    /// Decides "one notice per subject per window" with this engine instead of in process —
    /// for example one on Redis, so several bot workers send one notice between them. Each
    /// notice is checked as an event with the throttled policy's name as its handler and the
    /// throttled subject as its custom key ([`Scope::Custom`](sentinel_core::Scope::Custom)).
    #[must_use]
    pub fn notice_limiter(mut self, engine: Sentinel) -> Self {
        self.notice_engine = Some(engine);
        self
    }

    /// The set that records users who blocked the bot (default: a new one).
    #[must_use]
    pub fn reachability(mut self, reachability: Reachability) -> Self {
        self.reachability = Some(reachability);
        self
    }

    /// Builds the guard.
    pub fn build(self) -> GuardCore {
        GuardCore {
            inner: Arc::new(Inner {
                sentinel: self.sentinel,
                extractor: Extractor::new().with_namer(self.namer),
                exemptions: self.exemptions,
                admins: self.admins_ttl.map(AdminCache::new),
                admin_source: self.admin_source,
                reply: self.reply,
                block_notice: self.block_notice,
                notices: self
                    .notice_engine
                    .map_or_else(NoticeLimiter::local, NoticeLimiter::Engine),
                albums: AlbumMemory::default(),
                reachability: self.reachability.unwrap_or_default(),
            }),
        }
    }
}

impl GuardCore {
    /// Starts building a guard on `sentinel`.
    pub fn builder(sentinel: Sentinel) -> GuardCoreBuilder {
        GuardCoreBuilder {
            sentinel,
            namer: HandlerNamer::default(),
            exemptions: Exemptions::default(),
            admins_ttl: None,
            admin_source: None,
            reply: Some(Arc::new(default_reply)),
            block_notice: false,
            notice_engine: None,
            reachability: None,
        }
    }

    /// The engine.
    pub fn sentinel(&self) -> &Sentinel {
        &self.inner.sentinel
    }

    /// How this guard reads updates (its namer).
    pub fn extractor(&self) -> &Extractor {
        &self.inner.extractor
    }

    /// Users who blocked the bot, as seen by this guard.
    pub fn reachability(&self) -> &Reachability {
        &self.inner.reachability
    }

    /// Reads raw Bot API JSON (a webhook body) and checks it.
    ///
    /// # Errors
    /// [`ParseError`] when the bytes are not an update; nothing was checked.
    pub async fn check_json(&self, body: &[u8]) -> Result<(UpdateInfo, Checked), ParseError> {
        let info = self.inner.extractor.from_slice(body)?;
        let checked = self.check(&info).await;
        Ok((info, checked))
    }

    /// Decides about `info` and says what to answer (see the [module docs](self)); chat
    /// administrators come from [`GuardCoreBuilder::chat_admins_source`], if set.
    pub async fn check(&self, info: &UpdateInfo) -> Checked {
        let source = self.inner.admin_source.as_deref();
        self.check_inner(info, source).await
    }

    /// [`GuardCore::check`], asking `admins` for chat administrators (the adapter's bot).
    pub async fn check_with_admins(&self, info: &UpdateInfo, admins: &dyn ChatAdmins) -> Checked {
        self.check_inner(info, Some(admins)).await
    }

    async fn is_exempt(&self, info: &UpdateInfo, source: Option<&dyn ChatAdmins>) -> bool {
        let i = &self.inner;
        if i.exemptions.covers(info) {
            return true;
        }
        let Some(cache) = &i.admins else {
            return false;
        };
        if !info.chat_type.as_ref().is_some_and(ChatType::is_group) {
            return false;
        }
        if info.is_anonymous_admin() {
            return true;
        }
        let (Some(source), Some(chat), Some(user)) = (source, info.chat_id, info.from_id) else {
            return false;
        };
        cache
            .is_admin(source, chat, user, i.sentinel.clock().now())
            .await
    }

    async fn check_inner(&self, info: &UpdateInfo, source: Option<&dyn ChatAdmins>) -> Checked {
        let i = &self.inner;
        let bot_status = i.reachability.observe(info);
        if self.is_exempt(info, source).await {
            let mut c = Checked::new(Outcome::Exempt);
            c.bot_status = bot_status;
            return c;
        }
        let album = info.media_group_id.as_deref().zip(info.chat_id);
        if let Some((group, chat)) = album
            && let Some(outcome) = i.albums.follow(chat, group, i.sentinel.clock().now())
        {
            let mut c = Checked::new(outcome);
            c.album_follower = true;
            c.bot_status = bot_status;
            return c;
        }
        let outcome = match i.sentinel.check(&info.event()).await {
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
        if let Some((group, chat)) = album {
            i.albums
                .remember(chat, group, i.sentinel.clock().now(), &outcome);
        }
        let mut c = Checked::new(outcome);
        c.bot_status = bot_status;
        if !c.passes() {
            self.respond(info, &mut c).await;
        }
        c
    }

    /// Fills `c.response` for a dropped update.
    async fn respond(&self, info: &UpdateInfo, c: &mut Checked) {
        let i = &self.inner;
        let now = i.sentinel.clock().now();
        let mut text = None;
        let mut kind = NoticeKind::Throttled;
        let mut window = Duration::from_secs(1);
        let mut throttled = None;
        if let Outcome::Drop(v @ Verdict::Throttled(t)) = &c.outcome
            && let Some(reply) = &i.reply
        {
            let quota = Some(t.quota);
            window = quota.map_or(window, |q| q.period());
            let (retry_after, block_ends) = match &t.escalated {
                Some(block) => {
                    if i.block_notice {
                        kind = NoticeKind::Blocked;
                    }
                    (block.remaining(now), block.expires_at)
                }
                None => (Some(t.decision.retry_after.unwrap_or(window)), None),
            };
            // Without the block notice, a permanent block gets no "try again".
            let silent = kind == NoticeKind::Throttled && retry_after.is_none();
            if !silent {
                let cx = ReplyContext {
                    kind,
                    verdict: v,
                    policy: &t.policy,
                    quota,
                    window,
                    retry_after,
                    block_ends: block_ends.filter(|_| kind == NoticeKind::Blocked),
                    info,
                    now,
                };
                text = reply(&cx).map(Notice::into_text);
                window = window.max(retry_after.unwrap_or_default());
            }
            throttled = Some(t);
        }
        if info.kind == UpdateKind::CallbackQuery {
            if let Some(id) = &info.callback_query_id {
                c.response.callback = Some(CallbackAnswer {
                    callback_query_id: id.clone(),
                    text,
                });
            }
            return;
        }
        let (Some(text), Some(t)) = (text, throttled) else {
            return;
        };
        // Notices only where a user typed a message; never into a channel.
        let Some(chat_id) = info.chat_id else { return };
        if info.kind != UpdateKind::Message || info.chat_type == Some(ChatType::Channel) {
            return;
        }
        // The block notice goes once by nature (one escalation); the "try again" notice at
        // most once per subject per window. The key is built only on this throttled path.
        if kind == NoticeKind::Throttled {
            let key = format!("{}\u{1f}{}", t.policy, t.subject.encode());
            if !i
                .notices
                .allow(&key, &t.policy, &info.event(), now, window)
                .await
            {
                c.notice_suppressed = true;
                return;
            }
        }
        c.response.notice = Some(NoticeMessage {
            chat_id,
            text,
            reply_to_message_id: info
                .message_id
                .filter(|_| info.chat_type.as_ref().is_some_and(ChatType::is_group)),
            thread_id: info.thread_id,
            kind,
        });
    }
}
