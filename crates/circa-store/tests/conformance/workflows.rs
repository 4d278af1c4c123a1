//! Workflow updates: all or nothing, job times, workflow status, active workflows.

use circa_model::{JobStatus, WorkflowStatus};
use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(
    an_update_applies_all_or_nothing,
    updates_set_job_and_workflow_times,
    active_workflows_are_unfinished_ones_on_the_branch,
    a_wide_fan_out_is_queued_all_or_nothing,
    an_update_from_a_version_another_moved_on_is_refused,
);

fn update(workflow: &Workflow, changes: Vec<JobChange>, now: Millis) -> WorkflowUpdate {
    WorkflowUpdate {
        version: None,
        workflow_id: workflow.id.clone(),
        changes,
        new_tasks: vec![],
        status: WorkflowStatus::Running,
        now,
    }
}

async fn an_update_applies_all_or_nothing(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (_, wf, jobs) = pipeline(
        store,
        &p.id,
        "main",
        vec![job("a", JobStatus::Blocked), job("b", JobStatus::Blocked)],
    )
    .await;
    let (_, other_wf, other_jobs) =
        pipeline(store, &p.id, "main", vec![job("c", JobStatus::Blocked)]).await;
    let (a, b) = (&jobs[0], &jobs[1]);

    // `b` is not queued: nothing happens, not even `a`'s change, the task or the status.
    let stale = WorkflowUpdate {
        version: None,
        new_tasks: vec![task(a, 0, "docker")],
        status: WorkflowStatus::Failing,
        ..update(
            &wf,
            vec![
                change(a, JobStatus::Blocked, JobStatus::Queued),
                change(b, JobStatus::Queued, JobStatus::Running),
            ],
            T0 + 10,
        )
    };
    assert!(!store.update_workflow(stale).await.unwrap());
    assert_eq!(store.jobs_of_workflow(&wf.id).await.unwrap(), jobs);
    assert!(store.tasks_of_job(&a.id).await.unwrap().is_empty());
    assert_eq!(store.workflow(&wf.id).await.unwrap(), Some(wf.clone()));

    // A job of another workflow is not this workflow's to change.
    let foreign = update(
        &wf,
        vec![change(
            &other_jobs[0],
            JobStatus::Blocked,
            JobStatus::Queued,
        )],
        T0,
    );
    assert!(!store.update_workflow(foreign).await.unwrap());
    assert_eq!(store.workflow(&other_wf.id).await.unwrap(), Some(other_wf));

    let good = WorkflowUpdate {
        version: None,
        new_tasks: vec![task(a, 0, "docker"), task(a, 1, "docker")],
        ..update(
            &wf,
            vec![change(a, JobStatus::Blocked, JobStatus::Queued)],
            T0 + 10,
        )
    };
    assert!(store.update_workflow(good.clone()).await.unwrap());
    // The same update again finds `a` queued already.
    assert!(!store.update_workflow(good).await.unwrap());
    let tasks = store.tasks_of_job(&a.id).await.unwrap();
    assert_eq!(tasks.len(), 2);
    let t = &tasks[1];
    assert_eq!(
        (t.node, t.state, t.attempts, t.last_seq),
        (1, TaskState::Queued, 0, 0)
    );
    assert_eq!(
        (t.queued_at, &t.workflow_id, &t.resource_class),
        (T0 + 10, &wf.id, &"docker".to_string())
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&t.payload).unwrap(),
        task(a, 1, "docker").payload
    );
    assert_eq!(
        (t.runner.as_ref(), t.result, t.cancel_requested),
        (None, None, false)
    );

    let missing = store
        .update_workflow(update(
            &Workflow {
                id: "nope".into(),
                ..wf.clone()
            },
            vec![],
            T0,
        ))
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn updates_set_job_and_workflow_times(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (_, wf, jobs) = pipeline(
        store,
        &p.id,
        "main",
        vec![job("a", JobStatus::Blocked), approval("ok")],
    )
    .await;
    let (a, ok) = (&jobs[0], &jobs[1]);
    let steps = [
        (JobStatus::Blocked, JobStatus::Queued, T0 + 10),
        (JobStatus::Queued, JobStatus::Running, T0 + 20),
        (JobStatus::Running, JobStatus::Queued, T0 + 25),
        (JobStatus::Queued, JobStatus::Running, T0 + 30),
    ];
    for (from, to, now) in steps {
        assert!(
            store
                .update_workflow(update(&wf, vec![change(a, from, to)], now))
                .await
                .unwrap()
        );
    }
    let read = store.job(&a.id).await.unwrap().unwrap();
    assert_eq!(read.status, JobStatus::Running);
    assert_eq!(
        (read.queued_at, read.started_at, read.stopped_at),
        (Some(T0 + 25), Some(T0 + 20), None)
    );

    let failing = WorkflowUpdate {
        version: None,
        status: WorkflowStatus::Failing,
        ..update(
            &wf,
            vec![JobChange {
                message: Some("exit code 1".into()),
                ..change(a, JobStatus::Running, JobStatus::Failed)
            }],
            T0 + 40,
        )
    };
    assert!(store.update_workflow(failing).await.unwrap());
    let read = store.job(&a.id).await.unwrap().unwrap();
    assert_eq!(
        (read.status, read.stopped_at),
        (JobStatus::Failed, Some(T0 + 40))
    );
    assert_eq!(read.message.as_deref(), Some("exit code 1"));
    let read_wf = store.workflow(&wf.id).await.unwrap().unwrap();
    assert_eq!(
        (read_wf.status, read_wf.stopped_at),
        (WorkflowStatus::Failing, None)
    );

    let approved = WorkflowUpdate {
        version: None,
        status: WorkflowStatus::Failed,
        ..update(
            &wf,
            vec![JobChange {
                actor: Some("bob".into()),
                ..change(ok, JobStatus::OnHold, JobStatus::Success)
            }],
            T0 + 50,
        )
    };
    assert!(store.update_workflow(approved).await.unwrap());
    let read = store.job(&ok.id).await.unwrap().unwrap();
    assert_eq!(
        (read.status, read.stopped_at, read.started_at),
        (JobStatus::Success, Some(T0 + 50), None)
    );
    assert_eq!(
        (read.actor.as_deref(), read.message.as_deref()),
        (Some("bob"), None)
    );
    let read_wf = store.workflow(&wf.id).await.unwrap().unwrap();
    assert_eq!(
        (read_wf.status, read_wf.stopped_at),
        (WorkflowStatus::Failed, Some(T0 + 50))
    );

    // A final status keeps the first stop time; a status that is not final clears it.
    settle_status(store, &wf.id, WorkflowStatus::Canceled, T0 + 60).await;
    let read_wf = store.workflow(&wf.id).await.unwrap().unwrap();
    assert_eq!(
        (read_wf.status, read_wf.stopped_at),
        (WorkflowStatus::Canceled, Some(T0 + 50))
    );
    settle_status(store, &wf.id, WorkflowStatus::OnHold, T0 + 70).await;
    let read_wf = store.workflow(&wf.id).await.unwrap().unwrap();
    assert_eq!(
        (read_wf.status, read_wf.stopped_at),
        (WorkflowStatus::OnHold, None)
    );
}

