//! API bodies in CircleCI's shapes (the OpenAPI document's schemas): optional fields the
//! document does not mark nullable are left out rather than sent as `null`.

use circa_store::{Job, Millis, Pipeline, Project, Workflow};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use crate::state::AppState;

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

/// Namespace of the UUIDs Circa derives from names (organizations, actors without a user).
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6a1c_0e2b_58d4_4c67_9a51_8f3e_2d7b_c410);

/// A stable UUID for a name: organizations have no row of their own, so their id is derived
/// from their slug (`gh/acme`).
pub fn derived_id(name: &str) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string()
}

/// The organization slug of a project slug: `gh/acme/app` → `gh/acme`.
pub fn org_slug(project_slug: &str) -> &str {
    project_slug
        .rsplit_once('/')
        .map(|(o, _)| o)
        .unwrap_or(project_slug)
}

/// The id of the user with `login`, or an id derived from the name for actors that are not
/// users (a forge's pusher).
pub async fn user_id(state: &AppState, login: &str) -> String {
    match state.store.user_by_login(login).await {
        Ok(Some(user)) => user.id.into_string(),
        _ => derived_id(&format!("actor:{login}")),
    }
}

/// The web page of a job (the API's `web_url`, a job's `CIRCLE_BUILD_URL`).
pub fn job_web_url(base_url: &str, slug: &str, number: impl std::fmt::Display) -> String {
    format!("{base_url}/projects/{slug}/jobs/{number}")
}

/// A job's `messages` in CircleCI's shape: why it ended as it did, typed `error` when it did
/// not succeed (an image that cannot be pulled, a lost runner, a failed step, a context it may
/// not use) and `info` otherwise (who cancelled it); the `reason` is the job's status.
pub fn job_messages(job: &Job) -> Vec<Value> {
    let kind = if job.status.is_failure() || job.status == circa_model::JobStatus::Unauthorized {
        "error"
    } else {
        "info"
    };
    job.message
        .iter()
        .map(|m| json!({ "type": kind, "message": m, "reason": job.status.as_str() }))
        .collect()
}

/// A project.
pub fn project(p: &Project) -> Value {
    let (org, repo) = crate::orchestrator::assign::slug_parts(&p.slug);
    let org_slug = org_slug(&p.slug);
    json!({
        "id": p.id,
        "slug": p.slug,
        "name": repo,
        "organization_name": org,
        "organization_slug": org_slug,
        "organization_id": derived_id(org_slug),
        "vcs_info": {
            "vcs_url": p.repo_url,
            "provider": provider(&p.slug),
            "default_branch": p.default_branch,
        },
        "settings": p.settings,
    })
}

/// The provider name CircleCI gives a slug's VCS part.
pub fn provider(slug: &str) -> &'static str {
    match slug.split('/').next() {
        Some("bb" | "bitbucket") => "Bitbucket",
        Some("circleci") => "CircleCI",
        _ => "GitHub",
    }
}

/// A time as RFC 3339 (null when out of range), as [`time`] gives it, written straight into
/// the answer.
struct Time(Millis);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(t) => serializer.collect_str(&t),
            Err(_) => serializer.serialize_unit(),
        }
    }
}

/// A pipeline in CircleCI's shape: [`pipeline`]. Serialized straight into the answer, with no
/// intermediate JSON value.
pub struct PipelineView<'a> {
    pipeline: &'a Pipeline,
    project: &'a Project,
    /// An item of a list page: parameters and errors capped (see `api::listed`).
    listed: bool,
}

/// A pipeline.
pub fn pipeline<'a>(pipeline: &'a Pipeline, project: &'a Project) -> PipelineView<'a> {
    PipelineView {
        pipeline,
        project,
        listed: false,
    }
}

/// A pipeline as an item of a list page: its parameters and errors capped.
pub fn listed_pipeline<'a>(pipeline: &'a Pipeline, project: &'a Project) -> PipelineView<'a> {
    PipelineView {
        pipeline,
        project,
        listed: true,
    }
}

impl Serialize for PipelineView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.pipeline;
        let mut map = serializer.serialize_map(Some(10))?;
        map.serialize_entry("id", &p.id)?;
        if self.listed {
            map.serialize_entry("errors", &super::listed::ListedErrors(&p.errors))?;
        } else {
            map.serialize_entry("errors", &p.errors)?;
        }
        map.serialize_entry("project_slug", &self.project.slug)?;
        map.serialize_entry("updated_at", &Time(p.updated_at))?;
        map.serialize_entry("number", &p.number)?;
        if self.listed {
            let listed = super::listed::ListedParameters(&p.trigger.parameters);
            map.serialize_entry("trigger_parameters", &listed)?;
        } else {
            map.serialize_entry("trigger_parameters", &p.trigger.parameters)?;
        }
        map.serialize_entry("state", p.state.as_str())?;
        map.serialize_entry("created_at", &Time(p.created_at))?;
        map.serialize_entry("trigger", &TriggerView(p))?;
        map.serialize_entry("vcs", &VcsView(self))?;
        map.end()
    }
}

