//! Circa's server: runner API, webhooks, API v2, the orchestrator.

pub mod webhooks;
