//! One scrape: what the store knows, read with one grouped statement each (queue, runners,
//! forge outbox) and a ping, set into gauges; the recorder rendered; the process's stats
//! added.

use std::collections::BTreeSet;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use circa_store::{Millis, OutboxBacklog, PoolUse, QueueDepth, RunnerCount};
use metrics::Label;

use super::{Metrics, MetricsError, names, process};
use crate::queue_reason::CONNECTED_WITHIN_MS;
use crate::state::{AppState, now_ms};

/// The resource classes scrapes have reported so far: one whose queue emptied, or whose
/// runners left, is reported as 0 rather than left at its last value.
#[derive(Debug, Default)]
pub struct Reported {
    queues: BTreeSet<String>,
    runners: BTreeSet<String>,
}

/// What a scrape read from the store.
#[derive(Debug, Default)]
pub struct StoreReading {
    /// Queued tasks per resource class.
    pub queues: Vec<QueueDepth>,
    /// Runners seen lately per resource class.
    pub runners: Vec<RunnerCount>,
    /// The forge outbox's backlog.
    pub outbox: OutboxBacklog,
    /// The connections' use.
    pub pool: PoolUse,
    /// How long the queue's statement took.
    pub queue_query: Duration,
    /// How long the ping took.
    pub ping: Duration,
}

/// The metrics in Prometheus' text format.
pub async fn render(state: &AppState) -> Result<String, MetricsError> {
    let reading = read_store(state).await?;
    let metrics = &state.metrics;
    metrics.report(&reading, now_ms());
    let mut text = metrics.handle.render();
    if let Some(stats) = process::read() {
        process::render(&stats, &mut text);
    }
    Ok(text)
}

async fn read_store(state: &AppState) -> Result<StoreReading, MetricsError> {
    let started = Instant::now();
    let queues = state.store.queue_depths().await?;
    let queue_query = started.elapsed();
    let runners = state
        .store
        .runner_counts(now_ms() - CONNECTED_WITHIN_MS)
        .await?;
    let outbox = state.store.outbox_backlog().await?;
    let started = Instant::now();
    state.store.ping().await?;
    Ok(StoreReading {
        queues,
        runners,
        outbox,
        pool: state.store.pool_use(),
        queue_query,
        ping: started.elapsed(),
    })
}

impl Metrics {
    /// Sets the gauges from what the store said at `now`.
    pub fn report(&self, reading: &StoreReading, now: Millis) {
        let mut reported = self.classes.lock().unwrap_or_else(PoisonError::into_inner);
        let reported = &mut *reported;
        let queues = reading.queues.iter().map(|q| {
            let age = now.saturating_sub(q.oldest_queued_at).max(0) as f64 / 1000.0;
            (q.resource_class.as_str(), [q.queued as f64, age])
        });
        // A class runners serve has a queue even when it is empty.
        let served = reading
            .runners
            .iter()
            .filter(|r| {
                !reading
                    .queues
                    .iter()
                    .any(|q| q.resource_class == r.resource_class)
            })
            .map(|r| (r.resource_class.as_str(), [0.0, 0.0]));
        let queues = queues.chain(served);
        let queue_names = [names::QUEUE_DEPTH, names::QUEUE_OLDEST_AGE];
        self.report_classes(queue_names, &mut reported.queues, queues);
        let runners = reading
            .runners
            .iter()
            .map(|r| (r.resource_class.as_str(), [r.runners as f64]));
        self.report_classes([names::RUNNERS_CONNECTED], &mut reported.runners, runners);
        let set = |name, value: f64| self.gauge(name, Vec::new()).set(value);
        set(names::DB_CONNECTIONS_OPEN, reading.pool.open as f64);
        set(names::DB_CONNECTIONS_IDLE, reading.pool.idle as f64);
        set(names::DB_QUEUE_QUERY, reading.queue_query.as_secs_f64());
        set(names::DB_PING, reading.ping.as_secs_f64());
        let waited = reading
            .outbox
            .oldest_created_at
            .map_or(0, |at| now.saturating_sub(at).max(0));
        set(names::OUTBOX_BACKLOG, reading.outbox.rows as f64);
        set(names::OUTBOX_OLDEST_AGE, waited as f64 / 1000.0);
    }

    /// Sets gauges `names` per resource class to the values read, and to 0 for the classes
    /// in `seen` (reported before) that were not read now; `seen` gains the classes read.
    fn report_classes<'a, const N: usize>(
        &self,
        names: [&'static str; N],
        seen: &mut BTreeSet<String>,
        read: impl Iterator<Item = (&'a str, [f64; N])>,
    ) {
        let label = |c: &str| vec![Label::new("resource_class", c.to_string())];
        let read: Vec<(&str, [f64; N])> = read.collect();
        for gone in seen.iter().filter(|c| !read.iter().any(|(r, _)| r == c)) {
            for name in names {
                self.gauge(name, label(gone)).set(0.0);
            }
        }
        for (class, values) in read {
            for (name, value) in names.into_iter().zip(values) {
                self.gauge(name, label(class)).set(value);
            }
            seen.insert(class.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circa_model::JobStatus;

    fn depth(class: &str, queued: u64, oldest_queued_at: Millis) -> QueueDepth {
        QueueDepth {
            resource_class: class.to_string(),
            queued,
            oldest_queued_at,
        }
    }

    #[test]
    fn a_class_whose_queue_empties_reads_zero() {
        let metrics = Metrics::new().unwrap();
        let mut reading = StoreReading {
            queues: vec![depth("big", 3, 1_000), depth("default", 1, 9_000)],
            ..StoreReading::default()
        };
        metrics.report(&reading, 10_000);
        let text = metrics.handle.render();
        assert!(
            text.contains("circa_queue_depth{resource_class=\"big\"} 3\n"),
            "{text}"
        );
        assert!(text.contains("circa_queue_oldest_age_seconds{resource_class=\"big\"} 9\n"));
        reading.queues = vec![depth("default", 2, 9_500)];
        reading.runners = vec![RunnerCount {
            resource_class: "small".to_string(),
            runners: 2,
        }];
        metrics.report(&reading, 10_000);
        let text = metrics.handle.render();
        assert!(
            text.contains("circa_queue_depth{resource_class=\"big\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("circa_queue_depth{resource_class=\"default\"} 2\n"));
        assert!(text.contains("circa_queue_depth{resource_class=\"small\"} 0\n"));
        assert!(text.contains("circa_runners_connected{resource_class=\"small\"} 2\n"));
    }

    #[test]
    fn job_counters_and_the_start_histogram_render() {
        let metrics = Metrics::new().unwrap();
        metrics.job_finished(JobStatus::Success);
        metrics.job_finished(JobStatus::Success);
        metrics.job_finished(JobStatus::Running);
        let text = metrics.handle.render();
        assert!(
            text.contains("circa_jobs_finished_total{status=\"success\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("circa_jobs_finished_total{status=\"failed\"} 0\n"));
        assert!(!text.contains("status=\"running\""));
        assert!(text.contains("# TYPE circa_trigger_to_start_seconds histogram"));
        assert!(text.contains("# HELP circa_jobs_started_total "));
    }
}
