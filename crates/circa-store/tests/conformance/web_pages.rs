//! Reads behind the web UI's pages with a long history: a project's workflows summed per day.

use circa_model::WorkflowStatus;
use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::{T0, new_pipeline, project, settle_status, workflow};

on_both_backends!(workflows_are_summed_per_day);

const DAY: i64 = 24 * 3600 * 1000;

/// A workflow created at `created`, finished `took` ms later with `status` (or still running).
async fn workflow_at(
    store: &dyn Store,
    project_id: &str,
    created: Millis,
    end: Option<(WorkflowStatus, i64)>,
) {
    let CreatedPipeline { workflows: wfs, .. } = store
        .create_pipeline(
            new_pipeline(project_id, "main"),
            vec![workflow("build", Vec::new())],
            created,
        )
        .await
        .unwrap();
    if let Some((status, took)) = end {
        settle_status(store, &wfs[0].id, status, created + took).await;
    }
}

async fn workflows_are_summed_per_day(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/chart").await;
    let other = project(store, "gh/acme/other").await;
    let since = T0;
    // Before the period: left out.
    workflow_at(store, &p.id, since - 1, Some((WorkflowStatus::Success, 5))).await;
    // Day 0: two finished (one success), one still running (left out).
    workflow_at(store, &p.id, since, Some((WorkflowStatus::Success, 1_000))).await;
    workflow_at(
        store,
        &p.id,
        since + DAY - 1,
        Some((WorkflowStatus::Failed, 3_000)),
    )
    .await;
    workflow_at(store, &p.id, since + 10, None).await;
    // Day 2: one success.
    workflow_at(
        store,
        &p.id,
        since + 2 * DAY + 5,
        Some((WorkflowStatus::Success, 60_000)),
    )
    .await;
    // Another project's: left out.
    workflow_at(
        store,
        &other.id,
        since + 5,
        Some((WorkflowStatus::Success, 7)),
    )
    .await;

    let days = store.workflow_days(&p.id, since, DAY).await.unwrap();
    assert_eq!(
        days,
        vec![
            WorkflowDay {
                day: 0,
                finished: 2,
                total_ms: 4_000,
                succeeded: 1,
            },
            WorkflowDay {
                day: 2,
                finished: 1,
                total_ms: 60_000,
                succeeded: 1,
            },
        ]
    );
    assert_eq!(
        store
            .workflow_days(&p.id, since + 3 * DAY, DAY)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .workflow_days(&"nope".into(), since, DAY)
            .await
            .unwrap(),
        vec![]
    );
}
