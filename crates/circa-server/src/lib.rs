//! Circa's server: the runner API, the client API (CircleCI's API v2 routes and Circa's own),
//! webhooks, and the orchestrator that turns triggers into pipelines and moves workflows on as
//! jobs finish; and the web UI.

pub mod api;
pub mod auth;
pub mod claim_wakes;
pub mod closing_listener;
pub mod compiles;
pub mod config;
pub mod data_dir;
pub mod drain;
pub mod error;
pub mod forge;
pub mod git_fetch;
pub mod hooks;
pub mod known_hosts;
pub mod live;
pub mod load;
pub mod logs;
pub mod metrics;
pub mod orchestrator;
pub mod queue_reason;
pub mod registry;
pub mod replicas;
pub mod repository;
pub mod request_id;
pub mod runner_api;
pub mod runner_error;
pub mod schedules;
pub mod secrets;
pub mod serve;
pub mod slugs;
pub mod state;
pub mod unrecorded_steps;
pub mod uploads;
pub mod vcs;
pub mod waiting_claims;
pub mod web;
pub mod webhooks;

pub use config::{BlobConfig, ServerConfig};
pub use serve::{Server, StartError, create_runner_token, ensure_admin_token, start};
pub use web::ensure_admin_password;
