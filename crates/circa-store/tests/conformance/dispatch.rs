//! Dispatch: a claim that starts its job in the same transaction.

use circa_model::JobStatus;
use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(
    a_claim_starts_its_job_once,
    a_claim_leaves_a_cancelled_job_cancelled,
    a_batch_claim_takes_what_is_queued_oldest_first,
    a_wide_batch_claim_keeps_queue_order_and_tokens_across_statements,
    claims_of_two_runners_in_one_batch_each_keep_their_runner_and_time,
);

async fn a_claim_starts_its_job_once(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (_, _, jobs) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Blocked)]).await;
    let a = &jobs[0];
    queue(store, a, JobStatus::Blocked, 2, T0 + 5).await;

    let (task, started) = claim_one(store, claim("docker", "r1", T0 + 100))
        .await
        .unwrap();
    assert_eq!((task.job_id.as_str(), task.node), (a.id.as_str(), 0));
    assert_eq!(task.state, TaskState::Running);
    assert_eq!(task.runner.as_deref(), Some("r1"));
    assert_eq!(task.lease_expires_at, Some(T0 + 60_100));
    let started = started.expect("the first claim starts the job");
    assert_eq!(started.id, a.id);
    assert_eq!(started.status, JobStatus::Running);
    assert_eq!(started.started_at, Some(T0 + 100));
    assert_eq!(store.job(&a.id).await.unwrap(), Some(started.clone()));

    // The second node's claim finds the job running already: it stays as it is.
    let (second, again) = claim_one(store, claim("docker", "r2", T0 + 200))
        .await
        .unwrap();
    assert_eq!((second.job_id.as_str(), second.node), (a.id.as_str(), 1));
    assert_eq!(again, None);
    assert_eq!(store.job(&a.id).await.unwrap(), Some(started));
    assert_eq!(
        claim_one(store, claim("docker", "r3", T0 + 300)).await,
        None
    );
}

async fn a_claim_leaves_a_cancelled_job_cancelled(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (_, _, jobs) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Blocked)]).await;
    let a = &jobs[0];
    queue(store, a, JobStatus::Blocked, 1, T0).await;
    // The job is cancelled, but its task is still queued (the cancel reaches tasks after).
    let applied = store
        .update_workflow(WorkflowUpdate {
            version: None,
            workflow_id: a.workflow_id.clone(),
            changes: vec![change(a, JobStatus::Queued, JobStatus::Canceled)],
            new_tasks: Vec::new(),
            status: circa_model::WorkflowStatus::Canceled,
            now: T0 + 1,
        })
        .await
        .unwrap();
    assert!(applied);

    let (task, started) = claim_one(store, claim("docker", "r1", T0 + 2))
        .await
        .unwrap();
    assert_eq!(task.job_id, a.id);
    assert_eq!(started, None);
    let job = store.job(&a.id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Canceled);
    assert_eq!(job.started_at, None);
}

