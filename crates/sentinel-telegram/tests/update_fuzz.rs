//! Parsing is total: arbitrary JSON, arbitrary bytes and mutated real updates give an
//! `UpdateInfo` or a `ParseError`, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[path = "update_support/fixtures.rs"]
mod fixtures;

use proptest::prelude::*;
use sentinel_telegram::update::{self, Extractor, HandlerNamer, ParseError};
use serde_json::{Map, Number, Value};

/// Arbitrary JSON: scalars (with extreme numbers and odd strings) nested a few levels.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("/start@bot"),
            Just("private"),
            Just("kicked"),
            Just("member"),
            Just("/")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Keys: mostly the ones the parser looks at, sometimes anything.
fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "update_id", "message", "edited_message", "channel_post", "callback_query",
            "inline_query", "my_chat_member", "poll_answer", "message_reaction", "chat_boost",
            "business_connection", "managed_bot", "guest_message", "chat", "from", "id", "type",
            "text", "caption", "photo", "document", "file_unique_id", "width", "height", "data",
            "sender_chat", "new_chat_member", "status", "user", "voter_chat", "actor_chat",
            "source", "boost", "query", "result_id", "user_chat_id", "message_thread_id",
        ])
        .prop_map(str::to_owned),
        1 => ".{0,8}",
    ]
}

/// Arbitrary JSON wrapped as an update, so the parser gets past `update_id`.
fn arb_update_like() -> impl Strategy<Value = Value> {
    (any::<i64>(), arb_key(), arb_json()).prop_map(|(id, key, body)| {
        let mut m = Map::new();
        m.insert("update_id".into(), Value::from(id));
        m.insert(key, body);
        Value::Object(m)
    })
}

/// One change to a JSON tree, applied at the node `at % node_count` in pre-order.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    Null,
    Stringify,
    RenameKey(String),
    Wrap,
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        arb_json().prop_map(Mutation::Replace),
        Just(Mutation::Remove),
        Just(Mutation::Null),
        Just(Mutation::Stringify),
        arb_key().prop_map(Mutation::RenameKey),
        Just(Mutation::Wrap),
    ]
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// Applies `m` to the `n`-th node below `v` (pre-order, `v` itself is 0). Returns whether it
/// was applied (removal and renaming need a parent, so they apply to a child).
fn apply(v: &mut Value, mut n: usize, m: &Mutation) -> bool {
    fn walk(v: &mut Value, n: &mut usize, m: &Mutation) -> bool {
        match v {
            Value::Object(o) => {
                let keys: Vec<String> = o.keys().cloned().collect();
                for k in keys {
                    if *n == 0 {
                        match m {
                            Mutation::Remove => {
                                o.remove(&k);
                                return true;
                            }
                            Mutation::RenameKey(new) => {
                                if let Some(x) = o.remove(&k) {
                                    o.insert(new.clone(), x);
                                }
                                return true;
                            }
                            _ => return change(o.get_mut(&k).unwrap(), m),
                        }
                    }
                    *n -= 1;
                    if walk(o.get_mut(&k).unwrap(), n, m) {
                        return true;
                    }
                }
                false
            }
            Value::Array(a) => {
                for i in 0..a.len() {
                    if *n == 0 {
                        if matches!(m, Mutation::Remove) {
                            a.remove(i);
                            return true;
                        }
                        return change(&mut a[i], m);
                    }
                    *n -= 1;
                    if walk(&mut a[i], n, m) {
                        return true;
                    }
                }
                false
            }
            _ => false,
        }
    }
    fn change(v: &mut Value, m: &Mutation) -> bool {
        *v = match m {
            Mutation::Replace(x) => x.clone(),
            Mutation::Null | Mutation::Remove | Mutation::RenameKey(_) => Value::Null,
            Mutation::Stringify => Value::String(v.to_string()),
            Mutation::Wrap => Value::Array(vec![v.take()]),
        };
        true
    }
    if n == 0 {
        return change(v, m);
    }
    n -= 1;
    walk(v, &mut n, m)
}

fn fixture_value(i: usize) -> Value {
    serde_json::from_str(fixtures::ALL[i % fixtures::ALL.len()].1).unwrap()
}

/// Both entry points agree, and neither panics.
fn check(value: &Value) {
    let ex = Extractor::new().with_namer(HandlerNamer::command_or_kind());
    let from_value = ex.from_value(value);
    let bytes = serde_json::to_vec(value).unwrap();
    let from_slice = ex.from_slice(&bytes);
    match (&from_value, &from_slice) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b);
            // Whatever was read makes a valid event.
            let e = a.event();
            assert_eq!(e.user(), a.user_id);
            if let Some(h) = &a.handler {
                assert!(!h.is_empty() && h.len() <= 64);
            }
        }
        (Err(ParseError::Invalid(_) | ParseError::NoKind), Err(_)) => {}
        other => panic!("from_value and from_slice disagree: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        check(&v);
    }

    #[test]
    fn arbitrary_update_shaped_json_never_panics(v in arb_update_like()) {
        check(&v);
    }

    #[test]
    fn mutated_real_updates_never_panic(
        i in 0usize..1000,
        muts in prop::collection::vec((any::<prop::sample::Index>(), arb_mutation()), 1..4),
    ) {
        let mut v = fixture_value(i);
        for (at, m) in &muts {
            let n = at.index(count(&v));
            apply(&mut v, n, m);
        }
        check(&v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = update::from_slice(&bytes);
    }

    #[test]
    fn mutated_real_update_bytes_never_panic(
        i in 0usize..1000,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut bytes = fixtures::ALL[i % fixtures::ALL.len()].1.as_bytes().to_vec();
        for (at, b, op) in edits {
            if bytes.is_empty() { break; }
            let at = at.index(bytes.len());
            match op {
                0 => bytes[at] = b,
                1 => { bytes.remove(at); }
                _ => bytes.insert(at, b),
            }
        }
        let _ = update::from_slice(&bytes);
    }
}

#[test]
fn the_mutator_reaches_every_node() {
    let v = fixture_value(0);
    let n = count(&v);
    for i in 0..n {
        let mut w = v.clone();
        assert!(apply(&mut w, i, &Mutation::Null), "node {i} of {n}");
        assert_ne!(w, v, "node {i} changed");
    }
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    let deep = format!(
        "{{\"update_id\":1,\"message\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(update::from_slice(deep.as_bytes()).is_err());
    let deep_unknown = format!(
        "{{\"update_id\":1,\"zzz\":{}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    // Unknown types are skipped without recursion: read, not overflowed.
    let info = update::from_slice(deep_unknown.as_bytes()).unwrap();
    assert_eq!(info.kind.as_str(), "zzz");
}
