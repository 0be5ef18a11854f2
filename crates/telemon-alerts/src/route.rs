//! Routing: which chat and topic each level goes to, and how each level is delivered.
//!
//! * [`Level::Critical`]: at once, after deduplication, within the immediate budget (beyond it,
//!   alerts are folded into a flood digest).
//! * [`Level::Warning`]: into the window digest.
//! * [`Level::Info`]: at once, silently (`disable_notification`).

use crate::alert::Level;
use crate::transport::Destination;

/// Destination per level.
///
/// ```
/// use telemon_alerts::{Destination, Level, Routes};
/// let routes = Routes::new(Destination::chat(-100123))
///     .level(Level::Warning, Destination::chat(-100123).thread(7));
/// assert_eq!(routes.get(Level::Warning).thread_id, Some(7));
/// assert_eq!(routes.get(Level::Critical).thread_id, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routes {
    critical: Destination,
    warning: Destination,
    info: Destination,
}

impl Routes {
    /// Every level to `all`.
    pub const fn new(all: Destination) -> Self {
        Self {
            critical: all,
            warning: all,
            info: all,
        }
    }

    /// Sends `level` to `to`.
    #[must_use]
    pub const fn level(mut self, level: Level, to: Destination) -> Self {
        match level {
            Level::Critical => self.critical = to,
            Level::Warning => self.warning = to,
            Level::Info => self.info = to,
        }
        self
    }

    /// Where `level` goes.
    pub const fn get(&self, level: Level) -> Destination {
        match level {
            Level::Critical => self.critical,
            Level::Warning => self.warning,
            Level::Info => self.info,
        }
    }
}

/// How a level is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Send now (subject to dedup and the immediate budget).
    Immediate {
        /// Without a notification sound.
        silent: bool,
    },
    /// Collect into the window digest.
    Digest,
}

pub(crate) const fn route_of(level: Level) -> Route {
    match level {
        Level::Critical => Route::Immediate { silent: false },
        Level::Info => Route::Immediate { silent: true },
        Level::Warning => Route::Digest,
    }
}
