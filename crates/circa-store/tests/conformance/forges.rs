//! Project forges (the token only sealed) and the commit status outbox the job changes write
//! in their own transactions.

use circa_model::{JobStatus, WorkflowStatus};
use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(forge_settings_round_trip);
on_both_backends!(job_changes_write_statuses_only_for_projects_reporting_them);

/// A GitHub forge for `project`, reporting statuses when `statuses`.
pub(crate) fn forge(project: &Project, statuses: bool) -> ProjectForge {
    ProjectForge {
        project_id: project.id.clone(),
        kind: ForgeKind::GitHub,
        api_url: "https://github.example/api/v3".into(),
        repo: "acme/app".into(),
        token: Some(SealedValue {
            key_id: "k1".into(),
            sealed: "v1:sealed-token".into(),
        }),
        statuses,
        last_error: None,
        last_error_at: None,
        updated_at: T0,
    }
}

async fn forge_settings_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let a = project(store, "gh/acme/app").await;
    assert_eq!(store.project_forge(&a.id).await.unwrap(), None);
    let set = store.set_project_forge(forge(&a, true)).await.unwrap();
    assert_eq!(set, forge(&a, true));
    assert_eq!(store.project_forge(&a.id).await.unwrap(), Some(set.clone()));

    // Errors are recorded and cleared; setting the forge again clears one too.
    store
        .record_forge_error(&a.id, Some("503 Service Unavailable"), T0 + 5)
        .await
        .unwrap();
    let failed = store.project_forge(&a.id).await.unwrap().unwrap();
    assert_eq!(
        failed.last_error.as_deref(),
        Some("503 Service Unavailable")
    );
    assert_eq!(failed.last_error_at, Some(T0 + 5));
    store.record_forge_error(&a.id, None, T0 + 6).await.unwrap();
    let cleared = store.project_forge(&a.id).await.unwrap().unwrap();
    assert_eq!((cleared.last_error, cleared.last_error_at), (None, None));

    // Replacing: a GitLab forge without a token.
    let gitlab = ProjectForge {
        kind: ForgeKind::GitLab,
        api_url: "https://gitlab.example/api/v4".into(),
        repo: "group/sub/app".into(),
        token: None,
        statuses: false,
        updated_at: T0 + 7,
        ..forge(&a, true)
    };
    store
        .record_forge_error(&a.id, Some("x"), T0 + 6)
        .await
        .unwrap();
    assert_eq!(
        store.set_project_forge(gitlab.clone()).await.unwrap(),
        gitlab
    );

    // Resealing only replaces the value it was read with.
    let github = store.set_project_forge(forge(&a, true)).await.unwrap();
    let to = SealedValue {
        key_id: "k2".into(),
        sealed: "v1:resealed".into(),
    };
    assert!(store.reseal_forge_token(&github, &to).await.unwrap());
    assert!(!store.reseal_forge_token(&github, &to).await.unwrap());
    let all = store.all_project_forges().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].token, Some(to));
    assert!(
        store
            .env_var_key_ids()
            .await
            .unwrap()
            .contains(&"k2".to_string()),
        "a forge token's key is in use"
    );

    let e = store
        .set_project_forge(ProjectForge {
            project_id: "no-such-project".into(),
            ..forge(&a, true)
        })
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");

    assert!(store.delete_project_forge(&a.id).await.unwrap());
    assert!(!store.delete_project_forge(&a.id).await.unwrap());
    assert_eq!(store.project_forge(&a.id).await.unwrap(), None);
}

async fn job_changes_write_statuses_only_for_projects_reporting_them(db: &TestStore) {
    let store: &dyn Store = &**db;
    let on = project(store, "gh/acme/on").await;
    let off = project(store, "gh/acme/off").await;
    let none = project(store, "gh/acme/none").await;
    store.set_project_forge(forge(&on, true)).await.unwrap();
    store.set_project_forge(forge(&off, false)).await.unwrap();
    let mut per_project = Vec::new();
    for p in [&on, &off, &none] {
        let (_, wf, jobs) = pipeline(
            store,
            &p.id,
            "main",
            vec![job("build", JobStatus::Blocked), approval("hold")],
        )
        .await;
        queue(store, &jobs[0], JobStatus::Blocked, 1, T0 + 1).await;
        per_project.push((wf, jobs));
    }
    // Claims start the three jobs: running rows for the reporting project only.
    for n in 0..3 {
        claim_one(store, claim("docker", &format!("r{n}"), T0 + 2))
            .await
            .unwrap();
    }
    let (wf, jobs) = &per_project[0];
    let applied = store
        .update_workflow(WorkflowUpdate {
            version: None,
            workflow_id: wf.id.clone(),
            changes: vec![
                change(&jobs[0], JobStatus::Running, JobStatus::Success),
                change(&jobs[1], JobStatus::OnHold, JobStatus::Success),
            ],
            new_tasks: Vec::new(),
            status: WorkflowStatus::Success,
            now: T0 + 3,
        })
        .await
        .unwrap();
    assert!(applied);

    let rows = store.due_statuses(T0 + 3, 100).await.unwrap();
    let seen: Vec<(&str, JobStatus, Millis)> = rows
        .iter()
        .map(|r| (r.context.as_str(), r.job_status, r.created_at))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("ci/circleci: build", JobStatus::Queued, T0 + 1),
            ("ci/circleci: build", JobStatus::Running, T0 + 2),
            ("ci/circleci: build", JobStatus::Success, T0 + 3),
            ("ci/circleci: build/hold", JobStatus::Success, T0 + 3),
        ]
    );
    assert!(rows.windows(2).all(|w| w[0].id < w[1].id), "in order");
    for row in &rows {
        assert_eq!(row.project_id, on.id);
        assert_eq!(row.sha, "0123456789abcdef");
    }
    assert_eq!(rows[0].job_id, jobs[0].id);
    assert_eq!(rows[0].job_number, jobs[0].number);
    assert_eq!(store.status_backlog(&on.id).await.unwrap(), 4);
    assert_eq!(store.status_backlog(&off.id).await.unwrap(), 0);
    assert_eq!(store.next_status_due().await.unwrap(), Some(T0 + 1));

    // Deferred rows are not due until their time.
    store.defer_statuses(&on.id, T0 + 100).await.unwrap();
    assert!(store.due_statuses(T0 + 99, 100).await.unwrap().is_empty());
    assert_eq!(store.next_status_due().await.unwrap(), Some(T0 + 100));
    // A row written while the forge is deferred waits for it too.
    let (_, _, later) =
        pipeline(store, &on.id, "main", vec![job("late", JobStatus::Blocked)]).await;
    queue(store, &later[0], JobStatus::Blocked, 1, T0 + 50).await;
    let late = store.due_statuses(T0 + 100, 100).await.unwrap();
    let late = late
        .iter()
        .find(|r| r.context == "ci/circleci: late")
        .unwrap();
    assert_eq!((late.created_at, late.due_at), (T0 + 50, T0 + 100));
    assert!(store.due_statuses(T0 + 99, 100).await.unwrap().is_empty());
    assert_eq!(store.delete_sent_statuses(late).await.unwrap(), 1);
    // Sending the newest of a key deletes the older rows of that key only.
    assert_eq!(store.delete_sent_statuses(&rows[2]).await.unwrap(), 3);
    let left = store.due_statuses(T0 + 100, 100).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].context, "ci/circleci: build/hold");
    // Removing the forge drops what waits.
    store.delete_project_forge(&on.id).await.unwrap();
    assert_eq!(store.status_backlog(&on.id).await.unwrap(), 0);
    assert_eq!(store.next_status_due().await.unwrap(), None);
}
