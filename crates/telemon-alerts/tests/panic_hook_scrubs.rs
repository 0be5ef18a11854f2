//! The scrubbing panic hook prints what std's default hook would, with the secret filtered.
//! One test per file: the panic hook is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::{Arc, Mutex};

use telemon_alerts::capture::panic_hook::{Previous, ScrubbingPanicHook};
use telemon_alerts::scrub::Scrubber;

#[test]
fn the_report_is_scrubbed_and_the_previous_hook_is_chained_on_request() {
    let printed = Arc::new(Mutex::new(String::new()));
    let chained = Arc::new(Mutex::new(0usize));
    let seen = chained.clone();
    std::panic::set_hook(Box::new(move |_| *seen.lock().unwrap() += 1));
    let sink = printed.clone();
    ScrubbingPanicHook::new(Scrubber::default())
        .previous(Previous::Chain)
        .sink(move |report| sink.lock().unwrap().push_str(report))
        .install();
    let joined = std::thread::Builder::new()
        .name("worker-1".into())
        .spawn(|| {
            let url = "postgres://app:Sup3rS3cretPw@db:5432/app";
            panic!("cannot connect to {url} with api_key=ak_live_77ZZqq88");
        })
        .unwrap()
        .join();
    assert!(joined.is_err());
    let report = printed.lock().unwrap().clone();
    assert!(report.contains("thread 'worker-1' panicked at"), "{report}");
    assert!(report.contains("panic_hook_scrubs.rs"), "{report}");
    assert!(report.contains("cannot connect to postgres://"), "{report}");
    assert!(!report.contains("Sup3rS3cretPw"), "{report}");
    assert!(!report.contains("ak_live_77ZZqq88"), "{report}");
    assert_eq!(report.matches("[Filtered]").count(), 2, "{report}");
    assert_eq!(*chained.lock().unwrap(), 1, "the previous hook ran once");

    // Replace: the previous hook no longer runs.
    let _ = std::panic::take_hook();
    let seen = chained.clone();
    std::panic::set_hook(Box::new(move |_| *seen.lock().unwrap() += 100));
    ScrubbingPanicHook::new(Scrubber::default())
        .sink(|_| {})
        .install();
    let _ = std::thread::spawn(|| panic!("x")).join();
    let _ = std::panic::take_hook();
    assert_eq!(*chained.lock().unwrap(), 1, "replaced, not chained");
}
