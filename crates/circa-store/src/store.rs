//! The `Store` trait: everything the server keeps, behind one interface with a SQLite and a
//! PostgreSQL implementation.

use async_trait::async_trait;
use circa_model::{JobStatus, WorkflowStatus};

use crate::error::StoreError;
use crate::records::*;
use crate::schedule::{NewSchedule, Schedule, ScheduleOrigin};
use crate::secret_records::*;

/// A shorthand for the store's results.
pub type StoreResult<T> = Result<T, StoreError>;

/// The server's state. Every method is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the database answers and the tables requests read can be read (for
    /// `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    // --- projects ---

    /// Adds a project; [`StoreError::Conflict`] if the slug is taken.
    async fn create_project(&self, project: NewProject, now: Millis) -> StoreResult<Project>;
    /// A project by id.
    async fn project(&self, id: &str) -> StoreResult<Option<Project>>;
    /// A project by slug. Read through a cache: an answer may be a few seconds old when
    /// another process changed the project, never when this store did.
    async fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>>;
    /// Every project, by slug.
    async fn projects(&self) -> StoreResult<Vec<Project>>;
    /// Replaces a project's settings; false if there is no such project.
    async fn update_project_settings(
        &self,
        id: &str,
        settings: &ProjectSettings,
    ) -> StoreResult<bool>;

    // --- tokens ---

    /// Stores a token's hash.
    async fn create_token(&self, token: NewToken, now: Millis) -> StoreResult<Token>;
    /// The token with this hash, revoked or not.
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<Token>>;
    /// The token with this hash, revoked or not, and the user it acts as (none for runner
    /// tokens), in one query. Read through a cache: an answer may be a few seconds old
    /// when another process changed the token or user, never when this store did.
    async fn token_with_user(&self, hash: &str) -> StoreResult<Option<(Token, Option<User>)>>;
    /// Revokes a token; false if there is no such token.
    async fn revoke_token(&self, id: &str) -> StoreResult<bool>;
    /// Every token, oldest first.
    async fn tokens(&self) -> StoreResult<Vec<Token>>;
    /// A user's tokens, oldest first.
    async fn tokens_of_user(&self, user_id: &str) -> StoreResult<Vec<Token>>;

    // --- users, groups, project members ---

    /// Creates a user; [`crate::StoreError::Conflict`] when the login is taken.
    async fn create_user(&self, user: NewUser, now: Millis) -> StoreResult<User>;
    /// A user by id.
    async fn user(&self, id: &str) -> StoreResult<Option<User>>;
    /// A user by login.
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    /// Every user, oldest first.
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// Sets or clears a user's password hash; false if there is no such user.
    async fn set_user_password(&self, id: &str, password_hash: Option<&str>) -> StoreResult<bool>;
    /// Lets a user see a project (idempotent).
    async fn add_project_member(&self, project_id: &str, user_id: &str) -> StoreResult<()>;
    /// Takes a project away from a user; false if they were not a member.
    async fn remove_project_member(&self, project_id: &str, user_id: &str) -> StoreResult<bool>;
    /// Whether a user is a member of a project.
    async fn is_project_member(&self, project_id: &str, user_id: &str) -> StoreResult<bool>;
    /// The projects a user is a member of, by slug.
    async fn projects_of_user(&self, user_id: &str) -> StoreResult<Vec<Project>>;
    /// Creates a group; [`crate::StoreError::Conflict`] when the name is taken.
    async fn create_group(&self, name: &str, now: Millis) -> StoreResult<Group>;
    /// Every group, oldest first.
    async fn groups(&self) -> StoreResult<Vec<Group>>;
    /// Adds a user to a group (idempotent).
    async fn add_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<()>;
    /// The groups a user belongs to.
    async fn groups_of_user(&self, user_id: &str) -> StoreResult<Vec<Group>>;

    // --- pipelines ---

    /// Creates a pipeline with the next number of its project, and its workflows and jobs (jobs
    /// that are not approvals get the project's next build numbers, in order; a job copied by a
    /// rerun keeps its source's number and times). [`StoreError::NotFound`] if there is no such
    /// project.
    async fn create_pipeline(
        &self,
        pipeline: NewPipeline,
        workflows: Vec<NewWorkflow>,
        now: Millis,
    ) -> StoreResult<(Pipeline, Vec<Workflow>, Vec<Job>)>;
    /// Adds workflows to a pipeline (a rerun, a continuation); [`StoreError::NotFound`] if there
    /// is no such pipeline.
    async fn add_workflows(
        &self,
        pipeline_id: &str,
        workflows: Vec<NewWorkflow>,
        now: Millis,
    ) -> StoreResult<(Vec<Workflow>, Vec<Job>)>;
    /// Starts a compiled pipeline in one transaction: records its processed config (and, for
    /// a setup config, the hash of its continuation key and the key's deadline), moves it to
    /// `state` with no errors when given, adds its workflows, and applies the updates `settle`
    /// makes of them. Returns the workflows and jobs as added (before those updates).
    /// [`StoreError::NotFound`] if there is no such pipeline (and nothing changes).
    #[allow(clippy::too_many_arguments)]
    async fn start_pipeline(
        &self,
        pipeline_id: &str,
        compiled: &str,
        continuation: Option<(String, Millis)>,
        state: Option<PipelineState>,
        workflows: Vec<NewWorkflow>,
        settle: Option<FirstSettle>,
        now: Millis,
    ) -> StoreResult<(Vec<Workflow>, Vec<Job>)>;
    /// Sets a pipeline's state and errors; [`StoreError::NotFound`] if there is no such
    /// pipeline.
    async fn set_pipeline_state(
        &self,
        pipeline_id: &str,
        state: PipelineState,
        errors: &[PipelineError],
        now: Millis,
    ) -> StoreResult<()>;
    /// Moves a `setup-pending` pipeline whose continuation deadline has not passed to `setup`,
    /// recording the continued config. True for the one caller that wins; false if the pipeline
    /// was already continued, is not a setup pipeline, or the deadline passed.
    async fn continue_pipeline(
        &self,
        pipeline_id: &str,
        config_source: &str,
        config_compiled: &str,
        now: Millis,
    ) -> StoreResult<bool>;
    /// A pipeline by id.
    async fn pipeline(&self, id: &str) -> StoreResult<Option<Pipeline>>;
    /// A pipeline by its project and number.
    async fn pipeline_by_number(
        &self,
        project_id: &str,
        number: i64,
    ) -> StoreResult<Option<Pipeline>>;
    /// A project's pipelines, newest first, optionally on one branch; `page.before` is a
    /// pipeline number, `page.limit` 0 means 20, and a page holds at most 100.
    async fn pipelines(
        &self,
        project_id: &str,
        branch: Option<&str>,
        page: Page,
    ) -> StoreResult<Vec<Pipeline>>;
    /// The config cached for a commit.
    async fn cached_config(&self, project_id: &str, sha: &str) -> StoreResult<Option<String>>;
    /// Caches the config read at a commit (replacing an older entry); [`StoreError::NotFound`]
    /// if there is no such project.
    async fn cache_config(&self, project_id: &str, sha: &str, config: &str) -> StoreResult<()>;

    // --- workflows and jobs ---

    /// A workflow by id.
    async fn workflow(&self, id: &str) -> StoreResult<Option<Workflow>>;
    /// A pipeline's workflows, in creation order.
    async fn workflows_of_pipeline(&self, pipeline_id: &str) -> StoreResult<Vec<Workflow>>;
    /// Workflows not yet finished in a project's pipelines on `branch`, oldest first.
    async fn active_workflows_on_branch(
        &self,
        project_id: &str,
        branch: &str,
    ) -> StoreResult<Vec<Workflow>>;
    /// A job by id.
    async fn job(&self, id: &str) -> StoreResult<Option<Job>>;
    /// A job by its project and build number.
    async fn job_by_number(&self, project_id: &str, number: i64) -> StoreResult<Option<Job>>;
    /// A job by its project and build number, with its workflow's name (none if the workflow
    /// is gone), in one query.
    async fn job_by_number_with_workflow(
        &self,
        project_id: &str,
        number: i64,
    ) -> StoreResult<Option<(Job, Option<String>)>>;
    /// A workflow's jobs, in creation order.
    async fn jobs_of_workflow(&self, workflow_id: &str) -> StoreResult<Vec<Job>>;
    /// Applies job changes, queues tasks and sets the workflow's status, all or nothing. False
    /// (and nothing applied) when a job no longer had its `from` status. A job moving to
    /// `queued` gets `queued_at`, to `running` `started_at`, to a finished status `stopped_at`;
    /// the workflow gets `stopped_at` when its status is final. [`StoreError::NotFound`] if
    /// there is no such workflow.
    async fn update_workflow(&self, update: WorkflowUpdate) -> StoreResult<bool>;

    // --- the queue ---

    /// Claims the oldest queued task of a resource class in one atomic statement, so two
    /// runners never get the same task.
    async fn claim_task(&self, claim: Claim) -> StoreResult<Option<Task>>;
    /// A task by id.
    async fn task(&self, id: &str) -> StoreResult<Option<Task>>;
    /// A job's tasks, by node.
    async fn tasks_of_job(&self, job_id: &str) -> StoreResult<Vec<Task>>;
    /// Renews a running task's lease (even one already past, until the task is requeued); the
    /// task as it is now, or `None` if it is not running.
    async fn heartbeat(
        &self,
        task_id: &str,
        now: Millis,
        lease_expires_at: Millis,
    ) -> StoreResult<Option<Task>>;
    /// Asks a job's tasks to stop: running ones get `cancel_requested`, queued ones finish as
    /// `canceled` at once. Returns the tasks changed, by node (a running task already asked is
    /// not changed again).
    async fn cancel_tasks(&self, job_id: &str, now: Millis) -> StoreResult<Vec<Task>>;
    /// Finishes a running task; `None` if it was not running (already finished or lost).
    async fn finish_task(
        &self,
        task_id: &str,
        result: JobStatus,
        message: Option<&str>,
        now: Millis,
    ) -> StoreResult<Option<Task>>;
    /// Running tasks whose lease ended before `now`.
    async fn expired_tasks(&self, now: Millis) -> StoreResult<Vec<Task>>;
    /// Puts a running task back in the queue (its runner was lost), at the back (`queued_at` is
    /// `now`), keeping `attempts` and `last_seq`; false if it was not running.
    async fn requeue_task(&self, task_id: &str, now: Millis) -> StoreResult<bool>;
    /// Queued tasks per resource class.
    async fn queued_tasks(&self) -> StoreResult<Vec<Task>>;

    // --- events, logs, steps ---

    /// Stores a task's events: each is kept only if its `seq` is the next one expected (one
    /// more than the task's `last_seq`), the rest are ignored. Returns the task's `last_seq`
    /// after. [`StoreError::NotFound`] if there is no such task.
    async fn append_events(&self, task_id: &str, events: &[StoredEvent]) -> StoreResult<u64>;
    /// A task's events after `after_seq`, at most `limit`, in order.
    async fn events(
        &self,
        task_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// A step's events, in order.
    async fn step_events(&self, task_id: &str, step: u32) -> StoreResult<Vec<StoredEvent>>;
    /// Records a finished step (replacing an earlier record of it), and drops its output events
    /// (its log is now in Blobs); [`StoreError::NotFound`] if there is no such task.
    async fn record_step(&self, step: StepRecord) -> StoreResult<()>;
    /// A task's recorded steps, by index.
    async fn steps(&self, task_id: &str) -> StoreResult<Vec<StepRecord>>;

    // --- runners, artifacts ---

    /// Notes that a runner of a resource class asked for work (one row per runner name).
    async fn runner_seen(&self, name: &str, resource_class: &str, now: Millis) -> StoreResult<()>;
    /// How many runners of a resource class asked for work since `since`.
    async fn runners_seen(&self, resource_class: &str, since: Millis) -> StoreResult<u64>;
    /// Records an artifact (replacing one of the same job, node and path);
    /// [`StoreError::NotFound`] if there is no such job.
    async fn add_artifact(&self, artifact: Artifact) -> StoreResult<()>;
    /// A job's artifacts, by node and path.
    async fn artifacts(&self, job_id: &str) -> StoreResult<Vec<Artifact>>;

    /// Sets a workflow's status directly (a workflow with no jobs, an errored plan), with
    /// `stopped_at` as in [`Store::update_workflow`]; [`StoreError::NotFound`] if there is no
    /// such workflow.
    async fn set_workflow_status(
        &self,
        workflow_id: &str,
        status: WorkflowStatus,
        now: Millis,
    ) -> StoreResult<()>;

    // --- schedules ---

    /// Creates a schedule; its last tick is `now`, so it fires from its next tick on.
    /// [`StoreError::Conflict`] when the project has an API schedule of that name (or the same
    /// config schedule); [`StoreError::NotFound`] if there is no such project or actor.
    async fn create_schedule(&self, schedule: NewSchedule, now: Millis) -> StoreResult<Schedule>;
    /// A schedule by id.
    async fn schedule(&self, id: &str) -> StoreResult<Option<Schedule>>;
    /// A project's schedules of one origin, oldest first, after the schedule `after` (a page
    /// token), at most `limit` (0 means 20, at most 100).
    async fn schedules_of_project(
        &self,
        project_id: &str,
        origin: ScheduleOrigin,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Schedule>>;
    /// Every schedule of every project (the scheduler's view).
    async fn all_schedules(&self) -> StoreResult<Vec<Schedule>>;
    /// Replaces a schedule's fields (its origin and project stay); a new cron line or time zone
    /// moves its last tick up to `now`. `None` if there is no such schedule;
    /// [`StoreError::Conflict`] when the new name is taken.
    async fn update_schedule(
        &self,
        id: &str,
        fields: NewSchedule,
        now: Millis,
    ) -> StoreResult<Option<Schedule>>;
    /// Deletes a schedule; false if there was none.
    async fn delete_schedule(&self, id: &str) -> StoreResult<bool>;
    /// Claims a tick of a schedule: moves its last tick to `tick` if it is earlier, in one
    /// conditional statement. True for the one caller that moved it (and so fires the tick).
    async fn claim_schedule_tick(&self, id: &str, tick: Millis) -> StoreResult<bool>;
    /// Makes a branch's config schedules of a project the ones given (matched by name and cron
    /// line; matches keep their last tick, the rest are deleted or made with last tick `now`),
    /// all at once. Returns the branch's config schedules after.
    async fn replace_config_schedules(
        &self,
        project_id: &str,
        branch: &str,
        schedules: Vec<NewSchedule>,
        now: Millis,
    ) -> StoreResult<Vec<Schedule>>;
    // --- web UI: sessions, runners seen, recent workflows ---

    /// Stores a new session; [`StoreError::NotFound`] if there is no such user.
    async fn create_session(&self, session: crate::Session) -> StoreResult<()>;
    /// The session with this id hash, unless it expired before `now`.
    async fn session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<crate::Session>>;
    /// Ends a session; false if there was none.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Ends every session of a user (a changed password); how many there were.
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64>;
    /// Forgets sessions that expired before `now`; how many.
    async fn delete_expired_sessions(&self, now: Millis) -> StoreResult<u64>;
    /// Runners that asked for work since `since`, most recent first.
    async fn runners_since(&self, since: Millis) -> StoreResult<Vec<crate::RunnerSeen>>;
    /// Changes where a project's code is and its default branch; false if there is no such
    /// project.
    async fn set_project_source(
        &self,
        id: &str,
        repo_url: &str,
        default_branch: &str,
    ) -> StoreResult<bool>;
    // --- secrets: sealed environment variables, contexts, context restrictions ---

    /// Sets an environment variable of a project or context (creating or replacing it);
    /// [`StoreError::NotFound`] if there is no such owner.
    async fn put_env_var(
        &self,
        owner: &EnvOwner,
        name: &str,
        value: &SealedValue,
        now: Millis,
    ) -> StoreResult<EnvVar>;
    /// One environment variable.
    async fn env_var(&self, owner: &EnvOwner, name: &str) -> StoreResult<Option<EnvVar>>;
    /// An owner's environment variables, by name.
    async fn env_vars(&self, owner: &EnvOwner) -> StoreResult<Vec<EnvVar>>;
    /// Deletes an environment variable; false if there was none.
    async fn delete_env_var(&self, owner: &EnvOwner, name: &str) -> StoreResult<bool>;
    /// Every environment variable of every owner (for key rotation).
    async fn all_env_vars(&self) -> StoreResult<Vec<EnvVar>>;
    /// Replaces a variable's sealed value with `to`, only if it still holds the value `var`
    /// was read with (a concurrent write wins); false otherwise.
    async fn reseal_env_var(&self, var: &EnvVar, to: &SealedValue) -> StoreResult<bool>;
    /// The ids of the keys that sealed the stored values.
    async fn env_var_key_ids(&self) -> StoreResult<Vec<String>>;
    /// Creates a context; [`StoreError::Conflict`] when the name is taken.
    async fn create_context(&self, name: &str, now: Millis) -> StoreResult<Context>;
    /// A context by id.
    async fn context(&self, id: &str) -> StoreResult<Option<Context>>;
    /// A context by name.
    async fn context_by_name(&self, name: &str) -> StoreResult<Option<Context>>;
    /// Every context, by name.
    async fn contexts(&self) -> StoreResult<Vec<Context>>;
    /// Deletes a context with its variables and restrictions; false if there was none.
    async fn delete_context(&self, id: &str) -> StoreResult<bool>;
    /// Adds a restriction to a context; [`StoreError::NotFound`] if there is no such context.
    async fn add_context_restriction(
        &self,
        restriction: NewRestriction,
        now: Millis,
    ) -> StoreResult<ContextRestriction>;
    /// A context's restrictions, oldest first.
    async fn context_restrictions(&self, context_id: &str) -> StoreResult<Vec<ContextRestriction>>;
    /// Deletes a context's restriction; false if there was none.
    async fn delete_context_restriction(&self, context_id: &str, id: &str) -> StoreResult<bool>;
    // --- dispatch ---

    /// Claims up to one task per claim in `claims` (same resource class and runner, each with
    /// its own token), oldest first, as [`Store::claim_task`] does, and moves each claimed
    /// task's job from `queued` to `running` (setting `started_at`) if it is still queued — all
    /// in one transaction, so a runner with many free slots takes a fan-out's tasks at once.
    /// Each task comes with its job as it is after the move when it moved (`None`: another
    /// node started it already, or it was cancelled). Stops at the first claim that finds
    /// nothing queued.
    async fn claim_tasks_and_start_jobs(
        &self,
        claims: Vec<Claim>,
    ) -> StoreResult<Vec<(Task, Option<Job>)>>;
    // ---- Client API lists (read in one round trip) ----

    /// A page of a project's pipelines, newest first, as [`Store::pipelines`] gives them but
    /// without their configs (`config_*` and continuation fields are `None`): what API lists
    /// show, read in one round trip.
    async fn pipeline_page(
        &self,
        project_id: &str,
        branch: Option<&str>,
        page: Page,
    ) -> StoreResult<Vec<Pipeline>>;

    // --- the web UI's pages ---

    /// A project's finished workflows created since `since`, summed per day of `day_ms`
    /// milliseconds (day 0 starts at `since`), days without any left out, oldest first.
    async fn workflow_days(
        &self,
        project_id: &str,
        since: Millis,
        day_ms: i64,
    ) -> StoreResult<Vec<crate::WorkflowDay>>;
}
