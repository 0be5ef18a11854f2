//! Plan templates: what the engine precomputes per policy at build time, and the reusable
//! plan it fills per check.
//!
//! A check writes each key by copying two precomputed strings around the subject
//! ([`KeyParts`]) into a string it already owns; the policy's name is a [`PolicyName`]
//! the verdict copies; the escalation record's reason is formatted once. For stores that decide
//! on the calling thread ([`Store::as_sync`](crate::Store::as_sync)), the plan itself is a
//! per-thread buffer reused from check to check, so an allowed check allocates nothing once
//! its strings have grown to their size.

use std::cell::RefCell;

use crate::key::KeyParts;
use crate::plan::{DebounceStep, LimitStep, Plan, StrikeStep};
use crate::{
    BlockRecord, ESCALATION_BLOCKER, Event, KeyBuilder, KeyKind, Policy, PolicyName,
    PolicyRegistry, Quota, Scope, Timestamp,
};

/// One policy, precomputed.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    /// The name its keys and verdicts use (`_` for the default).
    pub(crate) name: PolicyName,
    /// Per rate limit, in policy order.
    limits: Vec<KeyParts>,
    debounce: KeyParts,
    strikes: KeyParts,
    /// The escalation record's reason.
    reason: String,
}

impl Template {
    fn new(keys: &KeyBuilder, name: &str, policy: &Policy) -> Self {
        let limits = policy
            .limits()
            .iter()
            .enumerate()
            .map(|(i, rl)| {
                // A limit shared with the default is keyed as the default's.
                let (owner, index) = policy.limit_key_parts(i, name);
                let suffix = if index == 0 {
                    String::new()
                } else {
                    format!(":{index}")
                };
                keys.parts(KeyKind::RateLimit(rl.algorithm), owner, &suffix)
            })
            .collect();
        let reason = policy.escalation_rule().map_or_else(String::new, |esc| {
            format!(
                "throttled {} times within {:?} on policy {name}",
                esc.strikes(),
                esc.within()
            )
        });
        Self {
            name: PolicyName::intern(name),
            limits,
            debounce: keys.parts(KeyKind::Debounce, name, ":"),
            strikes: keys.parts(KeyKind::Strikes, name, ""),
            reason,
        }
    }
}

/// Every policy of a registry, precomputed, found by the identity of the policy the registry
/// resolves (so whatever rule the registry uses to pick a policy, its template follows).
#[derive(Debug)]
pub(crate) struct Templates {
    /// `(address of the registry's policy, template)`, sorted by address.
    by_policy: Vec<(usize, Template)>,
    block: KeyParts,
    keys: KeyBuilder,
}

fn address(policy: &Policy) -> usize {
    std::ptr::from_ref(policy).addr()
}

impl Templates {
    /// Templates for every policy of `registry`. The registry must not move afterwards
    /// (the engine keeps it boxed); a policy not found is compiled on the spot.
    pub(crate) fn new(keys: &KeyBuilder, registry: &PolicyRegistry) -> Self {
        let default = registry.default_policy();
        let mut by_policy: Vec<(usize, Template)> =
            std::iter::once((crate::policy::DEFAULT_POLICY_KEY, default))
                .chain(registry.named())
                .chain(crate::ChatKind::ALL.iter().filter_map(|kind| {
                    registry
                        .chat_policy(*kind)
                        .map(|policy| (kind.policy_name(), policy))
                }))
                .map(|(name, policy)| (address(policy), Template::new(keys, name, policy)))
                .collect();
        by_policy.sort_unstable_by_key(|(a, _)| *a);
        Self {
            by_policy,
            block: keys.parts(KeyKind::Block, "all", ""),
            keys: keys.clone(),
        }
    }

