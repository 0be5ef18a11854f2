//! Hostile `Scope::Custom` values (`:`, `{`, `}`, `*`, spaces, newlines, 10 KB of text) go
//! through the engine without a Redis error and cannot touch another subject's keys.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use sentinel_core::{
    Algorithm, Event, FailMode, KeyBuilder, ManualClock, Policy, PolicyRegistry, Quota, Scope,
    Sentinel, Subject, Timestamp, Verdict,
};
use sentinel_testkit::redis_server::RedisServer;

fn hostile_values(victim: &str) -> Vec<String> {
    let mut big = String::new();
    while big.len() < 10 * 1024 {
        big.push_str("a:b{c}*d? [e]\\f \n\r\t\u{0}é🙂 ");
    }
    vec![
        ":".into(),
        "{".into(),
        "}".into(),
        "*".into(),
        "{}".into(),
        " ".into(),
        "\n".into(),
        format!("{victim}}}"),
        format!("}}:{victim}"),
        format!("x{{{victim}}}"),
        format!("{victim} "),
        format!("{victim}\n"),
        format!("={victim}"),
        "x=victim".into(),
        "*victim*".into(),
        "u1}:=default:{u1".into(),
        big.clone(),
        format!("{big}{victim}"),
        "\u{0}".into(),
        "a\r\nEVAL \"redis.call('FLUSHALL')\" 0\r\n".into(),
    ]
}

fn policies() -> PolicyRegistry {
    let q = Quota::per_minute(3).unwrap();
    PolicyRegistry::builder()
        .default_policy(
            Policy::new()
                .rate_limit(q, Algorithm::SlidingWindow, Scope::Custom)
                .debounce(Duration::from_secs(5), Scope::Custom),
        )
        .policy(
            "gcra",
            Policy::new().rate_limit(q, Algorithm::Gcra, Scope::Custom),
        )
        .policy(
            "fw",
            Policy::new().rate_limit(q, Algorithm::FixedWindow, Scope::Custom),
        )
        .build()
        .unwrap()
}

/// Every key and its full content (strings and hashes), with TTL presence.
async fn snapshot(con: &mut redis::aio::MultiplexedConnection) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in common::all_keys(con).await {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(con).await.unwrap();
        let value = match kind.as_str() {
            "string" => redis::cmd("GET")
                .arg(&key)
                .query_async::<String>(con)
                .await
                .unwrap(),
            "hash" => {
                let h: BTreeMap<String, String> = redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async(con)
                    .await
                    .unwrap();
                format!("{h:?}")
            }
            other => panic!("unexpected type {other} for {key}"),
        };
        out.insert(key, value);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_custom_keys_stay_in_their_own_subject() {
    let server = RedisServer::spawn();
    let mut con = server.connection().await;
    for store in [
        common::server_clock_store(&server.url()),
        common::client_clock_store(&server.url()),
    ] {
        redis::cmd("FLUSHDB")
            .query_async::<()>(&mut con)
            .await
            .unwrap();
        let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
        let sentinel = Sentinel::builder()
            .store(Arc::new(store))
            .clock(clock.clone())
            .prefix("cs")
            // Closed: any store error would surface as an error here.
            .fail_mode(FailMode::Closed)
            .policies(policies())
            .build()
            .unwrap();
        let victim = "victim";
        let handlers = [None, Some("gcra"), Some("fw")];
        let event = |key: &str, handler: Option<&str>, text: &str| {
            let e = Event::new()
                .with_user(1)
                .with_chat(1)
                .with_custom_key(key)
                .with_content(text);
            match handler {
                Some(h) => e.with_handler(h),
                None => e,
            }
        };
        // The victim uses two of its three units under every policy.
        for h in handlers {
            for i in 0..2 {
                let v = sentinel
                    .check(&event(victim, h, &format!("v{i}")))
                    .await
                    .unwrap();
                assert!(v.is_allowed(), "{v:?}");
            }
        }
        let before = snapshot(&mut con).await;
        assert!(!before.is_empty());

        // The attacker hammers every hostile value under every policy.
        let hostile = hostile_values(victim);
        for value in &hostile {
            for h in handlers {
                for i in 0..5 {
                    let v = sentinel.check(&event(value, h, &format!("a{i}"))).await;
                    let v = v.unwrap_or_else(|e| {
                        panic!("store error for {:?}: {e:?}", &value[..value.len().min(40)])
                    });
                    assert!(!matches!(&v, Verdict::Allowed(a) if a.degraded));
                }
                sentinel.peek(&event(value, h, "p")).await.unwrap();
                sentinel
                    .reset(&Subject::Custom(value.clone()), h)
                    .await
                    .unwrap();
            }
        }

        // The victim's keys are exactly as they were.
        let after = snapshot(&mut con).await;
        for (key, value) in &before {
            assert_eq!(after.get(key), Some(value), "{key} changed");
        }
        // Every new key belongs to one hostile subject, with one hash tag.
        let keys = KeyBuilder::new("cs").unwrap();
        let allowed: BTreeSet<String> = hostile
            .iter()
            .map(|v| Subject::Custom(v.clone()).encode())
            .collect();
        for key in after.keys().filter(|k| !before.contains_key(*k)) {
            assert!(key.starts_with("cs:"), "{key:?}");
            assert_eq!(key.matches('{').count(), 1, "{key:?}");
            assert_eq!(key.matches('}').count(), 1, "{key:?}");
            assert!(!key.contains(['*', ' ', '\n', '\r', '?', '[']), "{key:?}");
            let subject = keys.subject_of(key).unwrap();
            assert!(
                allowed.contains(subject),
                "{key:?} is not an attacker's subject"
            );
        }
        // And the victim still has exactly one unit left everywhere.
        for h in handlers {
            let d = sentinel
                .peek(&event(victim, h, "x"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(d.remaining, 1, "{h:?}");
            assert!(
                sentinel
                    .check(&event(victim, h, "v9"))
                    .await
                    .unwrap()
                    .is_allowed()
            );
            assert!(
                !sentinel
                    .check(&event(victim, h, "v10"))
                    .await
                    .unwrap()
                    .is_allowed()
            );
        }
        assert!(common::all_keys(&mut con).await.len() > before.len());
    }
}