async fn active_workflows_are_unfinished_ones_on_the_branch(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let other = project(store, "gh/acme/other").await;
    let (_, first, _) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Queued)]).await;
    let (_, done, _) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Queued)]).await;
    let (_, second, _) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Queued)]).await;
    pipeline(store, &p.id, "dev", vec![job("a", JobStatus::Queued)]).await;
    pipeline(store, &other.id, "main", vec![job("a", JobStatus::Queued)]).await;
    let mut tagged = new_pipeline(&p.id, "main");
    tagged.trigger.branch = None;
    tagged.trigger.tag = Some("v1".into());
    store
        .create_pipeline(tagged, vec![workflow("w", vec![])], T0)
        .await
        .unwrap();
    settle_status(store, &done.id, WorkflowStatus::Success, T0 + 1).await;
    settle_status(store, &second.id, WorkflowStatus::OnHold, T0 + 1).await;

    let active = store
        .active_workflows_on_branch(&p.id, "main")
        .await
        .unwrap();
    let ids: Vec<_> = active.iter().map(|w| w.id.as_str()).collect();
    assert_eq!(ids, [first.id.as_str(), second.id.as_str()]);
    assert!(
        store
            .active_workflows_on_branch(&p.id, "nope")
            .await
            .unwrap()
            .is_empty()
    );

    settle_status(store, &first.id, WorkflowStatus::Canceled, T0 + 2).await;
    let active = store
        .active_workflows_on_branch(&p.id, "main")
        .await
        .unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].status, WorkflowStatus::OnHold);
}

