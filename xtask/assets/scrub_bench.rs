//! Scrubbing cost of one alert, built by `cargo xtask bench alerts` twice — against the current
//! tree and against a baseline commit — and run in turns, so the two figures come from one run.
//! Uses only `Scrubber` API that both versions have.
//!
//! `scrub_bench PASSES`: each iteration scrubs the input, then scrubs the result `PASSES - 1`
//! more times (the current pipeline scans the rendered message once more at the transport
//! boundary, so it is measured with 2 passes against the baseline's 1).

use std::hint::black_box;
use std::time::Instant;

use telemon_alerts::scrub::{ScrubConfig, Scrubber};

/// A realistic 2 KiB alert text: an error chain, a request line, a JSON body, headers and a
/// few tracing fields — one secret in it, the rest ordinary.
fn realistic() -> String {
    let mut s = String::new();
    s.push_str("request failed: POST /api/v1/orders/8812/checkout returned 502 Bad Gateway\n");
    s.push_str("caused by: upstream payments-svc.internal:8443 reset the connection after 2.31s\n");
    s.push_str("caused by: error sending request for url (https://payments-svc.internal:8443/v2/charge?order=8812&currency=EUR)\n");
    s.push_str(r#"body: {"order_id":8812,"customer":{"id":"c_1931","email":"j.doe@example.com","country":"FR"},"items":[{"sku":"BK-1","qty":2,"price":1299},{"sku":"BK-7","qty":1,"price":4599}],"total":7197,"currency":"EUR","password":"hunter2-Example"}"#);
    s.push('\n');
    s.push_str("headers: content-type: application/json; accept: */*; user-agent: reqwest/0.12; x-request-id: 6f1c0a8e-3d4b-4b1e-9c2a-7e5f8d9a0b1c\n");
    s.push_str("span: checkout{order=8812 user=1931} > charge_card{attempt=3 provider=\"acme\"}\n");
    s.push_str("fields: retry_in=1500ms pool_size=16 idle=3 region=eu-west-1 build=3f786850e387550fdab836ed7e6dc881de23001b\n");
    s.push_str("Config { host: \"payments-svc.internal\", port: 8443, timeout: 30s, retries: 3, tls: true }\n");
    while s.len() < 2048 {
        s.push_str("at app::checkout::charge (src/checkout.rs:214:17) in task 0x7f3a2c; queue depth 12\n");
    }
    s.truncate(2048);
    s
}

/// A 64 KiB worst case: dense keys, quotes, escapes, brackets and percent escapes.
fn worst() -> String {
    let chunk = concat!(
        r#"k1="a\"b" token: Some("x") ("api_key", "v") Password("p") %70assword%3Dq "#,
        r#"{"a":"{\"b\":\"c\"}"} [[[[ (((( key=val&sig=z Cookie: a=1; b=2 AUTH u p "#,
        "-----BEGIN PRIVATE KEY----- eyJhbGciOi.eyJzdWIi.sig 4111 1111 1111 1111 ",
    );
    let mut s = String::new();
    while s.len() < 64 * 1024 {
        s.push_str(chunk);
    }
    s.truncate(64 * 1024);
    s
}

fn measure(scrubber: &Scrubber, input: &str, passes: usize) -> f64 {
    let run = |n: u32| {
        let start = Instant::now();
        for _ in 0..n {
            let mut out = scrubber.scrub_text(black_box(input));
            for _ in 1..passes {
                out = scrubber.scrub_text(&out);
            }
            black_box(out);
        }
        start.elapsed().as_nanos() as f64 / f64::from(n)
    };
    // Calibrate to about 50 ms per sample, then take the median of 9 samples.
    let once = run(1).max(1.0);
    let n = ((50_000_000.0 / once) as u32).clamp(1, 1_000_000);
    run(n);
    let mut samples: Vec<f64> = (0..9).map(|_| run(n)).collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let passes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let small = Scrubber::default();
    let large = Scrubber::new(ScrubConfig {
        max_string_len: 64 * 1024,
        ..ScrubConfig::default()
    });
    println!("alert_2k {:.0}", measure(&small, &realistic(), passes));
    println!("worst_64k {:.0}", measure(&large, &worst(), passes));
}
