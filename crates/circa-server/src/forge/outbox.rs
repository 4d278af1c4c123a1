//! The delivery worker: sends the commit statuses waiting in the store's outbox to each
//! project's forge. Job changes write the rows in their own transactions (settles and claims
//! never call out); this worker, started with the server, sends them.
//!
//! - Woken by [`crate::state::Dispatch::statuses`] when job changes were stored, and by a poll
//!   as a fallback (and at the time the next deferred row falls due).
//! - Of the rows of one key (project, commit, context) only the newest is sent; once it is
//!   delivered, it and the older rows of its key are deleted, so a state older than one sent
//!   is never sent after it. One key has at most one request in flight.
//! - A project's forge that fails (unreachable, 5xx, 401/403, rate limited) defers all the
//!   project's rows: by `Retry-After` or the forge's rate-limit reset when it gives one, else by
//!   a back-off doubling from one second to [`MAX_BACKOFF`]. A 4xx refusal of one status (a
//!   repository or commit the forge does not know) drops that row. Either way the error is the
//!   project's last error until a delivery succeeds.
//! - Up to [`PER_PROJECT`] requests are in flight to one forge at once (a forge is slow per
//!   request, not per connection: at 200 ms a request that is 40 statuses a second), for up
//!   to [`PROJECTS_AT_ONCE`] projects.
//! - Rows persist: a restarted server delivers what is left.
//! - With several server replicas on one database, one of them sends: the one holding the
//!   lead (a PostgreSQL advisory lock); the others try to take it every [`POLL`] (job changes
//!   do not wake them), so a replica that stops hands over within one.

use std::collections::HashMap;
use std::time::Duration;

use circa_store::{OutboxStatus, Project, ProjectForge, ProjectId};
use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::send::{Sent, send_status};
use crate::state::{AppState, now_ms};

/// The role of the one replica that sends (`circa_store::Leadership`).
const LEAD_ROLE: &str = "circa-forge-outbox";
/// The longest wait between two looks at the outbox (and, for a replica that does not send,
/// between two tries to take the lead).
const POLL: Duration = Duration::from_secs(2);
/// How long a wake-up waits for more changes before reading the outbox, so that a burst of
/// job changes is read in one go.
const GATHER: Duration = Duration::from_millis(20);
/// The longest back-off between retries of a failing forge (without a `Retry-After`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest wait a forge's `Retry-After` or rate-limit reset is honoured for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// Rows read per round.
const ROWS_PER_ROUND: u32 = 1024;
/// Requests in flight to one forge at once.
const PER_PROJECT: usize = 8;
/// Projects served at once.
const PROJECTS_AT_ONCE: usize = 8;

