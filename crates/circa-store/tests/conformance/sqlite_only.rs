//! What only the SQLite backend needs showing: two stores (two server processes, say) on one
//! file still never share a task, and wait for each other instead of failing with
//! `SQLITE_BUSY`.

use std::collections::BTreeSet;
use std::sync::Arc;

use circa_model::JobStatus;
use circa_store::SqliteStore;
use circa_store::prelude::*;

use crate::fixtures::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_share_the_queue() {
    const TASKS: u32 = 40;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("circa.db");
    let first: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let second: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let p = project(first.as_ref(), "gh/acme/app").await;
    let (_, _, jobs) = pipeline(
        first.as_ref(),
        &p.id,
        "main",
        vec![job("a", JobStatus::Blocked)],
    )
    .await;
    queue(first.as_ref(), &jobs[0], JobStatus::Blocked, TASKS, T0).await;

    let claimers: Vec<_> = (0..6)
        .map(|i| {
            let store = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            tokio::spawn(async move {
                let runner = format!("runner-{i}");
                let mut mine = Vec::new();
                while let Some(task) =
                    claimed_task(store.as_ref(), claim("docker", &runner, T0)).await
                {
                    // A write through the same store between claims, like a heartbeat.
                    store.heartbeat(&task.id, T0 + 1).await.unwrap().unwrap();
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
    let unique: BTreeSet<_> = claimed.iter().collect();
    assert_eq!(
        (claimed.len(), unique.len()),
        (TASKS as usize, TASKS as usize)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_reach_the_database_file_without_a_commit_checkpointing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("circa.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let size = || std::fs::metadata(&path).unwrap().len();
    let before = size();
    // Far below the writer's own checkpoint mark: only the WAL holds these at first.
    let p = project(&store, "gh/acme/app").await;
    for _ in 0..20 {
        pipeline(&store, &p.id, "main", vec![job("a", JobStatus::Blocked)]).await;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "the WAL was never copied into the database file"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(store);
}

#[tokio::test]
async fn a_new_database_and_its_folder_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("data/sub");
    let path = folder.join("circa.db");
    let store = SqliteStore::open(&path).await.unwrap();
    project(&store, "gh/acme/app").await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&folder), 0o700);
    assert_eq!(mode(&dir.path().join("data")), 0o700);
    let wal = folder.join("circa.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
}
