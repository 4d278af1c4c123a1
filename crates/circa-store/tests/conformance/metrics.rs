//! What a metrics scrape reads: queue depth and oldest queued task per resource class,
//! runners seen per resource class, the forge outbox's backlog, and the connections' use.

use circa_model::JobStatus;
use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(
    queue_depths_are_grouped_by_resource_class,
    runners_are_counted_by_resource_class,
    the_outbox_backlog_counts_waiting_statuses,
);

async fn queue_depths_are_grouped_by_resource_class(db: &TestStore) {
    let store: &dyn Store = &**db;
    assert_eq!(store.queue_depths().await.unwrap(), []);
    let p = project(store, "gh/acme/app").await;
    let large = NewJob {
        resource_class: "large".into(),
        ..job("b", JobStatus::Blocked)
    };
    let (_, _, jobs) = pipeline(
        store,
        &p.id,
        "main",
        vec![job("a", JobStatus::Blocked), large],
    )
    .await;
    queue(store, &jobs[0], JobStatus::Blocked, 3, T0 + 10).await;
    queue(store, &jobs[1], JobStatus::Blocked, 1, T0 + 20).await;
    claimed_task(store, claim("docker", "r1", T0 + 30))
        .await
        .unwrap();

    let depth = |class: &str, queued, oldest_queued_at| QueueDepth {
        resource_class: class.to_string(),
        queued,
        oldest_queued_at,
    };
    assert_eq!(
        store.queue_depths().await.unwrap(),
        [depth("docker", 2, T0 + 10), depth("large", 1, T0 + 20)]
    );
    let pool = store.pool_use();
    assert!(pool.open >= 1 && pool.idle <= pool.open, "{pool:?}");
}

async fn runners_are_counted_by_resource_class(db: &TestStore) {
    let store: &dyn Store = &**db;
    store.runner_seen("r1", "docker", T0).await.unwrap();
    store.runner_seen("r2", "docker", T0 + 50).await.unwrap();
    store.runner_seen("r3", "large", T0 + 60).await.unwrap();
    store.runner_seen("old", "gpu", T0 - 1).await.unwrap();
    let count = |class: &str, runners| RunnerCount {
        resource_class: class.to_string(),
        runners,
    };
    assert_eq!(
        store.runner_counts(T0).await.unwrap(),
        [count("docker", 2), count("large", 1)]
    );
    assert_eq!(
        store.runner_counts(T0 + 55).await.unwrap(),
        [count("large", 1)]
    );
}

async fn the_outbox_backlog_counts_waiting_statuses(db: &TestStore) {
    let store: &dyn Store = &**db;
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        OutboxBacklog {
            rows: 0,
            oldest_created_at: None
        }
    );
    let p = project(store, "gh/acme/app").await;
    store
        .set_project_forge(crate::forges::forge(&p, true))
        .await
        .unwrap();
    let (_, _, jobs) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Blocked)]).await;
    queue(store, &jobs[0], JobStatus::Blocked, 1, T0 + 7).await;
    claimed_task(store, claim("docker", "r1", T0 + 9))
        .await
        .unwrap();
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        OutboxBacklog {
            rows: 2,
            oldest_created_at: Some(T0 + 7)
        }
    );
}
