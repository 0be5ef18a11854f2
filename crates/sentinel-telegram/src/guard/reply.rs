//! Replies in the user's words: [`ReplyContext`], [`Notice`] and the built-in texts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{Quota, Timestamp, Verdict, ceil_secs};

use super::NoticeKind;
use crate::update::{ChatType, UpdateInfo};

/// The text of a notice, as returned by a [`reply_with`](super::GuardCoreBuilder::reply_with)
/// function.
///
/// ```
/// use sentinel_telegram::guard::Notice;
/// assert_eq!(Notice::new("slow down").text(), "slow down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    text: String,
}

impl Notice {
    /// A plain-text notice.
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn into_text(self) -> String {
        self.text
    }
}

/// What a reply function knows about a dropped update.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ReplyContext<'a> {
    /// Which notice is asked for.
    pub kind: NoticeKind,
    /// The engine's verdict (`Throttled`; for [`NoticeKind::Blocked`] the throttle that
    /// escalated).
    pub verdict: &'a Verdict,
    /// The name of the policy that refused (`_` for the default).
    pub policy: &'a str,
    /// The quota that refused, when known.
    pub quota: Option<Quota>,
    /// The quota's window (`period`), or one second when unknown.
    pub window: Duration,
    /// How long to wait before the same update could pass (for a block, the time left;
    /// `None` for a permanent block).
    pub retry_after: Option<Duration>,
    /// When the block ends ([`NoticeKind::Blocked`] only; `None` when permanent).
    pub block_ends: Option<Timestamp>,
    /// The update's facts: language, chat type, handler, callback or not.
    pub info: &'a UpdateInfo,
    /// The time of the decision.
    pub now: Timestamp,
}

impl ReplyContext<'_> {
    /// The sender's `language_code`, if Telegram sent one.
    pub fn language(&self) -> Option<&str> {
        self.info.language_code.as_deref()
    }

    /// The chat type.
    pub const fn chat_type(&self) -> Option<&ChatType> {
        self.info.chat_type.as_ref()
    }

    /// The handler name (the policy is chosen by it).
    pub fn handler(&self) -> Option<&str> {
        self.info.handler.as_deref()
    }

    /// Whether the update is a button press (the text becomes a callback answer toast).
    pub fn is_callback(&self) -> bool {
        self.info.kind == crate::update::UpdateKind::CallbackQuery
    }

    /// `retry_after` in whole seconds, rounded up, at least 1 (0 when permanent).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.map_or(0, |d| ceil_secs(d).max(1))
    }
}

/// A function from a [`ReplyContext`] to the notice to send, if any.
pub(crate) type ReplyFn = Arc<dyn Fn(&ReplyContext<'_>) -> Option<Notice> + Send + Sync>;

/// The languages of the built-in texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    Ru,
}

/// The built-in language for an IETF `language_code`: Russian for `ru` (`ru-RU`, …),
/// English otherwise.
fn lang(code: Option<&str>) -> Lang {
    let primary = code.unwrap_or("").split(['-', '_']).next().unwrap_or("");
    if primary.eq_ignore_ascii_case("ru") {
        Lang::Ru
    } else {
        Lang::En
    }
}

/// The built-in notice texts, in English or Russian by the sender's `language_code`:
///
/// | | English | Russian |
/// |---|---|---|
/// | throttled | `Too many messages — try again in {N} s` | `Слишком много сообщений — попробуйте через {N} с` |
/// | blocked | `You are blocked until {YYYY-MM-DD HH:MM:SS} UTC for flooding` | `Вы заблокированы до {…} UTC за флуд` |
/// | blocked forever | `You are blocked for flooding` | `Вы заблокированы за флуд` |
///
/// ```
/// use sentinel_telegram::guard::default_text;
/// use sentinel_telegram::guard::NoticeKind;
/// use std::time::Duration;
/// let en = default_text(NoticeKind::Throttled, None, Some(Duration::from_millis(1500)), None);
/// assert_eq!(en, "Too many messages — try again in 2 s");
/// let ru = default_text(NoticeKind::Throttled, Some("ru"), Some(Duration::from_secs(3)), None);
/// assert_eq!(ru, "Слишком много сообщений — попробуйте через 3 с");
/// ```
pub fn default_text(
    kind: NoticeKind,
    language_code: Option<&str>,
    retry_after: Option<Duration>,
    block_ends: Option<Timestamp>,
) -> String {
    let l = lang(language_code);
    match kind {
        NoticeKind::Blocked => match (block_ends, l) {
            (Some(end), Lang::En) => {
                format!("You are blocked until {} UTC for flooding", UtcTime(end))
            }
            (Some(end), Lang::Ru) => format!("Вы заблокированы до {} UTC за флуд", UtcTime(end)),
            (None, Lang::En) => "You are blocked for flooding".to_owned(),
            (None, Lang::Ru) => "Вы заблокированы за флуд".to_owned(),
        },
        _ => {
            let secs = retry_after.map_or(1, |d| ceil_secs(d).max(1));
            match l {
                Lang::En => format!("Too many messages — try again in {secs} s"),
                Lang::Ru => format!("Слишком много сообщений — попробуйте через {secs} с"),
            }
        }
    }
}

/// The built-in reply function: [`default_text`] for the context.
pub(crate) fn default_reply(cx: &ReplyContext<'_>) -> Option<Notice> {
    Some(Notice::new(default_text(
        cx.kind,
        cx.language(),
        cx.retry_after,
        cx.block_ends,
    )))
}

/// A timestamp shown as `YYYY-MM-DD HH:MM:SS` (UTC), rounded up to the whole second so a
/// user who waits until the shown time is never early.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UtcTime(pub(crate) Timestamp);

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_micros().div_ceil(1_000_000);
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`, for non-negative days).
const fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_and_rounded_up() {
        assert_eq!(
            UtcTime(Timestamp::from_secs(0)).to_string(),
            "1970-01-01 00:00:00"
        );
        // 2024-02-29 12:34:56 UTC = 1709210096.
        assert_eq!(
            UtcTime(Timestamp::from_secs(1_709_210_096)).to_string(),
            "2024-02-29 12:34:56"
        );
        assert_eq!(
            UtcTime(Timestamp::from_micros(1_709_210_095_000_001)).to_string(),
            "2024-02-29 12:34:56"
        );
        // 2000-03-01 00:00:00 = 951868800; 2100-12-31 23:59:59 = 4133980799.
        assert_eq!(
            UtcTime(Timestamp::from_secs(951_868_800)).to_string(),
            "2000-03-01 00:00:00"
        );
        assert_eq!(
            UtcTime(Timestamp::from_secs(4_133_980_799)).to_string(),
            "2100-12-31 23:59:59"
        );
    }

    #[test]
    fn the_language_picks_the_text() {
        let wait = Some(Duration::from_secs(5));
        for code in ["ru", "RU", "ru-RU", "ru_ua"] {
            assert!(
                default_text(NoticeKind::Throttled, Some(code), wait, None).starts_with("Слишком"),
                "{code}"
            );
        }
        for code in [None, Some("en"), Some("rus"), Some(""), Some("de")] {
            assert!(
                default_text(NoticeKind::Throttled, code, wait, None).starts_with("Too many"),
                "{code:?}"
            );
        }
        let end = Timestamp::from_secs(1_709_210_096);
        assert_eq!(
            default_text(NoticeKind::Blocked, Some("ru"), None, Some(end)),
            "Вы заблокированы до 2024-02-29 12:34:56 UTC за флуд"
        );
        assert_eq!(
            default_text(NoticeKind::Blocked, None, None, None),
            "You are blocked for flooding"
        );
    }
}
