//! Pipelines: numbering, reading, paging, states, continuation, the config cache, reruns.

use std::collections::BTreeSet;

use circa_model::{JobStatus, WorkflowStatus};
use circa_store::*;
use futures_util::future::join_all;
use serde_json::json;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(
    numbers_count_per_project,
    numbers_stay_unique_under_concurrency,
    pipelines_round_trip,
    pipelines_page_newest_first,
    pipeline_state_changes,
    a_setup_pipeline_continues_once,
    configs_are_cached_per_commit,
    rerun_copies_keep_their_numbers,
    starting_a_pipeline_records_its_config_and_adds_its_workflows,
    a_started_pipeline_is_settled_in_its_own_transaction,
);

async fn numbers_count_per_project(db: &TestStore) {
    let store: &dyn Store = &**db;
    let a = project(store, "gh/acme/a").await;
    let b = project(store, "gh/acme/b").await;
    let jobs = vec![
        job("build", JobStatus::Queued),
        approval("hold"),
        job("test", JobStatus::Blocked),
    ];
    let (p1, _, jobs1) = pipeline(store, &a.id, "main", jobs).await;
    let numbers: Vec<_> = jobs1.iter().map(|j| j.number).collect();
    assert_eq!(numbers, [Some(1), None, Some(2)]);
    let (p2, workflow2, jobs2) =
        pipeline(store, &a.id, "main", vec![job("deploy", JobStatus::Queued)]).await;
    let (q1, _, jobs3) = pipeline(store, &b.id, "main", vec![job("x", JobStatus::Queued)]).await;
    assert_eq!((p1.number, p2.number, q1.number), (1, 2, 1));
    assert_eq!(jobs2[0].number, Some(3));
    assert_eq!(jobs3[0].number, Some(1));

    assert_eq!(
        store.job_by_number(&a.id, 3).await.unwrap(),
        Some(jobs2[0].clone())
    );
    assert_eq!(store.job_by_number(&b.id, 3).await.unwrap(), None);
    assert_eq!(
        store.job_by_number_with_workflow(&a.id, 3).await.unwrap(),
        Some((jobs2[0].clone(), Some(workflow2.name.clone())))
    );
    assert_eq!(
        store.job_by_number_with_workflow(&b.id, 3).await.unwrap(),
        None
    );
    let hold = &jobs1[1];
    assert_eq!(hold.approval_request_id.as_deref(), Some(hold.id.as_str()));
    assert_eq!(jobs1[0].approval_request_id, None);
    assert_eq!(store.job(&hold.id).await.unwrap(), Some(hold.clone()));
}

async fn numbers_stay_unique_under_concurrency(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/busy").await;
    let created = join_all((0..10).map(|_| {
        store.create_pipeline(
            new_pipeline(&p.id, "main"),
            vec![workflow(
                "w",
                vec![job("a", JobStatus::Queued), job("b", JobStatus::Blocked)],
            )],
            T0,
        )
    }))
    .await;
    let mut pipelines = BTreeSet::new();
    let mut builds = BTreeSet::new();
    for result in created {
        let CreatedPipeline { pipeline, jobs, .. } = result.unwrap();
        pipelines.insert(pipeline.number);
        builds.extend(jobs.iter().map(|j| j.number.unwrap()));
    }
    assert_eq!(pipelines, (1..=10).collect());
    assert_eq!(builds, (1..=20).collect());
}

