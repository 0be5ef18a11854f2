//! `Config`'s `Debug` never shows a credential of `TELEMON_API_URL` or `TELEMON_REDIS_URL`,
//! whatever the password's characters.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use figment::Figment;
use proptest::prelude::*;
use sentinel_testkit::secrets::{
    REDIS_URL_SHAPES, assert_hidden, fits_raw, password, percent_encoded,
};
use telemon_alerts::Config;

/// HTTP shapes a credential can sit in for `TELEMON_API_URL` (a Bot API proxy).
const API_URL_SHAPES: &[&str] = &[
    "https://user:{}@proxy.example/",
    "http://{}@127.0.0.1:8081",
    "https://proxy.example/bot?access_token={}",
];

fn config(api_url: &str, redis_url: &str) -> Config {
    Config::from_figment(
        Figment::new()
            .merge(("enabled", false))
            .merge(("api_url", api_url))
            .merge(("redis_url", redis_url)),
    )
    .unwrap()
}

#[test]
fn the_issue_example_is_redacted() {
    let c = config(
        "https://bob:S3cret/Pw4@proxy.example/",
        "redis://:S3cret/Pw4@cache:6379/0",
    );
    let shown = format!("{c:?}");
    assert_hidden("S3cret/Pw4", &shown);
    assert!(shown.contains("https://bob:***@proxy.example/"), "{shown}");
    assert!(shown.contains("redis://:***@cache:6379/0"), "{shown}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn debug_never_shows_a_password(
        pw in password(),
        api in prop::sample::select(API_URL_SHAPES),
        redis in prop::sample::select(REDIS_URL_SHAPES),
    ) {
        let mut written = vec![percent_encoded(&pw)];
        if fits_raw(api, &pw) && fits_raw(redis, &pw) {
            written.push(pw.clone());
        }
        for w in written {
            let c = config(&api.replace("{}", &w), &redis.replace("{}", &w));
            assert_hidden(&pw, &format!("{c:?}"));
        }
    }
}
