//! Secrets into a claimed task: the job's contexts are checked, then the project's and the
//! contexts' variables are opened into the assignment the runner receives (never into the
//! stored task), with every value in the list the runner masks. A job that runs
//! `add_ssh_keys` also receives the project's additional SSH keys (those its steps name, or
//! all), their private keys masked too; like variables, none for a pull request from a fork
//! unless the project gives forks secrets.

use circa_model::StepAction;
use circa_model::protocol::TaskAssignment;
use std::collections::HashMap;

use circa_store::{EnvOwner, EnvVar, Job, ProjectId, Task};

use super::access::{Subject, authorize, deliver};
use super::git_access::ClaimAccess;
use super::{SecretError, ssh_keys};
use crate::orchestrator::trigger::values_for;
use crate::state::AppState;

/// Project variables (and git access, see [`super::git_access::fill`]) read while handing out
/// one claim's tasks, by project id: a batch of one project's tasks reads them once.
#[derive(Default)]
pub struct ProjectVars(HashMap<ProjectId, Vec<EnvVar>>, ClaimAccess);

/// Fills `assignment`'s variables, secrets and git access for `task`; `Ok(Err(why))` when its job may not
/// use its contexts. `job` is the task's job when the caller has it already.
///
/// A job without contexts in a project without variables receives nothing, which one query
/// (the project's variables) tells; the rest is read only when there is something to deliver.
pub async fn fill(
    state: &AppState,
    task: &Task,
    job: Option<&Job>,
    assignment: &mut TaskAssignment,
    read: &mut ProjectVars,
) -> Result<Result<(), String>, SecretError> {
    let store = state.store.as_ref();
    let job_read;
    let job = match job {
        Some(job) if job.id == task.job_id => job,
        _ => {
            job_read = store
                .job(&task.job_id)
                .await?
                .ok_or(SecretError::NotFound("job"))?;
            &job_read
        }
    };
    super::git_access::fill(state, job, assignment, &mut read.1).await?;
    let project_vars = match read.0.get(&job.project_id) {
        Some(vars) => vars.clone(),
        None => {
            let vars = store
                .env_vars(&EnvOwner::Project(job.project_id.clone()))
                .await?;
            read.0.insert(job.project_id.clone(), vars.clone());
            vars
        }
    };
    if let Some(wanted) = wanted_ssh_keys(assignment) {
        fill_ssh_keys(state, job, &wanted, assignment).await?;
    }
    if job.contexts.is_empty() && project_vars.is_empty() {
        return Ok(Ok(()));
    }
    let project = store
        .project(&job.project_id)
        .await?
        .ok_or(SecretError::NotFound("project"))?;
    let pipeline = store
        .pipeline(&job.pipeline_id)
        .await?
        .ok_or(SecretError::NotFound("pipeline"))?;
    let values = values_for(&project, &pipeline);
    let subject = Subject {
        project: &project,
        pipeline: &pipeline,
        values: &values,
    };
    let contexts = match authorize(store, &subject, &job.contexts).await? {
        Ok(contexts) => contexts,
        Err(refused) => return Ok(Err(refused)),
    };
    let delivery = deliver(
        store,
        &state.keys.vault,
        (&project, project_vars),
        &pipeline,
        &contexts,
    )
    .await?;
    assignment.project_env = delivery.project_env;
    assignment.context_env = delivery.context_env;
    assignment.secrets.extend(delivery.secrets);
    Ok(Ok(()))
}

/// The fingerprints the job's `add_ssh_keys` steps name (empty when one names none: every
/// key); `None` when the job has no such step.
fn wanted_ssh_keys(assignment: &TaskAssignment) -> Option<Vec<String>> {
    let mut wanted: Option<Vec<String>> = None;
    for step in &assignment.spec.steps {
        if let StepAction::AddSshKeys { fingerprints } = &step.action {
            let all = wanted.get_or_insert_with(Vec::new);
            if fingerprints.is_empty() {
                return Some(Vec::new());
            }
            all.extend(fingerprints.iter().cloned());
        }
    }
    wanted
}

/// Opens the project's SSH keys that `wanted` names (all when empty) into the assignment.
async fn fill_ssh_keys(
    state: &AppState,
    job: &Job,
    wanted: &[String],
    assignment: &mut TaskAssignment,
) -> Result<(), SecretError> {
    let store = state.store.as_ref();
    let keys = store.ssh_keys(&job.project_id).await?;
    if keys.is_empty() {
        return Ok(());
    }
    let pipeline = store
        .pipeline(&job.pipeline_id)
        .await?
        .ok_or(SecretError::NotFound("pipeline"))?;
    if pipeline.trigger.from_fork {
        let project = store
            .project(&job.project_id)
            .await?
            .ok_or(SecretError::NotFound("project"))?;
        if !project.settings.forks_receive_secret_env_vars {
            return Ok(());
        }
    }
    for key in &keys {
        let grant = ssh_keys::grant(&state.keys.vault, key)?;
        if wanted.is_empty() || wanted.iter().any(|w| grant.matches(w)) {
            assignment.secrets.push(grant.private_key.clone());
            // A line of the key printed on its own is masked too.
            let lines = grant.private_key.lines().map(str::trim);
            let body = lines.filter(|l| l.len() >= 16 && !l.starts_with("-----"));
            assignment.secrets.extend(body.map(str::to_string));
            assignment.ssh_keys.push(grant);
        }
    }
    Ok(())
}