async fn pipelines_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let mut new = new_pipeline(&p.id, "feature/x");
    new.trigger.parameters.insert("deploy".into(), json!(true));
    new.trigger.subject = Some("Fix the thing".into());
    new.errors = vec![PipelineError {
        kind: circa_store::PipelineErrorKind::Config,
        message: ".circleci/config.yml:3:1: error: nope".into(),
    }];
    new.state = PipelineState::Errored;
    let CreatedPipeline {
        pipeline,
        workflows,
        jobs,
    } = store
        .create_pipeline(new.clone(), vec![], T0)
        .await
        .unwrap();
    assert!(workflows.is_empty() && jobs.is_empty());
    assert_eq!(pipeline.trigger, new.trigger);
    assert_eq!(pipeline.errors, new.errors);
    assert_eq!((pipeline.created_at, pipeline.updated_at), (T0, T0));
    assert_eq!(
        store.pipeline(&pipeline.id).await.unwrap(),
        Some(pipeline.clone())
    );
    assert_eq!(
        store.pipeline_by_number(&p.id, 1).await.unwrap(),
        Some(pipeline.clone())
    );
    assert_eq!(store.pipeline_by_number(&p.id, 2).await.unwrap(), None);
    assert_eq!(store.pipeline(&"nope".into()).await.unwrap(), None);

    let missing = store
        .create_pipeline(new_pipeline("nope", "main"), vec![], T0)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    // Workflows and jobs read back as they were returned.
    let CreatedPipeline {
        pipeline,
        workflows,
        jobs,
    } = store
        .create_pipeline(
            new_pipeline(&p.id, "main"),
            vec![
                workflow("one", vec![job("a", JobStatus::Queued), approval("ok")]),
                NewWorkflow {
                    status: WorkflowStatus::NotRun,
                    ..workflow("two", vec![job("b", JobStatus::NotRun)])
                },
            ],
            T0 + 1,
        )
        .await
        .unwrap();
    assert_eq!(
        store.workflows_of_pipeline(&pipeline.id).await.unwrap(),
        workflows
    );
    assert_eq!(workflows[0].stopped_at, None);
    assert_eq!(workflows[1].stopped_at, Some(T0 + 1));
    assert_eq!(
        store.workflow(&workflows[1].id).await.unwrap(),
        Some(workflows[1].clone())
    );
    assert_eq!(
        store.jobs_of_workflow(&workflows[0].id).await.unwrap(),
        jobs[..2]
    );
    assert_eq!(
        store.jobs_of_workflow(&workflows[1].id).await.unwrap(),
        jobs[2..]
    );
    assert_eq!(jobs[0].queued_at, Some(T0 + 1));
    assert_eq!(jobs[2].stopped_at, Some(T0 + 1));
    assert_eq!(jobs[0].spec, Some(json!({ "steps": [{ "run": "true" }] })));
}

