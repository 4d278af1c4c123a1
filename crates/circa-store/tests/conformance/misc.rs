//! Runners, artifacts, damaged rows, and `connect`.

use circa_model::JobStatus;
use circa_store::*;

use crate::backends::{TestStore, on_both_backends};
use crate::fixtures::*;

on_both_backends!(
    runners_are_counted_by_class,
    artifacts_round_trip,
    damaged_rows_are_corrupt
);

async fn runners_are_counted_by_class(db: &TestStore) {
    let store: &dyn Store = &**db;
    store.runner_seen("r1", "docker", T0).await.unwrap();
    store.runner_seen("r2", "docker", T0 + 10).await.unwrap();
    store.runner_seen("r3", "large", T0 + 10).await.unwrap();
    assert_eq!(store.runners_seen("docker", T0).await.unwrap(), 2);
    assert_eq!(store.runners_seen("docker", T0 + 1).await.unwrap(), 1);
    // Seen again, under another class: one runner, counted where it was seen last.
    store.runner_seen("r1", "large", T0 + 20).await.unwrap();
    assert_eq!(store.runners_seen("docker", T0).await.unwrap(), 1);
    assert_eq!(store.runners_seen("large", T0 + 10).await.unwrap(), 2);
    assert_eq!(store.runners_seen("large", T0 + 11).await.unwrap(), 1);
    assert_eq!(store.runners_seen("gpu", 0).await.unwrap(), 0);
}

async fn artifacts_round_trip(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (_, _, jobs) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Queued)]).await;
    let artifact = |node, path: &str, size| Artifact {
        job_id: jobs[0].id.clone(),
        node,
        path: path.into(),
        blob_key: format!("artifacts/{}/{node}/{path}", jobs[0].id),
        size,
    };
    for a in [
        artifact(1, "b.txt", 1),
        artifact(0, "b.txt", 2),
        artifact(0, "B.txt", 3),
        artifact(0, "a/x.txt", 4),
        artifact(0, "b.txt", 5),
    ] {
        store.add_artifact(a).await.unwrap();
    }
    assert_eq!(
        store.artifacts(&jobs[0].id).await.unwrap(),
        [
            artifact(0, "B.txt", 3),
            artifact(0, "a/x.txt", 4),
            artifact(0, "b.txt", 5),
            artifact(1, "b.txt", 1),
        ]
    );
    assert!(store.artifacts(&"nope".into()).await.unwrap().is_empty());
    let missing = store
        .add_artifact(Artifact {
            job_id: "nope".into(),
            ..artifact(0, "c", 0)
        })
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn damaged_rows_are_corrupt(db: &TestStore) {
    let store: &dyn Store = &**db;
    let p = project(store, "gh/acme/app").await;
    let (_, wf, jobs) = pipeline(store, &p.id, "main", vec![job("a", JobStatus::Queued)]).await;
    db.raw_execute("UPDATE jobs SET status = 'sucess'").await;
    let read = store.job(&jobs[0].id).await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
    db.raw_execute("UPDATE workflows SET status = 'bogus'")
        .await;
    let read = store.workflow(&wf.id).await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
    db.raw_execute("UPDATE projects SET settings = '{not json'")
        .await;
    let read = store.projects().await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
    db.raw_execute("UPDATE pipelines SET state = 'gone'").await;
    let read = store.pipelines(&p.id, None, Page::default()).await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
}

#[tokio::test]
async fn connect_opens_what_the_url_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/folder/circa.db");
    let store = connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.ping().await.unwrap();
    project(store.as_ref(), "gh/acme/app").await;
    assert!(path.is_file());
    drop(store);
    // Reopening finds the data and runs no migration twice.
    let again = connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert_eq!(again.projects().await.unwrap().len(), 1);

    let memory = connect("sqlite::memory:").await.unwrap();
    project(memory.as_ref(), "gh/acme/app").await;
    assert_eq!(memory.projects().await.unwrap().len(), 1);
    let other = connect("sqlite::memory:").await.unwrap();
    assert!(other.projects().await.unwrap().is_empty());

    for url in ["mysql://localhost/db", "sqlite://", "", "file.db"] {
        let refused = connect(url).await;
        assert!(
            matches!(refused, Err(StoreError::UnsupportedUrl(_))),
            "{url}"
        );
    }
}
