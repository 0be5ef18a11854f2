//! [`Quota`]: how many units per period, validated at construction.

use std::num::NonZeroU32;
use std::time::Duration;

use crate::clock::duration_to_micros;
use crate::error::ConfigError;

/// The shortest period a quota accepts.
pub const MIN_PERIOD: Duration = Duration::from_millis(1);
/// The longest period a quota accepts (one year).
pub const MAX_PERIOD: Duration = Duration::from_secs(366 * 24 * 3600);

/// At most `limit` units per `period`.
///
/// Invalid input is a [`ConfigError`] here, never a panic later.
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::Quota;
///
/// let q = Quota::per_minute(5)?;
/// assert_eq!(q.limit(), 5);
/// assert_eq!(q.period(), Duration::from_secs(60));
/// assert!(Quota::new(0, Duration::from_secs(1)).is_err());
/// # Ok::<(), sentinel_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    limit: NonZeroU32,
    period_us: u64,
}

impl Quota {
    /// `limit` units per `period`.
    ///
    /// # Errors
    /// [`ConfigError::ZeroLimit`] when `limit` is 0, [`ConfigError::PeriodOutOfRange`] when
    /// `period` is shorter than 1 ms or longer than a year.
    pub fn new(limit: u32, period: Duration) -> Result<Self, ConfigError> {
        let limit = NonZeroU32::new(limit).ok_or(ConfigError::ZeroLimit)?;
        if !(MIN_PERIOD..=MAX_PERIOD).contains(&period) {
            return Err(ConfigError::PeriodOutOfRange { period });
        }
        Ok(Self {
            limit,
            period_us: duration_to_micros(period),
        })
    }

    /// `limit` units per second.
    ///
    /// # Errors
    /// As [`Quota::new`].
    pub fn per_second(limit: u32) -> Result<Self, ConfigError> {
        Self::new(limit, Duration::from_secs(1))
    }

    /// `limit` units per minute.
    ///
    /// # Errors
    /// As [`Quota::new`].
    pub fn per_minute(limit: u32) -> Result<Self, ConfigError> {
        Self::new(limit, Duration::from_secs(60))
    }

    /// `limit` units per hour.
    ///
    /// # Errors
    /// As [`Quota::new`].
    pub fn per_hour(limit: u32) -> Result<Self, ConfigError> {
        Self::new(limit, Duration::from_secs(3600))
    }

    /// The number of units allowed per period.
    pub const fn limit(&self) -> u32 {
        self.limit.get()
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        Duration::from_micros(self.period_us)
    }

    /// The period in microseconds.
    pub const fn period_micros(&self) -> u64 {
        self.period_us
    }

    /// GCRA's emission interval: `period / limit`, rounded **up** to whole microseconds so the
    /// long-run rate never exceeds the quota. At least 1 µs.
    pub const fn emission_interval_micros(&self) -> u64 {
        let l = self.limit.get() as u64;
        let t = self.period_us.div_ceil(l);
        if t == 0 { 1 } else { t }
    }
}
