//! The job runner's [`JobContext`] for an assignment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use circa_exec::job::{Ids, JobContext, Stores, Vcs};
use circa_model::protocol::TaskAssignment;
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::encode;

/// The context of task `a`, whose folder is `root` (`task/`, `artifacts/`, `test-results/`
/// in it).
pub(super) fn context(
    shared: &Shared,
    a: &TaskAssignment,
    root: &Path,
    cancel: CancellationToken,
) -> JobContext {
    JobContext {
        spec: a.spec.clone(),
        job_name: a.job_name.clone(),
        node: a.node,
        run_id: format!("circa-{}", encode::file_name(&a.task_id)),
        vcs: Vcs {
            branch: a.vcs.branch.clone(),
            tag: a.vcs.tag.clone(),
            sha1: a.vcs.sha1.clone(),
            repository_url: a.vcs.repository_url.clone(),
            project_username: a.vcs.project_username.clone(),
            project_reponame: a.vcs.project_reponame.clone(),
            username: a.vcs.username.clone(),
            pull_request: a.vcs.pull_request.clone(),
            fork_pull_request: a.vcs.fork_pull_request.clone(),
            repo_dir: local_repo(&a.vcs.repository_url),
            access: a.git_access.clone(),
        },
        ids: Ids {
            pipeline_id: a.ids.pipeline_id.clone(),
            workflow_id: a.ids.workflow_id.clone(),
            workflow_job_id: a.ids.workflow_job_id.clone(),
            project_id: a.ids.project_id.clone(),
            organization_id: a.ids.organization_id.clone(),
            build_num: a.ids.build_num,
            build_url: a.ids.build_url.clone(),
        },
        project_env: a.project_env.clone(),
        context_env: context_env(a),
        secrets: a.secrets.clone(),
        ssh_keys: Some(a.ssh_keys.clone()),
        stores: Stores {
            caches: shared.caches.clone(),
            workspaces: shared.workspaces.clone(),
            artifacts_dir: root.join("artifacts"),
            test_results_dir: root.join("test-results"),
        },
        upstream: a.upstream.clone(),
        timings: None,
        agent: shared.agent.clone(),
        task_dir: root.join("task"),
        cancel,
    }
}

/// The repository folder when `url` is a path on this host (checkout then clones it), else
/// `None` (checkout fetches the URL).
pub fn local_repo(url: &str) -> Option<PathBuf> {
    if url.contains("://") {
        return None;
    }
    let path = Path::new(url);
    (path.is_absolute() && path.is_dir()).then(|| path.to_path_buf())
}

/// Context variables with the server's extra variables over them (below the built-in
/// `CIRCLE_*` variables and the job's own `environment`).
pub fn context_env(a: &TaskAssignment) -> BTreeMap<String, String> {
    let mut env = a.context_env.clone();
    env.extend(a.extra_env.clone());
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_repository_is_cloned_and_a_url_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        assert_eq!(local_repo(&path), Some(dir.path().to_path_buf()));
        assert_eq!(local_repo(&format!("{path}/missing")), None);
        assert_eq!(local_repo("https://example.com/a/b.git"), None);
        assert_eq!(local_repo(&format!("file://{path}")), None);
        assert_eq!(local_repo("git@github.com:a/b.git"), None);
        assert_eq!(local_repo(""), None);
    }

    #[test]
    fn extra_variables_win_over_context_variables() {
        let json = serde_json::json!({
            "task_id": "t", "task_token": "k", "lease_ms": 3000,
            "spec": {"name": "build", "executor": {"kind": "machine", "image": null},
                     "environment": {}, "working_directory": "~/project", "shell": null,
                     "parallelism": 1, "resource_class": null, "steps": []},
            "job_name": "build", "node": 0,
            "vcs": {"branch": null, "tag": null, "sha1": "", "repository_url": "",
                    "project_username": "", "project_reponame": "", "username": "",
                    "pull_request": null},
            "ids": {"pipeline_id": "", "workflow_id": "w", "workflow_job_id": "",
                    "project_id": "", "organization_id": "", "build_num": 1, "build_url": ""},
            "project_env": {}, "context_env": {"A": "context", "B": "context"},
            "extra_env": {"B": "extra", "CIRCLE_CONTINUATION_KEY": "k"},
            "secrets": [], "upstream": [], "workspace_layers": [], "step_log_limit": 0
        });
        let a: TaskAssignment = serde_json::from_value(json).unwrap();
        let env = context_env(&a);
        assert_eq!(env["A"], "context");
        assert_eq!(env["B"], "extra");
        assert_eq!(env["CIRCLE_CONTINUATION_KEY"], "k");
    }
}
