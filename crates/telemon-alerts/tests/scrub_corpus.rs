//! The scrubbing corpus, end to end: every secret case and every look-alike, placed every way a
//! service emits text — alert message, detail, `tracing` message and fields (`%` and `?`),
//! error chain, backtrace, axum panic, request header, URI query — goes through the whole
//! pipeline (capture → scrub → render → last pass → the real Telegram transport) to the fake
//! Bot API. No secret, nor any 8-character piece of it found nowhere else in its input,
//! arrives; every look-alike arrives unchanged.
#![cfg(all(feature = "axum", feature = "tracing"))]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod corpus;

use std::collections::HashSet;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use sentinel_testkit::fake_bot_api::{FakeBotApi, SentMessage};
use tower::ServiceExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

use corpus::Case;
use telemon_alerts::capture::axum::TelemonLayer;
use telemon_alerts::capture::tracing::TelemonTracingLayer;
use telemon_alerts::transport::TelegramTransport;
use telemon_alerts::{Alert, Destination, Telemon};

/// The corpus's promised size.
const MIN_SECRETS: usize = 110;
const MIN_FORMATS: usize = 7;
const MIN_LOOK_ALIKES: usize = 70;

/// Where a text is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Message,
    Detail,
    TracingMessage,
    TracingField,
    TracingDebugField,
    ErrorChain,
    Backtrace,
    AxumPanic,
    AxumHeader,
    AxumQuery,
}

const PLACES: [Place; 10] = [
    Place::Message,
    Place::Detail,
    Place::TracingMessage,
    Place::TracingField,
    Place::TracingDebugField,
    Place::ErrorChain,
    Place::Backtrace,
    Place::AxumPanic,
    Place::AxumHeader,
    Place::AxumQuery,
];

/// A tag naming one case in one placement, made of consonants between two `X` so that no
/// rule reads it as a key and no tag contains another.
fn tag(place: Place, i: usize) -> String {
    const LETTERS: &[u8] = b"BCDFGHJKLMNPQRSTVWZ";
    let p = PLACES.iter().position(|&q| q == place).unwrap_or(0);
    let mut n = i * PLACES.len() + p;
    let mut s = String::from("case-X");
    loop {
        s.push(char::from(LETTERS[n % LETTERS.len()]));
        n /= LETTERS.len();
        if n == 0 {
            break;
        }
    }
    s.push('X');
    s
}

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

/// A header value as a proxy would log it: line breaks as `\n`, other bytes escaped.
fn header_safe(text: &str) -> String {
    text.replace('\r', "\\r").replace('\n', "\\n")
}

/// `text` percent-encoded as a query value.
fn query_value(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends each `(tag, text)` through `place` and waits until all of it reached the fake.
async fn send_all(t: &Telemon, place: Place, items: &[(String, String)]) {
    match place {
        Place::Message | Place::Detail | Place::ErrorChain | Place::Backtrace => {
            for (tag, text) in items {
                let a = Alert::critical(tag.clone()).fingerprint(tag.clone());
                t.report(match place {
                    Place::Message => a.message(text.clone()),
                    Place::Detail => a.detail("context", text),
                    Place::ErrorChain => a.error(&Outer(Inner(text.clone()))),
                    _ => a.backtrace(format!("   0: app::handler\n{text}\n   1: main")),
                });
            }
        }
        Place::TracingMessage | Place::TracingField | Place::TracingDebugField => {
            let subscriber =
                tracing_subscriber::registry().with(TelemonTracingLayer::new(t.clone()));
            tracing::subscriber::with_default(subscriber, || {
                for (tag, text) in items {
                    match place {
                        Place::TracingMessage => tracing::error!("{tag}: {text}"),
                        Place::TracingField => tracing::error!(payload = %text, "{tag}"),
                        _ => tracing::error!(payload = ?text, "{tag}"),
                    }
                }
            });
        }
        Place::AxumPanic | Place::AxumHeader | Place::AxumQuery => {
            let mut app = Router::new();
            for (tag, text) in items {
                let text = text.clone();
                app = if place == Place::AxumPanic {
                    app.route(
                        &format!("/p/{tag}"),
                        get(move || async move {
                            if !text.is_empty() {
                                panic!("{text}");
                            }
                            "unreachable"
                        }),
                    )
                } else {
                    app.route(
                        &format!("/e/{tag}"),
                        get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
                    )
                };
            }
            let app = app.layer(TelemonLayer::new(t).capture_headers(true));
            for (tag, text) in items {
                let req = match place {
                    Place::AxumPanic => Request::get(format!("/p/{tag}")),
                    Place::AxumHeader => {
                        Request::get(format!("/e/{tag}")).header("x-context", header_safe(text))
                    }
                    _ => Request::get(format!("/e/{tag}?q={}", query_value(text))),
                };
                let res = app
                    .clone()
                    .oneshot(req.body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{tag}");
            }
        }
    }
    assert!(t.flush(Duration::from_secs(24 * 3600)).await, "flushed");
}

async fn telemon(api: &FakeBotApi) -> Telemon {
    Telemon::builder()
        .transport(TelegramTransport::with_api_url(api.token(), api.url().as_str()).unwrap())
        .destination(Destination::chat(77))
        .immediate_budget(None)
        .queue_capacity(1024)
        .build()
        .unwrap()
}

/// The messages whose visible text names `tag`.
fn messages_of<'a>(sent: &'a [SentMessage], tag: &str) -> Vec<&'a SentMessage> {
    let needle = format!("{tag}\n");
    let colon = format!("{tag}:");
    let slash = format!("{tag} ");
    sent.iter()
        .filter(|m| {
            m.visible_text.contains(&needle)
                || m.visible_text.contains(&colon)
                || m.visible_text.contains(&slash)
                || m.visible_text.ends_with(tag)
        })
        .collect()
}

