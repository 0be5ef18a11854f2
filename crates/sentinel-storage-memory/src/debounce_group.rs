//! Debounce windows grouped by their key's head: one entry per subject and policy holding the
//! few windows it has open, instead of one entry per window.
//!
//! A debounce key is `{head}:{member}` — for the engine, the policy and subject's key, then the
//! content's fingerprint (22 characters). A user who writes a new message each time opens a
//! new window each time: as one entry per key, every message inserted a key and the sweep
//! removed an ended one (hashing, moving and repointing entries). Grouped, the user's entry is
//! found and an ended slot reused: no insert, no removal, about what a rate-limit step costs.
//!
//! Exactness is kept: a member is stored whole (up to [`MEMBER_MAX`] bytes), never as a hash.
//! A group holds [`SLOTS`] windows; when a new member finds every slot open, the group is
//! marked overflowed and that member (and, from then on, every member not already in the
//! group) keeps a window of its own under its full key, as before. A key whose member is
//! longer, or whose head is too long for the stack buffer, is never grouped.
//!
//! Group entries live in the same table as other keys, under the head's bytes after
//! [`GROUP_TAG`] (`0xFF`, a byte no UTF-8 string contains), so no key a caller can pass ever
//! names a group.

/// The byte group keys start with: never part of a UTF-8 string.
pub(crate) const GROUP_TAG: u8 = 0xFF;
/// Windows per group: the engine opens one per new message of a user, and more than two
/// distinct messages within one window overflow to keys of their own. Two keep a light user's
/// entry small (80 bytes plus a 96-byte box; a window of its own took 80 bytes) while a user
/// writing new text every message reuses its slots.
pub(crate) const SLOTS: usize = 2;
/// The longest member grouped: the engine's fingerprints (URL-safe base64 of 16 bytes).
pub(crate) const MEMBER_MAX: usize = 22;
/// The longest group key (tag and head) built on the stack.
const GROUP_KEY_MAX: usize = 96;

/// A debounce key split for grouping: the group's key (tag + head) and the member.
pub(crate) struct Grouped<'k> {
    key: [u8; GROUP_KEY_MAX],
    len: usize,
    pub(crate) member: &'k [u8],
}

impl<'k> Grouped<'k> {
    /// `key` split at its last `:`, if its member and head are short enough to group.
    pub(crate) fn split(key: &'k str) -> Option<Self> {
        // The last `:` within the member's longest reach from the end (a plain scan of a few
        // bytes: `rsplit_once` costs more on keys this short).
        let bytes = key.as_bytes();
        let from = bytes.len().saturating_sub(MEMBER_MAX + 1);
        let colon = from + bytes.get(from..)?.iter().rposition(|&b| b == b':')?;
        let (head, member) = (bytes.get(..colon)?, bytes.get(colon + 1..)?);
        if head.len() >= GROUP_KEY_MAX {
            return None;
        }
        let mut buf = [0; GROUP_KEY_MAX];
        buf[0] = GROUP_TAG;
        buf.get_mut(1..=head.len())?.copy_from_slice(head);
        Some(Self {
            key: buf,
            len: head.len() + 1,
            member,
        })
    }

    /// The group's key bytes.
    pub(crate) fn key(&self) -> &[u8] {
        self.key.get(..self.len).unwrap_or_default()
    }
}

/// The head of a group key (its bytes after the tag), if `key` is one.
pub(crate) fn group_head(key: &[u8]) -> Option<&str> {
    match key.split_first() {
        Some((&GROUP_TAG, head)) => std::str::from_utf8(head).ok(),
        _ => None,
    }
}

/// One window of a group: the member and when its window ends (µs); `len == 0` is a free slot.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    ends: u64,
    len: u8,
    bytes: [u8; MEMBER_MAX],
}

impl Slot {
    fn member(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    fn set(&mut self, member: &[u8], ends: u64) {
        let len = member.len().min(MEMBER_MAX);
        if let (Some(dst), Some(src)) = (self.bytes.get_mut(..len), member.get(..len)) {
            dst.copy_from_slice(src);
        }
        // `len <= MEMBER_MAX`, a u8.
        self.len = u8::try_from(len).unwrap_or(0);
        self.ends = ends;
    }
}

/// What a sighting of a member found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sight {
    /// No open window: one is opened (a first sighting).
    First,
    /// A window is open: a repeat.
    Repeat,
    /// Not in the group and no slot for it: the member's own key decides.
    Elsewhere,
}

/// The windows of one group.
#[derive(Debug, Default)]
pub(crate) struct Members {
    slots: [Slot; SLOTS],
    /// A member once found no slot and went to a key of its own: members not in the group
    /// are looked up there from then on.
    overflowed: bool,
    /// The latest end of a window sent to a key of its own: the group lives at least as long
    /// (were it swept earlier and made anew, a member with an open window of its own would
    /// find a fresh group and be taken for a first sighting).
    elsewhere_ends: u64,
}

