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
        "job_name": "build", "node": 0, "vcs": {"branch": null, "tag": null, "sha1": "", "repository_url": "",
            "project_username": "", "project_reponame": "", "username": "", "pull_request": null},
        "ids": {"pipeline_id": "", "workflow_id": "w", "workflow_job_id": "", "project_id": "",
            "organization_id": "", "build_num": 1, "build_url": ""},
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