/// The distinctive pieces of a secret: the whole (raw, as `Debug` escapes it, percent-encoded)
/// and every 8-character window that is found nowhere else in the input.
fn probes(case: &Case) -> Vec<String> {
    let rest = case.text.replacen(&case.secret, "\u{0}", 1);
    let debug = format!("{:?}", case.secret);
    let mut out: HashSet<String> = HashSet::new();
    for form in [
        case.secret.clone(),
        debug[1..debug.len() - 1].to_owned(),
        query_value(&case.secret),
    ] {
        let chars: Vec<char> = form.chars().collect();
        out.insert(form.clone());
        for w in chars.windows(8) {
            let w: String = w.iter().collect();
            if !rest.contains(&w) && !w.contains("\\n") {
                out.insert(w);
            }
        }
    }
    out.into_iter().collect()
}

#[tokio::test(start_paused = true)]
async fn no_secret_of_the_corpus_reaches_telegram_in_any_placement() {
    let cases = corpus::secret_cases();
    let formats: HashSet<&str> = corpus::formats::FORMAT_SECRETS
        .iter()
        .map(|(p, _)| *p)
        .collect();
    assert!(
        cases.len() >= MIN_SECRETS,
        "corpus has {} secrets",
        cases.len()
    );
    assert!(
        formats.len() >= MIN_FORMATS,
        "corpus has {} formats",
        formats.len()
    );
    let api = FakeBotApi::start().await;
    let t = telemon(&api).await;
    let mut leaks = Vec::new();
    for place in PLACES {
        let items: Vec<(String, String)> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| (tag(place, i), c.text.clone()))
            .collect();
        send_all(&t, place, &items).await;
        let sent = api.sent();
        for (i, case) in cases.iter().enumerate() {
            let tag = tag(place, i);
            let found = messages_of(&sent, &tag);
            assert!(
                !found.is_empty(),
                "{tag} ({place:?}, {}) never arrived",
                case.label
            );
            for m in found
                .iter()
                .filter(|m| !m.visible_text.contains("[Filtered]"))
            {
                leaks.push(format!(
                    "{place:?} {} shows no filtering:\n{}\n",
                    case.label, m.visible_text
                ));
            }
            for p in probes(case) {
                for m in &found {
                    if m.visible_text.contains(&p) || m.text.contains(&p) {
                        leaks.push(format!(
                            "{place:?} {} {:?}: {p:?} in\n{}\n",
                            case.label, case.secret, m.visible_text
                        ));
                    }
                }
            }
        }
    }
    t.shutdown(Duration::from_secs(5)).await;
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

#[tokio::test(start_paused = true)]
async fn every_look_alike_reaches_telegram_unchanged_in_any_placement() {
    let looks = corpus::look_alikes();
    assert!(
        looks.len() >= MIN_LOOK_ALIKES,
        "corpus has {} look-alikes",
        looks.len()
    );
    let api = FakeBotApi::start().await;
    let t = telemon(&api).await;
    let mut damaged = Vec::new();
    for place in PLACES {
        let items: Vec<(String, String)> = looks
            .iter()
            .enumerate()
            .map(|(i, l)| (tag(place, i), (*l).to_owned()))
            .collect();
        send_all(&t, place, &items).await;
        let sent = api.sent();
        for (i, look) in looks.iter().enumerate() {
            let tag = tag(place, i);
            let expected = match place {
                Place::TracingDebugField => format!("{look:?}"),
                Place::AxumHeader => header_safe(look),
                _ => (*look).to_owned(),
            };
            let found = messages_of(&sent, &tag);
            if !found.iter().any(|m| m.visible_text.contains(&expected)) {
                damaged.push(format!(
                    "{place:?} {expected:?} became:\n{}\n",
                    found
                        .iter()
                        .map(|m| m.visible_text.as_str())
                        .collect::<Vec<_>>()
                        .join("\n---\n")
                ));
            }
        }
    }
    t.shutdown(Duration::from_secs(5)).await;
    assert!(
        damaged.is_empty(),
        "{} damaged:\n{}",
        damaged.len(),
        damaged.join("\n")
    );
}

#[test]
fn scrubbing_a_huge_input_is_bounded() {
    let s = telemon_alerts::scrub::Scrubber::default();
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
