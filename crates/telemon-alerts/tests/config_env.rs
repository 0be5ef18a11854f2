//! `TELEMON_*` configuration through figment, with errors that name the variable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::result_large_err,
    reason = "tests fail loudly; figment::Jail's error type is large"
)]

use std::time::Duration;

use figment::Jail;
use telemon_alerts::{Config, Destination, Level};

#[test]
fn full_configuration_from_env() {
    Jail::expect_with(|jail| {
        jail.set_env(
            "TELEMON_BOT_TOKEN",
            "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        );
        jail.set_env("TELEMON_CHAT_ID", "-1001234567890");
        jail.set_env("TELEMON_THREAD_ID", "5");
        jail.set_env("TELEMON_WARNING_THREAD_ID", "7");
        jail.set_env("TELEMON_SERVICE", "billing");
        jail.set_env("TELEMON_COOLDOWN_SECS", "120");
        jail.set_env("TELEMON_SLOW_REQUEST_MS", "1500");
        jail.set_env("TELEMON_REPORT_STATUSES", "500,502-504");
        jail.set_env("TELEMON_IGNORE_PATHS", "/health, /docs");
        jail.set_env("TELEMON_MAX_ALERTS_PER_MINUTE", "0");
        jail.set_env("TELEMON_DAILY_REPORT_UTC", "09:30");
        jail.set_env("TELEMON_REDIS_URL", "redis://:s3cret@cache:6379/0");
        let c = Config::from_env().expect("valid");
        assert_eq!(c.chat_id, Some(-1_001_234_567_890));
        assert_eq!(c.cooldown, Duration::from_secs(120));
        assert_eq!(c.slow_request, Some(Duration::from_millis(1500)));
        assert_eq!(c.report_statuses, Some(vec![500, 502, 503, 504]));
        assert_eq!(c.ignore_paths, vec!["/health", "/docs"]);
        assert_eq!(c.immediate_per_minute, None);
        assert!(c.daily_report.is_some());
        let routes = c.routes().unwrap();
        assert_eq!(
            routes.get(Level::Critical),
            Destination::chat(-1_001_234_567_890).thread(5)
        );
        assert_eq!(
            routes.get(Level::Warning),
            Destination::chat(-1_001_234_567_890).thread(7)
        );
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"), "{dbg}");
        assert!(!dbg.contains("s3cret"), "{dbg}");
        Ok(())
    });
}

fn error_for(vars: &[(&str, &str)]) -> String {
    let mut out = String::new();
    Jail::expect_with(|jail| {
        for (k, v) in vars {
            jail.set_env(k, v);
        }
        out = Config::from_env().expect_err("invalid").to_string();
        Ok(())
    });
    out
}

#[test]
fn errors_name_the_variable() {
    assert_eq!(
        error_for(&[("TELEMON_CHAT_ID", "abc")]),
        "TELEMON_CHAT_ID must be an integer (got \"abc\")"
    );
    assert!(error_for(&[]).starts_with("TELEMON_CHAT_ID must be set"));
    let e = error_for(&[("TELEMON_CHAT_ID", "1"), ("TELEMON_COOLDOWN_SECS", "soon")]);
    assert!(e.starts_with("TELEMON_COOLDOWN_SECS must be"), "{e}");
    let e = error_for(&[
        ("TELEMON_CHAT_ID", "1"),
        ("TELEMON_REPORT_STATUSES", "500-450"),
    ]);
    assert!(e.starts_with("TELEMON_REPORT_STATUSES"), "{e}");
    let e = error_for(&[
        ("TELEMON_CHAT_ID", "1"),
        ("TELEMON_DAILY_REPORT_UTC", "25:00"),
    ]);
    assert!(
        e.starts_with("TELEMON_DAILY_REPORT_UTC must be a UTC time"),
        "{e}"
    );
    let e = error_for(&[("TELEMON_CHAT_ID", "1"), ("TELEMON_ENABLED", "maybe")]);
    assert!(
        e.starts_with("TELEMON_ENABLED must be true or false"),
        "{e}"
    );
    let e = error_for(&[("TELEMON_CHAT_ID", "1"), ("TELEMON_QUEUE_CAPACITY", "0")]);
    assert!(e.starts_with("TELEMON_QUEUE_CAPACITY"), "{e}");
    // A malformed token is refused without echoing it.
    let e = error_for(&[
        ("TELEMON_CHAT_ID", "1"),
        ("TELEMON_BOT_TOKEN", "not-a-token-SECRETVALUE"),
    ]);
    assert!(e.starts_with("TELEMON_BOT_TOKEN"), "{e}");
    assert!(!e.contains("SECRETVALUE"), "{e}");
}

#[test]
fn disabled_needs_nothing() {
    Jail::expect_with(|jail| {
        jail.set_env("TELEMON_ENABLED", "false");
        let c = Config::from_env().expect("valid");
        assert!(!c.enabled);
        Ok(())
    });
}

#[test]
fn every_level_may_have_its_own_chat() {
    Jail::expect_with(|jail| {
        jail.set_env("TELEMON_CRITICAL_CHAT_ID", "-1");
        jail.set_env("TELEMON_WARNING_CHAT_ID", "-2");
        jail.set_env("TELEMON_INFO_CHAT_ID", "-3");
        let c = Config::from_env().expect("valid");
        let r = c.routes().unwrap();
        assert_eq!(r.get(Level::Warning), Destination::chat(-2));
        assert_eq!(r.get(Level::Info), Destination::chat(-3));
        Ok(())
    });
}
