//! The "slow down" notice limiter: at most one notice per subject per window.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sentinel_core::{Event, Sentinel, Timestamp};

/// Most subjects remembered at once; beyond that (and with nothing expired) notices are
/// skipped rather than memory growing.
const MAX_ENTRIES: usize = 65_536;

/// Decides whether a notice may go out.
#[derive(Debug)]
pub(crate) enum NoticeLimiter {
    /// In-process: one notice per key until its window ends.
    Local(Mutex<HashMap<String, Timestamp>>),
    /// A caller-supplied engine (for example on Redis, shared by every worker).
    Engine(Sentinel),
}

impl NoticeLimiter {
    pub(crate) fn local() -> Self {
        Self::Local(Mutex::new(HashMap::new()))
    }

    /// Whether a notice for `key` (policy + subject) may be sent at `now`; if so, the next one
    /// waits `window`.
    pub(crate) async fn allow(
        &self,
        key: &str,
        policy: &str,
        event: &Event,
        now: Timestamp,
        window: Duration,
    ) -> bool {
        match self {
            Self::Local(map) => {
                let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
                if map.get(key).is_some_and(|until| now < *until) {
                    return false;
                }
                if map.len() >= MAX_ENTRIES && !map.contains_key(key) {
                    map.retain(|_, until| now < *until);
                    if map.len() >= MAX_ENTRIES {
                        return false;
                    }
                }
                map.insert(key.to_owned(), now.saturating_add(window));
                true
            }
            Self::Engine(sentinel) => {
                let e = event
                    .clone()
                    .with_kind("notice")
                    .with_handler(policy)
                    .with_custom_key(key);
                // A store error means no notice: replies are a courtesy.
                sentinel.check(&e).await.is_ok_and(|v| v.is_allowed())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_notice_per_window_per_key() {
        let l = NoticeLimiter::local();
        let e = Event::new();
        let t0 = Timestamp::from_secs(100);
        let w = Duration::from_secs(1);
        assert!(l.allow("a", "_", &e, t0, w).await);
        assert!(!l.allow("a", "_", &e, t0, w).await);
        assert!(
            l.allow("b", "_", &e, t0, w).await,
            "other subjects are separate"
        );
        let almost = t0.saturating_add(Duration::from_millis(999));
        assert!(!l.allow("a", "_", &e, almost, w).await);
        assert!(l.allow("a", "_", &e, t0.saturating_add(w), w).await);
    }

    #[tokio::test]
    async fn a_full_map_drops_expired_entries_first() {
        let l = NoticeLimiter::local();
        let e = Event::new();
        let t0 = Timestamp::from_secs(100);
        let w = Duration::from_secs(1);
        for i in 0..MAX_ENTRIES {
            assert!(l.allow(&i.to_string(), "_", &e, t0, w).await);
        }
        assert!(
            !l.allow("new", "_", &e, t0, w).await,
            "full and nothing expired"
        );
        let later = t0.saturating_add(w);
        assert!(
            l.allow("new", "_", &e, later, w).await,
            "expired entries make room"
        );
        if let NoticeLimiter::Local(m) = &l {
            assert_eq!(m.lock().unwrap().len(), 1);
        }
    }
}
