//! The orchestrator: pipelines from triggers, workflows moved forward by the model, tasks
//! queued for runners, leases watched.

pub mod actions;
pub mod assign;
pub mod compile;
pub mod continuation;
pub mod continuation_api;
mod error;
pub mod lease;
pub mod parameters;
pub mod settle;
pub mod trigger;

pub use error::{OrchestratorError, OrchestratorResult};
