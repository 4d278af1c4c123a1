//! API bodies in CircleCI's shapes.

use circa_store::{Job, Millis, Pipeline, Project, Workflow};
use serde_json::{Value, json};

/// A time as RFC 3339.
pub fn time(ms: Millis) -> Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| Value::String(t.to_string()))
        .unwrap_or(Value::Null)
}

/// An optional time.
pub fn time_opt(ms: Option<Millis>) -> Value {
    ms.map(time).unwrap_or(Value::Null)
}

/// The web page of a job (the API's `web_url`, a job's `CIRCLE_BUILD_URL`).
pub fn job_web_url(base_url: &str, slug: &str, number: impl std::fmt::Display) -> String {
    format!("{base_url}/projects/{slug}/jobs/{number}")
}

/// A project.
pub fn project(p: &Project) -> Value {
    let (org, repo) = crate::orchestrator::assign::slug_parts(&p.slug);
    json!({
        "id": p.id,
        "slug": p.slug,
        "name": repo,
        "organization_name": org,
        "organization_slug": p.slug.rsplit_once('/').map(|(o, _)| o).unwrap_or_default(),
        "organization_id": org,
        "vcs_info": {
            "vcs_url": p.repo_url,
            "provider": provider(&p.slug),
            "default_branch": p.default_branch,
        },
        "settings": p.settings,
    })
}

fn provider(slug: &str) -> &'static str {
    match slug.split('/').next() {
        Some("bb" | "bitbucket") => "Bitbucket",
        Some("gl" | "gitlab") => "GitLab",
        _ => "GitHub",
    }
}

/// A pipeline.
pub fn pipeline(p: &Pipeline, project: &Project) -> Value {
    let t = &p.trigger;
    let subject = t.subject.clone();
    json!({
        "id": p.id,
        "errors": p.errors,
        "project_slug": project.slug,
        "updated_at": time(p.updated_at),
        "number": p.number,
        "trigger_parameters": t.parameters,
        "state": p.state.as_str(),
        "created_at": time(p.created_at),
        "trigger": {
            "type": t.kind,
            // A scheduled pipeline was asked for at its tick.
            "received_at": time(t.schedule.as_ref().map_or(p.created_at, |s| s.tick)),
            "actor": { "login": t.actor, "avatar_url": null },
        },
        "vcs": {
            "provider_name": provider(&project.slug),
            "target_repository_url": project.repo_url,
            "origin_repository_url": project.repo_url,
            "branch": t.branch,
            "tag": t.tag,
            "revision": t.revision,
            "review_url": t.pull_request,
            "commit": subject.map(|s| json!({ "subject": s, "body": "" })),
        },
    })
}

/// A workflow.
pub fn workflow(w: &Workflow, p: &Pipeline, project: &Project) -> Value {
    json!({
        "pipeline_id": w.pipeline_id,
        "canceled_by": null,
        "id": w.id,
        "name": w.name,
        "project_slug": project.slug,
        "errored_by": null,
        "tag": if w.rerun_of.is_some() { json!("rerun-workflow-from-failed") } else { Value::Null },
        "status": w.status.as_str(),
        "started_by": p.trigger.actor,
        "pipeline_number": p.number,
        "created_at": time(w.created_at),
        "stopped_at": time_opt(w.stopped_at),
    })
}

/// A job as listed in its workflow.
pub fn workflow_job(j: &Job, jobs: &[Job], project: &Project) -> Value {
    let dependencies: Vec<&str> = j
        .requires
        .iter()
        .filter_map(|r| {
            jobs.iter()
                .find(|o| o.name == r.name)
                .map(|o| o.id.as_str())
        })
        .collect();
    json!({
        "canceled_by": null,
        "dependencies": dependencies,
        "job_number": j.number,
        "id": j.id,
        "started_at": time_opt(j.started_at),
        "name": j.name,
        "approved_by": if j.approval { j.actor.clone() } else { None },
        "project_slug": project.slug,
        "status": j.status.as_str(),
        "type": if j.approval { "approval" } else { "build" },
        "stopped_at": time_opt(j.stopped_at),
        "approval_request_id": j.approval_request_id,
        "message": j.message,
    })
}
