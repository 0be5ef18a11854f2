//! Times and durations for people: [`HumanDuration`] (`1h 30m`) and the RFC 3339 form behind
//! [`Timestamp`]'s `Display` (`2023-11-14T22:13:20Z`), with no date library.

use std::fmt;
use std::time::Duration;

use crate::Timestamp;

/// A duration written for people: the non-zero units among days, hours, minutes and seconds
/// (`2d 3h`, `1h 30m`, `45s`); below one second, milliseconds or microseconds (`250ms`,
/// `12µs`); zero is `0s`. Sub-second parts of durations of a second or more are left out.
///
/// ```
/// use std::time::Duration;
/// use sentinel_core::HumanDuration;
///
/// assert_eq!(HumanDuration(Duration::from_secs(5_400)).to_string(), "1h 30m");
/// assert_eq!(HumanDuration(Duration::from_secs(90_061)).to_string(), "1d 1h 1m 1s");
/// assert_eq!(HumanDuration(Duration::from_millis(250)).to_string(), "250ms");
/// assert_eq!(HumanDuration(Duration::ZERO).to_string(), "0s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        let secs = d.as_secs();
        if secs == 0 {
            let us = d.subsec_micros();
            return match (us / 1_000, us % 1_000) {
                (0, 0) => f.write_str("0s"),
                (0, us) => write!(f, "{us}µs"),
                (ms, _) => write!(f, "{ms}ms"),
            };
        }
        let parts = [
            (secs / 86_400, "d"),
            (secs / 3_600 % 24, "h"),
            (secs / 60 % 60, "m"),
            (secs % 60, "s"),
        ];
        let mut first = true;
        for (n, unit) in parts {
            if n == 0 {
                continue;
            }
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{n}{unit}")?;
            first = false;
        }
        Ok(())
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
const fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Writes `t` as an RFC 3339 UTC date-time: `YYYY-MM-DDTHH:MM:SSZ`, with `.ffffff` when the
/// timestamp has a fraction of a second. Years past 9999 are written in full (no panic).
pub(crate) fn write_rfc3339(t: Timestamp, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let us = t.as_micros();
    let secs = us / 1_000_000;
    let frac = us % 1_000_000;
    let (y, mo, d) = civil_from_days(secs / 86_400);
    let s = secs % 86_400;
    write!(
        f,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        s / 3_600,
        s / 60 % 60,
        s % 60
    )?;
    if frac != 0 {
        write!(f, ".{frac:06}")?;
    }
    f.write_str("Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (951_868_799, "2000-02-29T23:59:59Z"),
            (951_868_800, "2000-03-01T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(Timestamp::from_secs(secs).to_string(), want, "{secs}");
        }
        assert_eq!(
            Timestamp::from_micros(1_000_001).to_string(),
            "1970-01-01T00:00:01.000001Z"
        );
        // The largest timestamp is a (far) year, not a panic.
        assert!(Timestamp::MAX.to_string().ends_with('Z'));
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // Walk 1970..2400 day by day: the date always advances by exactly one calendar day.
        let mut prev = civil_from_days(0);
        for day in 1..(430 * 366) {
            let cur = civil_from_days(day);
            let leap =
                |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
            let month_len = match prev.1 {
                2 if leap(prev.0) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let want = if prev.2 < month_len {
                (prev.0, prev.1, prev.2 + 1)
            } else if prev.1 < 12 {
                (prev.0, prev.1 + 1, 1)
            } else {
                (prev.0 + 1, 1, 1)
            };
            assert_eq!(cur, want, "day {day}");
            prev = cur;
        }
    }

    #[test]
    fn durations_name_each_unit() {
        let h = |s| HumanDuration(Duration::from_secs(s)).to_string();
        assert_eq!(h(1), "1s");
        assert_eq!(h(60), "1m");
        assert_eq!(h(3_600), "1h");
        assert_eq!(h(86_400), "1d");
        assert_eq!(h(3_661), "1h 1m 1s");
        assert_eq!(h(7 * 86_400 + 59), "7d 59s");
        assert_eq!(
            HumanDuration(Duration::from_micros(1_500_000)).to_string(),
            "1s"
        );
        assert_eq!(HumanDuration(Duration::from_micros(12)).to_string(), "12µs");
        assert!(!HumanDuration(Duration::MAX).to_string().is_empty());
    }
}
