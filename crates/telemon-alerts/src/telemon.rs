//! [`Telemon`]: the cheap-to-clone handle every capture point reports through, and its
//! [`TelemonBuilder`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sentinel_core::{Clock, ConfigError, CoordinationStore, Quota, SystemClock};
use sentinel_storage_memory::MemoryCoordinationStore;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::alert::Alert;
pub(crate) use crate::capture::settings::CaptureSettings;
pub use crate::capture::settings::StatusSet;
use crate::coordination::Coordinator;
use crate::daily::{DailyReport, DailyState};
use crate::dedup::Dedup;
use crate::deliver::{Deliverer, RetryPolicy};
use crate::filter::IgnoreRules;
use crate::format::{Origin, TELEGRAM_MAX_CHARS};
use crate::ids::{new_seed, splitmix};
use crate::keys::Keys;
use crate::metrics::{Counters, DropReason, Metrics, inc};
use crate::pipeline::{Item, Pipeline, Settings};
use crate::route::Routes;
use crate::scrub::{ScrubConfig, Scrubber};
use crate::transport::Transport;

struct Tasks {
    intake: JoinHandle<()>,
    delivery: JoinHandle<()>,
}

pub(crate) struct Inner {
    tx: Option<mpsc::Sender<Item>>,
    /// Tells the delivery task the shutdown deadline.
    stop: Option<watch::Sender<Option<tokio::time::Instant>>>,
    pub(crate) counters: Arc<Counters>,
    closed: AtomicBool,
    pub(crate) ignore: IgnoreRules,
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) capture: CaptureSettings,
    pub(crate) shared: Option<Arc<Coordinator>>,
    tasks: Mutex<Option<Tasks>>,
    id_seed: u64,
    id_counter: AtomicU64,
    /// Where each level goes (`None` when disabled), for [`Telemon::verify`].
    pub(crate) routes: Option<Routes>,
    /// The Bot API client when delivery goes through Telegram, for [`Telemon::verify`].
    pub(crate) bot_api: Option<sentinel_telegram::sender::BotApi>,
    shutdown_timeout: Duration,
}

/// The alerting handle: cheap to clone, `Send + Sync`, usable from any thread.
///
/// [`Telemon::report`] never blocks and never fails: it puts the alert on a bounded queue
/// (`try_send`); when the queue is full the alert is dropped and counted. A background worker
/// (spawned by [`TelemonBuilder::build`] on the current tokio runtime) scrubs, fingerprints,
/// deduplicates, routes and delivers.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use telemon_alerts::{Alert, Destination, Telemon, transport::MemoryTransport};
///
/// let sink = MemoryTransport::new();
/// let telemon = Telemon::builder()
///     .transport(sink.clone())
///     .destination(Destination::chat(-1001234567890))
///     .service("billing")
///     .build()?;
/// telemon.report(Alert::critical("payment provider down").message("password=hunter2 rejected"));
/// telemon.flush(Duration::from_secs(5)).await;
/// let sent = sink.sent();
/// assert_eq!(sent.len(), 1);
/// assert!(sent[0].text.contains("payment provider down"));
/// assert!(!sent[0].text.contains("hunter2"));
/// telemon.shutdown(Duration::from_secs(2)).await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Telemon {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Telemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemon")
            .field("enabled", &self.is_enabled())
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

