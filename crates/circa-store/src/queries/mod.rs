//! The [`Store`] implementation, written once and compiled into each backend module: `sqlite`
//! and `postgres` both declare `#[path = "../queries/mod.rs"] mod queries;`, and in each copy
//! `super::Db` is that backend's sqlx database and `super::Backend` its store type, so the code
//! is checked against concrete types (no generic bounds over sqlx's traits).
//!
//! The SQL here is portable: `$N` placeholders, `RETURNING`, `ON CONFLICT`, booleans as
//! `TRUE`/`FALSE`. What differs stays in the backend module: `super::CLAIM_SQL` and
//! `super::CLAIM_LOCK` (PostgreSQL adds `FOR UPDATE SKIP LOCKED`), `super::insert_events` (multi-row inserts on SQLite,
//! `UNNEST` on PostgreSQL), and `Backend::begin` (SQLite's `BEGIN IMMEDIATE` on its one
//! writer connection).
//!
//! Every write is one transaction, or one statement. Reads go to `Backend::reader`, writes to
//! `Backend::writer`/`Backend::begin`.
//!
//! Calls write in few statements: alike job changes of a settle go 16 jobs to one `UPDATE`
//! (the id list padded with NULL, so one statement text serves every batch), new tasks 16 to a
//! multi-row `INSERT`, a batch claim takes 16 tasks to a statement and starts their jobs 16 to
//! a statement, after a read found anything queued (a long-polling runner's empty claim takes
//! no write transaction), and events go 32 to a statement, with `last_seq` moved by one
//! conditional `UPDATE` when a batch continues its task exactly. `start_pipeline` stores a
//! trigger's processed config, state, workflows and their first settle in one transaction.
//!
//! A `LIMIT` takes its parameter through `CAST($N AS BIGINT)`, never bare: SQLite plans a bare
//! parameter in `LIMIT` with its bound value, so every new binding would re-prepare the
//! statement (parse and plan it again) on each run.

use async_trait::async_trait;
use circa_model::{JobStatus, WorkflowStatus};

use super::{Backend, CLAIM_LOCK, CLAIM_SQL, Db, PIPELINE_PAGE_SQL, insert_events};
use crate::error::StoreError;
use crate::records::*;
use crate::schedule::{NewSchedule, Schedule, ScheduleOrigin};
use crate::secret_records::*;
use crate::store::{Store, StoreResult};

mod api_lists;
mod artifacts;
mod dispatch;
mod events;
mod jobs;
mod pipelines;
mod projects;
mod queue;
mod runners;
mod schedules;
mod secrets;
mod tokens;
mod users;
mod web;
mod web_pages;
mod workflows;

/// The backend's connection type, which transactions deref to.
type Conn = <Db as sqlx::Database>::Connection;

/// A database error, with foreign-key violations (a row naming one that does not exist) as
/// [`StoreError::NotFound`] of `what`.
fn missing_parent(error: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match &error {
        sqlx::Error::Database(e) if e.is_foreign_key_violation() => StoreError::NotFound(what()),
        _ => StoreError::Database(error),
    }
}

/// The tables every request reads (tokens and users to sign in, the project and its
/// pipelines, workflows, jobs, tasks and steps): the readiness check reads a row of each.
const READY_READS: [&str; 9] = [
    "SELECT * FROM tokens LIMIT 1",
    "SELECT * FROM users LIMIT 1",
    "SELECT * FROM projects LIMIT 1",
    "SELECT * FROM pipelines LIMIT 1",
    "SELECT * FROM workflows LIMIT 1",
    "SELECT * FROM jobs LIMIT 1",
    "SELECT * FROM tasks LIMIT 1",
    "SELECT * FROM steps LIMIT 1",
    "SELECT * FROM events LIMIT 1",
];

#[async_trait]
impl Store for Backend {
    async fn ping(&self) -> StoreResult<()> {
        let mut conn = self.reader().await?;
        for read in READY_READS {
            sqlx::query(read).fetch_optional(&mut *conn).await?;
        }
        Ok(())
    }

