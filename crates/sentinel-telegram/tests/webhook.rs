//! The webhook helper: constant-time secret check, size limit, parsing.
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use sentinel_telegram::webhook::{
    self, DEFAULT_MAX_BODY, InvalidSecret, SECRET_HEADER, WebhookError, WebhookGuard, WebhookSecret,
};

const SECRET: &str = "Abc_def-123";
const UPDATE: &[u8] = br#"{"update_id":7,"message":{"message_id":1,"date":0,"chat":{"id":5,"type":"private"},"text":"hi"}}"#;

fn guard() -> WebhookGuard {
    WebhookGuard::new(WebhookSecret::new(SECRET).unwrap())
}

#[test]
fn the_right_secret_passes_and_the_body_parses() {
    let update = guard().check(Some(SECRET.as_bytes()), UPDATE).unwrap();
    assert_eq!(update["update_id"], 7);
    assert_eq!(update["message"]["text"], "hi");
    assert_eq!(SECRET_HEADER, "X-Telegram-Bot-Api-Secret-Token");
}

#[test]
fn wrong_missing_prefix_and_longer_secrets_are_refused() {
    let g = guard();
    assert_eq!(g.verify(None, 10), Err(WebhookError::MissingSecret));
    for wrong in [
        "",
        "Abc_def-12",
        "Abc_def-1234",
        "abc_def-123",
        "Abc_def-124",
        "x",
    ] {
        assert_eq!(
            g.verify(Some(wrong.as_bytes()), 10),
            Err(WebhookError::WrongSecret),
            "{wrong:?}"
        );
    }
    assert_eq!(g.check(Some(b"nope"), UPDATE).unwrap_err().status(), 401);
}

#[test]
fn the_body_limit_is_checked_before_and_after_reading() {
    let g = guard().max_body(64);
    assert_eq!(
        g.verify(Some(SECRET.as_bytes()), 65),
        Err(WebhookError::BodyTooLarge { len: 65, max: 64 })
    );
    let err = g.check(Some(SECRET.as_bytes()), UPDATE).unwrap_err();
    assert_eq!(
        err,
        WebhookError::BodyTooLarge {
            len: UPDATE.len(),
            max: 64
        }
    );
    assert_eq!(err.status(), 413);
    assert!(webhook::parse(UPDATE, UPDATE.len()).is_ok());
    assert!(webhook::parse(UPDATE, UPDATE.len() - 1).is_err());
    assert_eq!(DEFAULT_MAX_BODY, 1 << 20);
}

#[test]
fn bodies_that_are_not_updates_are_400_without_echoing_the_body() {
    let g = WebhookGuard::without_secret();
    let err = g
        .parse(br#"{"update_id": "secret-looking-payload"#)
        .unwrap_err();
    assert!(matches!(err, WebhookError::InvalidJson { .. }));
    assert_eq!(err.status(), 400);
    assert!(!err.to_string().contains("secret-looking-payload"), "{err}");
    assert_eq!(g.parse(b"[1,2]"), Err(WebhookError::NotAnObject));
    assert_eq!(g.parse(b"\"str\"").unwrap_err().status(), 400);
    assert!(g.check(None, UPDATE).is_ok());
}

#[test]
fn free_functions_match_the_guard() {
    let secret = WebhookSecret::new(SECRET).unwrap();
    assert!(webhook::verify(&secret, Some(SECRET.as_bytes()), 10, 100).is_ok());
    assert_eq!(
        webhook::verify(&secret, Some(b"x"), 10, 100),
        Err(WebhookError::WrongSecret)
    );
    assert!(matches!(
        webhook::verify(&secret, Some(SECRET.as_bytes()), 101, 100),
        Err(WebhookError::BodyTooLarge { .. })
    ));
}

#[test]
fn secrets_follow_telegrams_rule_and_never_print() {
    assert_eq!(WebhookSecret::new(""), Err(InvalidSecret::Length(0)));
    assert_eq!(
        WebhookSecret::new("a".repeat(257)),
        Err(InvalidSecret::Length(257))
    );
    assert!(WebhookSecret::new("a".repeat(256)).is_ok());
    assert_eq!(
        WebhookSecret::new("has space"),
        Err(InvalidSecret::Character)
    );
    assert_eq!(WebhookSecret::new("ünïcode"), Err(InvalidSecret::Character));
    let secret = WebhookSecret::new(SECRET).unwrap();
    assert_eq!(secret.expose(), SECRET);
    assert!(!format!("{secret:?}").contains(SECRET));
    assert!(!format!("{:?}", guard()).contains(SECRET));
    let errors = [
        guard().verify(Some(b"wrong"), 1).unwrap_err(),
        guard().verify(None, 1).unwrap_err(),
    ];
    for e in errors {
        assert!(!e.to_string().contains(SECRET) && !format!("{e:?}").contains(SECRET));
    }
}
