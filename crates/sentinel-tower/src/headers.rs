//! The rate-limit header fields: IETF `RateLimit-Policy` / `RateLimit`
//! (draft-ietf-httpapi-ratelimit-headers) and the legacy `X-RateLimit-*` trio.
//!
//! For each engine policy, `RateLimit-Policy` lists every rate limit of the policy as one
//! item: `"login";q=5;w=60` (q = the limit, w = the window in seconds). The first limit's item is
//! named after the policy (`default` for the default policy), the others get `.1`, `.2`, …
//! `RateLimit` names the limit that decided (the one with the fewest units left, or the refusal):
//! `"login";r=3;t=42` (r = units left, t = seconds until the limit is back to full capacity,
//! rounded up).

use std::collections::HashMap;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use sentinel_core::{Decision, Policy, PolicyName, PolicyRegistry, Scope, ceil_secs};

use crate::decimal::push_decimal;

pub(crate) const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub(crate) const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub(crate) const X_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub(crate) const X_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
pub(crate) const X_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// One limit of a policy as the headers name it.
#[derive(Debug, Clone)]
struct Item {
    name: String,
    limit: u32,
    global: bool,
}

/// The precomputed header parts of one engine policy.
#[derive(Debug, Clone)]
struct PolicyHeaders {
    policy: HeaderValue,
    items: Vec<Item>,
}

/// Which headers to write, with every policy's `RateLimit-Policy` value built once.
#[derive(Debug, Clone)]
pub(crate) struct HeaderSet {
    ietf: bool,
    legacy: bool,
    policies: HashMap<String, PolicyHeaders>,
}

/// What the rate-limit fields of one response are written from: the deciding policy and
/// decision. The fields themselves are built when the response is, so the response future
/// carries these few words rather than five header values.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateHeaders(Option<Facts>);

#[derive(Debug, Clone)]
struct Facts {
    policy: PolicyName,
    decision: Decision,
    global: bool,
}

impl HeaderSet {
    pub(crate) fn new(registry: &PolicyRegistry, ietf: bool, legacy: bool) -> Self {
        let mut policies = HashMap::new();
        if ietf || legacy {
            let default = registry.default_policy();
            // The engine names the default policy `_`.
            policies.insert("_".to_owned(), Self::policy("default", default));
            for (name, policy) in registry.named() {
                policies.insert(name.to_owned(), Self::policy(name, policy));
            }
        }
        Self {
            ietf,
            legacy,
            policies,
        }
    }

