//! Step logs: while a step runs its output is in the store as events (and live to followers);
//! when it ends the output becomes one zstd object in Blobs and the events are dropped.

use circa_model::protocol::TaskEventKind;
use circa_store::{StepRecord, StoredEvent, Task, TaskId};

use circa_store::{BlobError, StoreError};

use crate::state::{AppState, now_ms};

/// What can go wrong with step logs (`crate::error` turns it into an answer).
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The object storage.
    #[error(transparent)]
    Blobs(#[from] BlobError),
    /// A log recorded as stored is not in the object storage.
    #[error("{0} not found")]
    Missing(&'static str),
    /// A temporary file of the compaction could not be written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stored log does not decompress.
    #[error("the stored log {key} is unreadable: {cause}")]
    Unreadable {
        /// Its Blobs key.
        key: String,
        /// Why.
        cause: String,
    },
}

/// A shorthand for log results.
pub type LogResult<T> = Result<T, LogError>;

/// The Blobs key of a step's log.
pub fn log_key(task_id: &TaskId, step: u32) -> String {
    format!("logs/{task_id}/{step}.log.zst")
}

/// A stored event's kind; `None` when it does not read back.
pub(crate) fn parse(event: &StoredEvent) -> Option<TaskEventKind> {
    serde_json::from_str(&event.body).ok()
}

/// The number of steps of a task's job, from its stored assignment.
fn step_count(task: &Task) -> u32 {
    #[derive(serde::Deserialize)]
    struct Payload {
        spec: Spec,
    }
    #[derive(serde::Deserialize)]
    struct Spec {
        steps: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Payload>(&task.payload)
        .map_or(0, |p| u32::try_from(p.spec.steps.len()).unwrap_or(u32::MAX))
}

/// Moves the logs of `task`'s finished steps into Blobs: the steps in `only` (steps whose end
/// just arrived, so none is recorded yet), or every step not recorded yet. Only the job's
/// steps count: an end reported for a step the job does not have is left alone.
pub async fn compact_steps(state: &AppState, task: &Task, only: Option<&[u32]>) -> LogResult<()> {
    let task_id = &task.id;
    let steps = step_count(task);
    if let Some(only) = only {
        for &step in only.iter().filter(|&&s| s < steps) {
            compact_step(state, task_id, step).await?;
        }
        return Ok(());
    }
    let recorded: Vec<u32> = state
        .store
        .steps(task_id)
        .await?
        .iter()
        .map(|s| s.step)
        .collect();
    for step in (0..steps).filter(|s| !recorded.contains(s)) {
        compact_step(state, task_id, step).await?;
    }
    Ok(())
}

/// What the non-output events of a step say.
#[derive(Default)]
pub(crate) struct StepSummary {
    /// The step's name.
    pub name: String,
    /// When the runner says the step began.
    pub started_at: Option<i64>,
    /// Its status, exit code and duration, once it ended.
    pub finished: Option<(String, Option<i64>, u64)>,
}

impl StepSummary {
    /// Takes in a start or end event of the step (other events change nothing).
    pub fn note(&mut self, kind: TaskEventKind) {
        match kind {
            TaskEventKind::StepStarted { name, at_ms, .. } => {
                self.name = name;
                self.started_at = at_ms;
            }
            TaskEventKind::StepFinished {
                status,
                exit_code,
                duration_ms,
                ..
            } => self.finished = Some((status, exit_code, duration_ms)),
            _ => {}
        }
    }
}

/// Events read per page while compacting: an output event carries up to 64 KiB, so a page
/// holds at most a few MiB.
pub(crate) const PAGE: u32 = 32;

/// Streams one finished step's output from the store into a zstd object in Blobs, page by
/// page, so memory stays bounded however long the log. A step without output writes no
/// object (and no temporary file).
async fn compact_step(state: &AppState, task_id: &TaskId, step: u32) -> LogResult<()> {
    let io = |source: std::io::Error| LogError::Io {
        what: "compacting a step log",
        source,
    };
    let mut log = LogFile::default();
    let mut summary = StepSummary::default();
    let mut log_bytes = 0u64;
    let mut after = 0u64;
    let result = async {
        loop {
            let page = state.store.events(task_id, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for event in page.iter().filter(|e| e.step == Some(step)) {
                match parse(event) {
                    Some(TaskEventKind::Output { text, .. }) => {
                        log_bytes += text.len() as u64;
                        let encoder = log.encoder(state).await.map_err(io)?;
                        tokio::task::block_in_place(|| {
                            std::io::Write::write_all(encoder, text.as_bytes())
                        })
                        .map_err(io)?;
                    }
                    Some(other) => summary.note(other),
                    None => {}
                }
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        Ok::<(), LogError>(())
    }
    .await;
    let finish = log.finish().map_err(io);
    let outcome = async {
        result?;
        let tmp = finish?;
        let Some((status, exit_code, duration_ms)) = summary.finished.clone() else {
            return Ok(());
        };
        let log_key = match (&tmp, log_bytes) {
            (Some(tmp), 1..) => {
                let key = log_key(task_id, step);
                state.blobs.put_file(&key, tmp).await?;
                Some(key)
            }
            _ => None,
        };
        state
            .store
            .record_step(StepRecord {
                task_id: task_id.clone(),
                step,
                name: summary.name.clone(),
                status,
                exit_code,
                duration_ms,
                // The runner's own time when it gave one; else estimated from its duration
                // (late by however long the step's end took to arrive).
                started_at: summary
                    .started_at
                    .unwrap_or_else(|| now_ms() - duration_ms as i64),
                log_key,
                log_bytes,
            })
            .await?;
        Ok(())
    }
    .await;
    if let Some(tmp) = log.path.take() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    outcome
}

/// A step's compressed log on its way to Blobs: a temporary file made at the first output.
#[derive(Default)]
struct LogFile {
    path: Option<std::path::PathBuf>,
    encoder: Option<zstd::stream::write::Encoder<'static, std::fs::File>>,
}

impl LogFile {
    /// The encoder, made (with its file) on first use.
    async fn encoder(
        &mut self,
        state: &AppState,
    ) -> std::io::Result<&mut zstd::stream::write::Encoder<'static, std::fs::File>> {
        if self.encoder.is_none() {
            let tmp_dir = state.config.data_dir.join("tmp");
            tokio::fs::create_dir_all(&tmp_dir).await?;
            let tmp = tmp_dir.join(format!("log-{}", uuid::Uuid::new_v4()));
            let file = std::fs::File::create(&tmp)?;
            self.path = Some(tmp);
            self.encoder = Some(zstd::stream::write::Encoder::new(file, 3)?);
        }
        self.encoder
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no log encoder"))
    }

    /// Ends the compressed stream; the file's path, if there was any output.
    fn finish(&mut self) -> std::io::Result<Option<std::path::PathBuf>> {
        match self.encoder.take() {
            Some(encoder) => {
                tokio::task::block_in_place(|| encoder.finish())?;
                Ok(self.path.clone())
            }
            None => Ok(None),
        }
    }
}

/// A step's whole log so far: from Blobs once the step is recorded, else from its events.
pub async fn step_log(state: &AppState, task_id: &TaskId, step: u32) -> LogResult<String> {
    let recorded = state
        .store
        .steps(task_id)
        .await?
        .into_iter()
        .find(|s| s.step == step);
    if let Some(record) = recorded {
        let Some(key) = record.log_key else {
            return Ok(String::new());
        };
        let data = state
            .blobs
            .get(&key)
            .await?
            .ok_or(LogError::Missing("step log"))?;
        let unreadable = |cause: String| LogError::Unreadable {
            key: key.clone(),
            cause,
        };
        let text = tokio::task::spawn_blocking(move || zstd::decode_all(&data[..]))
            .await
            .map_err(|e| unreadable(e.to_string()))?
            .map_err(|e| unreadable(e.to_string()))?;
        return Ok(String::from_utf8_lossy(&text).into_owned());
    }
    let mut text = String::new();
    for event in state.store.step_events(task_id, step).await? {
        if let Some(TaskEventKind::Output { text: t, .. }) = parse(&event) {
            text.push_str(&t);
        }
    }
    Ok(text)
}
