#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::io::Write;

use super::*;

fn out(step: u32, text: &str) -> TaskEventKind {
    TaskEventKind::Output {
        step,
        text: text.to_string(),
    }
}

fn texts(batch: &Batch) -> Vec<(u64, String)> {
    batch
        .events()
        .unwrap()
        .into_iter()
        .map(|e| match e.kind {
            TaskEventKind::Output { text, .. } => (e.seq, text),
            other => (e.seq, format!("{other:?}")),
        })
        .collect()
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

#[test]
fn events_are_numbered_from_one_and_read_back_as_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::create(&dir.path().join("t.jsonl")).unwrap();
    assert_eq!(spool.last_seq(), 0);
    assert_eq!(spool.append(&out(0, "a\n")).unwrap(), 1);
    assert_eq!(spool.append(&out(0, "b\n")).unwrap(), 2);
    let notice = TaskEventKind::Notice {
        message: "n".into(),
        warning: false,
    };
    assert_eq!(spool.append(&notice).unwrap(), 3);
    let batch = spool.read(1 << 20).unwrap();
    assert_eq!((batch.first_seq(), batch.last_seq()), (1, 3));
    let events = batch.events().unwrap();
    assert_eq!(
        events[2],
        TaskEvent {
            seq: 3,
            kind: notice
        }
    );
    // The body is exactly what serde makes of an EventBatch.
    assert_eq!(
        batch.body(),
        serde_json::to_vec(&EventBatch { events }).unwrap()
    );
}

#[test]
fn a_batch_stops_near_the_size_asked_but_holds_at_least_one_event() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::create(&dir.path().join("t.jsonl")).unwrap();
    for i in 0..10 {
        spool.append(&out(0, &"x".repeat(100 + i))).unwrap();
    }
    assert_eq!(spool.read(1).unwrap().len(), 1);
    let batch = spool.read(300).unwrap();
    assert!(batch.len() >= 2 && batch.len() < 10, "{}", batch.len());
}

#[test]
fn acked_events_are_forgotten_and_the_file_emptied_when_all_are_and_it_is_long() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut spool = Spool::create(&path).unwrap();
    spool.shrink_at = 10;
    for t in ["a", "b", "c"] {
        spool.append(&out(0, t)).unwrap();
    }
    let batch = spool.read(1 << 20).unwrap();
    assert_eq!(spool.ack(&batch, 2).unwrap(), 2);
    assert!(!spool.all_acked());
    let rest = spool.read(1 << 20).unwrap();
    assert_eq!(texts(&rest), vec![(3, "c".to_string())]);
    assert!(file_len(&path) > 0);
    assert_eq!(spool.ack(&rest, 3).unwrap(), 1);
    assert!(spool.all_acked());
    assert_eq!(file_len(&path), 0);
    assert!(spool.read(1 << 20).unwrap().is_empty());
    // Numbering goes on after the truncation.
    assert_eq!(spool.append(&out(0, "d")).unwrap(), 4);
    assert_eq!(texts(&spool.read(1 << 20).unwrap()), vec![(4, "d".into())]);
}

#[test]
fn an_answer_without_progress_keeps_everything_and_a_lower_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::create(&dir.path().join("t.jsonl")).unwrap();
    for t in ["a", "b", "c"] {
        spool.append(&out(0, t)).unwrap();
    }
    let batch = spool.read(1 << 20).unwrap();
    assert_eq!(spool.ack(&batch, 0).unwrap(), 0);
    assert_eq!(spool.read(1 << 20).unwrap().len(), 3);
    spool.ack(&batch, 2).unwrap();
    let rest = spool.read(1 << 20).unwrap();
    assert!(matches!(
        spool.ack(&rest, 1),
        Err(SpoolError::Regressed {
            acked: 1,
            before: 2
        })
    ));
    // An answer past what was sent counts only what was sent.
    assert_eq!(spool.ack(&rest, 99).unwrap(), 1);
    assert_eq!(spool.acked(), 3);
}

#[test]
fn reopening_resends_only_the_unacked_events_and_continues_the_numbering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    {
        let spool = Spool::create(&path).unwrap();
        for t in ["a", "b", "c", "d", "e"] {
            spool.append(&out(1, t)).unwrap();
        }
        let batch = spool.read(1 << 20).unwrap();
        spool.ack(&batch, 2).unwrap();
    }
    let spool = Spool::open(&path).unwrap();
    assert_eq!(spool.acked(), 2);
    assert_eq!(spool.last_seq(), 5);
    let batch = spool.read(1 << 20).unwrap();
    assert_eq!(
        texts(&batch),
        vec![(3, "c".into()), (4, "d".into()), (5, "e".into())]
    );
    assert_eq!(spool.append(&out(1, "f")).unwrap(), 6);
    spool.ack(&batch, 5).unwrap();
    assert_eq!(texts(&spool.read(1 << 20).unwrap()), vec![(6, "f".into())]);
}