    async fn create_project(&self, project: NewProject, now: Millis) -> StoreResult<Project> {
        projects::create(self, project, now).await
    }

    async fn project(&self, id: &str) -> StoreResult<Option<Project>> {
        projects::by_id(self, id).await
    }

    async fn project_by_slug(&self, slug: &str) -> StoreResult<Option<Project>> {
        projects::by_slug(self, slug).await
    }

    async fn projects(&self) -> StoreResult<Vec<Project>> {
        projects::all(self).await
    }

    async fn update_project_settings(
        &self,
        id: &str,
        settings: &ProjectSettings,
    ) -> StoreResult<bool> {
        projects::set_settings(self, id, settings).await
    }

    async fn create_token(&self, token: NewToken, now: Millis) -> StoreResult<Token> {
        tokens::create(self, token, now).await
    }

    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<Token>> {
        tokens::by_hash(self, hash).await
    }

    async fn token_with_user(&self, hash: &str) -> StoreResult<Option<(Token, Option<User>)>> {
        tokens::with_user(self, hash).await
    }

    async fn revoke_token(&self, id: &str) -> StoreResult<bool> {
        tokens::revoke(self, id).await
    }

    async fn tokens(&self) -> StoreResult<Vec<Token>> {
        tokens::all(self).await
    }

    async fn tokens_of_user(&self, user_id: &str) -> StoreResult<Vec<Token>> {
        users::tokens_of(self, user_id).await
    }

