//! Key isolation: no two different (kind, subject, handler) triples share a key, and no input
//! leaves its braces.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use proptest::prelude::*;
use sentinel_core::{Algorithm, KeyBuilder, KeyKind, Subject};

fn subject() -> impl Strategy<Value = Subject> {
    prop_oneof![
        any::<i64>().prop_map(Subject::User),
        any::<i64>().prop_map(Subject::Chat),
        (any::<i64>(), any::<i64>()).prop_map(|(user, chat)| Subject::UserInChat { user, chat }),
        Just(Subject::Global),
        ".{0,80}".prop_map(Subject::Custom),
        "[a-z0-9:{}*]{0,6}".prop_map(Subject::Custom),
    ]
}

fn kind() -> impl Strategy<Value = KeyKind> {
    prop_oneof![
        Just(KeyKind::RateLimit(Algorithm::SlidingWindow)),
        Just(KeyKind::RateLimit(Algorithm::Gcra)),
        Just(KeyKind::RateLimit(Algorithm::FixedWindow)),
        Just(KeyKind::Debounce),
        Just(KeyKind::Block),
        Just(KeyKind::Strikes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn different_triples_never_collide(
        a in (kind(), subject(), "[a-z:{}]{0,4}|.{0,70}"),
        b in (kind(), subject(), "[a-z:{}]{0,4}|.{0,70}"),
    ) {
        let kb = KeyBuilder::new("p").unwrap();
        let ka = kb.key(a.0, &a.1, &a.2);
        let kb_ = kb.key(b.0, &b.1, &b.2);
        prop_assert_eq!(ka == kb_, a == b);
    }

    #[test]
    fn nothing_escapes_the_hash_tag(k in kind(), s in subject(), h in ".{0,100}") {
        let key = KeyBuilder::new("p").unwrap().key(k, &s, &h);
        prop_assert_eq!(key.matches('{').count(), 1);
        prop_assert_eq!(key.matches('}').count(), 1);
        let open = key.find('{').unwrap();
        let close = key.find('}').unwrap();
        prop_assert!(open < close);
        prop_assert!(!key.contains(['*', '?', '[', ' ', '\n', '\r']));
        // Handler part is a single segment.
        prop_assert_eq!(key[close..].matches(':').count(), 1);
    }
}

#[test]
fn hostile_custom_values_are_hashed() {
    let kb = KeyBuilder::new("p").unwrap();
    let huge = "x".repeat(10_000);
    for v in ["a:b", "{u1}", "}", "*", "a b", "line\nbreak", huge.as_str()] {
        let key = kb.key(KeyKind::Block, &Subject::Custom(v.to_owned()), "all");
        assert!(key.len() < 120, "{key}");
        assert!(key.contains("{x#"), "{key}");
    }
}

proptest! {
    /// Every subject whose key is readable decodes back to itself; only hashed custom names
    /// do not decode.
    #[test]
    fn subjects_decode_back_from_their_encoding(s in subject()) {
        let decoded = Subject::decode(&s.encode());
        let hashed = matches!(&s, Subject::Custom(_)) && s.encode().starts_with("x#");
        if hashed {
            prop_assert_eq!(decoded, None);
        } else {
            prop_assert_eq!(decoded, Some(s));
        }
    }

    /// Any string decodes without panicking, and what decodes is exactly a subject's encoding.
    #[test]
    fn decode_accepts_only_canonical_encodings(text in "[ucgx=#0-9+-]{0,24}|.{0,40}") {
        if let Some(s) = Subject::decode(&text) {
            prop_assert_eq!(s.encode(), text);
        }
    }
}

#[test]
fn decode_rejects_near_misses() {
    for bad in [
        "",
        "u",
        "c",
        "x",
        "x#00",
        "u+7",
        "u07",
        "u7c",
        "uc7",
        "u7c-0",
        "g1",
        "q7",
        "u9223372036854775808",
    ] {
        assert_eq!(Subject::decode(bad), None, "{bad:?}");
    }
    assert_eq!(Subject::decode("c-0"), None);
    assert_eq!(
        Subject::decode("u0c0"),
        Some(Subject::UserInChat { user: 0, chat: 0 })
    );
}
