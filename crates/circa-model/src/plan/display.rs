//! The plan as text, the way `circa config plan` prints it:
//!
//! ```text
//! workflow `main`: runs
//!   build    queued
//!   deploy   blocked   requires: build; contexts: prod
//!   skipped:
//!     docs   filtered: branch `main` does not match `gh-pages`
//! ```

use super::{Plan, PlannedJob, PlannedWorkflow};
use crate::status::JobStatus;
use crate::workflow::Requirement;
use std::fmt;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.workflows.is_empty() {
            return writeln!(f, "no workflows");
        }
        for (i, workflow) in self.workflows.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write_workflow(f, workflow)?;
        }
        Ok(())
    }
}

fn write_workflow(f: &mut fmt::Formatter<'_>, workflow: &PlannedWorkflow) -> fmt::Result {
    match (&workflow.reason, workflow.runs) {
        (_, true) => writeln!(f, "workflow `{}`: runs", workflow.name)?,
        (Some(reason), false) => writeln!(f, "workflow `{}`: skipped: {reason}", workflow.name)?,
        (None, false) => writeln!(f, "workflow `{}`: skipped", workflow.name)?,
    }
    let name_width = workflow
        .jobs
        .iter()
        .map(|j| j.name.chars().count())
        .max()
        .unwrap_or(0);
    let status_width = workflow
        .jobs
        .iter()
        .map(|j| j.status.as_str().len())
        .max()
        .unwrap_or(0);
    for job in &workflow.jobs {
        let line = format!(
            "  {:name_width$}  {:status_width$}  {}",
            job.name,
            job.status.as_str(),
            job_details(job)
        );
        writeln!(f, "{}", line.trim_end())?;
    }
    if !workflow.skipped.is_empty() {
        writeln!(f, "  skipped:")?;
        let width = workflow
            .skipped
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0);
        for job in &workflow.skipped {
            writeln!(f, "    {:width$}  {}", job.name, job.reason)?;
        }
    }
    Ok(())
}

/// `approval; requires: a, b (failed); contexts: x, y; serial-group: g`, parts left out when empty.
fn job_details(job: &PlannedJob) -> String {
    let mut parts = Vec::new();
    if job.approval {
        parts.push("approval".to_string());
    }
    if !job.requires.is_empty() {
        let requires: Vec<String> = job.requires.iter().map(describe_requirement).collect();
        parts.push(format!("requires: {}", requires.join(", ")));
    }
    if !job.contexts.is_empty() {
        let label = if job.contexts.len() == 1 {
            "context"
        } else {
            "contexts"
        };
        parts.push(format!("{label}: {}", job.contexts.join(", ")));
    }
    if let Some(group) = &job.serial_group {
        parts.push(format!("serial-group: {group}"));
    }
    parts.join("; ")
}

/// `build` when success is required, else `build (failed)`, `build (success|canceled)` or
/// `build (terminal)`.
fn describe_requirement(requirement: &Requirement) -> String {
    let statuses = &requirement.statuses;
    if statuses.as_slice() == [JobStatus::Success] {
        return requirement.name.clone();
    }
    let is_terminal = statuses.len() == Requirement::TERMINAL.len()
        && Requirement::TERMINAL.iter().all(|s| statuses.contains(s));
    let mut text = format!("{} (", requirement.name);
    if is_terminal {
        text.push_str("terminal");
    } else {
        for (i, status) in statuses.iter().enumerate() {
            if i > 0 {
                text.push('|');
            }
            text.push_str(status.as_str());
        }
    }
    text.push(')');
    text
}
