//! The queue: claims, leases, completion, cancellation.

use std::collections::BTreeSet;

use circa_model::JobStatus;
use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(
    a_claim_takes_the_oldest_task_of_its_class,
    concurrent_claimers_never_share_a_task,
    leases_heartbeats_requeues_and_completion,
    cancel_stops_running_tasks_and_drops_queued_ones,
    a_finished_task_whose_job_was_never_settled_is_found,
);

async fn a_claim_takes_the_oldest_task_of_its_class(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let large = NewJob {
        resource_class: "large".into(),
        ..job("b", JobStatus::Blocked)
    };
    let (_, _, jobs) = pipeline(
        store,
        &p.id,
        "main",
        vec![
            job("a", JobStatus::Blocked),
            large,
            job("c", JobStatus::Blocked),
        ],
    )
    .await;
    let (a, b, c) = (&jobs[0], &jobs[1], &jobs[2]);
    queue(store, a, JobStatus::Blocked, 2, T0 + 10).await;
    queue(store, b, JobStatus::Blocked, 1, T0 + 1).await;
    queue(store, c, JobStatus::Blocked, 1, T0 + 5).await;

    let queued: Vec<_> = store
        .queued_tasks()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.resource_class, t.job_id, t.node))
        .collect();
    let expect = |class: &str, job: &Job, node| (class.to_string(), job.id.clone(), node);
    assert!(store.queued_before("docker", T0 + 6).await.unwrap());
    assert!(!store.queued_before("docker", T0 + 5).await.unwrap());
    assert!(store.queued_before("large", T0 + 2).await.unwrap());
    assert!(!store.queued_before("gpu", T0 + 100).await.unwrap());
    assert_eq!(
        queued,
        [
            expect("docker", c, 0),
            expect("docker", a, 0),
            expect("docker", a, 1),
            expect("large", b, 0)
        ]
    );

    let claimed = claimed_task(store, claim("docker", "r1", T0 + 100))
        .await
        .unwrap();
    assert_eq!((claimed.job_id.as_str(), claimed.node), (c.id.as_str(), 0));
    assert_eq!(claimed.state, TaskState::Running);
    assert_eq!(claimed.runner.as_deref(), Some("r1"));
    assert_eq!(claimed.token_hash.as_deref(), Some("hash-of-r1"));
    assert_eq!(
        (claimed.started_at, claimed.lease_expires_at),
        (Some(T0 + 100), Some(T0 + 60_100))
    );
    assert_eq!((claimed.attempts, claimed.queued_at), (1, T0 + 5));
    assert_eq!(
        store.task(&claimed.id).await.unwrap(),
        Some(claimed.clone())
    );

    let next: Vec<_> = [
        claimed_task(store, claim("docker", "r2", T0 + 101)).await,
        claimed_task(store, claim("docker", "r3", T0 + 102)).await,
        claimed_task(store, claim("docker", "r4", T0 + 103)).await,
    ]
    .into_iter()
    .map(|t| t.map(|t| (t.job_id, t.node)))
    .collect();
    assert_eq!(
        next,
        [Some((a.id.clone(), 0)), Some((a.id.clone(), 1)), None]
    );
    let other = claimed_task(store, claim("large", "r5", T0 + 104))
        .await
        .unwrap();
    assert_eq!(other.job_id, b.id);
    assert_eq!(claimed_task(store, claim("gpu", "r6", T0)).await, None);
    assert!(store.queued_tasks().await.unwrap().is_empty());
    assert!(!store.queued_before("docker", T0 + 1_000).await.unwrap());
    assert_eq!(store.task(&"nope".into()).await.unwrap(), None);
}

async fn concurrent_claimers_never_share_a_task(db: &TestStore) {
    let store: &dyn Store = &**db;
    const TASKS: u32 = 50;
    const CLAIMERS: usize = 8;
    let p = project(store, "gh/acme/app").await;
    let (_, _, jobs) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Blocked)]).await;
    queue(store, &jobs[0], JobStatus::Blocked, TASKS, T0).await;

    let claimers: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                let runner = format!("runner-{i}");
                let mut mine = Vec::new();
                while let Some(task) =
                    claimed_task(store.as_ref(), claim("docker", &runner, T0 + 1)).await
                {
                    assert_eq!(task.runner.as_deref(), Some(runner.as_str()));
                    mine.push(task.id);
                }
                mine
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    let unique: BTreeSet<_> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), TASKS as usize, "every task is claimed once");
    assert_eq!(unique.len(), TASKS as usize, "no task is claimed twice");
    let tasks = store.tasks_of_job(&jobs[0].id).await.unwrap();
    assert!(
        tasks
            .iter()
            .all(|t| t.state == TaskState::Running && t.attempts == 1)
    );
    let nodes: Vec<_> = tasks.iter().map(|t| t.node).collect();
    assert_eq!(nodes, (0..TASKS).collect::<Vec<_>>());
}

