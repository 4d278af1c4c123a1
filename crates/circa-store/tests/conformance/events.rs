//! Task events and steps.

use std::time::Instant;

use circa_store::*;

use crate::backends::{TestStore, note, on_both_backends};
use crate::fixtures::*;

on_both_backends!(
    appends_keep_only_the_next_events,
    recording_a_step_drops_its_output,
    append_throughput,
);

fn event(seq: u64, step: Option<u32>, body: &str) -> StoredEvent {
    StoredEvent {
        seq,
        step,
        body: body.into(),
    }
}

fn output(seq: u64, step: u32) -> StoredEvent {
    let body = format!(r#"{{"event":"output","step":{step},"text":"line {seq}\n"}}"#);
    event(seq, Some(step), &body)
}

fn seqs(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

async fn appends_keep_only_the_next_events(db: &TestStore) {
    let store: &dyn Store = &**db;
    let (_, task) = running_task(store).await;
    let batch: Vec<_> = (1..=3).map(|s| output(s, 0)).collect();
    assert_eq!(store.append_events(&task.id, &batch).await.unwrap(), 3);
    assert_eq!(
        store.append_events(&task.id, &batch).await.unwrap(),
        3,
        "a resend changes nothing"
    );
    assert_eq!(store.events(&task.id, 0, 100).await.unwrap(), batch);

    let overlapping: Vec<_> = (2..=5).map(|s| output(s, 0)).collect();
    assert_eq!(
        store.append_events(&task.id, &overlapping).await.unwrap(),
        5
    );
    let gap = [output(7, 0), output(8, 0)];
    assert_eq!(
        store.append_events(&task.id, &gap).await.unwrap(),
        5,
        "a gap waits"
    );
    let broken = [output(6, 0), output(8, 0), output(7, 0)];
    assert_eq!(
        store.append_events(&task.id, &broken).await.unwrap(),
        6,
        "a gap ends the run"
    );
    assert_eq!(store.append_events(&task.id, &[]).await.unwrap(), 6);
    assert_eq!(store.task(&task.id).await.unwrap().unwrap().last_seq, 6);

    let all = store.events(&task.id, 0, 100).await.unwrap();
    assert_eq!(seqs(&all), [1, 2, 3, 4, 5, 6]);
    assert_eq!(all[5], output(6, 0));
    assert_eq!(seqs(&store.events(&task.id, 2, 2).await.unwrap()), [3, 4]);
    assert!(store.events(&task.id, 6, 100).await.unwrap().is_empty());

    // A long batch (inserted in multi-row chunks where a backend does that) arrives whole.
    let long: Vec<_> = (7..=76).map(|s| output(s, 1)).collect();
    assert_eq!(store.append_events(&task.id, &long).await.unwrap(), 76);
    assert_eq!(store.events(&task.id, 6, 100).await.unwrap(), long);
    assert_eq!(store.step_events(&task.id, 1).await.unwrap(), long);

    let missing = store.append_events(&"nope".into(), &batch).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

async fn recording_a_step_drops_its_output(db: &TestStore) {
    let store: &dyn Store = &**db;
    let (_, task) = running_task(store).await;
    let events = [
        event(
            1,
            Some(0),
            r#"{"event":"step_started","step":0,"name":"Build","background":false}"#,
        ),
        output(2, 0),
        output(3, 0),
        event(
            4,
            Some(0),
            r#"{"event":"step_finished","step":0,"status":"success","exit_code":0,"duration_ms":5,"message":null}"#,
        ),
        event(
            5,
            Some(1),
            r#"{"event":"step_started","step":1,"name":"Test","background":false}"#,
        ),
        output(6, 1),
        event(
            7,
            None,
            r#"{"event":"notice","message":"hi","warning":true}"#,
        ),
    ];
    assert_eq!(store.append_events(&task.id, &events).await.unwrap(), 7);
    assert_eq!(
        seqs(&store.step_events(&task.id, 0).await.unwrap()),
        [1, 2, 3, 4]
    );

    let step = StepRecord {
        task_id: task.id.clone(),
        step: 0,
        name: "Build".into(),
        status: "success".into(),
        exit_code: Some(0),
        duration_ms: 5,
        started_at: T0 + 2,
        log_key: Some(format!("logs/{}/0.zst", task.id)),
        log_bytes: 14,
    };
    store.record_step(step.clone()).await.unwrap();
    assert_eq!(
        seqs(&store.events(&task.id, 0, 100).await.unwrap()),
        [1, 4, 5, 6, 7]
    );
    assert_eq!(seqs(&store.step_events(&task.id, 0).await.unwrap()), [1, 4]);
    assert_eq!(seqs(&store.step_events(&task.id, 1).await.unwrap()), [5, 6]);
    assert_eq!(store.task(&task.id).await.unwrap().unwrap().last_seq, 7);

    let second = StepRecord {
        step: 1,
        name: "Test".into(),
        status: "failed".into(),
        exit_code: None,
        log_key: None,
        log_bytes: 0,
        ..step.clone()
    };
    store.record_step(second.clone()).await.unwrap();
    let rerecorded = StepRecord {
        duration_ms: 6,
        ..step.clone()
    };
    store.record_step(rerecorded.clone()).await.unwrap();
    assert_eq!(store.steps(&task.id).await.unwrap(), [rerecorded, second]);
    assert_eq!(
        seqs(&store.events(&task.id, 0, 100).await.unwrap()),
        [1, 4, 5, 7]
    );

    let missing = store
        .record_step(StepRecord {
            task_id: "nope".into(),
            ..step
        })
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
}

/// How fast a big log goes in: batches of one 64 KiB output event, like a runner streaming a
/// chatty step, then batches of many one-line events. Prints the figures (past the output
/// capture); asserts only that everything arrived. `CIRCA_APPEND_MIB` sets the big log's size
/// (default 64 MiB).
async fn append_throughput(db: &TestStore) {
    const CHUNK: usize = 64 * 1024;
    const LINES_PER_BATCH: u64 = 256;
    let store: &dyn Store = &**db;
    let mib: usize = std::env::var("CIRCA_APPEND_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let batches = (mib * 1024 * 1024 / CHUNK) as u64;
    let (_, task) = running_task(store).await;
    let line = "0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\\n";
    let text = line.repeat(CHUNK / line.len());
    let body = format!(r#"{{"event":"output","step":0,"text":"{text}"}}"#);

    let started = Instant::now();
    for seq in 1..=batches {
        let batch = [event(seq, Some(0), &body)];
        assert_eq!(store.append_events(&task.id, &batch).await.unwrap(), seq);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let megabytes = (batches as usize * body.len()) as f64 / 1e6;
    note(&format!(
        "append_events [{}]: {batches} batches of one 64 KiB event, {megabytes:.0} MB in \
         {elapsed:.2} s = {:.0} MB/s",
        db.backend,
        megabytes / elapsed
    ));

    let started = Instant::now();
    let mut seq = batches;
    for _ in 0..64 {
        let batch: Vec<_> = (seq + 1..=seq + LINES_PER_BATCH)
            .map(|s| output(s, 1))
            .collect();
        seq += LINES_PER_BATCH;
        assert_eq!(store.append_events(&task.id, &batch).await.unwrap(), seq);
    }
    let elapsed = started.elapsed().as_secs_f64();
    note(&format!(
        "append_events [{}]: 64 batches of {LINES_PER_BATCH} one-line events in {elapsed:.2} s \
         = {:.0} events/s",
        db.backend,
        (64 * LINES_PER_BATCH) as f64 / elapsed
    ));

    let started = Instant::now();
    store
        .record_step(StepRecord {
            task_id: task.id.clone(),
            step: 0,
            name: "Chatty".into(),
            status: "success".into(),
            exit_code: Some(0),
            duration_ms: 1,
            started_at: T0,
            log_key: None,
            log_bytes: (batches as usize * text.len()) as u64,
        })
        .await
        .unwrap();
    note(&format!(
        "record_step [{}]: dropped {batches} output events in {:.2} s",
        db.backend,
        started.elapsed().as_secs_f64()
    ));
    let left = store.events(&task.id, 0, 10).await.unwrap();
    assert_eq!(left.first().map(|e| e.seq), Some(batches + 1));
}
