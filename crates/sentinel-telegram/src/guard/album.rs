//! [`AlbumMemory`]: the items of one album (`media_group_id`) are one event.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use sentinel_core::Timestamp;

use super::Outcome;

/// How long an album's first outcome applies to its later items. Telegram delivers the items
/// of an album together (within a second); the window only bounds memory.
pub(crate) const ALBUM_WINDOW: Duration = Duration::from_secs(60);

/// Most albums remembered at once; beyond that (with nothing expired) a new album's items are
/// each checked on their own rather than memory growing.
const MAX_ALBUMS: usize = 16_384;

/// Remembers the outcome of each album's first item.
#[derive(Debug, Default)]
pub(crate) struct AlbumMemory {
    seen: Mutex<HashMap<(i64, String), (Timestamp, Outcome)>>,
}

impl AlbumMemory {
    /// The outcome of an earlier item of album `group` in `chat`, if one is remembered.
    pub(crate) fn follow(&self, chat: i64, group: &str, now: Timestamp) -> Option<Outcome> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        // A lookup by borrowed parts would need a custom key type; the allocation happens only
        // for album items.
        match seen.get(&(chat, group.to_owned())) {
            Some((until, outcome)) if now < *until => Some(outcome.clone()),
            _ => None,
        }
    }

    /// Records the first item's outcome.
    pub(crate) fn remember(&self, chat: i64, group: &str, now: Timestamp, outcome: &Outcome) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= MAX_ALBUMS {
            seen.retain(|_, (until, _)| now < *until);
            if seen.len() >= MAX_ALBUMS {
                return;
            }
        }
        seen.insert(
            (chat, group.to_owned()),
            (now.saturating_add(ALBUM_WINDOW), outcome.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_album_follows_its_first_item_within_the_window() {
        let m = AlbumMemory::default();
        let t0 = Timestamp::from_secs(100);
        assert_eq!(m.follow(1, "g", t0), None);
        m.remember(1, "g", t0, &Outcome::FailedClosed);
        assert_eq!(m.follow(1, "g", t0), Some(Outcome::FailedClosed));
        assert_eq!(m.follow(2, "g", t0), None, "another chat's album");
        assert_eq!(m.follow(1, "h", t0), None, "another album");
        let end = t0.saturating_add(ALBUM_WINDOW);
        assert_eq!(
            m.follow(1, "g", end.saturating_sub(Duration::from_micros(1))),
            Some(Outcome::FailedClosed)
        );
        assert_eq!(m.follow(1, "g", end), None, "the window ended");
    }
}
