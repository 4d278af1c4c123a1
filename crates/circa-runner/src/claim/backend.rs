//! What the claimer drives: the server's claim routes, the task folders made ahead of claimed
//! tasks, and the tasks themselves. [`Backend`] for `Arc<Shared>` is the runner's own.

use std::sync::Arc;

use circa_model::protocol::{ClaimRequest, TaskAssignment};
use tokio::sync::OwnedSemaphorePermit;

use crate::api::ApiError;
use crate::task::{self, Prepared, Shared};

/// The claimer's outside. Cloned into each claim, growth and task it spawns.
pub(crate) trait Backend: Clone + Send + Sync + 'static {
    /// A claimed task.
    type Task: Send + 'static;
    /// A folder made ready for a task.
    type Folder: Send + 'static;

    /// `POST /claims`: claim `id` for up to `slots` tasks (a long-poll).
    fn claim(
        &self,
        id: String,
        slots: u32,
    ) -> impl Future<Output = Result<Vec<Self::Task>, ApiError>> + Send;

    /// `POST /claims/grow`: adds `slots` to the waiting claim `id`.
    fn grow(&self, id: String, slots: u32) -> impl Future<Output = Result<u32, ApiError>> + Send;

    /// How many folders to make so that `slots` tasks find one ready; counted as being made
    /// from now on.
    fn folders_to_make(&self, slots: usize) -> usize;

    /// Makes `n` folders counted by [`Backend::folders_to_make`] (blocking IO).
    fn make_folders(&self, n: usize);

    /// Up to `n` ready folders.
    fn take_folders(&self, n: usize) -> Vec<Self::Folder>;

    /// Runs `task` to its end in `folder` (or one it makes), holding `slot` while it needs it.
    fn run(
        &self,
        task: Self::Task,
        folder: Option<Self::Folder>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> impl Future<Output = ()> + Send;

    /// Removes the ready folders once every task has ended (blocking IO).
    fn discard_folders(&self);
}

impl Backend for Arc<Shared> {
    type Task = TaskAssignment;
    type Folder = Prepared;

    fn claim(
        &self,
        id: String,
        slots: u32,
    ) -> impl Future<Output = Result<Vec<TaskAssignment>, ApiError>> + Send {
        let request = ClaimRequest {
            runner: self.config.name.clone(),
            wait_ms: self.config.claim_wait_ms(),
            resource_class: self.config.resource_class.clone(),
            max_tasks: slots,
            claim_id: Some(id),
        };
        async move { self.api.claims(&self.config.token, &request).await }
    }

    async fn grow(&self, id: String, slots: u32) -> Result<u32, ApiError> {
        self.api.grow_claim(&self.config.token, &id, slots).await
    }

    fn folders_to_make(&self, slots: usize) -> usize {
        self.folders.to_make(slots)
    }

    fn make_folders(&self, n: usize) {
        for _ in 0..n {
            match task::prepare(&self.config.data_dir) {
                Ok(p) => self.folders.made(Some(p)),
                Err(e) => {
                    // The task then makes its folder itself, and reports why it cannot.
                    tracing::warn!("preparing a task folder: {e}");
                    self.folders.made(None);
                }
            }
        }
    }

    fn take_folders(&self, n: usize) -> Vec<Prepared> {
        self.folders.take(n)
    }

    fn run(
        &self,
        task: TaskAssignment,
        folder: Option<Prepared>,
        slot: Option<OwnedSemaphorePermit>,
    ) -> impl Future<Output = ()> + Send {
        let shared = Arc::clone(self);
        async move {
            // The task's heartbeats and folder are put away after it: part of its end.
            if let Some(cleanup) = task::run(shared, task, folder, slot).await {
                let _ = cleanup.await;
            }
        }
    }

    fn discard_folders(&self) {
        self.folders
            .take_all()
            .into_iter()
            .for_each(Prepared::discard);
    }
}