#[test]
fn reopening_an_emptied_spool_continues_after_the_last_ack() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    {
        let spool = Spool::create(&path).unwrap();
        spool.append(&out(0, "a")).unwrap();
        spool.append(&out(0, "b")).unwrap();
        let batch = spool.read(1 << 20).unwrap();
        spool.ack(&batch, 2).unwrap();
    }
    let spool = Spool::open(&path).unwrap();
    assert!(spool.all_acked());
    assert!(spool.read(1 << 20).unwrap().is_empty());
    assert_eq!(spool.append(&out(0, "c")).unwrap(), 3);
}

#[test]
fn a_half_written_last_line_is_dropped_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    {
        let spool = Spool::create(&path).unwrap();
        spool.append(&out(0, "a")).unwrap();
        spool.append(&out(0, "b")).unwrap();
    }
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"seq":3,"event":"outp"#).unwrap();
    drop(f);
    let spool = Spool::open(&path).unwrap();
    assert_eq!(spool.last_seq(), 2);
    assert_eq!(spool.append(&out(0, "c")).unwrap(), 3);
    assert_eq!(
        texts(&spool.read(1 << 20).unwrap()),
        vec![(1, "a".into()), (2, "b".into()), (3, "c".into())]
    );
}

#[test]
fn create_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    {
        let spool = Spool::create(&path).unwrap();
        spool.append(&out(0, "a")).unwrap();
        let b = spool.read(100).unwrap();
        spool.ack(&b, 1).unwrap();
    }
    let spool = Spool::create(&path).unwrap();
    assert_eq!(spool.append(&out(0, "x")).unwrap(), 1);
    spool.remove();
    assert!(!path.exists() && !path.with_extension("acked").exists());
}

#[test]
fn a_long_acknowledged_head_is_cut_off_while_events_are_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut spool = Spool::create(&path).unwrap();
    spool.compact_at = 1000;
    for i in 0..100 {
        spool
            .append(&out(0, &format!("line {i:03} {}", "x".repeat(40))))
            .unwrap();
    }
    let batch = spool.read(4000).unwrap();
    let n = batch.len() as u64;
    spool.ack(&batch, n).unwrap();
    let before = file_len(&path);
    // Another reader's batch, then an ack that leaves a short tail: the file is rewritten.
    let batch = spool.read(1 << 20).unwrap();
    spool.ack(&batch, 95).unwrap();
    let after = file_len(&path);
    assert!(after < before / 10, "{before} -> {after}");
    let rest = spool.read(1 << 20).unwrap();
    assert_eq!(
        texts(&rest).iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![96, 97, 98, 99, 100]
    );
    assert_eq!(spool.append(&out(0, "z")).unwrap(), 101);
    // And it reopens the same way.
    drop(spool);
    let spool = Spool::open(&path).unwrap();
    assert_eq!(spool.read(1 << 20).unwrap().first_seq(), 96);
    assert_eq!(spool.last_seq(), 101);
}

#[test]
fn a_short_file_is_kept_when_all_is_acked_and_overwritten_by_what_comes_next() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let spool = all_acked(&path, &["a", "b", "c"]);
    let kept = file_len(&path);
    assert!(kept > 0);
    assert!(spool.read(1 << 20).unwrap().is_empty());
    assert_eq!(spool.append(&out(0, "d")).unwrap(), 4);
    assert_eq!(texts(&spool.read(1 << 20).unwrap()), vec![(4, "d".into())]);
    drop(spool);
    assert_eq!(reopened(&path), vec![(4, "d".into())]);
}

/// A new spool at `path` holding `texts`, every one acknowledged.
fn all_acked(path: &Path, texts: &[&str]) -> Spool {
    let spool = Spool::create(path).unwrap();
    for t in texts {
        spool.append(&out(0, t)).unwrap();
    }
    let batch = spool.read(1 << 20).unwrap();
    assert_eq!(spool.ack(&batch, texts.len() as u64).unwrap(), texts.len());
    assert!(spool.all_acked());
    spool
}

/// What the spool at `path`, opened again, would send.
fn reopened(path: &Path) -> Vec<(u64, String)> {
    texts(&Spool::open(path).unwrap().read(1 << 20).unwrap())
}

#[test]
fn a_restarted_spool_numbers_from_one_and_never_reads_what_the_last_task_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    // The next task writes the same first event: its line ends where the old second began.
    let spool = all_acked(&path, &["a", "b", "c"]);
    let size = file_len(&path);
    spool.restart().unwrap();
    assert_eq!(spool.acked(), 0);
    assert!(spool.all_acked());
    assert!(spool.read(1 << 20).unwrap().is_empty());
    assert_eq!(spool.append(&out(0, "a")).unwrap(), 1);
    assert_eq!(texts(&spool.read(1 << 20).unwrap()), vec![(1, "a".into())]);
    assert_eq!(file_len(&path), size, "overwritten in place");
    drop(spool);
    assert_eq!(reopened(&path), vec![(1, "a".into())]);
}

#[test]
fn a_restarted_spool_past_the_shrink_size_is_emptied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.jsonl");
    let mut spool = Spool::create(&path).unwrap();
    spool.shrink_at = 10;
    spool.append(&out(0, "unacknowledged")).unwrap();
    spool.restart().unwrap();
    assert_eq!(file_len(&path), 0);
    assert!(spool.read(1 << 20).unwrap().is_empty());
    assert_eq!(spool.append(&out(0, "x")).unwrap(), 1);
}