    async fn create_user(&self, user: NewUser, now: Millis) -> StoreResult<User> {
        users::create(self, user, now).await
    }

    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        users::by_id(self, id).await
    }

    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        users::by_login(self, login).await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        users::all(self).await
    }

    async fn set_user_password(&self, id: &str, password_hash: Option<&str>) -> StoreResult<bool> {
        users::set_password(self, id, password_hash).await
    }

    async fn add_project_member(&self, project_id: &str, user_id: &str) -> StoreResult<()> {
        users::add_member(self, project_id, user_id).await
    }

    async fn remove_project_member(&self, project_id: &str, user_id: &str) -> StoreResult<bool> {
        users::remove_member(self, project_id, user_id).await
    }

    async fn is_project_member(&self, project_id: &str, user_id: &str) -> StoreResult<bool> {
        users::is_member(self, project_id, user_id).await
    }

    async fn projects_of_user(&self, user_id: &str) -> StoreResult<Vec<Project>> {
        users::projects_of(self, user_id).await
    }

    async fn create_group(&self, name: &str, now: Millis) -> StoreResult<Group> {
        users::create_group(self, name, now).await
    }

    async fn groups(&self) -> StoreResult<Vec<Group>> {
        users::groups(self).await
    }

    async fn add_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<()> {
        users::add_group_member(self, group_id, user_id).await
    }

    async fn groups_of_user(&self, user_id: &str) -> StoreResult<Vec<Group>> {
        users::groups_of(self, user_id).await
    }

    async fn create_pipeline(
        &self,
        pipeline: NewPipeline,
        workflows: Vec<NewWorkflow>,
        now: Millis,
    ) -> StoreResult<(Pipeline, Vec<Workflow>, Vec<Job>)> {
        pipelines::create(self, pipeline, workflows, now).await
    }

    async fn add_workflows(
        &self,
        pipeline_id: &str,
        workflows: Vec<NewWorkflow>,
        now: Millis,
    ) -> StoreResult<(Vec<Workflow>, Vec<Job>)> {
        pipelines::add_workflows(self, pipeline_id, workflows, now).await
    }

    async fn start_pipeline(
        &self,
        pipeline_id: &str,
        compiled: &str,
        continuation: Option<(String, Millis)>,
        state: Option<PipelineState>,
        workflows: Vec<NewWorkflow>,
        settle: Option<FirstSettle>,
        now: Millis,
    ) -> StoreResult<(Vec<Workflow>, Vec<Job>)> {
        pipelines::start(
            self,
            pipelines::Start {
                pipeline_id,
                compiled,
                continuation,
                state,
            },
            workflows,
            settle,
            now,
        )
        .await
    }

    async fn set_pipeline_state(
        &self,
        pipeline_id: &str,
        state: PipelineState,
        errors: &[PipelineError],
        now: Millis,
    ) -> StoreResult<()> {
        pipelines::set_state(self, pipeline_id, state, errors, now).await
    }

    async fn continue_pipeline(
        &self,
        pipeline_id: &str,
        config_source: &str,
        config_compiled: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        pipelines::continue_setup(self, pipeline_id, config_source, config_compiled, now).await
    }

    async fn pipeline(&self, id: &str) -> StoreResult<Option<Pipeline>> {
        pipelines::by_id(self, id).await
    }

    async fn pipeline_by_number(
        &self,
        project_id: &str,
        number: i64,
    ) -> StoreResult<Option<Pipeline>> {
        pipelines::by_number(self, project_id, number).await
    }

    async fn pipelines(
        &self,
        project_id: &str,
        branch: Option<&str>,
        page: Page,
    ) -> StoreResult<Vec<Pipeline>> {
        pipelines::list(self, project_id, branch, page).await
    }

    async fn cached_config(&self, project_id: &str, sha: &str) -> StoreResult<Option<String>> {
        pipelines::cached_config(self, project_id, sha).await
    }

    async fn cache_config(&self, project_id: &str, sha: &str, config: &str) -> StoreResult<()> {
        pipelines::cache_config(self, project_id, sha, config).await
    }

    async fn workflow(&self, id: &str) -> StoreResult<Option<Workflow>> {
        workflows::by_id(self, id).await
    }

    async fn workflows_of_pipeline(&self, pipeline_id: &str) -> StoreResult<Vec<Workflow>> {
        workflows::of_pipeline(self, pipeline_id).await
    }

    async fn active_workflows_on_branch(
        &self,
        project_id: &str,
        branch: &str,
    ) -> StoreResult<Vec<Workflow>> {
        workflows::active_on_branch(self, project_id, branch).await
    }

    async fn job(&self, id: &str) -> StoreResult<Option<Job>> {
        jobs::by_id(self, id).await
    }

    async fn job_by_number(&self, project_id: &str, number: i64) -> StoreResult<Option<Job>> {
        jobs::by_number(self, project_id, number).await
    }

    async fn job_by_number_with_workflow(
        &self,
        project_id: &str,
        number: i64,
    ) -> StoreResult<Option<(Job, Option<String>)>> {
        jobs::by_number_with_workflow(self, project_id, number).await
    }

    async fn jobs_of_workflow(&self, workflow_id: &str) -> StoreResult<Vec<Job>> {
        jobs::of_workflow(self, workflow_id).await
    }

    async fn update_workflow(&self, update: WorkflowUpdate) -> StoreResult<bool> {
        workflows::update(self, update).await
    }

    async fn claim_task(&self, claim: Claim) -> StoreResult<Option<Task>> {
        queue::claim(self, claim).await
    }

    async fn task(&self, id: &str) -> StoreResult<Option<Task>> {
        queue::by_id(self, id).await
    }

    async fn tasks_of_job(&self, job_id: &str) -> StoreResult<Vec<Task>> {
        queue::of_job(self, job_id).await
    }

    async fn heartbeat(
        &self,
        task_id: &str,
        _now: Millis,
        lease_expires_at: Millis,
    ) -> StoreResult<Option<Task>> {
        queue::heartbeat(self, task_id, lease_expires_at).await
    }

    async fn cancel_tasks(&self, job_id: &str, now: Millis) -> StoreResult<Vec<Task>> {
        queue::cancel(self, job_id, now).await
    }

    async fn finish_task(
        &self,
        task_id: &str,
        result: JobStatus,
        message: Option<&str>,
        now: Millis,
    ) -> StoreResult<Option<Task>> {
        queue::finish(self, task_id, result, message, now).await
    }

    async fn expired_tasks(&self, now: Millis) -> StoreResult<Vec<Task>> {
        queue::expired(self, now).await
    }

    async fn requeue_task(&self, task_id: &str, now: Millis) -> StoreResult<bool> {
        queue::requeue(self, task_id, now).await
    }

    async fn queued_tasks(&self) -> StoreResult<Vec<Task>> {
        queue::queued(self).await
    }

    async fn append_events(&self, task_id: &str, events: &[StoredEvent]) -> StoreResult<u64> {
        events::append(self, task_id, events).await
    }

    async fn events(
        &self,
        task_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        events::after(self, task_id, after_seq, limit).await
    }

    async fn step_events(&self, task_id: &str, step: u32) -> StoreResult<Vec<StoredEvent>> {
        events::of_step(self, task_id, step).await
    }

    async fn record_step(&self, step: StepRecord) -> StoreResult<()> {
        events::record_step(self, step).await
    }

    async fn steps(&self, task_id: &str) -> StoreResult<Vec<StepRecord>> {
        events::steps(self, task_id).await
    }

    async fn runner_seen(&self, name: &str, resource_class: &str, now: Millis) -> StoreResult<()> {
        runners::seen(self, name, resource_class, now).await
    }

    async fn runners_seen(&self, resource_class: &str, since: Millis) -> StoreResult<u64> {
        runners::count_since(self, resource_class, since).await
    }

    async fn add_artifact(&self, artifact: Artifact) -> StoreResult<()> {
        artifacts::add(self, artifact).await
    }

    async fn artifacts(&self, job_id: &str) -> StoreResult<Vec<Artifact>> {
        artifacts::of_job(self, job_id).await
    }

    async fn set_workflow_status(
        &self,
        workflow_id: &str,
        status: WorkflowStatus,
        now: Millis,
    ) -> StoreResult<()> {
        workflows::set_status(self, workflow_id, status, now).await
    }

    // --- schedules ---

    async fn create_schedule(&self, schedule: NewSchedule, now: Millis) -> StoreResult<Schedule> {
        schedules::create(self, schedule, now).await
    }

    async fn schedule(&self, id: &str) -> StoreResult<Option<Schedule>> {
        schedules::by_id(self, id).await
    }

    async fn schedules_of_project(
        &self,
        project_id: &str,
        origin: ScheduleOrigin,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<Schedule>> {
        schedules::of_project(self, project_id, origin, after, limit).await
    }

    async fn all_schedules(&self) -> StoreResult<Vec<Schedule>> {
        schedules::all(self).await
    }

    async fn update_schedule(
        &self,
        id: &str,
        fields: NewSchedule,
        now: Millis,
    ) -> StoreResult<Option<Schedule>> {
        schedules::update(self, id, fields, now).await
    }

    async fn delete_schedule(&self, id: &str) -> StoreResult<bool> {
        schedules::delete(self, id).await
    }

    async fn claim_schedule_tick(&self, id: &str, tick: Millis) -> StoreResult<bool> {
        schedules::claim_tick(self, id, tick).await
    }

    async fn replace_config_schedules(
        &self,
        project_id: &str,
        branch: &str,
        schedules: Vec<NewSchedule>,
        now: Millis,
    ) -> StoreResult<Vec<Schedule>> {
        schedules::replace_config(self, project_id, branch, schedules, now).await
    }

    // --- web UI: sessions, runners seen, recent workflows ---

    async fn create_session(&self, session: crate::Session) -> StoreResult<()> {
        web::create_session(self, session).await
    }

    async fn session(&self, id_hash: &str, now: Millis) -> StoreResult<Option<crate::Session>> {
        web::session(self, id_hash, now).await
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<bool> {
        web::delete_session(self, id_hash).await
    }

    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64> {
        web::delete_user_sessions(self, user_id).await
    }

    async fn delete_expired_sessions(&self, now: Millis) -> StoreResult<u64> {
        web::delete_expired(self, now).await
    }

    async fn runners_since(&self, since: Millis) -> StoreResult<Vec<crate::RunnerSeen>> {
        web::runners_since(self, since).await
    }

    async fn set_project_source(
        &self,
        id: &str,
        repo_url: &str,
        default_branch: &str,
    ) -> StoreResult<bool> {
        web::set_project_source(self, id, repo_url, default_branch).await
    }

    // --- secrets ---

    async fn put_env_var(
        &self,
        owner: &EnvOwner,
        name: &str,
        value: &SealedValue,
        now: Millis,
    ) -> StoreResult<EnvVar> {
        secrets::put_env_var(self, owner, name, value, now).await
    }

    async fn env_var(&self, owner: &EnvOwner, name: &str) -> StoreResult<Option<EnvVar>> {
        secrets::env_var(self, owner, name).await
    }

    async fn env_vars(&self, owner: &EnvOwner) -> StoreResult<Vec<EnvVar>> {
        secrets::env_vars(self, owner).await
    }

    async fn delete_env_var(&self, owner: &EnvOwner, name: &str) -> StoreResult<bool> {
        secrets::delete_env_var(self, owner, name).await
    }

    async fn all_env_vars(&self) -> StoreResult<Vec<EnvVar>> {
        secrets::all_env_vars(self).await
    }

    async fn reseal_env_var(&self, var: &EnvVar, to: &SealedValue) -> StoreResult<bool> {
        secrets::reseal_env_var(self, var, to).await
    }

    async fn env_var_key_ids(&self) -> StoreResult<Vec<String>> {
        secrets::key_ids(self).await
    }

    async fn create_context(&self, name: &str, now: Millis) -> StoreResult<Context> {
        secrets::create_context(self, name, now).await
    }

    async fn context(&self, id: &str) -> StoreResult<Option<Context>> {
        secrets::context(self, id).await
    }

    async fn context_by_name(&self, name: &str) -> StoreResult<Option<Context>> {
        secrets::context_by_name(self, name).await
    }

    async fn contexts(&self) -> StoreResult<Vec<Context>> {
        secrets::contexts(self).await
    }

    async fn delete_context(&self, id: &str) -> StoreResult<bool> {
        secrets::delete_context(self, id).await
    }

    async fn add_context_restriction(
        &self,
        restriction: NewRestriction,
        now: Millis,
    ) -> StoreResult<ContextRestriction> {
        secrets::add_restriction(self, restriction, now).await
    }

    async fn context_restrictions(&self, context_id: &str) -> StoreResult<Vec<ContextRestriction>> {
        secrets::restrictions(self, context_id).await
    }

    async fn delete_context_restriction(&self, context_id: &str, id: &str) -> StoreResult<bool> {
        secrets::delete_restriction(self, context_id, id).await
    }

    // --- dispatch ---

    async fn claim_tasks_and_start_jobs(
        &self,
        claims: Vec<Claim>,
    ) -> StoreResult<Vec<(Task, Option<Job>)>> {
        dispatch::claim_and_start(self, claims).await
    }

    // ---- Client API lists ----

    async fn pipeline_page(
        &self,
        project_id: &str,
        branch: Option<&str>,
        page: Page,
    ) -> StoreResult<Vec<Pipeline>> {
        api_lists::pipeline_page(self, project_id, branch, page).await
    }

    // --- the web UI's pages ---

    async fn workflow_days(
        &self,
        project_id: &str,
        since: Millis,
        day_ms: i64,
    ) -> StoreResult<Vec<crate::WorkflowDay>> {
        web_pages::workflow_days(self, project_id, since, day_ms).await
    }
}
