//! `circa pipeline trigger --wait`: follows a pipeline through its watch stream, says why a
//! job waits (once, and again when the reason changes), and for each failed job why it failed.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use circa_model::JobStatus;
use serde_json::{Value, json};

use super::diagnose;
use super::fetch::Api;
use super::refs::PipelineRef;
use super::screen::{self, Screen};
use super::sse::EventStream;
use crate::service::client::PipelineProgress;

/// How long a job sits queued before its reason is asked for: most are claimed at once.
pub const QUEUE_GRACE: Duration = Duration::from_secs(2);

/// How often a waiting job's reason is read again.
const REASON_EVERY: Duration = Duration::from_secs(2);

/// How often the status line is redrawn and waiting jobs looked at.
const TICK: Duration = Duration::from_millis(250);

/// A job as the follower last saw it.
struct Watched {
    name: String,
    status: JobStatus,
    /// Since when it has been queued, while it is.
    queued_since: Option<Instant>,
    /// When its reason was last read.
    asked_at: Option<Instant>,
    /// The reason last printed.
    reason: Option<String>,
}

/// Follows pipeline `id` of project `slug` until it ends; exit 0 only if every workflow
/// succeeded.
pub async fn follow(api: &Api<'_>, slug: &str, id: &str) -> anyhow::Result<ExitCode> {
    let mut follower = Follower {
        api,
        slug,
        jobs: BTreeMap::new(),
        progress: PipelineProgress::default(),
        screen: Screen::new(),
        started: Instant::now(),
    };
    let path = format!("/api/circa/pipelines/{id}/watch");
    let mut stream = EventStream::open(api.client(), &path).await?;
    let mut ticker = tokio::time::interval(TICK);
    while !follower.progress.done() {
        tokio::select! {
            event = stream.next() => {
                let Some(data) = event? else {
                    // A server shutting down ends the stream: the next one sends a fresh
                    // snapshot, which the follower takes like any change.
                    anyhow::ensure!(
                        stream.ended_for_shutdown(),
                        "the server closed the event stream"
                    );
                    stream = super::sse::reopen(api.client(), &path).await?;
                    continue;
                };
                let event: Value = serde_json::from_str(&data)
                    .with_context(|| format!("an event of {path}"))?;
                if event["kind"] == "lagged" {
                    for event in snapshot(api, id).await? {
                        follower.take(&event).await?;
                    }
                } else {
                    follower.take(&event).await?;
                }
            }
            _ = ticker.tick() => follower.tick().await?,
        }
    }
    follower.screen.clear_status();
    if follower.progress.errored {
        let pipeline = api.pipeline(&PipelineRef::Id(id.to_string())).await?;
        eprintln!("pipeline errored:");
        for e in &pipeline.errors {
            eprintln!("{}", e.message);
        }
        return Ok(ExitCode::from(1));
    }
    Ok(if follower.progress.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The pipeline's workflows and jobs as they are now, as watch events (after the stream
/// lagged and lost some).
async fn snapshot(api: &Api<'_>, id: &str) -> anyhow::Result<Vec<Value>> {
    let mut events = Vec::new();
    for w in api.workflows(id).await? {
        for j in api.jobs(&w.id).await? {
            events
                .push(json!({ "kind": "job", "job_id": j.id, "name": j.name, "status": j.status }));
        }
        events.push(
            json!({ "kind": "workflow", "workflow_id": w.id, "name": w.name, "status": w.status }),
        );
    }
    let pipeline = api.pipeline(&PipelineRef::Id(id.to_string())).await?;
    events.push(json!({ "kind": "pipeline", "status": pipeline.state }));
    Ok(events)
}

struct Follower<'a> {
    api: &'a Api<'a>,
    slug: &'a str,
    jobs: BTreeMap<String, Watched>,
    progress: PipelineProgress,
    screen: Screen,
    started: Instant,
}

impl Follower<'_> {
    /// Takes one watch event.
    async fn take(&mut self, event: &Value) -> anyhow::Result<()> {
        self.progress.apply(event);
        let name = event["name"].as_str().unwrap_or_default();
        let status = event["status"].as_str().unwrap_or_default();
        match event["kind"].as_str() {
            Some("workflow")
                if status
                    .parse::<circa_model::WorkflowStatus>()
                    .is_ok_and(|s| s.is_terminal()) =>
            {
                let status = status
                    .parse()
                    .map(screen::workflow_status)
                    .unwrap_or_default();
                self.screen.line(&format!("workflow {name}: {status}"));
            }
            Some("job") => {
                let (Some(id), Ok(status)) = (event["job_id"].as_str(), status.parse()) else {
                    return Ok(());
                };
                self.job_moved(id, name, status).await?;
            }
            _ => {}
        }
        self.draw_status();
        Ok(())
    }

    /// A job's status as the stream tells it.
    async fn job_moved(&mut self, id: &str, name: &str, status: JobStatus) -> anyhow::Result<()> {
        let fresh = !self.jobs.contains_key(id);
        let watched = self.jobs.entry(id.to_string()).or_insert(Watched {
            name: name.to_string(),
            status,
            queued_since: None,
            asked_at: None,
            reason: None,
        });
        if !fresh && watched.status == status {
            return Ok(());
        }
        let had_reason = watched.reason.take().is_some();
        watched.status = status;
        watched.queued_since = (status == JobStatus::Queued).then(Instant::now);
        watched.asked_at = None;
        match status {
            JobStatus::OnHold => self
                .screen
                .line(&format!("  job {name}: on hold, waiting for approval")),
            JobStatus::Running if had_reason => self
                .screen
                .line(&format!("  job {name}: {}", screen::job_status(status))),
            s if s.is_terminal() => {
                self.screen
                    .line(&format!("  job {name}: {}", screen::job_status(status)));
                if s.is_failure() || s == JobStatus::Unauthorized {
                    let details = self.api.job_details(id).await?;
                    let failure = diagnose::failure(self.api, self.slug, &details).await?;
                    for line in failure.lines("    ") {
                        self.screen.line(&line);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Looks at jobs queued longer than [`QUEUE_GRACE`]: prints why each waits when that is
    /// new; redraws the status line.
    async fn tick(&mut self) -> anyhow::Result<()> {
        let now = Instant::now();
        let due: Vec<String> = self
            .jobs
            .iter()
            .filter(|(_, j)| {
                j.queued_since
                    .is_some_and(|t| now.duration_since(t) >= QUEUE_GRACE)
                    && j.asked_at
                        .is_none_or(|t| now.duration_since(t) >= REASON_EVERY)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let details = self.api.job_details(&id).await?;
            let Some(watched) = self.jobs.get_mut(&id) else {
                continue;
            };
            watched.asked_at = Some(Instant::now());
            if details.status != JobStatus::Queued || watched.status != JobStatus::Queued {
                continue;
            }
            if let Some(reason) = details.waiting_reason
                && watched.reason.as_ref() != Some(&reason)
            {
                let line = format!("  job {}: waiting: {reason}", watched.name);
                watched.reason = Some(reason);
                self.screen.line(&line);
            }
        }
        self.draw_status();
        Ok(())
    }

    fn draw_status(&mut self) {
        let count = |f: fn(JobStatus) -> bool| self.jobs.values().filter(|j| f(j.status)).count();
        let running = count(|s| s == JobStatus::Running);
        let queued = count(|s| s == JobStatus::Queued);
        let blocked = count(|s| s == JobStatus::Blocked || s == JobStatus::OnHold);
        let done = count(JobStatus::is_terminal);
        let took = self.started.elapsed().as_secs();
        self.screen.status(&format!(
            "{running} running, {queued} queued, {blocked} waiting, {done} done - {took}s"
        ));
    }
}
