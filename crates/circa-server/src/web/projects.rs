//! The projects list (with the add-project form for admins) and a project's pipelines
//! (filtered by branch, paginated by number).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use circa_store::{Page, Pipeline, PipelineState, Project, ProjectSettings};
use serde::Deserialize;

use super::chart::{self, Chart};
use super::error::WebResult;
use super::load;
use super::session::{CsrfForm, Viewer};
use super::settings::project_settings_page;
use super::url::{encode_component, encode_path};
use super::view::{Nav, short_sha, time};
use crate::api::projects::{Added, add_project};
use crate::state::{AppState, now_ms};

/// A project's row in the list.
struct ProjectRow {
    slug: String,
    branch: String,
    status: String,
    pipeline: Option<(i64, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "projects.html")]
struct ProjectsPage {
    nav: Nav,
    rows: Vec<ProjectRow>,
}

/// The status of a pipeline as one word: `errored`, the worst workflow status, or `created`.
pub async fn pipeline_status(state: &AppState, pipeline: &Pipeline) -> WebResult<String> {
    if pipeline.state == PipelineState::Errored {
        return Ok("errored".into());
    }
    let workflows = state.store.workflows_of_pipeline(&pipeline.id).await?;
    let statuses: Vec<&str> = workflows.iter().map(|w| w.status.as_str()).collect();
    Ok(worst_workflow(&statuses).to_string())
}

/// The status that says most about a set of workflows (`created` when there are none).
pub fn worst_workflow<'a>(statuses: &[&'a str]) -> &'a str {
    const ORDER: [&str; 8] = [
        "error", "failed", "failing", "canceled", "on_hold", "running", "not_run", "success",
    ];
    ORDER
        .iter()
        .find_map(|o| statuses.iter().find(|s| *s == o).copied())
        .or_else(|| statuses.first().copied())
        .unwrap_or("created")
}

/// `GET /`: the projects the user may see, each with its default branch's latest status.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> WebResult<impl IntoResponse> {
    let projects: Vec<Project> = if viewer.is_admin() {
        state.store.projects().await?
    } else {
        state.store.projects_of_user(&viewer.user.id).await?
    };
    let mut rows = Vec::new();
    for p in projects {
        let latest = state
            .store
            .pipelines(
                &p.id,
                Some(&p.default_branch),
                Page {
                    before: None,
                    limit: 1,
                },
            )
            .await?;
        let (status, pipeline) = match latest.first() {
            Some(pl) => (
                pipeline_status(&state, pl).await?,
                Some((
                    pl.number,
                    format!("/projects/{}/pipelines/{}", p.slug, pl.number),
                )),
            ),
            None => ("none".to_string(), None),
        };
        rows.push(ProjectRow {
            slug: p.slug,
            branch: p.default_branch,
            status,
            pipeline,
        });
    }
    Ok(ProjectsPage {
        nav: Nav::of(&viewer),
        rows,
    })
}

/// The add-project form.
#[derive(Debug, Deserialize)]
pub struct NewProjectForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    repo: String,
    #[serde(default)]
    default_branch: String,
}

/// `POST /projects` (admins): a new project, checked as the API checks it; then its settings
/// page, which shows the webhook URL and secret (at once, with the warning, when the server
/// cannot fetch a remote repository now).
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(viewer, form): CsrfForm<NewProjectForm>,
) -> WebResult<Response> {
    viewer.require_admin()?;
    let branch = form.default_branch.trim();
    let Added {
        project, warnings, ..
    } = add_project(
        &state,
        &form.slug,
        &form.repo,
        (!branch.is_empty()).then_some(branch),
        ProjectSettings::default(),
    )
    .await?;
    let mut parts = project.slug.splitn(3, '/');
    if let (false, Some(vcs), Some(org), Some(repo)) = (
        warnings.is_empty(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        let warning = Some(warnings.join(" "));
        let page = project_settings_page(&state, &viewer, (vcs, org, repo), false, warning);
        return Ok(page.await?.into_response());
    }
    Ok(Redirect::to(&format!(
        "/projects/{}/settings",
        encode_path(&project.slug)
    ))
    .into_response())
}

/// A pipeline's row.
struct PipelineRow {
    number: i64,
    href: String,
    reference: String,
    subject: String,
    sha: String,
    created: String,
    status: String,
    workflows: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "project.html")]
struct ProjectPage {
    nav: Nav,
    slug: String,
    branch: String,
    rows: Vec<PipelineRow>,
    older: Option<String>,
    chart: Chart,
    chart_width: i64,
    chart_height: i64,
}

/// `?branch=&before=` of a project's page.
#[derive(Debug, Default, Deserialize)]
pub struct PipelinesQuery {
    branch: Option<String>,
    before: Option<i64>,
}

/// Pipelines per page.
const PAGE: u32 = 20;

/// `GET /projects/{vcs}/{org}/{repo}`: the chart and a page of pipelines.
pub async fn project(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    Query(q): Query<PipelinesQuery>,
) -> WebResult<impl IntoResponse> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    let branch = q.branch.unwrap_or_default().trim().to_string();
    let pipelines = state
        .store
        .pipelines(
            &project.id,
            (!branch.is_empty()).then_some(branch.as_str()),
            Page {
                before: q.before,
                limit: PAGE,
            },
        )
        .await?;
    let mut rows = Vec::new();
    for p in &pipelines {
        let workflows = state.store.workflows_of_pipeline(&p.id).await?;
        let statuses: Vec<&str> = workflows.iter().map(|w| w.status.as_str()).collect();
        let status = if p.state == PipelineState::Errored {
            "errored".to_string()
        } else {
            worst_workflow(&statuses).to_string()
        };
        let reference = match (&p.trigger.branch, &p.trigger.tag) {
            (_, Some(tag)) => format!("tag {tag}"),
            (Some(b), None) => b.clone(),
            (None, None) => String::new(),
        };
        rows.push(PipelineRow {
            number: p.number,
            href: format!("/projects/{}/pipelines/{}", project.slug, p.number),
            reference,
            subject: p.trigger.subject.clone().unwrap_or_default(),
            sha: short_sha(&p.trigger.revision),
            created: time(p.created_at),
            status,
            workflows: workflows
                .iter()
                .map(|w| (w.name.clone(), w.status.as_str().to_string()))
                .collect(),
        });
    }
    let older = (pipelines.len() == PAGE as usize)
        .then(|| pipelines.last().map(|p| p.number))
        .flatten()
        .map(|n| {
            let b = if branch.is_empty() {
                String::new()
            } else {
                format!("&branch={}", encode_component(&branch))
            };
            format!("/projects/{}?before={n}{b}", project.slug)
        });
    let now = now_ms();
    let days = state
        .store
        .workflow_days(&project.id, chart::start(now), chart::DAY)
        .await?;
    Ok(ProjectPage {
        nav: Nav::of(&viewer),
        slug: project.slug.clone(),
        branch,
        rows,
        older,
        chart: chart::chart(&days, now),
        chart_width: chart::WIDTH,
        chart_height: chart::HEIGHT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_workflow_status_speaks_for_the_pipeline() {
        assert_eq!(worst_workflow(&["success", "failed"]), "failed");
        assert_eq!(worst_workflow(&["success", "running"]), "running");
        assert_eq!(worst_workflow(&["success"]), "success");
        assert_eq!(worst_workflow(&[]), "created");
    }
}
