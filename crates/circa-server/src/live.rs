//! Fan-out of live events: a task's events to log followers, status changes to pipeline
//! watchers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use circa_store::StoredEvent;
use serde::Serialize;
use tokio::sync::broadcast;

/// Events buffered per subscriber before it lags (it then catches up from the store).
const TASK_CHANNEL: usize = 64;

/// A status change, as pipeline watchers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusUpdate {
    /// `pipeline`, `workflow` or `job`.
    pub kind: &'static str,
    /// The pipeline.
    pub pipeline_id: String,
    /// The workflow, for workflow and job updates.
    pub workflow_id: Option<String>,
    /// The job, for job updates.
    pub job_id: Option<String>,
    /// The workflow's or job's name.
    pub name: String,
    /// The new status (CircleCI's spelling).
    pub status: String,
}

/// Live events of running tasks.
#[derive(Debug, Default)]
pub struct LiveHub {
    tasks: Mutex<HashMap<String, broadcast::Sender<Arc<StoredEvent>>>>,
}

impl LiveHub {
    /// Follows a task's events from now on.
    pub fn subscribe(&self, task_id: &str) -> broadcast::Receiver<Arc<StoredEvent>> {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks
            .entry(task_id.to_string())
            .or_insert_with(|| broadcast::channel(TASK_CHANNEL).0)
            .subscribe()
    }

    /// Hands new events to a task's followers.
    pub fn publish(&self, task_id: &str, events: Vec<StoredEvent>) {
        let tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = tasks.get(task_id) {
            for event in events {
                let _ = tx.send(Arc::new(event));
            }
        }
    }

    /// Ends a task's stream: followers see it close.
    pub fn close(&self, task_id: &str) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.remove(task_id);
    }
}
