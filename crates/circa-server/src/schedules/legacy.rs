//! Legacy scheduled workflows: `triggers: - schedule: {cron, filters: {branches}}` in a
//! workflow. A branch's config defines the schedules of that branch: each trigger whose branch
//! filter admits the branch becomes a config schedule that builds the branch and runs only
//! that workflow (the plan sees a schedule named after the workflow).
//!
//! When Circa reads them: at server start, from each project's default branch and from every
//! branch that a trigger there names in `only` (exact names); and after each pipeline that a
//! push or an API call starts on a branch, from the config of that pipeline's commit. A config
//! that does not compile leaves the branch's schedules as they were; one without triggers for
//! the branch removes them. The cron line is read in UTC, as CircleCI does; Circa also takes a
//! leading seconds field there (an extension, as in its own cron form). A cron line that fires
//! more often than the server's shortest schedule interval is not used, with a warning.

use std::time::Duration;

use circa_config::CompileOptions;
use circa_config::orbs::OrbSource;
use circa_model::ScheduleTrigger;
use circa_model::engine::{local_pipeline_values, process};
use circa_model::pattern::Pattern;
use circa_store::{NewSchedule, Project, ProjectId, ScheduleOrigin};
use futures_util::StreamExt;

use super::interval::{seconds, too_frequent};
use super::timetable::Ticks;
use crate::state::{AppState, now_ms};
use crate::vcs::ConfigAt;

/// Branches [`Unscheduled`] remembers at most; past it, it starts again from none.
const MAX_UNSCHEDULED: usize = 100_000;

/// The branches known to have no config schedules, by project, so that the trigger of a
/// config without legacy triggers on such a branch (the common case) reads nothing. Config
/// schedules are written only by [`sync_branch`], which keeps this up to date, and tells the
/// other server replicas, who forget what they knew (`crate::replicas`).
#[derive(Debug, Default)]
pub struct Unscheduled {
    branches: crate::registry::Registry<(ProjectId, String), ()>,
}

impl Unscheduled {
    /// Whether `branch` of `project_id` is known to have no config schedules.
    pub fn contains(&self, project_id: &ProjectId, branch: &str) -> bool {
        self.branches
            .lock()
            .contains_key(&(project_id.clone(), branch.to_string()))
    }

    /// Records that `branch` of `project_id` has no config schedules.
    pub fn insert(&self, project_id: &ProjectId, branch: &str) {
        let mut branches = self.branches.lock();
        if branches.len() >= MAX_UNSCHEDULED {
            branches.clear();
        }
        branches.insert((project_id.clone(), branch.to_string()), ());
    }

    /// Forgets what is known of every branch (another server replica may have written config
    /// schedules).
    pub fn clear(&self) {
        self.branches.lock().clear();
    }

    /// Forgets what is known of `branch` of `project_id`.
    pub fn remove(&self, project_id: &ProjectId, branch: &str) {
        self.branches
            .remove(&(project_id.clone(), branch.to_string()));
    }
}

/// One legacy schedule of a config.
#[derive(Debug, Clone)]
pub struct LegacySchedule {
    /// The workflow it runs.
    pub workflow: String,
    /// Its trigger.
    pub trigger: ScheduleTrigger,
}

/// The legacy schedules of a config; `None` when the config does not compile.
pub fn read_config(
    source: &str,
    branch: &str,
    orbs: &(dyn OrbSource + Send + Sync),
) -> Option<Vec<LegacySchedule>> {
    let mut options = CompileOptions::new(orbs);
    options.pipeline = local_pipeline_values(Some(branch), None);
    let processed = process(source.as_bytes(), &options);
    if !processed.is_valid() {
        return None;
    }
    Some(
        processed
            .workflows
            .iter()
            .flat_map(|w| {
                w.triggers.iter().map(|t| LegacySchedule {
                    workflow: w.name.clone(),
                    trigger: t.clone(),
                })
            })
            .collect(),
    )
}

/// The config schedules `legacy` defines for `branch`: those whose filter admits it and whose
/// cron line is usable and fires no more often than every `floor`.
pub fn schedules_for_branch(
    project: &Project,
    branch: &str,
    legacy: &[LegacySchedule],
    floor: Duration,
) -> Vec<NewSchedule> {
    legacy
        .iter()
        .filter(|l| l.trigger.branches.admits(branch))
        .filter_map(|l| {
            let cron = l.trigger.cron.trim().to_string();
            if let Err(e) = usable(&cron, floor) {
                tracing::warn!(
                    "{}: the schedule of workflow `{}` is not used: {e}",
                    project.slug,
                    l.workflow
                );
                return None;
            }
            Some(NewSchedule {
                project_id: project.id.clone(),
                origin: ScheduleOrigin::Config,
                name: l.workflow.clone(),
                description: None,
                timetable: serde_json::json!({ "cron": cron, "timezone": "UTC" }),
                cron,
                timezone: "UTC".into(),
                parameters: serde_json::Map::new(),
                actor_id: None,
                branch: Some(branch.to_string()),
            })
        })
        .collect()
}

