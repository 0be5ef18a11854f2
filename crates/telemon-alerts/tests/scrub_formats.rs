//! Token-format corpus (`tests/corpus/formats.rs`) against the default scrubber: every secret
//! is removed whole (no 8-character fragment survives) wherever it sits in free text, and
//! every look-alike survives unchanged.

mod corpus {
    include!("corpus/formats.rs");
}

use std::collections::{BTreeMap, BTreeSet};

use corpus::{FORMAT_LOOK_ALIKES, FORMAT_SECRETS};
use telemon_alerts::scrub::Scrubber;

/// The first 8-character fragment of `secret` still present in `out`.
fn fragment_in<'s>(out: &str, secret: &'s str) -> Option<&'s str> {
    let n = secret.len();
    (0..=n.saturating_sub(8))
        .filter_map(|i| secret.get(i..(i + 8).min(n)))
        .find(|w| out.contains(w))
}

/// Ways free text carries a secret: prose, JSON, query, tracing fields, a header line, a
/// backtrace frame, a panic message.
const AROUND: &[(&str, &str)] = &[
    ("sync failed, upstream said: ", " — giving up"),
    ("{\"err\":\"upstream\",\"value\":\"", "\"}"),
    ("/v1/hooks?page=3&item=", "&debug=1"),
    ("retry=2 value=", " elapsed_ms=310"),
    ("X-Forwarded-Credential: ", "\r\n"),
    (
        "   4: app::client::call(\"",
        "\")\n             at src/client.rs:88",
    ),
    (
        "panicked at 'called Result::unwrap() on an Err value: ",
        "', src/main.rs:12:5",
    ),
];

#[test]
fn corpus_is_large_enough() {
    let mut per_provider: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (provider, secret) in FORMAT_SECRETS {
        per_provider.entry(provider).or_default().insert(secret);
    }
    let providers = per_provider.values().filter(|s| s.len() >= 2).count();
    assert!(providers >= 70, "{providers} providers with 2 samples");
    assert!(FORMAT_SECRETS.len() >= 140);
    assert!(FORMAT_LOOK_ALIKES.len() >= 60);
}

#[test]
fn every_format_secret_is_removed_in_every_placement() {
    let s = Scrubber::default();
    let mut leaks = Vec::new();
    for (provider, secret) in FORMAT_SECRETS {
        for (before, after) in AROUND {
            let out = s.scrub_text(&format!("{before}{secret}{after}"));
            if let Some(f) = fragment_in(&out, secret) {
                leaks.push(format!("{provider}: {f:?} in {out}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

#[test]
fn every_look_alike_survives() {
    let s = Scrubber::default();
    let damaged: Vec<_> = FORMAT_LOOK_ALIKES
        .iter()
        .filter(|t| s.scrub_text(t) != **t)
        .map(|t| format!("{t} -> {}", s.scrub_text(t)))
        .collect();
    assert!(damaged.is_empty(), "damaged:\n{}", damaged.join("\n"));
}
