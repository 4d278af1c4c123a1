//! The client commands on pipelines and jobs: `pipeline trigger [--wait]`, `pipeline list`,
//! `pipeline show`, `job log [--follow]`. They read the server's API (CircleCI's v2 routes,
//! v1.1's job, Circa's job details and SSE streams) and print for people — in colour on a
//! terminal, with a status line while following — or JSON with `--json`.
//!
//! - [`refs`]: a pipeline or job as named on the command line.
//! - [`model`]: the API answers read, as types; [`fetch`]: reading them.
//! - [`sse`]: server-sent events; [`screen`]: colour and the status line.
//! - [`diagnose`]: why a job failed; [`wait`]: following a pipeline to its end.
//! - [`trigger`], [`list`], [`show`], [`log`]: the commands.

pub mod diagnose;
pub mod fetch;
pub mod list;
pub mod log;
pub mod model;
pub mod refs;
pub mod screen;
pub mod show;
pub mod sse;
pub mod trigger;
pub mod wait;

use std::process::ExitCode;

use crate::cli::{JobCommand, PipelineCommand};
use crate::service::client::{Client, runtime};

/// Runs a `circa pipeline ...` command.
pub fn pipeline(command: PipelineCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        match command {
            PipelineCommand::Trigger {
                slug,
                branch,
                tag,
                params,
                wait,
                client,
            } => {
                let client = Client::new(&client)?;
                let request = trigger::Trigger {
                    slug: &slug,
                    branch: branch.as_deref(),
                    tag: tag.as_deref(),
                    params: &params,
                    wait,
                };
                trigger::trigger(&client, &request).await
            }
            PipelineCommand::List {
                slug,
                branch,
                limit,
                json,
                client,
            } => {
                let client = Client::new(&client)?;
                let api = fetch::Api::new(&client);
                let limit = usize::from(limit);
                list::list(&api, slug.as_deref(), branch.as_deref(), limit, json).await
            }
            PipelineCommand::Show {
                pipeline,
                json,
                client,
            } => {
                let client = Client::new(&client)?;
                show::show(&fetch::Api::new(&client), &pipeline, json).await
            }
        }
    })
}

/// Runs a `circa job ...` command.
pub fn job(command: JobCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        match command {
            JobCommand::Log {
                job,
                step,
                node,
                follow,
                json,
                client,
            } => {
                let client = Client::new(&client)?;
                let request = log::LogRequest {
                    job,
                    step,
                    node,
                    follow,
                    json,
                };
                log::log(&fetch::Api::new(&client), &request).await
            }
        }
    })
}
