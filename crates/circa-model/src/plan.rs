//! The plan of a pipeline: which workflows run for a trigger, which of their jobs run, each
//! job's first status, and a human reason for everything left out.
//!
//! Rules, after CircleCI's documentation:
//! - a workflow runs when its `when` is true and its `unless` false (absent = runs);
//! - a workflow with legacy `triggers:` runs only when its own schedule fires (a
//!   [`TriggerSource::Schedule`] carrying the workflow's name) and only for a branch its
//!   schedule admits; such a firing runs no other workflow;
//! - a job runs for a branch when it has no branch filter or the filter admits the branch
//!   (`only` wins over `ignore`); for a tag only when it has a `tags` filter admitting the tag;
//!   a string filter is an expression and decides alone;
//! - required jobs that are left out are ignored as requirements, and a job whose requirements
//!   were *all* left out is left out too;
//! - a job starts `queued` with no remaining requirement, else `blocked`; an approval job
//!   starts `on_hold` with no remaining requirement, else `blocked`;
//! - a workflow none of whose jobs runs does not run.

mod display;
mod filtering;
#[cfg(test)]
mod tests;

use crate::status::JobStatus;
use crate::trigger::{ExpressionEval, Trigger, TriggerSource};
use crate::workflow::{Requirement, Workflow, WorkflowJob};
use filtering::admit_job;
use std::collections::{HashMap, VecDeque};

/// What a trigger runs: every workflow of the config, running or not, with reasons.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// The workflows in config order.
    pub workflows: Vec<PlannedWorkflow>,
}

/// One workflow of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedWorkflow {
    /// The workflow's name.
    pub name: String,
    /// Whether the workflow is created for this trigger.
    pub runs: bool,
    /// Why the workflow does not run; `None` when it runs.
    pub reason: Option<String>,
    /// The jobs that run, in config order (empty when the workflow does not run).
    pub jobs: Vec<PlannedJob>,
    /// The jobs left out, in config order, each with why.
    pub skipped: Vec<SkippedJob>,
}

/// A job that runs, with its first status.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedJob {
    /// The name in the workflow.
    pub name: String,
    /// The key of the job in the processed `jobs:` map.
    pub job_key: String,
    /// `queued`, `blocked` or (approval jobs) `on_hold`.
    pub status: JobStatus,
    /// The requirements left once jobs that do not run are ignored.
    pub requires: Vec<Requirement>,
    /// Contexts, in order.
    pub contexts: Vec<String>,
    /// Whether this is an approval job.
    pub approval: bool,
    /// The serial group, if any.
    pub serial_group: Option<String>,
}

/// A job left out of a running workflow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedJob {
    /// The name in the workflow.
    pub name: String,
    /// Why it does not run, for people.
    pub reason: String,
}

/// Plans every workflow for `trigger`; `eval` answers `when`/`unless` and expression filters.
pub fn plan(workflows: &[Workflow], trigger: &Trigger, eval: &dyn ExpressionEval) -> Plan {
    let legacy_firing = match &trigger.source {
        TriggerSource::Schedule { name } => workflows
            .iter()
            .any(|w| &w.name == name && !w.triggers.is_empty()),
        _ => false,
    };
    let workflows = workflows
        .iter()
        .map(
            |workflow| match admit_workflow(workflow, trigger, legacy_firing, eval) {
                Err(reason) => skipped_workflow(workflow, reason),
                Ok(()) => plan_workflow(workflow, trigger, eval),
            },
        )
        .collect();
    Plan { workflows }
}

fn skipped_workflow(workflow: &Workflow, reason: String) -> PlannedWorkflow {
    PlannedWorkflow {
        name: workflow.name.clone(),
        runs: false,
        reason: Some(reason),
        jobs: Vec::new(),
        skipped: Vec::new(),
    }
}

/// Whether `workflow` runs for `trigger`; the error is the reason it does not.
fn admit_workflow(
    workflow: &Workflow,
    trigger: &Trigger,
    legacy_firing: bool,
    eval: &dyn ExpressionEval,
) -> Result<(), String> {
    let fired_schedule = match &trigger.source {
        TriggerSource::Schedule { name } => Some(name.as_str()),
        _ => None,
    };
    if !workflow.triggers.is_empty() {
        if fired_schedule != Some(workflow.name.as_str()) {
            return Err("has legacy `triggers`: runs only when its own schedule fires".into());
        }
        let branch = trigger.effective_branch().unwrap_or_default();
        if !workflow.triggers.iter().any(|t| t.branches.admits(branch)) {
            return Err(format!(
                "schedule: branch `{branch}` is not among the branches its schedule builds"
            ));
        }
    } else if legacy_firing {
        return Err(format!(
            "the legacy schedule of workflow `{}` runs only that workflow",
            fired_schedule.unwrap_or_default()
        ));
    }
    if let Some(when) = &workflow.when {
        match eval.eval_condition(when) {
            Ok(true) => {}
            Ok(false) => return Err("when: condition is false".into()),
            Err(e) => return Err(format!("when: could not be evaluated: {e}")),
        }
    }
    if let Some(unless) = &workflow.unless {
        match eval.eval_condition(unless) {
            Ok(false) => {}
            Ok(true) => return Err("unless: condition is true".into()),
            Err(e) => return Err(format!("unless: could not be evaluated: {e}")),
        }
    }
    Ok(())
}

