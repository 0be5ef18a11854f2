//! Health checks (alerts on state change only), the daily report (once across workers),
//! the run-once guard and background-task capture.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sentinel_core::{CoordinationStore, ManualClock, Timestamp};
use sentinel_storage_memory::MemoryCoordinationStore;
use telemon_alerts::capture::task::TaskFailure;
use telemon_alerts::health::{HealthCheck, HealthMonitor, StoreCheck, Transition};
use telemon_alerts::transport::MemoryTransport;
use telemon_alerts::{DailyReport, DailySource, Destination, Telemon};

#[derive(Clone)]
struct Switch(Arc<AtomicBool>);

#[async_trait]
impl HealthCheck for Switch {
    fn name(&self) -> &str {
        "postgres"
    }
    async fn check(&self) -> Result<(), String> {
        if self.0.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err("connect to postgres://app:pw-SECRET@db failed".into())
        }
    }
}

fn telemon(
    sink: &MemoryTransport,
    store: Arc<dyn CoordinationStore>,
    clock: &ManualClock,
) -> Telemon {
    Telemon::builder()
        .transport(sink.clone())
        .destination(Destination::chat(9))
        .store(store)
        .clock(clock.clone())
        .cooldown(Duration::from_secs(60))
        .tick(Duration::from_secs(3600))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn health_alerts_only_on_transitions() {
    let sink = MemoryTransport::new();
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let t = telemon(
        &sink,
        Arc::new(MemoryCoordinationStore::new(clock.clone())),
        &clock,
    );
    let up = Arc::new(AtomicBool::new(true));
    let mut monitor = HealthMonitor::new(t.clone()).check(Switch(up.clone()));
    assert!(
        monitor.run_once().await.is_empty(),
        "healthy at start: silent"
    );
    up.store(false, Ordering::SeqCst);
    assert_eq!(
        monitor.run_once().await,
        vec![Transition::Down {
            name: "postgres".into()
        }]
    );
    for _ in 0..5 {
        assert!(monitor.run_once().await.is_empty(), "still down: silent");
    }
    tokio::time::sleep(Duration::from_secs(90)).await;
    up.store(true, Ordering::SeqCst);
    let tr = monitor.run_once().await;
    assert_eq!(
        tr,
        vec![Transition::Recovered {
            name: "postgres".into(),
            after: Duration::from_secs(90)
        }]
    );
    assert!(monitor.run_once().await.is_empty());
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].plain_fallback.contains("postgres is down"));
    assert!(!sent[0].plain_fallback.contains("pw-SECRET"));
    assert!(sent[1].plain_fallback.contains("postgres recovered"));
    assert!(sent[1].plain_fallback.contains("down for 1m 30s"));
    assert!(sent[1].disable_notification, "recovery is Info: silent");
}

#[tokio::test(start_paused = true)]
async fn store_check_passes_on_a_working_store() {
    let store: Arc<dyn CoordinationStore> =
        Arc::new(MemoryCoordinationStore::new(ManualClock::default()));
    assert_eq!(StoreCheck::new("memory", store).check().await, Ok(()));
}

struct Extra;
#[async_trait]
impl DailySource for Extra {
    async fn lines(&self) -> Vec<(String, String)> {
        vec![
            ("new users".into(), "17".into()),
            ("db_password".into(), "should-not-show".into()),
        ]
    }
}

#[tokio::test]
async fn daily_report_goes_out_once_across_workers_at_its_time() {
    let day = 19_723u64; // 2024-01-01
    let clock = ManualClock::new(Timestamp::from_secs(day * 86_400 + 8 * 3600));
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryCoordinationStore::new(clock.clone()));
    let sink = MemoryTransport::new();
    let mk = || {
        Telemon::builder()
            .transport(sink.clone())
            .destination(Destination::chat(9))
            .store(store.clone())
            .clock(clock.clone())
            .tick(Duration::from_secs(3600))
            .daily_report(DailyReport::at_utc(9, 0).unwrap().source(Extra))
            .build()
            .unwrap()
    };
    let (a, b) = (mk(), mk());
    a.flush(Duration::from_secs(5)).await;
    assert!(sink.sent().is_empty(), "08:00: not yet");
    clock.advance(Duration::from_secs(3600 + 60)); // 09:01
    for w in [&a, &b, &a, &b] {
        assert!(w.flush(Duration::from_secs(5)).await);
    }
    let reports: Vec<_> = sink
        .sent()
        .into_iter()
        .filter(|m| m.kind == "daily")
        .collect();
    assert_eq!(reports.len(), 1, "one report across two workers");
    let text = &reports[0].plain_fallback;
    assert!(text.contains("UTC day 2023-12-31"), "{text}");
    assert!(text.contains("new users: 17"), "{text}");
    assert!(text.contains("db_password: [Filtered]"), "{text}");
    assert!(reports[0].disable_notification);
    // Next day, same time: one more.
    clock.advance(Duration::from_secs(86_400));
    for w in [&a, &b] {
        assert!(w.flush(Duration::from_secs(5)).await);
    }
    assert_eq!(sink.sent().iter().filter(|m| m.kind == "daily").count(), 2);
}