/// Why a legacy cron line cannot be used: it does not parse, or fires more often than every
/// `floor`.
fn usable(cron: &str, floor: Duration) -> Result<(), String> {
    let ticks = Ticks::stored(cron, "UTC").map_err(|e| e.0)?;
    match too_frequent(&ticks, floor, now_ms()) {
        Some(gap) => Err(format!(
            "triggers.schedule.cron: {cron:?} fires every {}; this server runs a schedule at \
             most once every {}",
            seconds(gap),
            seconds(floor)
        )),
        None => Ok(()),
    }
}

/// Makes `branch`'s config schedules the ones `source` (its config) defines; returns the
/// legacy schedules read, `None` when the config does not compile or nothing changed.
pub async fn sync_branch(
    state: AppState,
    project: Project,
    branch: String,
    source: String,
) -> Option<Vec<LegacySchedule>> {
    if !source.contains("triggers") {
        // The common case: no legacy schedules. Write only when the branch had some.
        if state.schedules.unscheduled.contains(&project.id, &branch) {
            return Some(Vec::new());
        }
        let had = state
            .store
            .schedules_of_project(&project.id, ScheduleOrigin::Config, None, 100)
            .await
            .ok()?
            .iter()
            .any(|s| s.branch.as_deref() == Some(branch.as_str()));
        if !had {
            state.schedules.unscheduled.insert(&project.id, &branch);
            return Some(Vec::new());
        }
    }
    let orbs = state.config.orbs.clone();
    let read_branch = branch.clone();
    let legacy = state
        .dispatch
        .compiles
        .run(move || read_config(&source, &read_branch, orbs.as_ref()))
        .await
        .ok()??;
    let floor = state.config.min_schedule_interval;
    let wanted = schedules_for_branch(&project, &branch, &legacy, floor);
    let none = wanted.is_empty();
    // Forgotten before the write, so a trigger meanwhile looks in the store.
    state.schedules.unscheduled.remove(&project.id, &branch);
    match state
        .store
        .replace_config_schedules(&project.id, &branch, wanted, now_ms())
        .await
    {
        Ok(_) => {
            if none {
                state.schedules.unscheduled.insert(&project.id, &branch);
            }
            crate::replicas::publish(&state, crate::replicas::Notice::Schedules);
        }
        Err(e) => tracing::warn!("{}: legacy schedules of `{branch}`: {e}", project.slug),
    }
    Some(legacy)
}

/// Projects whose legacy schedules are read at the same time at server start.
const READ_AT_ONCE: usize = 4;

/// At server start: reads the legacy schedules of every project's default branch, and of the
/// branches those name exactly in `only`. Projects are read independently, a few at a time,
/// each for at most twice the git time limit, so one whose repository does not answer holds
/// up no other.
pub async fn read_all_projects(state: AppState) {
    let projects = match state.store.projects().await {
        Ok(projects) => projects,
        Err(e) => {
            tracing::warn!("legacy schedules: {e}");
            return;
        }
    };
    let bound = state.config.git_timeout.saturating_mul(2);
    futures_util::stream::iter(projects)
        .for_each_concurrent(READ_AT_ONCE, |project| {
            let state = &state;
            async move {
                let read = read_project(state, &project);
                if tokio::time::timeout(bound, read).await.is_err() {
                    tracing::warn!(
                        "{}: legacy schedules not read within {bound:?}",
                        project.slug
                    );
                }
            }
        })
        .await;
}

/// Reads the legacy schedules of one project's default branch and the branches it names.
async fn read_project(state: &AppState, project: &Project) {
    if let Err(e) = crate::git_fetch::fetch_mirror(state, project).await {
        tracing::warn!("{}: legacy schedules not read: {e}", project.slug);
        return;
    }
    let default = project.default_branch.clone();
    let Some(legacy) = read_branch(state, project, &default).await else {
        return;
    };
    let mut named: Vec<String> = Vec::new();
    for l in &legacy {
        for pattern in &l.trigger.branches.only {
            if let Pattern::Exact(name) = pattern
                && *name != default
                && !named.contains(name)
            {
                named.push(name.clone());
            }
        }
    }
    for branch in named {
        read_branch(state, project, &branch).await;
    }
}

/// Reads and applies the config at the head of `branch` (already fetched).
async fn read_branch(
    state: &AppState,
    project: &Project,
    branch: &str,
) -> Option<Vec<LegacySchedule>> {
    let (sha, _) = state
        .vcs
        .resolve(&project.id, Some(branch), None)
        .await
        .ok()?;
    let source = match state.store.cached_config(&project.id, &sha).await {
        Ok(Some(text)) => text,
        _ => match state.vcs.config_at(&project.id, &sha).await {
            Ok(ConfigAt::Found(text)) => text,
            _ => return None,
        },
    };
    sync_branch(state.clone(), project.clone(), branch.to_string(), source).await
}