async fn a_batch_claim_takes_what_is_queued_oldest_first(db: &TestStore) {
    let store: &dyn Store = &**db;
    let jobs = jobs_a_and_b(store).await;
    let (a, b) = (&jobs[0], &jobs[1]);
    queue(store, b, JobStatus::Blocked, 1, T0 + 5).await;
    queue(store, a, JobStatus::Blocked, 2, T0 + 7).await;

    // Four claims, three tasks: each claimed task carries its own claim's token.
    let claims = numbered_claims(1..=4, "r1", T0 + 100);
    let claimed = store.claim_tasks_and_start_jobs(claims).await.unwrap();
    let taken: Vec<(&str, u32, Option<&str>)> = claimed
        .iter()
        .map(|(t, _)| (t.job_id.as_str(), t.node, t.token_hash.as_deref()))
        .collect();
    assert_eq!(
        taken,
        vec![
            (b.id.as_str(), 0, Some("token-1")),
            (a.id.as_str(), 0, Some("token-2")),
            (a.id.as_str(), 1, Some("token-3")),
        ]
    );
    assert!(claimed.iter().all(|(t, _)| t.state == TaskState::Running));
    // Each job starts once: with its first claimed node.
    let started: Vec<Option<JobStatus>> = claimed
        .iter()
        .map(|(_, j)| j.as_ref().map(|j| j.status))
        .collect();
    assert_eq!(
        started,
        vec![Some(JobStatus::Running), Some(JobStatus::Running), None]
    );
    for job in [a, b] {
        let now = store.job(&job.id).await.unwrap().unwrap();
        assert_eq!(
            (now.status, now.started_at),
            (JobStatus::Running, Some(T0 + 100))
        );
    }
    // Nothing is left: a batch finds nothing and changes nothing.
    let again = store
        .claim_tasks_and_start_jobs(vec![claim("docker", "r2", T0 + 200)])
        .await
        .unwrap();
    assert!(again.is_empty());
    // An empty batch is no claim at all.
    assert!(
        store
            .claim_tasks_and_start_jobs(Vec::new())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_wide_batch_claim_keeps_queue_order_and_tokens_across_statements(db: &TestStore) {
    let store: &dyn Store = &**db;
    let jobs = jobs_a_and_b(store).await;
    let (a, b) = (&jobs[0], &jobs[1]);
    // 20 tasks: more than one statement's worth.
    queue(store, a, JobStatus::Blocked, 10, T0 + 5).await;
    queue(store, b, JobStatus::Blocked, 10, T0 + 7).await;
    let claims = numbered_claims(1..=25, "r1", T0 + 100);
    let claimed = store.claim_tasks_and_start_jobs(claims).await.unwrap();
    let taken: Vec<(JobId, u32, String)> = claimed
        .iter()
        .map(|(t, _)| {
            (
                t.job_id.clone(),
                t.node,
                t.token_hash.clone().unwrap_or_default(),
            )
        })
        .collect();
    let expected: Vec<(JobId, u32, String)> = (0..20u32)
        .map(|i| {
            let job = if i < 10 { a } else { b };
            (job.id.clone(), i % 10, format!("token-{}", i + 1))
        })
        .collect();
    assert_eq!(taken, expected);
    // Each job starts once, with its first node.
    let started: Vec<usize> = claimed
        .iter()
        .enumerate()
        .filter(|(_, (_, j))| j.is_some())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(started, vec![0, 10]);
    for (task, _) in &claimed {
        assert_eq!(task.state, TaskState::Running);
        assert_eq!(task.runner.as_deref(), Some("r1"));
    }
}

/// Claims of resource class `docker` by `runner` at `now`, with tokens `token-N` for `numbers`.
fn numbered_claims(
    numbers: std::ops::RangeInclusive<u32>,
    runner: &str,
    now: Millis,
) -> Vec<Claim> {
    numbers
        .map(|i| Claim {
            token_hash: format!("token-{i}"),
            ..claim("docker", runner, now)
        })
        .collect()
}

async fn claims_of_two_runners_in_one_batch_each_keep_their_runner_and_time(db: &TestStore) {
    let store: &dyn Store = &**db;
    let jobs = jobs_a_and_b(store).await;
    let a = &jobs[0];
    queue(store, a, JobStatus::Blocked, 3, T0 + 5).await;
    let mut claims = numbered_claims(1..=1, "r1", T0 + 100);
    claims.extend(numbered_claims(2..=3, "r2", T0 + 200));
    let claimed = store.claim_tasks_and_start_jobs(claims).await.unwrap();
    let taken: Vec<_> = claimed
        .iter()
        .map(|(t, _)| {
            (
                t.node,
                t.runner.as_deref(),
                t.token_hash.as_deref(),
                t.started_at,
            )
        })
        .collect();
    assert_eq!(
        taken,
        vec![
            (0, Some("r1"), Some("token-1"), Some(T0 + 100)),
            (1, Some("r2"), Some("token-2"), Some(T0 + 200)),
            (2, Some("r2"), Some("token-3"), Some(T0 + 200)),
        ]
    );
    // The job starts once, with the first claim's time.
    assert!(claimed[0].1.is_some() && claimed[1].1.is_none() && claimed[2].1.is_none());
    let job = store.job(&a.id).await.unwrap().unwrap();
    assert_eq!(job.started_at, Some(T0 + 100));
}