impl Members {
    /// A group with one window, for `member`, ending at `ends`.
    pub(crate) fn first(member: &[u8], ends: u64) -> Self {
        let mut m = Self::default();
        if let Some(slot) = m.slots.first_mut() {
            slot.set(member, ends);
        }
        m
    }

    /// Records a sighting of `member` at `now` (µs); a window it opens ends at `ends` (µs).
    pub(crate) fn sight(&mut self, member: &[u8], ends: u64, now: u64) -> Sight {
        if let Some(slot) = self
            .slots
            .iter_mut()
            .find(|s| s.len > 0 && s.member() == member)
        {
            if now < slot.ends {
                return Sight::Repeat;
            }
            slot.ends = ends;
            return Sight::First;
        }
        if !self.overflowed
            && let Some(slot) = self.slots.iter_mut().find(|s| s.len == 0 || s.ends <= now)
        {
            slot.set(member, ends);
            return Sight::First;
        }
        self.overflowed = true;
        self.elsewhere_ends = self.elsewhere_ends.max(ends);
        Sight::Elsewhere
    }

    /// When the last window ends (µs), its own or one it sent elsewhere: the group's expiry.
    pub(crate) fn ends(&self) -> u64 {
        self.slots
            .iter()
            .map(|s| s.ends)
            .fold(self.elsewhere_ends, u64::max)
    }

    /// The members recorded (open or ended, until the group is swept).
    pub(crate) fn members(&self) -> impl Iterator<Item = &[u8]> {
        self.slots.iter().filter(|s| s.len > 0).map(Slot::member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sighting at `now` with a window of 10 µs.
    fn sight(m: &mut Members, member: &[u8], now: u64) -> Sight {
        m.sight(member, now + 10, now)
    }

    #[test]
    fn split_keeps_short_members_and_tags_the_head() {
        let g = Grouped::split("sentinel:db:{u1}:=_:AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(g.member, b"AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(g.key()[0], GROUP_TAG);
        assert_eq!(group_head(g.key()), Some("sentinel:db:{u1}:=_"));
        assert!(Grouped::split("no-colon").is_none());
        assert!(Grouped::split(&format!("h:{}", "m".repeat(MEMBER_MAX + 1))).is_none());
        assert!(Grouped::split(&format!("{}:m", "h".repeat(GROUP_KEY_MAX))).is_none());
        assert!(group_head(b"plain").is_none());
    }

    #[test]
    fn a_group_box_is_as_small_as_documented() {
        // 80 bytes: the allocator's 96 with its header (see `MemoryStore`'s docs).
        assert_eq!(std::mem::size_of::<Members>(), 80);
        assert_eq!(crate::entry::alloc_size(std::mem::size_of::<Members>()), 96);
    }

    /// `SLOTS` distinct members, as bytes.
    fn members(tag: u8) -> Vec<[u8; 2]> {
        (0..SLOTS).map(|i| [tag, b'0' + i as u8]).collect()
    }

    #[test]
    fn a_group_opens_reuses_and_overflows_its_slots() {
        let full = members(b'a');
        let mut m = Members::first(&full[0], 10);
        assert_eq!(sight(&mut m, &full[0], 5), Sight::Repeat);
        for x in &full[1..] {
            assert_eq!(sight(&mut m, x, 5), Sight::First);
        }
        // Every slot open: one more member goes elsewhere, and so does any new one after.
        assert_eq!(sight(&mut m, b"e", 5), Sight::Elsewhere);
        assert_eq!(
            sight(&mut m, &full[0], 20),
            Sight::First,
            "a member's ended window reopens"
        );
        assert_eq!(
            sight(&mut m, b"f", 20),
            Sight::Elsewhere,
            "overflowed: new members go elsewhere"
        );
        assert_eq!(sight(&mut m, b"g", 25), Sight::Elsewhere);
        // The group outlives the windows it sent elsewhere (`g`'s ends at 35).
        assert_eq!(m.ends(), 35);
        assert_eq!(m.members().count(), SLOTS);
    }

    #[test]
    fn an_ended_slot_is_reused_before_the_group_overflows() {
        let full = members(b'a');
        let mut m = Members::first(&full[0], 10);
        for x in &full[1..] {
            assert_eq!(sight(&mut m, x, 0), Sight::First);
        }
        // At 10 every window has ended: a new member takes a slot.
        assert_eq!(sight(&mut m, b"e", 10), Sight::First);
        assert_eq!(sight(&mut m, b"e", 11), Sight::Repeat);
        assert_eq!(
            sight(&mut m, &full[0], 11),
            Sight::First,
            "the first slot went to `e`"
        );
    }
}