/// A job's fate in the plan.
enum Outcome {
    /// It runs, with these requirements left.
    Runs(Vec<Requirement>),
    /// It is left out, for this reason.
    Skipped(String),
}

fn plan_workflow(
    workflow: &Workflow,
    trigger: &Trigger,
    eval: &dyn ExpressionEval,
) -> PlannedWorkflow {
    let outcomes = decide_jobs(workflow, trigger, eval);
    let mut jobs = Vec::new();
    let mut skipped = Vec::new();
    for (job, outcome) in workflow.jobs.iter().zip(outcomes) {
        match outcome {
            Outcome::Runs(requires) => jobs.push(planned_job(job, requires)),
            Outcome::Skipped(reason) => skipped.push(SkippedJob {
                name: job.name.clone(),
                reason,
            }),
        }
    }
    let reason = jobs
        .is_empty()
        .then(|| "none of its jobs runs for this trigger".to_string());
    PlannedWorkflow {
        name: workflow.name.clone(),
        runs: reason.is_none(),
        reason,
        jobs,
        skipped,
    }
}

fn planned_job(job: &WorkflowJob, requires: Vec<Requirement>) -> PlannedJob {
    let status = match (job.approval, requires.is_empty()) {
        (_, false) => JobStatus::Blocked,
        (true, true) => JobStatus::OnHold,
        (false, true) => JobStatus::Queued,
    };
    PlannedJob {
        name: job.name.clone(),
        job_key: job.job_key.clone(),
        status,
        requires,
        contexts: job.contexts.clone(),
        approval: job.approval,
        serial_group: job.serial_group.clone(),
    }
}

/// Decides every job of `workflow`, requirements before the jobs that need them, and returns
/// the outcomes in the workflow's job order.
fn decide_jobs(workflow: &Workflow, trigger: &Trigger, eval: &dyn ExpressionEval) -> Vec<Outcome> {
    let jobs = &workflow.jobs;
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, job) in jobs.iter().enumerate() {
        index.entry(job.name.as_str()).or_insert(i);
    }
    let mut waiting_on = vec![0usize; jobs.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); jobs.len()];
    for (i, job) in jobs.iter().enumerate() {
        for requirement in &job.requires {
            if let Some(&required) = index.get(requirement.name.as_str()) {
                waiting_on[i] += 1;
                dependents[required].push(i);
            }
        }
    }
    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    let mut ready: VecDeque<usize> = (0..jobs.len()).filter(|&i| waiting_on[i] == 0).collect();
    while let Some(i) = ready.pop_front() {
        let outcome = decide_job(workflow, &jobs[i], &index, &outcomes, trigger, eval);
        outcomes[i] = Some(outcome);
        for &dependent in &dependents[i] {
            waiting_on[dependent] -= 1;
            if waiting_on[dependent] == 0 {
                ready.push_back(dependent);
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| {
            o.unwrap_or_else(|| {
                Outcome::Skipped("it is part of a requires cycle, or waits on one".into())
            })
        })
        .collect()
}

/// Decides one job once every job it requires is decided.
fn decide_job(
    workflow: &Workflow,
    job: &WorkflowJob,
    index: &HashMap<&str, usize>,
    outcomes: &[Option<Outcome>],
    trigger: &Trigger,
    eval: &dyn ExpressionEval,
) -> Outcome {
    if let Some(missing) = job
        .requires
        .iter()
        .find(|r| !index.contains_key(r.name.as_str()))
    {
        return Outcome::Skipped(format!(
            "it requires `{}`, which is not in workflow `{}`",
            missing.name, workflow.name
        ));
    }
    if let Err(reason) = admit_job(job, trigger, eval) {
        return Outcome::Skipped(reason);
    }
    let (kept, dropped): (Vec<&Requirement>, Vec<&Requirement>) =
        job.requires.iter().partition(|r| {
            let outcome = index
                .get(r.name.as_str())
                .and_then(|&i| outcomes[i].as_ref());
            matches!(outcome, Some(Outcome::Runs(_)))
        });
    if !job.requires.is_empty() && kept.is_empty() {
        let names: Vec<&str> = dropped.iter().map(|r| r.name.as_str()).collect();
        return Outcome::Skipped(format!(
            "its required jobs were all filtered out: {}",
            names.join(", ")
        ));
    }
    Outcome::Runs(kept.into_iter().cloned().collect())
}