/// Errors from [`TelemonBuilder::build`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No transport: call `transport(...)` (or configure a bot token).
    #[error("no transport configured: call TelemonBuilder::transport (or set TELEMON_BOT_TOKEN)")]
    MissingTransport,
    /// No destination chat.
    #[error("no destination configured: call TelemonBuilder::destination (or set TELEMON_CHAT_ID)")]
    MissingDestination,
    /// The Telegram transport could not be created.
    #[error("cannot create the Telegram transport: {0}")]
    Transport(String),
    /// `build` was called outside a tokio runtime.
    #[error("Telemon::build must be called inside a tokio runtime (it spawns the worker)")]
    NoRuntime,
    /// An invalid value.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `TELEMON_REDIS_URL` is set but this build has no Redis support.
    #[error(
        "TELEMON_REDIS_URL is set but Redis support is not compiled in: enable the `redis` feature of the `sentinel` crate (features = [\"alerts\", \"redis\"]) or of `telemon-alerts`, or unset TELEMON_REDIS_URL"
    )]
    RedisFeatureDisabled,
    /// The Redis store could not be created from `TELEMON_REDIS_URL` (the message never
    /// contains the password).
    #[error("cannot use TELEMON_REDIS_URL: {0}")]
    Redis(String),
}

/// Outcome of [`Telemon::shutdown`]. Counts alerts and alert messages only, never the
/// worker's internal flush or shutdown requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Whether the worker finished before the deadline with nothing abandoned: everything
    /// queued was delivered, folded into a delivered summary, or lost for its own reason
    /// (refused by Telegram, retries exhausted; see [`Metrics::dropped`]).
    pub completed: bool,
    /// Messages folded into a per-chat shutdown summary ("+N more alerts: …") because the
    /// chat's pacing left no room for them one by one before the deadline.
    pub summarised: u64,
    /// Lost at the deadline (counted as `shutdown` in [`Metrics::dropped`]): alerts the
    /// intake worker had not taken yet, plus messages (alerts, follow-ups, digests) neither
    /// delivered nor summarised.
    pub abandoned: u64,
}

/// Builds a [`Telemon`].
pub struct TelemonBuilder {
    transport: Option<Arc<dyn Transport>>,
    /// Bot token and API URL from the configuration (the token is never printed).
    bot: Option<(String, String)>,
    store: Option<Arc<dyn CoordinationStore>>,
    /// `TELEMON_REDIS_URL` (never printed): the store to build when none is given.
    redis_url: Option<String>,
    clock: Option<Arc<dyn Clock>>,
    routes: Option<Routes>,
    origin: Origin,
    cooldown: Duration,
    window: Duration,
    grace: Duration,
    budget: Option<(u32, Duration)>,
    flood_interval: Duration,
    /// Capacity of the intake queue and of the outgoing queue.
    queue_capacity: usize,
    tick: Duration,
    store_timeout: Duration,
    retry: RetryPolicy,
    key_prefix: String,
    scrub: ScrubConfig,
    ignore: IgnoreRules,
    capture: CaptureSettings,
    max_tracked: usize,
    max_chars: usize,
    daily: Option<DailyReport>,
    enabled: bool,
    /// The Bot API client of a [`TelegramTransport`](crate::transport::TelegramTransport)
    /// passed to [`TelemonBuilder::transport`], for [`Telemon::verify`].
    bot_api: Option<sentinel_telegram::sender::BotApi>,
    shutdown_timeout: Duration,
}