async fn pipelines_page_newest_first(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let other = project(store, "gh/acme/other").await;
    pipeline(store, &other.id, "main", vec![]).await;
    for n in 1..=105 {
        let branch = if n % 3 == 0 { "dev" } else { "main" };
        store
            .create_pipeline(new_pipeline(&p.id, branch), vec![], T0 + n)
            .await
            .unwrap();
    }
    let numbers = |pipelines: Vec<Pipeline>| pipelines.iter().map(|p| p.number).collect::<Vec<_>>();
    let page = |before, limit| Page { before, limit };

    let first = store.pipelines(&p.id, None, page(None, 0)).await.unwrap();
    assert_eq!(numbers(first), (86..=105).rev().collect::<Vec<_>>());
    let next = store
        .pipelines(&p.id, None, page(Some(86), 5))
        .await
        .unwrap();
    assert_eq!(numbers(next), [85, 84, 83, 82, 81]);
    let all = store
        .pipelines(&p.id, None, page(None, 1000))
        .await
        .unwrap();
    assert_eq!(numbers(all), (6..=105).rev().collect::<Vec<_>>());
    let dev = store
        .pipelines(&p.id, Some("dev"), page(Some(10), 0))
        .await
        .unwrap();
    assert_eq!(numbers(dev), [9, 6, 3]);
    let none = store
        .pipelines(&p.id, Some("nope"), page(None, 0))
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn pipeline_state_changes(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (pipeline, _, _) = pipeline(store, &p.id, "main", vec![]).await;
    let errors = [PipelineError {
        kind: circa_store::PipelineErrorKind::Plan,
        message: "no workflow".into(),
    }];
    store
        .set_pipeline_state(&pipeline.id, PipelineState::Errored, &errors, T0 + 7)
        .await
        .unwrap();
    let read = store.pipeline(&pipeline.id).await.unwrap().unwrap();
    assert_eq!(read.state, PipelineState::Errored);
    assert_eq!(read.errors, errors);
    assert_eq!(read.updated_at, T0 + 7);
    assert_eq!(read.created_at, T0);
    let missing = store
        .set_pipeline_state(&"nope".into(), PipelineState::Created, &[], T0)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn a_setup_pipeline_continues_once(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let setup = |deadline| NewPipeline {
        state: PipelineState::SetupPending,
        continuation_key_hash: Some("key-hash".into()),
        continuation_deadline: Some(deadline),
        ..new_pipeline(&p.id, "main")
    };
    let CreatedPipeline { pipeline: late, .. } = store
        .create_pipeline(setup(T0 + 1000), vec![], T0)
        .await
        .unwrap();
    assert!(
        !store
            .continue_pipeline(&late.id, "src", "out", T0 + 1001)
            .await
            .unwrap()
    );
    assert_eq!(
        store.pipeline(&late.id).await.unwrap().unwrap().state,
        PipelineState::SetupPending
    );

    let CreatedPipeline {
        pipeline: pending, ..
    } = store
        .create_pipeline(setup(T0 + 1000), vec![], T0)
        .await
        .unwrap();
    let pending_id = &pending.id;
    let racers = join_all((0..4).map(|i| {
        let source = format!("source {i}");
        async move {
            store
                .continue_pipeline(pending_id, &source, "compiled", T0 + 1000)
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(racers.iter().filter(|won| **won).count(), 1, "{racers:?}");
    assert!(
        !store
            .continue_pipeline(&pending.id, "again", "again", T0 + 1)
            .await
            .unwrap()
    );
    let continued = store.pipeline(&pending.id).await.unwrap().unwrap();
    assert_eq!(continued.state, PipelineState::Setup);
    assert!(continued.config_source.unwrap().starts_with("source "));
    assert_eq!(continued.config_compiled.as_deref(), Some("compiled"));
    assert_eq!(continued.updated_at, T0 + 1000);

    let (plain, _, _) = pipeline(store, &p.id, "main", vec![]).await;
    assert!(
        !store
            .continue_pipeline(&plain.id, "s", "c", T0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .continue_pipeline(&"nope".into(), "s", "c", T0)
            .await
            .unwrap()
    );
}

async fn configs_are_cached_per_commit(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let q = project(store, "gh/acme/other").await;
    assert_eq!(store.cached_config(&p.id, "abc").await.unwrap(), None);
    store
        .cache_config(&p.id, "abc", "version: 2.1\n")
        .await
        .unwrap();
    store
        .cache_config(&p.id, "abc", "version: 2.1\n# again\n")
        .await
        .unwrap();
    assert_eq!(
        store.cached_config(&p.id, "abc").await.unwrap().as_deref(),
        Some("version: 2.1\n# again\n")
    );
    assert_eq!(store.cached_config(&q.id, "abc").await.unwrap(), None);
    let missing = store.cache_config(&"nope".into(), "abc", "x").await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn rerun_copies_keep_their_numbers(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (pipeline, first, jobs) = pipeline(
        store,
        &p.id,
        "main",
        vec![
            job("a", JobStatus::Blocked),
            job("b", JobStatus::Blocked),
            approval("ok"),
        ],
    )
    .await;
    let (a, b) = (&jobs[0], &jobs[1]);
    // `a` runs and succeeds, `b` fails.
    queue(store, a, JobStatus::Blocked, 1, T0 + 10).await;
    let moves = [
        (JobStatus::Queued, JobStatus::Running, T0 + 20),
        (JobStatus::Running, JobStatus::Success, T0 + 30),
    ];
    for (from, to, now) in moves {
        let update = WorkflowUpdate {
            version: None,
            workflow_id: first.id.clone(),
            changes: vec![change(a, from, to)],
            new_tasks: vec![],
            status: WorkflowStatus::Running,
            now,
        };
        assert!(store.update_workflow(update).await.unwrap());
    }
    let a = store.job(&a.id).await.unwrap().unwrap();

    let rerun = NewWorkflow {
        rerun_of: Some(first.id.clone()),
        ..workflow(
            "build",
            vec![
                NewJob {
                    copied_from: Some(a.id.clone()),
                    ..job("a", JobStatus::Success)
                },
                job("b", JobStatus::Queued),
                approval("ok"),
            ],
        )
    };
    let (workflows, copies) = store
        .add_workflows(&pipeline.id, vec![rerun], T0 + 100)
        .await
        .unwrap();
    assert_eq!(workflows[0].rerun_of.as_deref(), Some(first.id.as_str()));
    assert_eq!(workflows[0].pipeline_id, pipeline.id);
    assert_eq!(workflows[0].project_id, p.id);
    let (a2, b2, ok2) = (&copies[0], &copies[1], &copies[2]);
    assert_eq!(a2.number, a.number);
    assert_eq!(
        (a2.queued_at, a2.started_at, a2.stopped_at),
        (Some(T0 + 10), Some(T0 + 20), Some(T0 + 30))
    );
    assert_ne!(a2.id, a.id);
    assert_eq!(b2.number, Some(b.number.unwrap() + 1));
    assert_eq!(ok2.number, None);
    assert_eq!(ok2.approval_request_id.as_deref(), Some(ok2.id.as_str()));
    assert_eq!(
        store.jobs_of_workflow(&workflows[0].id).await.unwrap(),
        copies
    );
    // The build number still names the job that ran.
    assert_eq!(
        store.job_by_number(&p.id, a.number.unwrap()).await.unwrap(),
        Some(a.clone())
    );
    let (ran, name) = store
        .job_by_number_with_workflow(&p.id, a.number.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ran, a.clone());
    assert!(name.is_some());
    let ids: Vec<_> = store
        .workflows_of_pipeline(&pipeline.id)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(ids, [first.id.clone(), workflows[0].id.clone()]);

    let missing = store.add_workflows(&"nope".into(), vec![], T0).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn starting_a_pipeline_records_its_config_and_adds_its_workflows(db: &TestStore) {
    let store: &dyn Store = &**db;
    let (p, created) = unstarted_pipeline(store, "gh/acme/app").await;
    let (workflows, jobs) = store
        .start_pipeline(PipelineStart {
            pipeline_id: &created.id,
            compiled: "version: 2.1",
            continuation: Some(("key-hash".to_string(), T0 + 500)),
            state: Some(PipelineState::SetupPending),
            workflows: vec![workflow("setup", vec![job("generate", JobStatus::Blocked)])],
            settle: None,
            now: T0 + 5,
        })
        .await
        .unwrap();
    assert_eq!(workflows.len(), 1);
    assert_eq!(
        (
            workflows[0].pipeline_id.as_str(),
            workflows[0].project_id.as_str()
        ),
        (created.id.as_str(), p.id.as_str())
    );
    assert_eq!(
        store.jobs_of_workflow(&workflows[0].id).await.unwrap(),
        jobs
    );
    let now = store.pipeline(&created.id).await.unwrap().unwrap();
    assert_eq!(now.config_compiled.as_deref(), Some("version: 2.1"));
    assert_eq!(now.continuation_key_hash.as_deref(), Some("key-hash"));
    assert_eq!(now.continuation_deadline, Some(T0 + 500));
    assert_eq!(now.state, PipelineState::SetupPending);
    assert!(now.errors.is_empty());
    assert_eq!(now.updated_at, T0 + 5);

    // Without a state, the pipeline keeps the one it has (a continuation's `setup`).
    store
        .set_pipeline_state(&created.id, PipelineState::Setup, &[], T0 + 6)
        .await
        .unwrap();
    store
        .start_pipeline(PipelineStart {
            pipeline_id: &created.id,
            compiled: "again",
            continuation: None,
            state: None,
            workflows: Vec::new(),
            settle: None,
            now: T0 + 7,
        })
        .await
        .unwrap();
    let now = store.pipeline(&created.id).await.unwrap().unwrap();
    assert_eq!(now.state, PipelineState::Setup);
    assert_eq!(now.config_compiled.as_deref(), Some("again"));
    assert_eq!(now.continuation_key_hash, None);

    let missing = store
        .start_pipeline(PipelineStart {
            pipeline_id: &"nope".into(),
            compiled: "x",
            continuation: None,
            state: None,
            workflows: vec![workflow("w", vec![])],
            settle: None,
            now: T0,
        })
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

/// The first settle of a pipeline's new workflows runs inside the start: it sees the
/// workflows and jobs as added, and its updates (a job queued with its task, the workflow's
/// status) are stored with them; an update that does not apply undoes the whole start.
async fn a_started_pipeline_is_settled_in_its_own_transaction(db: &TestStore) {
    let store: &dyn Store = &**db;
    let (_, created) = unstarted_pipeline(store, "gh/acme/app").await;
    let first = |from: JobStatus| -> FirstSettle {
        Box::new(move |workflows: &[Workflow], jobs: &[Job]| {
            assert_eq!(workflows.len(), 1);
            assert_eq!(jobs.len(), 2);
            let build = jobs.iter().find(|j| j.name == "build").unwrap();
            vec![WorkflowUpdate {
                version: None,
                workflow_id: workflows[0].id.clone(),
                changes: vec![JobChange {
                    job_id: build.id.clone(),
                    from,
                    to: JobStatus::Queued,
                    message: None,
                    actor: None,
                }],
                new_tasks: vec![NewTask {
                    job_id: build.id.clone(),
                    node: 0,
                    resource_class: "docker".into(),
                    payload: json!({ "job": "build" }),
                }],
                status: WorkflowStatus::OnHold,
                now: T0 + 6,
            }]
        })
    };
    let jobs = || {
        vec![
            job("build", JobStatus::Blocked),
            job("test", JobStatus::Blocked),
        ]
    };

    // An update whose job is not in its `from` status: nothing is stored.
    let refused = store
        .start_pipeline(PipelineStart {
            pipeline_id: &created.id,
            compiled: "refused",
            continuation: None,
            state: None,
            workflows: vec![workflow("main", jobs())],
            settle: Some(first(JobStatus::OnHold)),
            now: T0 + 5,
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let now = store.pipeline(&created.id).await.unwrap().unwrap();
    assert_eq!(now.config_compiled, None);
    assert!(
        store
            .workflows_of_pipeline(&created.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.queued_tasks().await.unwrap().is_empty());

    let (workflows, added) = store
        .start_pipeline(PipelineStart {
            pipeline_id: &created.id,
            compiled: "version: 2.1",
            continuation: None,
            state: None,
            workflows: vec![workflow("main", jobs())],
            settle: Some(first(JobStatus::Blocked)),
            now: T0 + 5,
        })
        .await
        .unwrap();
    // What comes back is what was added, before the settle.
    assert!(added.iter().all(|j| j.status == JobStatus::Blocked));
    let stored = store.jobs_of_workflow(&workflows[0].id).await.unwrap();
    let statuses: Vec<_> = stored.iter().map(|j| (j.name.as_str(), j.status)).collect();
    assert_eq!(
        statuses,
        [("build", JobStatus::Queued), ("test", JobStatus::Blocked)]
    );
    assert_eq!(stored[0].queued_at, Some(T0 + 6));
    let workflow = store.workflow(&workflows[0].id).await.unwrap().unwrap();
    assert_eq!(workflow.status, WorkflowStatus::OnHold);
    let queued = store.queued_tasks().await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].job_id, stored[0].id);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&queued[0].payload).unwrap(),
        json!({ "job": "build" })
    );
}