/// Twenty jobs becoming queued at once, with two tasks each: more than one statement's worth
/// of both (changes go 16 jobs, inserts 16 tasks per statement).
async fn a_wide_fan_out_is_queued_all_or_nothing(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/wide").await;
    let names: Vec<String> = (0..20).map(|i| format!("j{i:02}")).collect();
    let (_, wf, jobs) = pipeline(
        store,
        &p.id,
        "main",
        names.iter().map(|n| job(n, JobStatus::Blocked)).collect(),
    )
    .await;
    let wide = |jobs: &[Job], now| WorkflowUpdate {
        version: None,
        workflow_id: wf.id.clone(),
        changes: jobs
            .iter()
            .map(|j| change(j, JobStatus::Blocked, JobStatus::Queued))
            .collect(),
        new_tasks: jobs
            .iter()
            .flat_map(|j| [task(j, 0, "docker"), task(j, 1, "docker")])
            .collect(),
        status: WorkflowStatus::Running,
        now,
    };

    // One job moved meanwhile: nothing of the update applies.
    queue(store, &jobs[17], JobStatus::Blocked, 1, T0 + 1).await;
    assert!(!store.update_workflow(wide(&jobs, T0 + 2)).await.unwrap());
    for j in jobs.iter().filter(|j| j.id != jobs[17].id) {
        let now = store.job(&j.id).await.unwrap().unwrap();
        assert_eq!((now.status, now.queued_at), (JobStatus::Blocked, None));
        assert!(store.tasks_of_job(&j.id).await.unwrap().is_empty());
    }

    // Without that job, all the others move and get their tasks.
    let rest: Vec<Job> = jobs
        .iter()
        .filter(|j| j.id != jobs[17].id)
        .cloned()
        .collect();
    assert!(store.update_workflow(wide(&rest, T0 + 3)).await.unwrap());
    for j in &rest {
        let now = store.job(&j.id).await.unwrap().unwrap();
        assert_eq!(
            (now.status, now.queued_at),
            (JobStatus::Queued, Some(T0 + 3))
        );
        let tasks = store.tasks_of_job(&j.id).await.unwrap();
        let nodes: Vec<(u32, TaskState, Millis)> = tasks
            .iter()
            .map(|t| (t.node, t.state, t.queued_at))
            .collect();
        assert_eq!(
            nodes,
            [
                (0, TaskState::Queued, T0 + 3),
                (1, TaskState::Queued, T0 + 3)
            ]
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&tasks[1].payload).unwrap(),
            task(j, 1, "docker").payload
        );
    }
    let claimed = store
        .claim_tasks_and_start_jobs((0..40).map(|_| claim("docker", "r", T0 + 9)).collect())
        .await
        .unwrap();
    // 19 jobs × 2 nodes, and the one task queued for the job that moved first.
    assert_eq!(claimed.len(), 39);
}

/// Two settles that read the same version (two server replicas) each decide on jobs as they
/// were: the second must not apply, or a fan-in could be decided by neither.
async fn an_update_from_a_version_another_moved_on_is_refused(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (_, wf, jobs) = pipeline(
        store,
        &p.id,
        "main",
        vec![job("a", JobStatus::Blocked), job("b", JobStatus::Blocked)],
    )
    .await;
    let read = store.workflow(&wf.id).await.unwrap().unwrap();
    let first = WorkflowUpdate {
        version: Some(read.version),
        ..update(
            &wf,
            vec![change(&jobs[0], JobStatus::Blocked, JobStatus::Queued)],
            T0 + 10,
        )
    };
    let second = WorkflowUpdate {
        version: Some(read.version),
        ..update(
            &wf,
            vec![change(&jobs[1], JobStatus::Blocked, JobStatus::Queued)],
            T0 + 11,
        )
    };
    assert!(store.update_workflow(first).await.unwrap());
    assert!(!store.update_workflow(second.clone()).await.unwrap());
    let after = store.workflow(&wf.id).await.unwrap().unwrap();
    assert_eq!(after.version, read.version + 1);
    let statuses: Vec<JobStatus> = store
        .jobs_of_workflow(&wf.id)
        .await
        .unwrap()
        .iter()
        .map(|j| j.status)
        .collect();
    assert_eq!(statuses, vec![JobStatus::Queued, JobStatus::Blocked]);
    // Read again, the second applies.
    let again = WorkflowUpdate {
        version: Some(after.version),
        ..second
    };
    assert!(store.update_workflow(again).await.unwrap());
    assert_eq!(
        store.workflow(&wf.id).await.unwrap().unwrap().version,
        read.version + 2
    );
}
