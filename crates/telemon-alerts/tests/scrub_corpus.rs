//! Scrub corpus: realistic secrets in headers, query strings, JSON bodies, error messages and
//! backtraces go through the whole pipeline (report → scrub → render → transport); none of
//! them reaches the transport. Harmless look-alikes are left intact.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::time::Duration;

use sentinel_core::{ManualClock, Timestamp};
use telemon_alerts::scrub::Scrubber;
use telemon_alerts::transport::MemoryTransport;
use telemon_alerts::{Alert, Destination, HttpContext, Telemon};

/// Where a secret is placed.
#[derive(Debug, Clone, Copy)]
enum Place {
    Header(&'static str),
    Query,
    Json,
    Message,
    Backtrace,
    Detail(&'static str),
    ErrorChain,
}

/// (where, the secret itself, the text carrying it with `{}` for the secret).
const CORPUS: &[(Place, &str, &str)] = &[
    // Headers (by name).
    (
        Place::Header("Authorization"),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLXNlY3JldA",
        "Bearer {}",
    ),
    (
        Place::Header("authorization"),
        "dXNlcjpodW50ZXIyMDI0",
        "Basic {}",
    ),
    (
        Place::Header("Cookie"),
        "s%3Aj9Xk2LmPq8Rt",
        "session={}; theme=dark",
    ),
    (
        Place::Header("Set-Cookie"),
        "a8f3k2m9x7q1",
        "sid={}; HttpOnly; Secure",
    ),
    (
        Place::Header("X-Api-Key"),
        "live_51HqLyjWDarjtT1zdp7dc",
        "{}",
    ),
    (
        Place::Header("X-Auth-Token"),
        "9b1deb4d3b7d4bad9bdd2b0d7b3dcb6d",
        "{}",
    ),
    (
        Place::Header("Proxy-Authorization"),
        "cHJveHk6c2VjcmV0cGFzcw",
        "Basic {}",
    ),
    (
        Place::Header("X-Telegram-Bot-Api-Secret-Token"),
        "wh-secret-Zk29fLq",
        "{}",
    ),
    (Place::Header("X-Custom-Session-Id"), "sess_8c1f2e9a", "{}"),
    // Query strings.
    (Place::Query, "tok_Q2w3E4r5T6", "page=2&token={}&sort=asc"),
    (Place::Query, "Sup3r$ecret!", "user=bob&password={}"),
    (
        Place::Query,
        "AKIAIOSFODNN7EXAMPLE",
        "X-Amz-Credential={}%2F20240501&X-Amz-Signature=abc",
    ),
    (
        Place::Query,
        "c0ffee0ddba11c0ffee0ddba11",
        "X-Amz-Signature={}&X-Amz-Expires=300",
    ),
    (Place::Query, "k3y-v4lu3-999", "api_key={}"),
    (
        Place::Query,
        "rt_1a2b3c4d5e6f",
        "refresh_token={}&grant_type=refresh_token",
    ),
    (
        Place::Query,
        "cs_9f8e7d6c5b4a",
        "client_secret={}&client_id=web",
    ),
    // JSON bodies (as details / messages).
    (
        Place::Json,
        "correct horse battery staple",
        r#"{"user":"bob","password":"{}"}"#,
    ),
    (
        Place::Json,
        "sk_live_51HqLyjWDarjtT1zdp7dcXYZ",
        r#"{"stripe_key":"{}","amount":100}"#,
    ),
    (
        Place::Json,
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        "{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}",
    ),
    (
        Place::Json,
        "ghp_R4nd0mT0k3nV4lu3Ab12Cd34Ef56Gh78Ij90",
        r#"{"github_token": "{}"}"#,
    ),
    (
        Place::Json,
        "xoxb-2048-4096-Ab12Cd34Ef56Gh78",
        r#"{"slack": {"token": "{}"}}"#,
    ),
    (
        Place::Json,
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        r#"{"maps_api_key":"{}"}"#,
    ),
    (
        Place::Json,
        "4111 1111 1111 1111",
        r#"{"card":"{}","exp":"12/29"}"#,
    ),
    (Place::Json, "otp-739201", r#"{"otp":"{}"}"#),
    // Error messages.
    (
        Place::Message,
        "hunter2hunter2",
        "login failed: password={} for user bob",
    ),
    (
        Place::Message,
        "s3cr3tR3d1s",
        "connection refused: redis://:{}@cache.internal:6379/0",
    ),
    (
        Place::Message,
        "pgP4ss!word",
        "pool error: postgres://app:{}@db.internal:5432/app",
    ),
    (
        Place::Message,
        "1234567890:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        "telegram error at https://api.telegram.org/bot{}/sendMessage",
    ),
    (
        Place::Message,
        "AKIAJ7Q3EXAMPLEKEY12",
        "S3 PutObject denied for access key {}",
    ),
    (
        Place::Message,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_secret_access_key = {}",
    ),
    (
        Place::Message,
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhdXRoIn0.ZXhwaXJlZC1zaWc",
        "token expired: {}",
    ),
    (
        Place::Message,
        "5500 0000 0000 0004",
        "charge declined for card {}",
    ),
    (
        Place::Message,
        "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
        "webhook {} returned 404",
    ),
    (
        Place::Message,
        "whsec_abc123def456ghi789",
        "stripe webhook signing secret whsec mismatch: {}",
    ),
    (
        Place::Message,
        "my-db-pa55",
        "DB_PASSWORD='{}' rejected by server",
    ),
    (
        Place::Message,
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
        "push failed with {}",
    ),
    // Backtraces.
    (
        Place::Backtrace,
        "Zx9-secret-Lm2",
        "   3: app::db::connect(url=\"mysql://root:{}@localhost/app\")",
    ),
    (
        Place::Backtrace,
        "b3ar3r-t0k3n-42abc",
        "   7: app::client::call with header Authorization: Bearer {}",
    ),
    (
        Place::Backtrace,
        "tg-987654321:AAE_abcdefghijklmnopqrstuvwxyz012",
        "  12: sentinel::send bot{} failed",
    ),
    (
        Place::Backtrace,
        "p@ssw0rd-in-frame",
        "   2: app::login(password: \"{}\")",
    ),
    // Detail keys (by name).
    (Place::Detail("api-key"), "detail-api-key-123", "{}"),
    (Place::Detail("X_API_KEY"), "detail-x-api-key-456", "{}"),
    (Place::Detail("db_password"), "detail-db-pass-789", "{}"),
    // Error chains.
    (
        Place::ErrorChain,
        "chain-secret-token-5",
        "caused by: invalid token={}",
    ),
];

/// Harmless text that looks a little like secrets: must survive unchanged.
const LOOK_ALIKES: &[&str] = &[
    "user 12345 not found",
    "order 4111111111111112 shipped",
    "request 550e8400-e29b-41d4-a716-446655440000 failed",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b deployed",
    "GET https://example.com/api/items?page=2 returned 500",
    "monkey=banana",
    "keyword=rust",
    "timeout=30s",
    "contact ops@example.com",
    "upstream 10.0.0.1:6379 timed out",
    "redis://localhost:6379/0 is unreachable",
    "AKIAshort is not a key",
    "the prefix ghp_ marks GitHub tokens",
    "bearer of bad news",
    "basic authentication required",
    "duration=1500ms",
    "version 1.2.3 at 12:34:56",
    "status=500 method=POST",
    "path /api/v1/users/42/documents",
    "chat -1001234567890 message_id: 123456789",
    "-----BEGIN PUBLIC KEY-----",
];

fn alert_for(place: Place, text: String, i: usize) -> Alert {
    let base = Alert::critical(format!("case {i}")).fingerprint(format!("case-{i}"));
    match place {
        Place::Header(name) => base.http(HttpContext {
            method: "GET".into(),
            route: "/x".into(),
            route_is_template: true,
            headers: vec![(name.into(), text), ("Accept".into(), "text/html".into())],
            ..HttpContext::default()
        }),
        Place::Query => base.http(HttpContext {
            method: "GET".into(),
            route: "/x".into(),
            route_is_template: true,
            query: Some(text),
            ..HttpContext::default()
        }),
        Place::Json => base.detail("body", text),
        Place::Message => base.message(text),
        Place::Backtrace => {
            base.backtrace(format!("   0: std::panicking::begin\n{text}\n  99: main"))
        }
        Place::Detail(key) => base.detail(key, text),
        Place::ErrorChain => {
            #[derive(Debug)]
            struct Outer(Inner);
            #[derive(Debug)]
            struct Inner(String);
            impl std::fmt::Display for Outer {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("request failed")
                }
            }
            impl std::fmt::Display for Inner {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(&self.0)
                }
            }
            impl std::error::Error for Inner {}
            impl std::error::Error for Outer {
                fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                    Some(&self.0)
                }
            }
            base.error(Outer(Inner(text)))
        }
    }
}