impl fmt::Debug for TelemonBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemonBuilder")
            .field("routes", &self.routes)
            .field("cooldown", &self.cooldown)
            .field("window", &self.window)
            .field("budget", &self.budget)
            .field("queue_capacity", &self.queue_capacity)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl Default for TelemonBuilder {
    fn default() -> Self {
        Self {
            transport: None,
            bot: None,
            store: None,
            redis_url: None,
            clock: None,
            routes: None,
            origin: Origin {
                instance: crate::format::host_name(),
                ..Origin::default()
            },
            cooldown: Duration::from_secs(600),
            window: Duration::from_secs(300),
            grace: Duration::from_secs(5),
            budget: Some((20, Duration::from_secs(60))),
            flood_interval: Duration::from_secs(60),
            queue_capacity: 1024,
            tick: Duration::from_secs(1),
            store_timeout: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            key_prefix: "telemon".to_owned(),
            scrub: ScrubConfig::default(),
            ignore: IgnoreRules::default(),
            capture: CaptureSettings::default(),
            max_tracked: 10_000,
            max_chars: TELEGRAM_MAX_CHARS,
            daily: None,
            enabled: true,
            bot_api: None,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

fn positive(name: &str, d: Duration) -> Result<(), ConfigError> {
    if d.is_zero() {
        return Err(ConfigError::Invalid(format!(
            "{name} must be greater than zero"
        )));
    }
    Ok(())
}

impl TelemonBuilder {
    /// Where messages go (Telegram, or [`MemoryTransport`](crate::transport::MemoryTransport)).
    #[must_use]
    pub fn transport<T: Transport>(mut self, transport: T) -> Self {
        // A Telegram transport keeps its client for `Telemon::verify`.
        self.bot_api = (&transport as &dyn std::any::Any)
            .downcast_ref::<crate::transport::TelegramTransport>()
            .map(|t| t.bot_api().clone());
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Sends through the Telegram Bot API with `token` (a [`TelegramTransport`]).
    ///
    /// [`TelegramTransport`]: crate::transport::TelegramTransport
    #[must_use]
    pub fn telegram(mut self, token: impl Into<String>) -> Self {
        self.bot = Some((
            token.into(),
            crate::transport::telegram::DEFAULT_API_URL.to_owned(),
        ));
        self
    }

    /// The shared coordination store for deduplication, digests, the budget, the daily report
    /// and run-once claims (default: the Redis at `TELEMON_REDIS_URL` when [`config`] set one,
    /// else a private [`MemoryCoordinationStore`]; use a Redis store so N workers send one
    /// alert). Takes precedence over `TELEMON_REDIS_URL`.
    ///
    /// [`config`]: TelemonBuilder::config
    #[must_use]
    pub fn store(mut self, store: Arc<dyn CoordinationStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock every timer reads (default: [`SystemClock`]).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Every level to one chat/topic.
    #[must_use]
    pub fn destination(mut self, to: crate::transport::Destination) -> Self {
        self.routes = Some(Routes::new(to));
        self
    }

    /// Destinations per level.
    #[must_use]
    pub fn routes(mut self, routes: Routes) -> Self {
        self.routes = Some(routes);
        self
    }

    /// Service name shown in every message.
    #[must_use]
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.origin.service = name.into();
        self
    }

    /// Environment shown in every message (`production`).
    #[must_use]
    pub fn environment(mut self, env: impl Into<String>) -> Self {
        self.origin.environment = env.into();
        self
    }

    /// Instance shown in every message (default: the host name; `TELEMON_INSTANCE`).
    #[must_use]
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.origin.instance = instance.into();
        self
    }

    /// Release shown in every message, usually `env!("CARGO_PKG_VERSION")` of the service or
    /// a commit (default: none; `TELEMON_RELEASE` overrides it).
    ///
    /// ```
    /// let builder = telemon_alerts::Telemon::builder().release(env!("CARGO_PKG_VERSION"));
    /// # let _ = builder;
    /// ```
    #[must_use]
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.origin.release = release.into();
        self
    }

    /// The deadline [`Telemon::shutdown_timeout`] suggests (default 5 s;
    /// `TELEMON_SHUTDOWN_TIMEOUT_SECS`).
    #[must_use]
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = d;
        self
    }

    /// Repeats of one incident within this time are counted, not sent (default 10 min).
    #[must_use]
    pub fn cooldown(mut self, d: Duration) -> Self {
        self.cooldown = d;
        self
    }

    /// Warning digest window (default 5 min) and the grace period workers get to publish their
    /// part before one of them sends the merged digest (default 5 s).
    #[must_use]
    pub fn digest_window(mut self, window: Duration, grace: Duration) -> Self {
        self.window = window;
        self.grace = grace;
        self
    }

    /// At most `limit` immediate messages per `per` across workers; the rest are folded into a
    /// flood digest sent every `flood_interval` (default 20 per minute, Telegram's group limit).
    /// `None` disables the budget.
    #[must_use]
    pub fn immediate_budget(mut self, budget: Option<(u32, Duration)>) -> Self {
        self.budget = budget;
        self
    }

    /// How often folded alerts are sent as a flood digest (default 60 s).
    #[must_use]
    pub fn flood_interval(mut self, d: Duration) -> Self {
        self.flood_interval = d;
        self
    }

    /// Capacity of the intake queue (`report`) and of the outgoing queue (default 1024 each).
    #[must_use]
    pub fn queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n;
        self
    }

    /// How often the worker checks its timers (default 1 s).
    #[must_use]
    pub fn tick(mut self, d: Duration) -> Self {
        self.tick = d;
        self
    }

    /// Longest wait for one coordination store call (500 ms): past it, dedup and the budget
    /// answer from this process's memory, and digests and claims give up (counted in
    /// `store_errors`). The one timeout every store call goes through.
    #[must_use]
    pub fn store_timeout(mut self, d: Duration) -> Self {
        self.store_timeout = d;
        self
    }

    /// Retry policy of delivery.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Prefix of every store key (default `telemon`). Services sharing a Redis should differ.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// What is scrubbed.
    #[must_use]
    pub fn scrub(mut self, config: ScrubConfig) -> Self {
        self.scrub = config;
        self
    }

    /// What is never reported.
    #[must_use]
    pub fn ignore(mut self, rules: IgnoreRules) -> Self {
        self.ignore = rules;
        self
    }

    /// Response statuses the HTTP layer reports (default: every 5xx).
    #[must_use]
    pub fn report_statuses(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.capture.statuses = statuses.into_iter().collect();
        self
    }

    /// Requests slower than this become Warning alerts (default: off).
    #[must_use]
    pub fn slow_request_threshold(mut self, d: Option<Duration>) -> Self {
        self.capture.slow = d;
        self
    }

    /// Include (scrubbed) request headers in HTTP alerts. Off by default: copying the headers
    /// costs a little on every request.
    #[must_use]
    pub fn capture_headers(mut self, on: bool) -> Self {
        self.capture.headers = on;
        self
    }

    /// Most fingerprints tracked for follow-ups per worker (default 10 000).
    #[must_use]
    pub fn max_tracked(mut self, n: usize) -> Self {
        self.max_tracked = n;
        self
    }

    /// Longest message in characters (default and maximum 4096).
    #[must_use]
    pub fn max_message_chars(mut self, n: usize) -> Self {
        self.max_chars = n.clamp(200, TELEGRAM_MAX_CHARS);
        self
    }

    /// Sends a daily report.
    #[must_use]
    pub fn daily_report(mut self, report: DailyReport) -> Self {
        self.daily = Some(report);
        self
    }

    /// `false` builds a handle that accepts and discards everything (no worker).
    #[must_use]
    pub fn enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// Applies a [`Config`](crate::Config) (from `TELEMON_*` variables). With
    /// `TELEMON_REDIS_URL` set, [`build`](TelemonBuilder::build) connects the coordination
    /// store to that Redis (feature `redis`; without it `build` fails with
    /// [`BuildError::RedisFeatureDisabled`]) unless [`store`](TelemonBuilder::store) gave one.
    #[must_use]
    pub fn config(mut self, c: &crate::config::Config) -> Self {
        self.enabled = c.enabled;
        self.redis_url = c.redis_url.clone();
        if let Some(token) = c.bot_token.clone() {
            let url = c
                .api_url
                .clone()
                .unwrap_or_else(|| crate::transport::telegram::DEFAULT_API_URL.to_owned());
            self.bot = Some((token, url));
        }
        if let Some(r) = c.routes() {
            self.routes = Some(r);
        }
        for (field, value) in [
            (&mut self.origin.service, &c.service),
            (&mut self.origin.environment, &c.environment),
            (&mut self.origin.instance, &c.instance),
            (&mut self.origin.release, &c.release),
        ] {
            if let Some(v) = value {
                field.clone_from(v);
            }
        }
        self.shutdown_timeout = c.shutdown_timeout;
        self.cooldown = c.cooldown;
        self.window = c.digest_window;
        self.budget = c.immediate_per_minute.map(|n| (n, Duration::from_secs(60)));
        self.queue_capacity = c.queue_capacity;
        self.capture.slow = c.slow_request;
        if let Some(s) = c.report_statuses.as_ref() {
            self.capture.statuses = s.iter().copied().collect();
        }
        self.capture.headers = c.capture_headers;
        let mut ignore = self.ignore.clone();
        for p in &c.ignore_paths {
            ignore = ignore.path(p);
        }
        for s in &c.ignore_statuses {
            ignore = ignore.status(*s);
        }
        for t in &c.ignore_error_types {
            ignore = ignore.error_type(t.clone());
        }
        self.ignore = ignore;
        if let Some(d) = c.daily_report.clone() {
            self.daily = Some(d);
        }
        if let Some(p) = c.key_prefix.clone() {
            self.key_prefix = p;
        }
        self.scrub.max_string_len = c.max_string_len;
        self.scrub.max_backtrace_lines = c.max_backtrace_lines;
        self.scrub.send_pii = c.send_pii;
        self
    }

    /// Validates and spawns the worker on the current tokio runtime.
    ///
    /// # Errors
    /// [`BuildError`] when the transport or destination is missing, a value is invalid, or
    /// there is no tokio runtime.
    pub fn build(self) -> Result<Telemon, BuildError> {
        let seed = new_seed();
        if !self.enabled {
            return Ok(Telemon {
                inner: Arc::new(Inner::disabled(self.ignore, self.capture, seed)),
            });
        }
        let counters = Arc::new(Counters::default());
        let mut bot_api = self.bot_api;
        let transport: Arc<dyn Transport> = match (self.transport, self.bot) {
            (Some(t), _) => t,
            (None, Some((token, url))) => {
                let t = crate::transport::TelegramTransport::with_api_url(token, &url)
                    .map_err(|e| BuildError::Transport(e.to_string()))?;
                bot_api = Some(t.bot_api().clone());
                Arc::new(t)
            }
            (None, None) => return Err(BuildError::MissingTransport),
        };
        let routes = self.routes.ok_or(BuildError::MissingDestination)?;
        if let Some(level) = crate::alert::Level::ALL
            .into_iter()
            .find(|l| routes.get(*l).chat_id == 0)
        {
            return Err(ConfigError::Invalid(format!(
                "the {level} destination has chat id 0: no chat has it; pass the chat's id \
                 (a group or channel id looks like -1001234567890) to Destination::chat"
            ))
            .into());
        }
        positive("cooldown", self.cooldown)?;
        positive("digest window", self.window)?;
        positive("tick", self.tick)?;
        positive("store timeout", self.store_timeout)?;
        positive("flood interval", self.flood_interval)?;
        if self.queue_capacity == 0 {
            return Err(ConfigError::Invalid("queue capacity must be at least 1".into()).into());
        }
        sentinel_core::KeyBuilder::new(self.key_prefix.clone())?;
        let budget = match self.budget {
            Some((n, per)) => Some(Quota::new(n, per)?),
            None => None,
        };
        let handle = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let store: Arc<dyn CoordinationStore> = match (self.store, self.redis_url) {
            (Some(s), _) => s,
            (None, Some(url)) => redis_store(&url)?,
            (None, None) => Arc::new(MemoryCoordinationStore::new(clock.clone())),
        };
        let shared = Arc::new(Coordinator::new(
            store,
            clock,
            Keys::new(self.key_prefix.clone()),
            self.store_timeout,
            counters.clone(),
        ));
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let (otx, orx) = mpsc::channel(self.queue_capacity);
        let worker_id = format!("{:012x}", splitmix(seed ^ 0x5eed) & 0xffff_ffff_ffff);
        let pipeline = Pipeline::new(
            Scrubber::new(self.scrub),
            self.ignore.clone(),
            Dedup {
                shared: shared.clone(),
                cooldown: self.cooldown,
            },
            routes,
            self.origin,
            counters.clone(),
            otx,
            Settings {
                max_chars: self.max_chars,
                budget,
                max_tracked: self.max_tracked,
                flood_interval: self.flood_interval,
                window: self.window,
                grace: self.grace,
                digest_rows: 30,
                flood_rows: 25,
            },
            worker_id,
            self.daily.map(DailyState::new),
        );
        let (stop, stop_rx) = watch::channel(None);
        let deliverer = Deliverer::new(transport, counters.clone(), self.retry, stop_rx);
        let intake = handle.spawn(pipeline.run(rx, self.tick));
        let delivery = handle.spawn(deliverer.run(orx));
        Ok(Telemon {
            inner: Arc::new(Inner {
                tx: Some(tx),
                stop: Some(stop),
                counters,
                closed: AtomicBool::new(false),
                ignore: self.ignore,
                capture: self.capture,
                shared: Some(shared),
                tasks: Mutex::new(Some(Tasks { intake, delivery })),
                id_seed: seed,
                id_counter: AtomicU64::new(0),
                routes: Some(routes),
                bot_api,
                shutdown_timeout: self.shutdown_timeout,
            }),
        })
    }
}