    fn policy(display: &str, policy: &Policy) -> PolicyHeaders {
        let items: Vec<Item> = policy
            .limits()
            .iter()
            .enumerate()
            .map(|(i, rl)| Item {
                name: if i == 0 {
                    display.to_owned()
                } else {
                    format!("{display}.{i}")
                },
                limit: rl.quota.limit(),
                global: rl.scope == Scope::Global,
            })
            .collect();
        let value = policy
            .limits()
            .iter()
            .zip(&items)
            .map(|(rl, item)| {
                format!(
                    "\"{}\";q={};w={}",
                    item.name,
                    rl.quota.limit(),
                    ceil_secs(rl.quota.period())
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        PolicyHeaders {
            // Policy names are [A-Za-z0-9_.-] (the engine validates them): always a valid value.
            policy: HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("")),
            items,
        }
    }

    /// Whether any header is written.
    pub(crate) const fn enabled(&self) -> bool {
        self.ietf || self.legacy
    }

    /// The fields for `decision` of `policy` (the engine's name, `_` for the default);
    /// `global` when the deciding limit counts everyone together (picks between limits with
    /// equal quotas).
    pub(crate) fn for_decision(
        &self,
        policy: PolicyName,
        decision: &Decision,
        global: bool,
    ) -> RateHeaders {
        if !self.enabled() {
            return RateHeaders(None);
        }
        RateHeaders(Some(Facts {
            policy,
            decision: *decision,
            global,
        }))
    }

    /// Writes the fields of `facts` into `headers`, leaving any the response already has.
    fn write(&self, facts: &Facts, headers: &mut HeaderMap) {
        let Facts {
            policy,
            decision,
            global,
        } = facts;
        let reset = ceil_secs(decision.reset_after);
        if self.ietf
            && let Some(p) = self.policies.get(&**policy)
        {
            let item = p
                .items
                .iter()
                .find(|i| i.limit == decision.limit && i.global == *global)
                .or_else(|| p.items.iter().find(|i| i.limit == decision.limit))
                .or(p.items.first());
            headers
                .entry(RATELIMIT_POLICY)
                .or_insert_with(|| p.policy.clone());
            if let Some(item) = item
                && let http::header::Entry::Vacant(slot) = headers.entry(RATELIMIT)
            {
                // One small string per response: the counts change every time.
                let mut value = String::with_capacity(item.name.len() + 32);
                value.push('"');
                value.push_str(&item.name);
                value.push_str("\";r=");
                push_decimal(&mut value, u64::from(decision.remaining));
                value.push_str(";t=");
                push_decimal(&mut value, reset);
                if let Ok(value) = HeaderValue::try_from(value) {
                    slot.insert(value);
                }
            }
        }
        if self.legacy {
            headers
                .entry(X_LIMIT)
                .or_insert_with(|| HeaderValue::from(decision.limit));
            headers
                .entry(X_REMAINING)
                .or_insert_with(|| HeaderValue::from(decision.remaining));
            headers
                .entry(X_RESET)
                .or_insert_with(|| HeaderValue::from(reset));
        }
    }
}

impl RateHeaders {
    /// Writes these fields (as `set` configures them) into `headers`, leaving any the
    /// response already has.
    pub(crate) fn apply(self, set: &HeaderSet, headers: &mut HeaderMap) {
        if let Some(facts) = &self.0 {
            set.write(facts, headers);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::time::Duration;

    use sentinel_core::{Algorithm, Quota};

    use super::*;

    #[test]
    fn policy_lists_every_limit_and_ratelimit_names_the_deciding_one() {
        let registry = PolicyRegistry::builder()
            .default_policy(Policy::new().rate_limit(
                Quota::per_minute(100).unwrap(),
                Algorithm::SlidingWindow,
                Scope::Custom,
            ))
            .policy(
                "login",
                Policy::new()
                    .rate_limit(
                        Quota::per_minute(5).unwrap(),
                        Algorithm::Gcra,
                        Scope::Custom,
                    )
                    .rate_limit(
                        Quota::new(1000, Duration::from_millis(1500)).unwrap(),
                        Algorithm::SlidingWindow,
                        Scope::Global,
                    ),
            )
            .build()
            .unwrap();
        let set = HeaderSet::new(&registry, true, true);
        let d = Decision {
            allowed: true,
            limit: 1000,
            remaining: 998,
            retry_after: Some(Duration::ZERO),
            reset_after: Duration::from_millis(2001),
        };
        let mut h = HeaderMap::new();
        set.for_decision(PolicyName::intern("login"), &d, true)
            .apply(&set, &mut h);
        assert_eq!(
            h[RATELIMIT_POLICY],
            "\"login\";q=5;w=60, \"login.1\";q=1000;w=2"
        );
        assert_eq!(h[RATELIMIT], "\"login.1\";r=998;t=3");
        assert_eq!(h[X_LIMIT], "1000");
        assert_eq!(h[X_REMAINING], "998");
        assert_eq!(h[X_RESET], "3");
        let mut h = HeaderMap::new();
        set.for_decision(
            PolicyName::intern("_"),
            &Decision {
                limit: 100,
                remaining: 7,
                ..d
            },
            false,
        )
        .apply(&set, &mut h);
        assert_eq!(h[RATELIMIT_POLICY], "\"default\";q=100;w=60");
        assert_eq!(h[RATELIMIT], "\"default\";r=7;t=3");
    }
}