/// Runs the worker until `stop` is cancelled.
pub async fn run(state: AppState, stop: CancellationToken) {
    let http = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("circa/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            tracing::error!("commit statuses will not be sent: no HTTP client: {e}");
            return;
        }
    };
    // With several server replicas one sends at a time, so a key's states go out in order.
    let mut leadership = state.store.replicas().map(|r| r.leadership(LEAD_ROLE));
    let mut worker = Worker {
        state,
        http,
        failures: HashMap::new(),
    };
    loop {
        let leading = match leadership.as_mut() {
            Some(leadership) => leadership.lead().await,
            None => true,
        };
        if !leading {
            // Job changes are the leader's to send: this replica only tries to lead again.
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(POLL) => continue,
            }
        }
        let wait = match worker.round().await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::warn!("commit statuses: reading the outbox: {e}");
                POLL
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = worker.state.dispatch.statuses.notified() => {
                tokio::time::sleep(GATHER).await;
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// The worker's state between rounds.
struct Worker {
    state: AppState,
    http: reqwest::Client,
    /// Consecutive failed rounds per project (the back-off's exponent).
    failures: HashMap<ProjectId, u32>,
}

/// What one project's rows came to in a round.
struct ProjectRound {
    project_id: ProjectId,
    /// Whether any status was delivered.
    delivered: bool,
    /// The failure that stopped the round for the project: its text and the wait it asked.
    failed: Option<(String, Option<Duration>)>,
    /// A status the forge refused (dropped), for the last error.
    refused: Option<String>,
}

impl Worker {
    /// Sends what is due; how long to wait before the next round.
    async fn round(&mut self) -> Result<Duration, circa_store::StoreError> {
        let now = now_ms();
        let rows = self.state.store.due_statuses(now, ROWS_PER_ROUND).await?;
        if rows.is_empty() {
            return self.until_next_due().await;
        }
        let full = rows.len() == ROWS_PER_ROUND as usize;
        let per_project = newest_per_key(rows);
        let mut rounds: Vec<ProjectRound> = Vec::with_capacity(per_project.len());
        for some in per_project.chunks(PROJECTS_AT_ONCE) {
            let these = some
                .iter()
                .map(|(project_id, rows)| self.project_round(project_id, rows));
            rounds.extend(join_all(these).await);
        }
        for round in rounds {
            self.record(round).await?;
        }
        if full {
            return Ok(Duration::ZERO);
        }
        self.until_next_due().await
    }

    /// The wait until the next row falls due, at most [`POLL`].
    async fn until_next_due(&self) -> Result<Duration, circa_store::StoreError> {
        let Some(due) = self.state.store.next_status_due().await? else {
            return Ok(POLL);
        };
        let ms = u64::try_from(due - now_ms()).unwrap_or(0);
        Ok(Duration::from_millis(ms).min(POLL))
    }

    /// Sends one project's rows (newest per key), a few at once, until one fails.
    async fn project_round(&self, project_id: &ProjectId, rows: &[OutboxStatus]) -> ProjectRound {
        let mut round = ProjectRound {
            project_id: project_id.clone(),
            delivered: false,
            failed: None,
            refused: None,
        };
        let target = match self.target(project_id).await {
            Ok(Some(target)) => target,
            Ok(None) => {
                // No forge or statuses off: what waits is dropped.
                for row in rows {
                    self.forget(row).await;
                }
                return round;
            }
            Err(e) => {
                round.failed = Some((e, None));
                return round;
            }
        };
        for wave in rows.chunks(PER_PROJECT) {
            let sent = join_all(wave.iter().map(|row| self.send(&target, row))).await;
            for (i, outcome) in sent.into_iter().enumerate() {
                match outcome {
                    Sent::Delivered => {
                        round.delivered = true;
                        self.forget(&wave[i]).await;
                    }
                    Sent::Refused(error) => {
                        round.refused = Some(error);
                        self.forget(&wave[i]).await;
                    }
                    Sent::Retry { error, after } => {
                        let later = round.failed.as_ref().and_then(|(_, a)| *a);
                        round.failed = Some((error, after.max(later)));
                    }
                }
            }
            if round.failed.is_some() {
                break;
            }
        }
        round
    }

    /// The forge a project's statuses go to, with its token opened; `None` when the project
    /// has no forge, reports no statuses, or is gone.
    async fn target(&self, project_id: &ProjectId) -> Result<Option<Target>, String> {
        let store = &self.state.store;
        // The database's error text goes to the log only: the last error is shown to members.
        let unreadable = |e: circa_store::StoreError| {
            tracing::warn!("commit statuses of project {project_id}: {e}");
            "the server could not read the project's forge settings".to_string()
        };
        let forge = store.project_forge(project_id).await.map_err(unreadable)?;
        let Some(forge) = forge.filter(|f| f.statuses) else {
            return Ok(None);
        };
        let Some(project) = store.project(project_id).await.map_err(unreadable)? else {
            return Ok(None);
        };
        let token = crate::secrets::forge_tokens::open_token(&self.state.keys.vault, &forge)
            .map_err(|e| {
                tracing::warn!("commit statuses of project {project_id}: {e}");
                "the forge token cannot be opened (was the key file replaced?)".to_string()
            })?;
        Ok(Some(Target {
            forge,
            project,
            token,
        }))
    }

    /// Sends one row.
    async fn send(&self, target: &Target, row: &OutboxStatus) -> Sent {
        let target_url = job_url(&self.state.base_url, &target.project, row);
        send_status(
            &self.http,
            &target.forge,
            target.token.as_deref().map(String::as_str),
            row,
            &target_url,
        )
        .await
    }

    /// Deletes a row handled (sent, refused or dropped) and the older rows of its key.
    async fn forget(&self, row: &OutboxStatus) {
        if let Err(e) = self.state.store.delete_sent_statuses(row).await {
            tracing::warn!("commit statuses: deleting a sent row: {e}");
        }
    }

    /// Records what a project's round came to: its last error, its back-off.
    async fn record(&mut self, round: ProjectRound) -> Result<(), circa_store::StoreError> {
        let store = &self.state.store;
        let now = now_ms();
        match round.failed {
            Some((error, after)) => {
                let failures = self.failures.entry(round.project_id.clone()).or_default();
                *failures = failures.saturating_add(1);
                let wait = after
                    .map(|a| a.min(MAX_RETRY_AFTER))
                    .unwrap_or_else(|| backoff(*failures));
                tracing::warn!(
                    "commit statuses of project {}: {error}; retrying in {} ms",
                    round.project_id,
                    wait.as_millis()
                );
                store
                    .record_forge_error(&round.project_id, Some(&error), now)
                    .await?;
                let until = now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
                store.defer_statuses(&round.project_id, until).await?;
            }
            None => {
                self.failures.remove(&round.project_id);
                if let Some(error) = &round.refused {
                    store
                        .record_forge_error(&round.project_id, Some(error), now)
                        .await?;
                } else if round.delivered {
                    store
                        .record_forge_error(&round.project_id, None, now)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

/// A project's forge, ready to send to.
struct Target {
    forge: ProjectForge,
    project: Project,
    token: Option<zeroize::Zeroizing<String>>,
}

/// The rows to send, per project: the newest row of each key, oldest key first.
fn newest_per_key(rows: Vec<OutboxStatus>) -> Vec<(ProjectId, Vec<OutboxStatus>)> {
    let mut newest: HashMap<(ProjectId, String, String), OutboxStatus> = HashMap::new();
    for row in rows {
        let key = (row.project_id.clone(), row.sha.clone(), row.context.clone());
        newest.insert(key, row);
    }
    let mut per_project: HashMap<ProjectId, Vec<OutboxStatus>> = HashMap::new();
    for row in newest.into_values() {
        per_project
            .entry(row.project_id.clone())
            .or_default()
            .push(row);
    }
    let mut out: Vec<(ProjectId, Vec<OutboxStatus>)> = per_project.into_iter().collect();
    for (_, rows) in &mut out {
        rows.sort_by_key(|r| r.id);
    }
    out.sort_by_key(|(_, rows)| rows.first().map(|r| r.id));
    out
}

/// The back-off after `failures` failed rounds: 1 s, 2 s, 4 s, … up to [`MAX_BACKOFF`].
fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
}

/// The web page a status links to: the job's page, or its pipeline's project page for a job
/// without a number (an approval).
fn job_url(base_url: &str, project: &Project, row: &OutboxStatus) -> String {
    match row.job_number {
        Some(number) => crate::api::render::job_web_url(base_url, &project.slug, number),
        None => format!("{base_url}/projects/{}", project.slug),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circa_model::JobStatus;

    fn row(id: i64, project: &str, context: &str) -> OutboxStatus {
        OutboxStatus {
            id,
            project_id: project.into(),
            sha: "abc".into(),
            context: context.into(),
            job_id: format!("job-{context}").into(),
            job_status: JobStatus::Queued,
            job_number: Some(id),
            pipeline_number: 1,
            created_at: 0,
            due_at: 0,
        }
    }

    #[test]
    fn only_the_newest_row_of_a_key_is_sent() {
        let rows = vec![
            row(1, "p", "ci/circleci: a"),
            row(2, "p", "ci/circleci: b"),
            row(3, "q", "ci/circleci: a"),
            row(4, "p", "ci/circleci: a"),
        ];
        let per = newest_per_key(rows);
        let ids: Vec<(String, Vec<i64>)> = per
            .into_iter()
            .map(|(p, rows)| (p.to_string(), rows.iter().map(|r| r.id).collect()))
            .collect();
        assert_eq!(
            ids,
            vec![("p".to_string(), vec![2, 4]), ("q".to_string(), vec![3])]
        );
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap() {
        let waits: Vec<u64> = (1..=7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
