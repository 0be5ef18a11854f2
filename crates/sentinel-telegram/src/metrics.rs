//! The guard's metrics, recorded through the [`metrics`](https://docs.rs/metrics) facade when
//! the `metrics` feature is on; the application installs the recorder (exporter) **before**
//! building the guard, which registers its handles once.
//!
//! Every [`GuardStats`](crate::teloxide::GuardStats) counter is exported under one of these
//! names: the in-process snapshot and the exported series are the same count. Without the
//! feature the counters are plain atomics and nothing else.
//!
//! ```
//! assert_eq!(sentinel_telegram::metrics::GUARD_UPDATES_TOTAL, "sentinel_guard_updates_total");
//! ```

#[cfg(feature = "teloxide")]
use std::sync::atomic::{AtomicU64, Ordering};

/// Counter: updates the guard decided about, by `outcome`: `passed`, `exempt`, `throttled`,
/// `debounced`, `blocked`, `failed_closed`.
pub const GUARD_UPDATES_TOTAL: &str = "sentinel_guard_updates_total";
/// Counter: "try again" replies to throttled users, by `result`: `sent`, `suppressed` (one
/// already went out in this window).
pub const GUARD_NOTICES_TOTAL: &str = "sentinel_guard_notices_total";
/// Counter: callback queries of dropped updates answered (`answerCallbackQuery`).
pub const GUARD_CALLBACKS_ANSWERED_TOTAL: &str = "sentinel_guard_callbacks_answered_total";
/// Counter: replies or callback answers that Telegram refused or that failed in transit.
pub const GUARD_SEND_FAILURES_TOTAL: &str = "sentinel_guard_send_failures_total";
/// Counter: `my_chat_member` changes of users towards the bot, by `change`: `blocked` (the
/// user blocked the bot), `unblocked`.
pub const GUARD_BOT_BLOCKED_CHANGES_TOTAL: &str = "sentinel_guard_bot_blocked_changes_total";

/// A counter kept in process (for `stats()`) and, with the feature, exported too.
#[cfg(feature = "teloxide")]
#[derive(Debug)]
pub(crate) struct Count {
    value: AtomicU64,
    #[cfg(feature = "metrics")]
    handle: metrics::Counter,
}

#[cfg(feature = "teloxide")]
impl Count {
    /// Registers `name` with `labels` (fixed, `'static`: no allocation) in the recorder in
    /// force now.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn new(name: &'static str, labels: &'static [(&'static str, &'static str)]) -> Self {
        Self {
            value: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            handle: metrics::counter!(name, labels),
        }
    }

    /// Adds one.
    #[inline]
    pub(crate) fn bump(&self) {
        self.value.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.handle.increment(1);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}
