//! Fan-out of live events: a task's events to log followers, status changes to pipeline
//! watchers.

use std::sync::Arc;

use circa_store::{JobId, PipelineId, StoredEvent, TaskId, WorkflowId};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::registry::Registry;

/// Events buffered per subscriber before it lags (it then catches up from the store).
const TASK_CHANNEL: usize = 64;

/// Status changes buffered per pipeline watcher before it lags (it is then told so).
const PIPELINE_CHANNEL: usize = 256;

/// Pipelines with a channel beyond which channels nobody watches any more are dropped.
const PIPELINE_SWEEP_AT: usize = 1024;

/// What a status change is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateKind {
    /// A pipeline.
    Pipeline,
    /// A workflow.
    Workflow,
    /// A job.
    Job,
}

/// A status change, as pipeline watchers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// What changed.
    pub kind: UpdateKind,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// The workflow, for workflow and job updates.
    pub workflow_id: Option<WorkflowId>,
    /// The job, for job updates.
    pub job_id: Option<JobId>,
    /// The workflow's or job's name.
    pub name: String,
    /// The new status (CircleCI's spelling).
    pub status: String,
}

/// What a task's follower receives.
#[derive(Clone, Debug)]
pub enum TaskLive {
    /// An event this server stored.
    Event(Arc<StoredEvent>),
    /// Events were stored through another server replica: read them from the store.
    StoredElsewhere,
}

/// Live events of running tasks.
#[derive(Debug, Default)]
pub struct LiveHub {
    tasks: Registry<TaskId, broadcast::Sender<TaskLive>>,
}

impl LiveHub {
    /// Follows a task's events from now on.
    pub fn subscribe(&self, task_id: &TaskId) -> broadcast::Receiver<TaskLive> {
        self.tasks
            .lock()
            .entry(task_id.clone())
            .or_insert_with(|| broadcast::channel(TASK_CHANNEL).0)
            .subscribe()
    }

    /// Hands new events to a task's followers.
    pub fn publish(&self, task_id: &TaskId, events: Vec<StoredEvent>) {
        if let Some(tx) = self.tasks.lock().get(task_id) {
            for event in events {
                let _ = tx.send(TaskLive::Event(Arc::new(event)));
            }
        }
    }

    /// Tells a task's followers, if it has any here, that events were stored elsewhere.
    pub fn stored_elsewhere(&self, task_id: &TaskId) {
        if let Some(tx) = self.tasks.lock().get(task_id) {
            let _ = tx.send(TaskLive::StoredElsewhere);
        }
    }

    /// Tells every follower that events may have been stored elsewhere.
    pub fn all_stored_elsewhere(&self) {
        for tx in self.tasks.lock().values() {
            let _ = tx.send(TaskLive::StoredElsewhere);
        }
    }

    /// Ends a task's stream: followers see it close.
    pub fn close(&self, task_id: &TaskId) {
        self.tasks.remove(task_id);
    }
}

/// Status changes, routed by pipeline: a watcher receives only its pipeline's changes, so a
/// change costs one delivery per watcher of that pipeline, however many pipelines are watched.
#[derive(Debug, Default)]
pub struct StatusHub {
    pipelines: Registry<PipelineId, broadcast::Sender<Arc<StatusUpdate>>>,
}

impl StatusHub {
    /// Follows a pipeline's status changes from now on.
    pub fn subscribe(&self, pipeline_id: &PipelineId) -> broadcast::Receiver<Arc<StatusUpdate>> {
        let mut pipelines = self.pipelines.lock();
        if pipelines.len() >= PIPELINE_SWEEP_AT {
            pipelines.retain(|_, tx| tx.receiver_count() > 0);
        }
        pipelines
            .entry(pipeline_id.clone())
            .or_insert_with(|| broadcast::channel(PIPELINE_CHANNEL).0)
            .subscribe()
    }

    /// Hands a change to its pipeline's watchers, if any.
    pub fn send(&self, update: StatusUpdate) {
        let mut pipelines = self.pipelines.lock();
        let unwatched = match pipelines.get(&update.pipeline_id) {
            Some(tx) => {
                let id = update.pipeline_id.clone();
                tx.send(Arc::new(update)).is_err().then_some(id)
            }
            None => None,
        };
        if let Some(id) = unwatched {
            pipelines.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(pipeline: &str, status: &str) -> StatusUpdate {
        StatusUpdate {
            kind: UpdateKind::Pipeline,
            pipeline_id: pipeline.into(),
            workflow_id: None,
            job_id: None,
            name: "1".to_string(),
            status: status.to_string(),
        }
    }

    #[test]
    fn watchers_receive_only_their_pipelines_changes() {
        let hub = StatusHub::default();
        let mut a = hub.subscribe(&"a".into());
        let mut b = hub.subscribe(&"b".into());
        hub.send(update("a", "created"));
        hub.send(update("b", "errored"));
        hub.send(update("c", "created"));
        assert_eq!(a.try_recv().unwrap().status, "created");
        assert!(a.try_recv().is_err());
        assert_eq!(b.try_recv().unwrap().status, "errored");
        assert!(b.try_recv().is_err());
        drop(a);
        hub.send(update("a", "created"));
        let pipelines = hub.pipelines.lock();
        assert!(!pipelines.contains_key("a") && pipelines.contains_key("b"));
    }
}