#[tokio::test]
async fn deduplicated_runs_once_per_ttl_across_workers() {
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryCoordinationStore::new(clock.clone()));
    let sink = MemoryTransport::new();
    let a = telemon(&sink, store.clone(), &clock);
    let b = telemon(&sink, store, &clock);
    let ttl = Duration::from_secs(60);
    assert!(a.deduplicated("startup", ttl).await.unwrap());
    assert!(!b.deduplicated("startup", ttl).await.unwrap());
    assert!(!a.deduplicated("startup", ttl).await.unwrap());
    assert!(b.deduplicated("other key", ttl).await.unwrap());
    assert_eq!(b.run_deduplicated("startup", ttl, async { 1 }).await, None);
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        b.run_deduplicated("startup", ttl, async { 2 }).await,
        Some(2)
    );
    assert!(Telemon::disabled().deduplicated("x", ttl).await.unwrap());
}

#[tokio::test]
async fn background_task_errors_and_panics_are_reported() {
    let sink = MemoryTransport::new();
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let t = telemon(
        &sink,
        Arc::new(MemoryCoordinationStore::new(clock.clone())),
        &clock,
    );
    let r: Result<u8, TaskFailure> = t
        .watch("export", async { Err(std::io::Error::other("disk full")) })
        .await;
    assert!(matches!(r, Err(TaskFailure::Failed(_))));
    let h = t.spawn_monitored("sync", async {
        if true {
            panic!("sync exploded: token=abc-SECRET-def");
        }
        Ok::<(), std::io::Error>(())
    });
    assert!(matches!(h.await.unwrap(), Err(TaskFailure::Panicked(_))));
    assert_eq!(t.watch_panics("ok", async { 5 }).await, Some(5));
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .any(|m| m.plain_fallback.contains("task export failed")
                && m.plain_fallback.contains("disk full"))
    );
    let p = sent
        .iter()
        .find(|m| m.plain_fallback.contains("task sync panicked"))
        .unwrap();
    assert!(!p.plain_fallback.contains("abc-SECRET-def"));
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_ping_check_reports_down_then_recovered() {
    use sentinel_storage_redis::RedisConfig;
    use sentinel_testkit::redis_server::RedisServer;
    use telemon_alerts::health::RedisCheck;

    let server = RedisServer::spawn();
    let redis = RedisConfig::new(server.url())
        .command_timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let sink = MemoryTransport::new();
    let clock = ManualClock::new(Timestamp::from_secs(1_700_000_000));
    let t = telemon(
        &sink,
        Arc::new(MemoryCoordinationStore::new(clock.clone())),
        &clock,
    );
    let mut monitor = HealthMonitor::new(t.clone())
        .timeout(Duration::from_secs(2))
        .check(RedisCheck::new(redis));
    assert!(monitor.run_once().await.is_empty());
    server.stop();
    assert_eq!(
        monitor.run_once().await,
        vec![Transition::Down {
            name: "redis".into()
        }]
    );
    assert!(monitor.run_once().await.is_empty());
    server.restart();
    let tr = monitor.run_once().await;
    assert!(
        matches!(tr.as_slice(), [Transition::Recovered { name, .. }] if name == "redis"),
        "{tr:?}"
    );
    assert!(t.flush(Duration::from_secs(10)).await);
    let sent = sink.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].plain_fallback.contains("redis is down"));
    assert!(sent[1].plain_fallback.contains("redis recovered"));
}
