//! Exact reads of what the code recorded through the `metrics` facade.
//!
//! The crates register their metric handles when an engine, a guard or a `Telemon` is built;
//! build them inside [`MetricsRecorder::scoped`] and every later update through those handles
//! lands in this recorder, whatever thread or task records it, with no global recorder and so
//! no interference between tests.
//!
//! ```
//! use sentinel_testkit::metrics::MetricsRecorder;
//!
//! let rec = MetricsRecorder::new();
//! let c = rec.scoped(|| metrics::counter!("demo_total", "kind" => "a"));
//! c.increment(2);
//! let snap = rec.snapshot();
//! assert_eq!(snap.counter("demo_total", &[("kind", "a")]), 2);
//! ```

use std::sync::Mutex;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// A local debugging recorder and its snapshotter.
#[derive(Debug)]
pub struct MetricsRecorder {
    recorder: DebuggingRecorder,
    snapshotter: Snapshotter,
    /// Everything read so far (the debugging recorder resets what it hands out).
    totals: Mutex<Vec<Entry>>,
}

impl Default for MetricsRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        Self {
            recorder,
            snapshotter,
            totals: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with this recorder as the thread's recorder (build the component under test
    /// here: the handles it registers record into this recorder from then on).
    pub fn scoped<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }

    /// Everything recorded so far: counters and gauges at their current values, histograms
    /// with every sample. Snapshots may be taken at any point of a scenario.
    pub fn snapshot(&self) -> MetricsSnapshot {
        // The debugging recorder swaps counters and gauges to zero and drains histograms as
        // it reads them; the deltas are added up here.
        let fresh: Vec<Entry> = self
            .snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let (_, key) = key.into_parts();
                let mut labels: Vec<(String, String)> = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                labels.sort();
                Entry {
                    name: key.name().to_owned(),
                    labels,
                    value,
                }
            })
            .collect();
        let mut totals = self.totals.lock().unwrap();
        for e in fresh {
            match totals
                .iter_mut()
                .find(|t| t.name == e.name && t.labels == e.labels)
            {
                Some(t) => t.value = merge(&t.value, e.value),
                None => totals.push(e),
            }
        }
        MetricsSnapshot {
            entries: totals
                .iter()
                .map(|e| Entry {
                    name: e.name.clone(),
                    labels: e.labels.clone(),
                    value: copy(&e.value),
                })
                .collect(),
        }
    }
}

/// `total` with the delta `fresh` added.
fn merge(total: &DebugValue, fresh: DebugValue) -> DebugValue {
    match (total, fresh) {
        (DebugValue::Counter(a), DebugValue::Counter(b)) => DebugValue::Counter(a + b),
        (DebugValue::Gauge(a), DebugValue::Gauge(b)) => DebugValue::Gauge(*a + b),
        (DebugValue::Histogram(a), DebugValue::Histogram(b)) => {
            DebugValue::Histogram(a.iter().copied().chain(b).collect())
        }
        (_, other) => other,
    }
}

fn copy(v: &DebugValue) -> DebugValue {
    match v {
        DebugValue::Counter(c) => DebugValue::Counter(*c),
        DebugValue::Gauge(g) => DebugValue::Gauge(*g),
        DebugValue::Histogram(h) => DebugValue::Histogram(h.clone()),
    }
}

/// One metric series: name, sorted labels, value.
#[derive(Debug)]
struct Entry {
    name: String,
    labels: Vec<(String, String)>,
    value: DebugValue,
}

/// A snapshot; the readers panic (failing the test) when the series was never registered.
#[derive(Debug)]
pub struct MetricsSnapshot {
    entries: Vec<Entry>,
}

impl MetricsSnapshot {
    fn find(&self, name: &str, labels: &[(&str, &str)]) -> &DebugValue {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort();
        self.entries
            .iter()
            .find(|e| e.name == name && e.labels == want)
            .map(|e| &e.value)
            .unwrap_or_else(|| panic!("no series {name} {labels:?}; have: {:#?}", self.series()))
    }

    /// The counter `name` with exactly these labels.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.find(name, labels) {
            DebugValue::Counter(v) => *v,
            other => panic!("{name} is not a counter: {other:?}"),
        }
    }

    /// The gauge `name` with exactly these labels.
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        match self.find(name, labels) {
            DebugValue::Gauge(v) => v.into_inner(),
            other => panic!("{name} is not a gauge: {other:?}"),
        }
    }

    /// The values recorded into the histogram `name` with exactly these labels.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.find(name, labels) {
            DebugValue::Histogram(v) => v.iter().map(|f| f.into_inner()).collect(),
            other => panic!("{name} is not a histogram: {other:?}"),
        }
    }

    /// Every series as `name{k=v,...}`, sorted.
    pub fn series(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .entries
            .iter()
            .map(|e| {
                let labels: Vec<String> =
                    e.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{}{{{}}}", e.name, labels.join(","))
            })
            .collect();
        v.sort();
        v
    }

    /// Every value any series has for label `key` (to prove label values stay bounded).
    pub fn label_values(&self, key: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .entries
            .iter()
            .flat_map(|e| e.labels.iter().filter(|(k, _)| k == key))
            .map(|(_, v)| v.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}
