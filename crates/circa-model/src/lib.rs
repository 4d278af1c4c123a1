//! Circa's domain: job and workflow statuses, workflows read from the processed config, the
//! plan of a pipeline (which workflows and jobs run for a trigger, and why the others do not),
//! and how a workflow advances when a job changes status.
//!
//! Architecture invariant: this crate is pure. No IO, no async runtime, no clock; every
//! function is a function of its arguments, so plain unit tests and snapshots cover it.

// Tests may unwrap and panic; the library itself may not (the workspace denies it).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod advance;
pub mod config_eval;
pub mod engine;
pub mod pattern;
pub mod plan;
pub mod protocol;
pub mod status;
pub mod task;
pub mod trigger;
pub mod workflow;

pub use advance::{Advance, AdvanceRequest, PlannedJobState, StatusChange, advance};
pub use config_eval::ConfigEval;
pub use pattern::{BranchFilter, Pattern, PatternError, PatternFilter};
pub use plan::{Plan, PlannedJob, PlannedWorkflow, SkippedJob, plan};
pub use status::{JobStatus, UnknownStatus, WorkflowStatus, worst};
pub use task::{
    DockerImage, ExecutorSpec, JobSpec, RegistryAuth, RunStep, StepAction, StepSpec, TaskError,
    When,
};
pub use trigger::{ExpressionEval, Trigger, TriggerSource};
pub use workflow::{Filters, Requirement, ScheduleTrigger, Workflow, WorkflowJob, read_workflows};

#[cfg(test)]
mod testing;