/// The Redis coordination store at `url` (`TELEMON_REDIS_URL`).
#[cfg(feature = "redis")]
fn redis_store(url: &str) -> Result<Arc<dyn CoordinationStore>, BuildError> {
    sentinel_storage_redis::RedisStore::from_url(url)
        .map(|s| Arc::new(s) as Arc<dyn CoordinationStore>)
        .map_err(|e| BuildError::Redis(e.to_string()))
}

/// Without the `redis` feature a Redis URL cannot be honoured: say which feature to enable.
#[cfg(not(feature = "redis"))]
fn redis_store(_url: &str) -> Result<Arc<dyn CoordinationStore>, BuildError> {
    Err(BuildError::RedisFeatureDisabled)
}

impl Inner {
    /// A handle's state without a worker: accepts and discards everything.
    fn disabled(ignore: IgnoreRules, capture: CaptureSettings, seed: u64) -> Self {
        Self {
            tx: None,
            stop: None,
            counters: Arc::new(Counters::default()),
            closed: AtomicBool::new(true),
            ignore,
            capture,
            shared: None,
            tasks: Mutex::new(None),
            id_seed: seed,
            id_counter: AtomicU64::new(0),
            routes: None,
            bot_api: None,
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// Sends the worker `request` and waits, at most `deadline`, for its answer: `true` if it came.
async fn ask(
    tx: &mpsc::Sender<Item>,
    request: fn(oneshot::Sender<()>) -> Item,
    deadline: Duration,
) -> bool {
    let (done_tx, done_rx) = oneshot::channel();
    let work = async {
        if tx.send(request(done_tx)).await.is_err() {
            return false;
        }
        done_rx.await.is_ok()
    };
    tokio::time::timeout(deadline, work).await.unwrap_or(false)
}

impl Telemon {
    /// A builder with the defaults.
    pub fn builder() -> TelemonBuilder {
        TelemonBuilder::default()
    }

    /// A handle that discards everything (for tests and disabled environments).
    pub fn disabled() -> Self {
        Self {
            inner: Arc::new(Inner::disabled(
                IgnoreRules::default(),
                CaptureSettings::default(),
                new_seed(),
            )),
        }
    }

    /// Whether alerts are processed (false for [`Telemon::disabled`] and after shutdown).
    pub fn is_enabled(&self) -> bool {
        self.inner.tx.is_some() && !self.inner.closed.load(Ordering::Acquire)
    }

    /// Queues `alert`. Never blocks, never fails: a full queue drops the alert and counts it
    /// ([`Metrics::dropped`]). Ignored paths and statuses are dropped here, before queueing.
    pub fn report(&self, alert: Alert) {
        let Some(tx) = self.inner.tx.as_ref() else {
            return;
        };
        let c = &self.inner.counters;
        if self.inner.closed.load(Ordering::Acquire) {
            c.lose(DropReason::Shutdown);
            return;
        }
        if !self.inner.ignore.is_empty()
            && let Some(h) = alert.http.as_ref()
            && (self.inner.ignore.ignores_path(&h.route)
                || h.status
                    .is_some_and(|s| self.inner.ignore.ignores_status(s)))
        {
            inc(&c.ignored);
            return;
        }
        match tx.try_send(Item::Alert(Box::new(alert))) {
            Ok(()) => inc(&c.reported),
            Err(mpsc::error::TrySendError::Full(_)) => c.lose(DropReason::QueueFull),
            Err(mpsc::error::TrySendError::Closed(_)) => c.lose(DropReason::Shutdown),
        }
    }

    /// Waits until everything reported before this call has been processed and delivered (or
    /// given up), and every due timer has run; at most `deadline`. `true` if it finished.
    pub async fn flush(&self, deadline: Duration) -> bool {
        let Some(tx) = self.inner.tx.as_ref() else {
            return true;
        };
        ask(tx, Item::Flush, deadline).await
    }

    /// Stops accepting alerts, processes what is queued and delivers it within `deadline`, then
    /// stops the worker. Later reports are dropped (counted as `shutdown`). Idempotent.
    ///
    /// Delivery at shutdown goes **Critical first**, then Warning, then Info, per chat within
    /// its pacing (a Telegram group takes one message every 3 s: a 5 s deadline fits 2
    /// messages per group, a private chat 5); what does not fit is folded into one summary
    /// message per chat ("+N more alerts: …", Criticals listed first), so a Critical is never
    /// lost while a digest or an Info message is sent.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let done = ShutdownReport {
            completed: true,
            summarised: 0,
            abandoned: 0,
        };
        let Some(tx) = self.inner.tx.as_ref() else {
            return done;
        };
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return done;
        }
        let c = &self.inner.counters;
        let summarised_before = c.summarised.load(Ordering::Relaxed);
        if let Some(stop) = self.inner.stop.as_ref() {
            let now = tokio::time::Instant::now();
            let until = now
                .checked_add(deadline)
                .unwrap_or(now + Duration::from_secs(86_400));
            stop.send_replace(Some(until));
        }
        let completed = ask(tx, Item::Shutdown, deadline).await;
        let tasks = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(t) = tasks {
            t.intake.abort();
            t.delivery.abort();
        }
        // Aborted tasks stop at an await point, where the counters are consistent.
        let abandoned = c.unprocessed() + c.outstanding();
        c.drop_n(DropReason::Shutdown, abandoned);
        ShutdownReport {
            completed: completed && abandoned == 0,
            summarised: c.summarised.load(Ordering::Relaxed) - summarised_before,
            abandoned,
        }
    }

    /// The shutdown deadline configured with [`TelemonBuilder::shutdown_timeout`] or
    /// `TELEMON_SHUTDOWN_TIMEOUT_SECS` (default 5 s), for `telemon.shutdown(telemon.shutdown_timeout())`.
    pub fn shutdown_timeout(&self) -> Duration {
        self.inner.shutdown_timeout
    }

    /// A snapshot of the self-metrics.
    pub fn metrics(&self) -> Metrics {
        self.inner.counters.snapshot()
    }

    /// A fresh occurrence id (16 hex digits), as returned to HTTP clients.
    pub fn new_occurrence_id(&self) -> String {
        let n = self.inner.id_counter.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}", splitmix(self.inner.id_seed ^ splitmix(n)))
    }

    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn capture(&self) -> &CaptureSettings {
        &self.inner.capture
    }
}
