//! What the HTTP capture reports: the [`StatusSet`] of reported statuses, the slow-request
//! threshold and whether headers are copied ([`CaptureSettings`]), shared by the builder and
//! the axum layer.

use std::fmt;
use std::time::Duration;

/// Which response statuses the HTTP capture reports (a 600-bit set).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StatusSet([u64; 10]);

impl fmt::Debug for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries((100u16..600).filter(|s| self.contains(*s)))
            .finish()
    }
}

impl StatusSet {
    /// No status.
    pub const fn empty() -> Self {
        Self([0; 10])
    }

    /// Every 5xx status (the default).
    pub fn server_errors() -> Self {
        (500..=599).collect()
    }

    /// Adds `status` (values of 600 and above are ignored).
    pub fn insert(&mut self, status: u16) {
        if status < 600 {
            self.0[usize::from(status / 64)] |= 1 << (status % 64);
        }
    }

    /// Whether `status` is in the set.
    #[inline]
    pub const fn contains(&self, status: u16) -> bool {
        status < 600 && self.0[(status / 64) as usize] & (1 << (status % 64)) != 0
    }
}

impl FromIterator<u16> for StatusSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut s = Self::empty();
        for v in iter {
            s.insert(v);
        }
        s
    }
}

/// What the HTTP capture reports.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) struct CaptureSettings {
    pub statuses: StatusSet,
    pub slow: Option<Duration>,
    pub headers: bool,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            statuses: StatusSet::server_errors(),
            slow: None,
            headers: false,
        }
    }
}
