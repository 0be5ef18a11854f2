//! The two attacks on the key cap from issue 17, through the engine and its fail modes:
//!
//! * **fresh ids reset a limit**: with `max_keys` 1,000 and 3/min, an attacker sending 2,000
//!   fresh ids between its bursts must still get no more than its quota (under the old rule,
//!   evicting the least recently used key, its usage was forgotten: 30 of 50 got through);
//! * **block records starve rate limiting**: with `max_keys` 300 and escalation, 400 blocked
//!   offenders must not make every new user pass unchecked (fail-open) or be refused
//!   (fail-closed) — under the old rule the never-evicted records filled the cap.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, Error, Escalation, Event, FailMode, ManualClock, Policy, PolicyRegistry, Quota,
    Scope, Sentinel, Timestamp, Verdict,
};
use sentinel_storage_memory::{MemoryConfig, MemoryStore};

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn user(id: i64) -> Event {
    Event::new().with_user(id).with_chat(id)
}

fn engine(clock: &ManualClock, config: MemoryConfig, policy: Policy, mode: FailMode) -> Sentinel {
    Sentinel::builder()
        .store(Arc::new(MemoryStore::with_config(clock.clone(), config)))
        .clock(clock.clone())
        .policies(PolicyRegistry::single(policy).unwrap())
        .fail_mode(mode)
        .build()
        .unwrap()
}

fn per_minute(n: u32) -> Policy {
    Policy::new().rate_limit(
        Quota::per_minute(n).unwrap(),
        Algorithm::SlidingWindow,
        Scope::User,
    )
}

/// Whether the event got through (a store refusal under fail-closed is a "no").
async fn passes(s: &Sentinel, event: &Event) -> bool {
    match s.check(event).await {
        Ok(v) => v.is_allowed(),
        Err(Error::Store(_)) => false,
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Whether the event was decided by the store (not by the fail mode).
async fn checked(s: &Sentinel, event: &Event) -> Option<Verdict> {
    match s.check(event).await {
        Ok(Verdict::Allowed(a)) if a.degraded => None,
        Ok(v) => Some(v),
        Err(Error::Store(_)) => None,
        Err(e) => panic!("unexpected error {e}"),
    }
}

#[tokio::test]
async fn fresh_ids_between_bursts_do_not_reset_the_attackers_limit() {
    for mode in [FailMode::Open, FailMode::Closed] {
        let clock = ManualClock::new(T0);
        let config = MemoryConfig::default().max_keys(Some(1_000));
        let s = engine(&clock, config, per_minute(3), mode);
        let attacker = user(1);
        let mut through = 0;
        let mut fresh = 1_000;
        // Ten bursts of five, 2 s apart (all inside one minute), 2,000 fresh ids between.
        for _ in 0..10 {
            for _ in 0..5 {
                through += usize::from(passes(&s, &attacker).await);
            }
            for _ in 0..2_000 {
                fresh += 1;
                passes(&s, &user(fresh)).await;
            }
            clock.advance(Duration::from_secs(2));
        }
        assert_eq!(through, 3, "{mode:?}: 3/min, got {through} of 50 through");
        // The attacker's state is exact: one minute after its first burst, 3 more.
        clock.set(T0.saturating_add(Duration::from_secs(60)));
        let mut later = 0;
        for _ in 0..5 {
            later += usize::from(passes(&s, &attacker).await);
        }
        assert_eq!(later, 3, "{mode:?}");
    }
}

/// 400 offenders blocked in four waves (never more than 300 live rate-limit keys at once):
/// their records have their own budget, so new users afterwards are decided by the store.
#[tokio::test]
async fn blocked_offenders_do_not_starve_new_users() {
    let esc =
        Escalation::new(2, Duration::from_secs(60), Some(Duration::from_secs(3_600))).unwrap();
    for mode in [FailMode::Open, FailMode::Closed] {
        let clock = ManualClock::new(T0);
        let config = MemoryConfig::default().max_keys(Some(300));
        let s = engine(&clock, config, per_minute(1).escalation(esc), mode);
        let mut blocked = 0;
        for wave in 0..4_i64 {
            for id in (wave * 100)..(wave * 100 + 100) {
                let offender = user(10_000 + id);
                assert!(passes(&s, &offender).await, "{mode:?}: first event passes");
                for _ in 0..2 {
                    if let Some(Verdict::Throttled(t)) = checked(&s, &offender).await {
                        blocked += usize::from(t.escalated.is_some());
                    }
                }
            }
            clock.advance(Duration::from_secs(120));
        }
        assert_eq!(blocked, 400, "{mode:?}");
        // Every offender is still blocked, and every new user is checked by the store: the
        // first event passes, the second is throttled (100 newcomers: 200 live keys).
        assert!(matches!(
            checked(&s, &user(10_000)).await,
            Some(Verdict::Blocked(_))
        ));
        for id in 0..100 {
            let newcomer = user(50_000 + id);
            assert!(
                matches!(checked(&s, &newcomer).await, Some(Verdict::Allowed(_))),
                "{mode:?}: newcomer {id} decided by the store"
            );
            assert!(
                matches!(checked(&s, &newcomer).await, Some(Verdict::Throttled(_))),
                "{mode:?}: newcomer {id} throttled on its second event"
            );
        }
    }
}

/// At `max_blocks`, an escalation that cannot be stored leaves the offender throttled (never
/// let through) and keeps its strikes; the records already stored stay.
#[tokio::test]
async fn at_the_block_budget_offenders_stay_throttled() {
    let esc =
        Escalation::new(2, Duration::from_secs(60), Some(Duration::from_secs(3_600))).unwrap();
    for mode in [FailMode::Open, FailMode::Closed] {
        let clock = ManualClock::new(T0);
        let config = MemoryConfig::default()
            .max_keys(Some(1_000))
            .max_blocks(Some(100));
        let s = engine(&clock, config, per_minute(1).escalation(esc), mode);
        let mut escalated = 0;
        for id in 0..150 {
            let offender = user(id);
            assert!(passes(&s, &offender).await);
            for _ in 0..5 {
                match checked(&s, &offender).await {
                    Some(Verdict::Throttled(t)) => escalated += usize::from(t.escalated.is_some()),
                    Some(Verdict::Blocked(_)) => {}
                    other => panic!("{mode:?}: offender {id} got {other:?}"),
                }
            }
        }
        assert_eq!(escalated, 100, "{mode:?}: the budget holds 100 blocks");
        assert!(matches!(
            checked(&s, &user(0)).await,
            Some(Verdict::Blocked(_))
        ));
        assert!(matches!(
            checked(&s, &user(149)).await,
            Some(Verdict::Throttled(_))
        ));
        // An hour later the blocks have expired: the waiting offender's next strikes block it.
        clock.advance(Duration::from_secs(3_600));
        let offender = user(149);
        assert!(passes(&s, &offender).await);
        let mut now_blocked = false;
        for _ in 0..2 {
            if let Some(Verdict::Throttled(t)) = checked(&s, &offender).await {
                now_blocked |= t.escalated.is_some();
            }
        }
        assert!(now_blocked, "{mode:?}: expired records made room");
    }
}