async fn leases_heartbeats_requeues_and_completion(db: &TestStore) {
    let store: &dyn Store = &**db;
    let (_, task) = running_task(store).await;
    assert_eq!(task.lease_expires_at, Some(T0 + 60_001));

    let renewed = store
        .heartbeat(&task.id, T0 + 90_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewed.lease_expires_at, Some(T0 + 90_000));
    assert!(store.expired_tasks(T0 + 90_000).await.unwrap().is_empty());
    let expired = store.expired_tasks(T0 + 90_001).await.unwrap();
    assert_eq!(expired, vec![renewed.clone()]);

    let event = StoredEvent {
        seq: 1,
        step: None,
        body: r#"{"event":"notice","message":"hi","warning":false}"#.into(),
    };
    assert_eq!(store.append_events(&task.id, &[event]).await.unwrap(), 1);
    assert!(store.requeue_task(&task.id, T0 + 90_001).await.unwrap());
    assert!(!store.requeue_task(&task.id, T0 + 90_001).await.unwrap());
    let queued = store.task(&task.id).await.unwrap().unwrap();
    assert_eq!(queued.state, TaskState::Queued);
    assert_eq!(
        (
            queued.runner.as_ref(),
            queued.token_hash.as_ref(),
            queued.lease_expires_at
        ),
        (None, None, None)
    );
    assert_eq!(
        (queued.attempts, queued.last_seq, queued.queued_at),
        (1, 1, T0 + 90_001)
    );
    assert!(store.expired_tasks(i64::MAX).await.unwrap().is_empty());

    // A late heartbeat or completion from the lost runner changes nothing.
    assert_eq!(store.heartbeat(&task.id, T0 + 200_000).await.unwrap(), None);
    assert_eq!(
        store
            .finish_task(&task.id, JobStatus::Success, None, T0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.task(&task.id).await.unwrap(), Some(queued));

    let again = claimed_task(store, claim("docker", "runner-2", T0 + 100_000))
        .await
        .unwrap();
    assert_eq!((again.id.as_str(), again.attempts), (task.id.as_str(), 2));
    let done = store
        .finish_task(
            &task.id,
            JobStatus::Failed,
            Some("exit code 2"),
            T0 + 110_000,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.state, TaskState::Finished);
    assert_eq!(
        (done.result, done.message.as_deref()),
        (Some(JobStatus::Failed), Some("exit code 2"))
    );
    assert_eq!(
        (done.finished_at, done.runner.as_deref()),
        (Some(T0 + 110_000), Some("runner-2"))
    );
    assert_eq!(
        store
            .finish_task(&task.id, JobStatus::Success, None, T0)
            .await
            .unwrap(),
        None
    );
    assert!(!store.requeue_task(&task.id, T0).await.unwrap());
    assert_eq!(store.heartbeat(&task.id, T0).await.unwrap(), None);
    assert!(store.expired_tasks(i64::MAX).await.unwrap().is_empty());
}

async fn cancel_stops_running_tasks_and_drops_queued_ones(db: &TestStore) {
    let store: &dyn Store = &**db;
    let jobs = jobs_a_and_b(store).await;
    queue(store, &jobs[0], JobStatus::Blocked, 3, T0).await;
    queue(store, &jobs[1], JobStatus::Blocked, 1, T0 + 1).await;
    let running = claimed_task(store, claim("docker", "r1", T0 + 2))
        .await
        .unwrap();
    assert_eq!(
        (running.job_id.as_str(), running.node),
        (jobs[0].id.as_str(), 0)
    );

    let changed = store.cancel_tasks(&jobs[0].id, T0 + 3).await.unwrap();
    let summary: Vec<_> = changed
        .iter()
        .map(|t| (t.node, t.state, t.cancel_requested, t.result, t.finished_at))
        .collect();
    assert_eq!(
        summary,
        [
            (0, TaskState::Running, true, None, None),
            (
                1,
                TaskState::Finished,
                false,
                Some(JobStatus::Canceled),
                Some(T0 + 3)
            ),
            (
                2,
                TaskState::Finished,
                false,
                Some(JobStatus::Canceled),
                Some(T0 + 3)
            ),
        ]
    );
    assert!(
        store
            .cancel_tasks(&jobs[0].id, T0 + 4)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.tasks_of_job(&jobs[0].id).await.unwrap(), changed);
    // The other job's task is untouched and still claimable.
    let other = claimed_task(store, claim("docker", "r2", T0 + 5))
        .await
        .unwrap();
    assert_eq!(other.job_id, jobs[1].id);
    let stopped = store
        .finish_task(&running.id, JobStatus::Canceled, None, T0 + 6)
        .await
        .unwrap()
        .unwrap();
    assert!(stopped.cancel_requested);
}

/// A server that stopped between storing a task's end and settling its job leaves the job
/// running: the lease watch finds its task once it finished long enough ago, and not after
/// the job is settled.
async fn a_finished_task_whose_job_was_never_settled_is_found(db: &TestStore) {
    let store: &dyn Store = &**db;
    let (job, task) = running_task(store).await;
    assert!(
        store
            .unsettled_tasks(T0 + 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .finish_task(&task.id, JobStatus::Success, None, T0 + 50)
        .await
        .unwrap()
        .unwrap();
    assert!(store.unsettled_tasks(T0 + 50, 10).await.unwrap().is_empty());
    let found = store.unsettled_tasks(T0 + 100, 10).await.unwrap();
    assert_eq!(
        found.iter().map(|t| &t.id).collect::<Vec<_>>(),
        vec![&task.id]
    );
    let wf = store.workflow(&job.workflow_id).await.unwrap().unwrap();
    let settled = WorkflowUpdate {
        version: Some(wf.version),
        workflow_id: wf.id.clone(),
        changes: vec![change(
            &job_now(store, &job).await,
            JobStatus::Running,
            JobStatus::Success,
        )],
        new_tasks: Vec::new(),
        status: circa_model::WorkflowStatus::Success,
        now: T0 + 60,
    };
    assert!(store.update_workflow(settled).await.unwrap());
    assert!(
        store
            .unsettled_tasks(T0 + 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn job_now(store: &dyn Store, job: &Job) -> Job {
    store.job(&job.id).await.unwrap().unwrap()
}