    /// The template of `policy` (named `name`), as resolved by the registry.
    #[inline]
    pub(crate) fn get(&self, name: &str, policy: &Policy) -> TemplateRef<'_> {
        let at = address(policy);
        // The registry is the engine's own and never changes, and it names each of its
        // policies one way (`resolve_event` returns a named policy's key, a chat type's name
        // or `_`), so the address alone finds the template.
        if let Ok(i) = self.by_policy.binary_search_by_key(&at, |(a, _)| *a)
            && let Some((_, t)) = self.by_policy.get(i)
        {
            return TemplateRef::Shared(t);
        }
        // Not a policy of the registry the engine was built with (cannot happen with
        // `PolicyRegistry` as it is; kept correct rather than fast).
        TemplateRef::Owned(Box::new(Template::new(&self.keys, name, policy)))
    }

    /// Fills `buf.plan` for `event` under `policy` at `now` (the plan the engine hands the
    /// store), reusing the strings `buf` holds. `blocks: false` leaves the block keys out
    /// (a store that holds no block record, [`SyncStore::may_hold_blocks`](crate::SyncStore::may_hold_blocks)).
    #[inline]
    pub(crate) fn fill(
        &self,
        buf: &mut PlanBuf,
        template: &Template,
        policy: &Policy,
        event: &Event,
        now: Timestamp,
        blocks: bool,
    ) {
        buf.plan.now = now;
        if let Some(d) = buf.plan.debounce.take() {
            buf.spare_debounce = Some(d);
        }
        if let Some(s) = buf.plan.strike.take() {
            buf.spare_strike = Some(s);
        }
        // Blocks: the user's, then the chat's, written over the previous plan's strings.
        let ids = if blocks {
            [
                event.user().map(|u| ('u', u)),
                event.chat().map(|c| ('c', c)),
            ]
        } else {
            [None, None]
        };
        let mut n = 0;
        for (tag, id) in ids.into_iter().flatten() {
            if n == buf.plan.blocks.len() {
                let key = buf.string();
                buf.plan.blocks.push(key);
            }
            if let Some(key) = buf.plan.blocks.get_mut(n) {
                self.block.write_id(key, tag, id);
            }
            n += 1;
        }
        if buf.plan.blocks.len() > n {
            buf.spare.extend(buf.plan.blocks.drain(n..));
        }
        if let (Some(rule), Some(fp)) = (policy.debounce_rule(), event.fingerprint()) {
            let mut step = buf.spare_debounce.take().unwrap_or_else(|| DebounceStep {
                key: String::with_capacity(KEY_CAPACITY),
                window: rule.window,
            });
            template
                .debounce
                .write_for(&mut step.key, rule.scope, event);
            crate::key::push_fingerprint(&mut step.key, fp);
            step.window = rule.window;
            buf.plan.debounce = Some(step);
        }
        let cost = event.cost().unwrap_or(policy.cost()).max(1);
        let mut n = 0;
        for (rl, parts) in policy.limits().iter().zip(&template.limits) {
            if n == buf.plan.limits.len() {
                let key = buf.string();
                buf.plan.limits.push(LimitStep {
                    key,
                    algorithm: rl.algorithm,
                    quota: rl.quota,
                    cost,
                });
            }
            if let Some(step) = buf.plan.limits.get_mut(n) {
                parts.write_for(&mut step.key, rl.scope, event);
                step.algorithm = rl.algorithm;
                step.quota = rl.quota;
                step.cost = cost;
            }
            n += 1;
        }
        if buf.plan.limits.len() > n {
            buf.spare.extend(buf.plan.limits.drain(n..).map(|l| l.key));
        }
        // The offender: the user, else the chat (no strike for an event with neither).
        if let Some(esc) = policy.escalation_rule()
            && (event.user().is_some() || event.chat().is_some())
            // `Escalation::new` validated these bounds, so this quota is valid.
            && let Ok(quota) = Quota::new(esc.strikes(), esc.within())
        {
            let mut step = buf.spare_strike.take().unwrap_or_else(|| StrikeStep {
                key: String::with_capacity(KEY_CAPACITY),
                quota,
                block_key: String::with_capacity(KEY_CAPACITY),
                record: BlockRecord::new("", "", now, None),
            });
            template
                .strikes
                .write_for(&mut step.key, Scope::User, event);
            step.quota = quota;
            let mut block_key = std::mem::take(&mut step.block_key);
            match (event.user(), event.chat()) {
                (Some(u), _) => self.block.write_id(&mut block_key, 'u', u),
                (None, Some(c)) => self.block.write_id(&mut block_key, 'c', c),
                (None, None) => {}
            }
            step.block_key = block_key;
            let record = &mut step.record;
            record.reason.clear();
            record.reason.push_str(&template.reason);
            record.blocked_by.clear();
            record.blocked_by.push_str(ESCALATION_BLOCKER);
            record.blocked_at = now;
            record.expires_at = esc.block_for().map(|d| now.saturating_add(d));
            buf.plan.strike = Some(step);
        }
    }
}

/// A template found in the table, or (never with the engine's own registry) built on the spot.
#[derive(Debug)]
pub(crate) enum TemplateRef<'a> {
    Shared(&'a Template),
    Owned(Box<Template>),
}

impl std::ops::Deref for TemplateRef<'_> {
    type Target = Template;

    fn deref(&self) -> &Template {
        match self {
            Self::Shared(t) => t,
            Self::Owned(t) => t,
        }
    }
}

/// The room a new key string starts with: prefix, kind, a user-in-chat subject, a handler
/// name, a fingerprint.
const KEY_CAPACITY: usize = 128;

/// A plan and the strings of earlier plans, kept for reuse.
#[derive(Debug)]
pub(crate) struct PlanBuf {
    pub(crate) plan: Plan,
    spare: Vec<String>,
    spare_debounce: Option<DebounceStep>,
    spare_strike: Option<StrikeStep>,
}

impl PlanBuf {
    pub(crate) const fn new() -> Self {
        Self {
            plan: Plan::new(Timestamp::from_micros(0)),
            spare: Vec::new(),
            spare_debounce: None,
            spare_strike: None,
        }
    }

    /// An empty string, reused when there is one. New ones start with room for any usual
    /// key, so that strings handed from one role to another (a short block key becoming a
    /// longer limit key) rarely grow after warm-up.
    fn string(&mut self) -> String {
        let mut s = self
            .spare
            .pop()
            .unwrap_or_else(|| String::with_capacity(KEY_CAPACITY));
        s.clear();
        s
    }
}

thread_local! {
    /// The plan buffer of checks on synchronous stores on this thread (borrowed while a check
    /// uses it).
    static PLAN: RefCell<PlanBuf> = const { RefCell::new(PlanBuf::new()) };
}

/// Runs `f` with this thread's plan buffer, borrowed in place (one thread-local access per
/// check). A check nested inside another on one thread (a store calling the engine) finds it
/// borrowed and gets a fresh buffer. `None`, without running `f`, only while the thread is
/// being torn down (its buffer is gone): the caller then builds a plan of its own.
///
/// `f` has one call site, so it is inlined here and its result written where the caller
/// wants it, not moved out of a second copy.
#[inline]
pub(crate) fn with_plan_buf<R>(f: impl FnOnce(&mut PlanBuf) -> R) -> Option<R> {
    PLAN.try_with(|cell| {
        let mut borrowed = cell.try_borrow_mut();
        let mut fresh;
        let buf = match &mut borrowed {
            Ok(buf) => &mut **buf,
            Err(_) => {
                fresh = PlanBuf::new();
                &mut fresh
            }
        };
        f(buf)
    })
    .ok()
}