#[tokio::test(start_paused = true)]
async fn no_secret_of_the_corpus_reaches_the_transport() {
    assert!(CORPUS.len() >= 40, "corpus has {} secrets", CORPUS.len());
    let sink = MemoryTransport::new();
    let t = Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(1))
        .clock(ManualClock::new(Timestamp::from_secs(1_700_000_000)))
        .immediate_budget(None)
        .queue_capacity(256)
        .build()
        .unwrap();
    for (i, (place, secret, carrier)) in CORPUS.iter().enumerate() {
        t.report(alert_for(*place, carrier.replace("{}", secret), i));
    }
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), CORPUS.len(), "one message per case");
    let mut leaks = Vec::new();
    for (i, (place, secret, _)) in CORPUS.iter().enumerate() {
        let msg = sent
            .iter()
            .find(|m| m.plain_fallback.contains(&format!("case {i}\n")))
            .unwrap_or_else(|| panic!("case {i} not sent"));
        assert!(
            msg.plain_fallback.contains("[Filtered]"),
            "case {i} ({place:?}) shows no filtering"
        );
        // The secret, and any 8+ character run of it, must be gone from both renderings.
        let probes = probes(secret);
        for m in &sent {
            for p in &probes {
                if m.text.contains(p.as_str()) || m.plain_fallback.contains(p.as_str()) {
                    leaks.push(format!(
                        "case {i} ({place:?}): {p:?} in {:?}",
                        m.plain_fallback
                    ));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

/// The distinctive pieces of a secret: the whole, and its 10-character windows of
/// non-space text.
fn probes(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    for word in secret.split([' ', '/', ':']) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() >= 10 {
            for w in chars.windows(10) {
                out.push(w.iter().collect());
            }
        }
    }
    out
}

#[test]
fn look_alikes_are_left_intact() {
    assert!(LOOK_ALIKES.len() >= 20);
    let s = Scrubber::default();
    for text in LOOK_ALIKES {
        assert_eq!(&s.scrub_text(text), text, "changed a harmless text");
    }
    for q in [
        "page=2&sort=asc",
        "q=rust+async&lang=en",
        "monkey=1&keyword=2",
    ] {
        assert_eq!(s.scrub_query(q), q);
    }
}

#[tokio::test(start_paused = true)]
async fn look_alikes_survive_the_whole_pipeline() {
    let sink = MemoryTransport::new();
    let t = Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(1))
        .immediate_budget(None)
        .build()
        .unwrap();
    for (i, text) in LOOK_ALIKES.iter().enumerate() {
        t.report(
            Alert::critical(format!("look-alike {i}"))
                .message(*text)
                .fingerprint(format!("l{i}")),
        );
    }
    assert!(t.flush(Duration::from_secs(60)).await);
    let sent = sink.sent();
    for text in LOOK_ALIKES {
        assert!(
            sent.iter().any(|m| m.plain_fallback.contains(text)),
            "{text} was altered"
        );
    }
}

#[test]
fn scrubbing_a_huge_input_is_bounded() {
    let s = Scrubber::default();
    let huge = format!(
        "{}password=hunter2{}",
        "a=1&".repeat(250_000),
        "x".repeat(1_000_000)
    );
    let out = s.scrub_text(&huge);
    assert!(out.chars().count() <= 2049);
    let backtrace = (0..5_000)
        .map(|i| format!("  {i}: frame token={i}secret"))
        .collect::<Vec<_>>()
        .join("\n");
    let out = s.scrub_backtrace(&backtrace);
    assert_eq!(out.lines().count(), 31);
    assert!(!out.contains("secret"));
}
