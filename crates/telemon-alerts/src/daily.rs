//! The daily report: at a set UTC time, once across workers (a coordination claim on a
//! per-day key), with the occurrences every worker counted the previous UTC
//! day, this worker's self-metrics, and lines from an optional [`DailySource`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sentinel_core::{ConfigError, Timestamp};

use crate::coordination::{Coordinator, OnFailure};
use crate::format::{self, Origin, Rendered, thousands};
use crate::metrics::Counters;
use crate::scrub::Scrubber;

/// Extra lines for the daily report (database counts, queue sizes, …).
#[async_trait]
pub trait DailySource: Send + Sync + 'static {
    /// `(label, value)` lines; values are scrubbed like everything else.
    async fn lines(&self) -> Vec<(String, String)>;
}

/// When the daily report goes out, and what it adds.
#[derive(Clone)]
pub struct DailyReport {
    at_secs: u64,
    source: Option<Arc<dyn DailySource>>,
}

impl fmt::Debug for DailyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DailyReport")
            .field("at_secs", &self.at_secs)
            .field("source", &self.source.is_some())
            .finish()
    }
}

/// How long a day's occurrence counter lives after its last add: until the next day's report.
const OCCURRENCES_TTL: Duration = Duration::from_secs(3 * 86_400);

/// A report missed by more than this (the service was down at the time) is skipped.
const LATE_TOLERANCE: Duration = Duration::from_secs(3600);

impl DailyReport {
    /// Every day at `hour:minute` UTC.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an hour above 23 or a minute above 59.
    pub fn at_utc(hour: u8, minute: u8) -> Result<Self, ConfigError> {
        if hour > 23 || minute > 59 {
            return Err(ConfigError::Invalid(format!(
                "daily report time {hour:02}:{minute:02} is not a valid UTC time (HH:MM, 00:00-23:59)"
            )));
        }
        Ok(Self {
            at_secs: u64::from(hour) * 3600 + u64::from(minute) * 60,
            source: None,
        })
    }

    /// Parses `HH:MM`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] when `s` is not `HH:MM`.
    pub fn parse(s: &str) -> Result<Self, ConfigError> {
        let bad = || ConfigError::Invalid(format!("{s:?} is not a UTC time of the form HH:MM"));
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let h: u8 = h.parse().map_err(|_| bad())?;
        let m: u8 = m.parse().map_err(|_| bad())?;
        Self::at_utc(h, m)
    }

    /// Adds lines from `source`.
    #[must_use]
    pub fn source(mut self, source: impl DailySource) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

pub(crate) struct DailyState {
    cfg: DailyReport,
    last_day: Option<u64>,
}

fn day_of(t: Timestamp) -> u64 {
    t.as_secs() / 86_400
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), proleptic Gregorian.
pub(crate) fn date_of_day(days: u64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

impl DailyState {
    pub(crate) fn new(cfg: DailyReport) -> Self {
        Self {
            cfg,
            last_day: None,
        }
    }

    pub(crate) async fn count_occurrences(&self, shared: &Coordinator, now: Timestamp, n: u64) {
        if n > 0 {
            let key = shared.keys().daily_occurrences(day_of(now));
            // Kept until the next day's report has read it.
            let _ = shared.add(OnFailure::Local, &key, n, OCCURRENCES_TTL).await;
        }
    }

    pub(crate) async fn due_report(
        &mut self,
        shared: &Coordinator,
        origin: &Origin,
        now: Timestamp,
        counters: &Counters,
        scrubber: &Scrubber,
    ) -> Option<Rendered> {
        let day = day_of(now);
        if self.last_day == Some(day) {
            return None;
        }
        let scheduled = Timestamp::from_secs(day * 86_400 + self.cfg.at_secs);
        if now < scheduled {
            return None;
        }
        self.last_day = Some(day);
        if now >= scheduled.saturating_add(LATE_TOLERANCE) {
            return None;
        }
        // A store failure reads as "not ours": a report must not go out twice.
        let claim = shared.keys().daily_claim(day);
        if !shared
            .claim(OnFailure::Fail, &claim, Duration::from_secs(2 * 86_400))
            .await
            .unwrap_or(false)
        {
            return None;
        }
        let yesterday = day.saturating_sub(1);
        let occ = shared
            .count(
                OnFailure::Local,
                &shared.keys().daily_occurrences(yesterday),
            )
            .await
            .unwrap_or(0);
        let m = counters.snapshot();
        let mut lines = vec![
            ("errors and alerts (all workers)".to_owned(), thousands(occ)),
            ("sent by this worker".to_owned(), thousands(m.sent)),
            (
                "suppressed by this worker".to_owned(),
                thousands(m.suppressed),
            ),
            (
                "dropped by this worker".to_owned(),
                thousands(m.dropped.total()),
            ),
        ];
        if let Some(src) = self.cfg.source.as_ref() {
            lines.extend(src.lines().await.into_iter().take(40).map(|(k, v)| {
                let v = if scrubber.is_sensitive_key(&k) {
                    crate::scrub::FILTERED.to_owned()
                } else {
                    scrubber.scrub_text(&v)
                };
                (scrubber.scrub_text(&k), v)
            }));
        }
        Some(format::render_report(
            origin,
            "📊 DAILY REPORT",
            &format!("UTC day {}", date_of_day(yesterday)),
            &lines,
            format::TELEGRAM_MAX_CHARS,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(19_723), "2024-01-01");
        assert_eq!(date_of_day(19_782), "2024-02-29");
    }

    #[test]
    fn parse_times() {
        assert_eq!(
            DailyReport::parse("09:30").unwrap().at_secs,
            9 * 3600 + 30 * 60
        );
        assert!(DailyReport::parse("24:00").is_err());
        assert!(DailyReport::parse("9").is_err());
        assert!(DailyReport::parse("aa:bb").is_err());
    }
}
