//! `circa pipeline list [SLUG] [--branch B]`: the newest pipelines with their workflows'
//! status.

use std::process::ExitCode;

use futures_util::future::try_join_all;
use owo_colors::OwoColorize;
use serde::Serialize;

use super::fetch::Api;
use super::model::{Pipeline, Workflow};
use super::screen::{self, Screen};

/// The most pipelines one listing shows.
pub const MAX_LIMIT: i64 = 200;

/// A pipeline with its workflows, as listed.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// The pipeline.
    #[serde(flatten)]
    pub pipeline: Pipeline,
    /// Its workflows.
    pub workflows: Vec<Workflow>,
}

/// Reads the newest `limit` pipelines with their workflows.
pub async fn listed(
    api: &Api<'_>,
    slug: Option<&str>,
    branch: Option<&str>,
    limit: usize,
) -> anyhow::Result<Vec<Listed>> {
    let max = usize::try_from(MAX_LIMIT).unwrap_or(usize::MAX);
    let pipelines = api.pipelines(slug, branch, limit.min(max)).await?;
    try_join_all(pipelines.into_iter().map(|pipeline| async move {
        let workflows = api.workflows(&pipeline.id).await?;
        Ok::<_, anyhow::Error>(Listed {
            pipeline,
            workflows,
        })
    }))
    .await
}

/// `name:status` of each workflow, coloured.
fn workflows_text(workflows: &[Workflow]) -> String {
    if workflows.is_empty() {
        return "-".dimmed().to_string();
    }
    workflows
        .iter()
        .map(|w| format!("{}:{}", w.name, screen::workflow_status(w.status)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints the listing: a table for people, or one JSON document.
pub async fn list(
    api: &Api<'_>,
    slug: Option<&str>,
    branch: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let items = listed(api, slug, branch, limit).await?;
    if json {
        screen::print_json(&items)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = Screen::new();
    if items.is_empty() {
        out.line("no pipelines");
        return Ok(ExitCode::SUCCESS);
    }
    let project = slug.is_none();
    let width = items
        .iter()
        .map(|i| i.pipeline.git_ref().len())
        .max()
        .unwrap_or(0);
    let slug_width = items
        .iter()
        .map(|i| i.pipeline.project_slug.len())
        .max()
        .unwrap_or(0);
    for item in &items {
        let p = &item.pipeline;
        let project_column = if project {
            format!("{:slug_width$}  ", p.project_slug)
        } else {
            String::new()
        };
        let state = format!("{:13}", p.state.as_str());
        let state = if p.errors.is_empty() {
            state
        } else {
            state.red().to_string()
        };
        out.line(&format!(
            "{}  {project_column}{:width$}  {}  {}  {}  {}",
            format!("{:>5}", p.number).bold(),
            p.git_ref(),
            screen::short_time(&p.created_at).dimmed(),
            state,
            p.id.dimmed(),
            workflows_text(&item.workflows),
        ));
    }
    Ok(ExitCode::SUCCESS)
}