/// A pipeline's `trigger`.
struct TriggerView<'a>(&'a Pipeline);

impl Serialize for TriggerView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let t = &p.trigger;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", t.kind.circleci_type())?;
        // A scheduled pipeline was asked for at its tick.
        map.serialize_entry(
            "received_at",
            &Time(t.schedule.as_ref().map_or(p.created_at, |s| s.tick)),
        )?;
        map.serialize_entry("actor", &ActorView(&t.actor))?;
        map.end()
    }
}

/// A trigger's `actor`.
struct ActorView<'a>(&'a str);

impl Serialize for ActorView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("login", self.0)?;
        map.serialize_entry("avatar_url", &())?;
        map.end()
    }
}

/// A pipeline's `vcs`: the optional fields only when they are there.
struct VcsView<'a>(&'a PipelineView<'a>);

impl Serialize for VcsView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (t, project) = (&self.0.pipeline.trigger, self.0.project);
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("provider_name", provider(&project.slug))?;
        map.serialize_entry("target_repository_url", &project.repo_url)?;
        map.serialize_entry("origin_repository_url", &project.repo_url)?;
        map.serialize_entry(
            "revision",
            &(!t.revision.is_empty()).then_some(t.revision.as_str()),
        )?;
        for (key, value) in [
            ("branch", &t.branch),
            ("tag", &t.tag),
            ("review_url", &t.pull_request),
        ] {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        if let Some(subject) = &t.subject {
            map.serialize_entry("commit", &CommitView(subject))?;
        }
        map.end()
    }
}

/// A pipeline's commit: its subject (Circa keeps no body).
struct CommitView<'a>(&'a str);

impl Serialize for CommitView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("subject", self.0)?;
        map.serialize_entry("body", "")?;
        map.end()
    }
}

/// A workflow; `started_by` is the id of the user who started its pipeline.
pub fn workflow(w: &Workflow, p: &Pipeline, project: &Project, started_by: &str) -> Value {
    json!({
        "pipeline_id": w.pipeline_id,
        "id": w.id,
        "name": w.name,
        "project_slug": project.slug,
        "tag": if w.setup { json!("setup") } else { Value::Null },
        "status": w.status.as_str(),
        "started_by": started_by,
        "pipeline_number": p.number,
        "created_at": time(w.created_at),
        "stopped_at": time_opt(w.stopped_at),
    })
}

/// A job as listed in its workflow; `approved_by` is the approver's user id.
pub fn workflow_job(j: &Job, jobs: &[Job], project: &Project, approved_by: Option<&str>) -> Value {
    let dependencies: Vec<&str> = j
        .requires
        .iter()
        .filter_map(|r| {
            jobs.iter()
                .find(|o| o.name == r.name)
                .map(|o| o.id.as_str())
        })
        .collect();
    let requires: Map<String, Value> = j
        .requires
        .iter()
        .filter_map(|r| {
            let dep = jobs.iter().find(|o| o.name == r.name)?;
            let statuses: Vec<&str> = r.statuses.iter().map(|s| s.as_str()).collect();
            Some((dep.id.to_string(), json!(statuses)))
        })
        .collect();
    // An approval job starts when it goes on hold: when it was queued for a decision.
    let started = j
        .started_at
        .or_else(|| j.approval.then(|| j.queued_at.unwrap_or(j.created_at)));
    let mut out = json!({
        "dependencies": dependencies,
        "requires": requires,
        "id": j.id,
        "started_at": time_opt(started),
        "name": j.name,
        "project_slug": project.slug,
        "status": j.status.as_str(),
        "type": if j.approval { "approval" } else { "build" },
        "stopped_at": time_opt(j.stopped_at),
    });
    if let Some(number) = j.number {
        out["job_number"] = json!(number);
    }
    if let Some(request) = &j.approval_request_id {
        out["approval_request_id"] = json!(request);
    }
    if let Some(by) = approved_by {
        out["approved_by"] = json!(by);
    }
    if let Some(message) = &j.message {
        out["message"] = json!(message);
    }
    out
}
