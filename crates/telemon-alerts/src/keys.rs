//! The one place store keys are made: every coordination key telemon writes comes from
//! [`Keys`], under the configured prefix, with a Redis Cluster hash tag (`{…}`) around the part
//! that groups one logical record, so each record's keys share a slot.

use std::time::Duration;

use sentinel_core::Fingerprint;
use sentinel_core::coordination::MAX_TTL;

/// Builds every key from the prefix (validated by the builder as a `KeyBuilder` prefix).
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The claim on an incident's cooldown window: its winner speaks.
    pub(crate) fn dedup_window(&self, fp: &Fingerprint) -> String {
        format!("{}:a:{{{fp}}}:window", self.prefix)
    }

    /// Every occurrence of an incident, counted by every worker.
    pub(crate) fn dedup_seen(&self, fp: &Fingerprint) -> String {
        format!("{}:a:{{{fp}}}:seen", self.prefix)
    }

    /// What the messages sent so far covered, and when the last one went out.
    pub(crate) fn dedup_reported(&self, fp: &Fingerprint) -> String {
        format!("{}:a:{{{fp}}}:reported", self.prefix)
    }

    /// Immediate messages sent in budget window `k`, across workers.
    pub(crate) fn budget(&self, k: u64) -> String {
        format!("{}:budget:{{{k}}}", self.prefix)
    }

    /// One worker's summary of Warning window `k`.
    pub(crate) fn digest_part(&self, k: u64, worker: &str) -> String {
        format!("{}{worker}", self.digest_parts(k))
    }

    /// The prefix of every worker's summary of window `k`.
    pub(crate) fn digest_parts(&self, k: u64) -> String {
        format!("{}:dg:{{{k}}}:part:", self.prefix)
    }

    /// The claim on sending window `k`'s merged digest.
    pub(crate) fn digest_claim(&self, k: u64) -> String {
        format!("{}:dg:{{{k}}}:claim", self.prefix)
    }

    /// Occurrences counted on UTC day `day` (days since the epoch).
    pub(crate) fn daily_occurrences(&self, day: u64) -> String {
        format!("{}:day:{{{day}}}:occurrences", self.prefix)
    }

    /// The claim on sending the daily report of UTC day `day`.
    pub(crate) fn daily_claim(&self, day: u64) -> String {
        format!("{}:day:{{{day}}}:claim", self.prefix)
    }

    /// A run-once claim named by the caller (escaped or hashed, so any name is safe).
    pub(crate) fn once(&self, name: &str) -> String {
        format!(
            "{}:once:{{{}}}",
            self.prefix,
            sentinel_core::key::escape(name)
        )
    }
}

/// `d` as a coordination TTL: at least 1 ms, at most [`MAX_TTL`].
pub(crate) fn ttl(d: Duration) -> Duration {
    d.clamp(Duration::from_millis(1), MAX_TTL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_and_tag_their_record() {
        let k = Keys::new("tm");
        let fp = Fingerprint::of("x");
        let all = [
            k.dedup_window(&fp),
            k.dedup_seen(&fp),
            k.dedup_reported(&fp),
            k.budget(7),
            k.digest_part(7, "w1"),
            k.digest_claim(7),
            k.daily_occurrences(7),
            k.daily_claim(7),
            k.once("startup"),
        ];
        let unique: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len(), "{all:?}");
        assert!(all.iter().all(|key| key.starts_with("tm:")));
        assert_eq!(k.dedup_seen(&fp), format!("tm:a:{{{fp}}}:seen"));
        assert!(k.digest_part(7, "w1").starts_with(&k.digest_parts(7)));
        assert!(!k.digest_claim(7).starts_with(&k.digest_parts(7)));
        assert_eq!(
            k.once("a}b{c").matches('{').count(),
            1,
            "names cannot break the tag"
        );
    }

    #[test]
    fn ttls_are_bounded() {
        assert_eq!(ttl(Duration::ZERO), Duration::from_millis(1));
        assert_eq!(ttl(Duration::MAX), MAX_TTL);
        assert_eq!(ttl(Duration::from_secs(5)), Duration::from_secs(5));
    }
}
