//! Prometheus metrics, served at `/metrics` (see [`access`]).
//!
//! Each server has its own recorder (no global one), so several servers in one process keep
//! their own counts. What hot paths touch is a handle made once at start: incrementing a
//! counter or recording into a histogram is an atomic operation, never a lock. What the store
//! knows (the queue, the runners, the connections) and what `/proc` says about the process
//! are read at each scrape instead ([`scrape`], [`process`]). HTTP latency is recorded by
//! [`http::record`] under the route's template, never its path, so ids do not become labels.

pub mod access;
mod error;
pub mod http;
pub mod names;
pub mod process;
pub mod scrape;

use std::sync::Mutex;
use std::time::Duration;

use circa_model::JobStatus;
use circa_store::Job;
use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::PrometheusRecorder;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

pub use access::MetricsToken;
pub use error::MetricsError;

/// What registrations are made with (the Prometheus recorder does not read it).
static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// How often histograms' recent samples are folded in when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// A server's metrics: the recorder, and the handles hot paths increment.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    jobs_started: Counter,
    /// One counter per final job status.
    jobs_finished: Vec<(JobStatus, Counter)>,
    trigger_to_start: Histogram,
    /// The resource classes scrapes have reported, so a class whose queue empties reads 0.
    classes: Mutex<scrape::Reported>,
}

impl Metrics {
    /// A recorder with every metric described, and the counters of jobs made.
    pub fn new() -> Result<Metrics, BuildError> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(names::HTTP_DURATION.into()),
                &names::HTTP_BUCKETS,
            )?
            .set_buckets_for_metric(
                Matcher::Full(names::TRIGGER_TO_START.into()),
                &names::TRIGGER_BUCKETS,
            )?
            .build_recorder();
        // The recorder keeps one help text per name, whatever the metric's kind.
        for (name, help) in names::DESCRIBED {
            recorder.describe_gauge(name.into(), None, help.into());
        }
        let handle = recorder.handle();
        let counter = |name: &'static str, labels: Vec<Label>| {
            recorder.register_counter(&Key::from_parts(name, labels), &METADATA)
        };
        let jobs_started = counter(names::JOBS_STARTED, Vec::new());
        let jobs_finished = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .map(|s| {
                let label = Label::new("status", s.as_str());
                (s, counter(names::JOBS_FINISHED, vec![label]))
            })
            .collect();
        let trigger_to_start =
            recorder.register_histogram(&Key::from_name(names::TRIGGER_TO_START), &METADATA);
        let version = Label::new("version", env!("CARGO_PKG_VERSION"));
        recorder
            .register_gauge(
                &Key::from_parts(names::BUILD_INFO, vec![version]),
                &METADATA,
            )
            .set(1.0);
        Ok(Metrics {
            recorder,
            handle,
            jobs_started,
            jobs_finished,
            trigger_to_start,
            classes: Mutex::default(),
        })
    }

    /// A job's first task was claimed: counted, and for a job that requires none (one of its
    /// workflow's first), the time since its workflow was made is recorded.
    pub fn job_started(&self, job: &Job) {
        self.jobs_started.increment(1);
        if job.requires.is_empty()
            && let Some(started) = job.started_at
        {
            let waited = started.saturating_sub(job.created_at).max(0);
            self.trigger_to_start.record(waited as f64 / 1000.0);
        }
    }

    /// A job reached `status`; counted when it is final.
    pub fn job_finished(&self, status: JobStatus) {
        if let Some((_, counter)) = self.jobs_finished.iter().find(|(s, _)| *s == status) {
            counter.increment(1);
        }
    }

    /// The gauge `name` with `labels`.
    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    /// The histogram `name` with `labels`.
    fn histogram(&self, name: &'static str, labels: Vec<Label>) -> Histogram {
        self.recorder
            .register_histogram(&Key::from_parts(name, labels), &METADATA)
    }
}

/// Folds histograms' recent samples in every few seconds until `stop`, so they stay small
/// when nobody scrapes.
pub async fn keep_up(handle: PrometheusHandle, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(UPKEEP_EVERY) => handle.run_upkeep(),
        }
    }
}

impl Metrics {
    /// The handle that renders the recorder and keeps it up.
    pub fn handle(&self) -> PrometheusHandle {
        self.handle.clone()
    }
}
