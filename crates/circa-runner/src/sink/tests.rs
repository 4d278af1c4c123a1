#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use circa_exec::events::{EventKind, StepStatus};
use circa_model::JobStatus;
use circa_model::protocol::TaskEvent;

struct Fixture {
    _dir: tempfile::TempDir,
    sink: TaskSink,
}

fn fixture(limit: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Spool::create(&dir.path().join("t.jsonl")).unwrap());
    Fixture {
        _dir: dir,
        sink: TaskSink::new(spool, limit),
    }
}

impl Fixture {
    fn emit(&self, kind: EventKind) {
        self.sink.emit(Event {
            job: "build".into(),
            node: 0,
            kind,
        });
    }

    fn out(&self, step: usize, bytes: &[u8]) {
        self.emit(EventKind::Output {
            step,
            text: bytes.to_vec(),
        });
    }

    fn events(&self) -> Vec<TaskEvent> {
        self.sink.close();
        self.sink
            .spool()
            .read(usize::MAX)
            .unwrap()
            .events()
            .unwrap()
    }
}

fn output_of(events: &[TaskEvent], want: u32) -> String {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            TaskEventKind::Output { step, text } if *step == want => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn events_are_numbered_in_order_without_the_job_boundaries() {
    let f = fixture(0);
    f.emit(EventKind::JobStarted {
        executor: "shell".into(),
        nodes: 1,
    });
    let before = now_ms();
    f.emit(EventKind::StepStarted {
        step: 0,
        name: "a".into(),
        background: false,
    });
    let after = now_ms();
    f.out(0, b"hi\n");
    f.emit(EventKind::StepFinished {
        step: 0,
        status: StepStatus::Success,
        exit_code: Some(0),
        duration_ms: 1,
        message: None,
    });
    f.emit(EventKind::JobFinished {
        status: JobStatus::Success,
        duration_ms: 1,
        message: None,
    });
    let events = f.events();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    match &events[0].kind {
        TaskEventKind::StepStarted {
            at_ms: Some(at), ..
        } => {
            assert!((before..=after).contains(at), "{before} <= {at} <= {after}");
        }
        other => panic!("expected a stamped step start, got {other:?}"),
    }
    assert_eq!(
        events[1].kind,
        TaskEventKind::Output {
            step: 0,
            text: "hi\n".into()
        }
    );
    assert!(matches!(events[2].kind, TaskEventKind::StepFinished { .. }));
    assert_eq!(f.sink.spool().last_seq(), 3);
}

#[test]
fn consecutive_output_of_a_step_becomes_one_event() {
    let f = fixture(0);
    for i in 0..100 {
        f.out(0, format!("line {i}\n").as_bytes());
    }
    f.out(1, b"other step\n");
    f.out(1, b"again\n");
    f.sink.notice("between", false);
    f.out(1, b"after\n");
    let events = f.events();
    assert_eq!(events.len(), 4, "{events:?}");
    let expected: String = (0..100).map(|i| format!("line {i}\n")).collect();
    assert_eq!(
        events[0].kind,
        TaskEventKind::Output {
            step: 0,
            text: expected
        }
    );
    assert_eq!(
        events[1].kind,
        TaskEventKind::Output {
            step: 1,
            text: "other step\nagain\n".into()
        }
    );
    assert!(matches!(events[2].kind, TaskEventKind::Notice { .. }));
    assert_eq!(output_of(&events[3..], 1), "after\n");
}

#[test]
fn large_output_is_cut_into_events_of_at_most_64_kib() {
    let f = fixture(0);
    let chunk: Vec<u8> = (0..16 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    for _ in 0..13 {
        f.out(2, &chunk);
    }
    let events = f.events();
    assert_eq!(events.len(), 4);
    for e in &events {
        let TaskEventKind::Output { text, .. } = &e.kind else {
            panic!("{e:?}")
        };
        assert!(text.len() <= MAX_TEXT);
    }
    assert_eq!(output_of(&events, 2).len(), 13 * chunk.len());
}

#[test]
fn a_character_split_between_chunks_stays_whole() {
    let f = fixture(0);
    f.out(0, b"caf\xC3");
    // The sender flushes while the character is half there.
    f.sink.flush();
    f.out(0, b"\xA9 ok\n");
    let events = f.events();
    assert_eq!(output_of(&events, 0), "café ok\n");
    assert_eq!(events.len(), 2);

    let g = fixture(0);
    g.out(0, b"bad \xFF byte and a cut \xE2\x82");
    assert_eq!(
        output_of(&g.events(), 0),
        "bad \u{FFFD} byte and a cut \u{FFFD}"
    );
}

#[test]
fn whole_chars_len_stops_before_a_cut_character() {
    assert_eq!(whole_chars_len(b"abc"), 3);
    assert_eq!(whole_chars_len("é".as_bytes()), 2);
    assert_eq!(whole_chars_len(b"a\xC3"), 1);
    assert_eq!(whole_chars_len(b"a\xE2\x82"), 1);
    assert_eq!(whole_chars_len(b"a\xF0\x9F\x98"), 1);
    assert_eq!(whole_chars_len("a😀".as_bytes()), 5);
    assert_eq!(whole_chars_len(b""), 0);
}

#[test]
fn output_past_the_step_limit_is_dropped_with_one_marker() {
    let f = fixture(10);
    f.out(0, b"0123");
    f.out(0, b"456789abc");
    f.out(0, b"more");
    f.emit(EventKind::StepFinished {
        step: 0,
        status: StepStatus::Success,
        exit_code: Some(0),
        duration_ms: 1,
        message: None,
    });
    f.out(1, b"own 10\n");
    let events = f.events();
    assert_eq!(
        output_of(&events, 0),
        format!("0123456789{}", truncation_marker(10))
    );
    // The next step has a limit of its own.
    assert_eq!(output_of(&events, 1), "own 10\n");
    assert!(
        truncation_marker(10).contains("[circa] log truncated: this step wrote more than 10 bytes")
    );
}

#[test]
fn output_exactly_at_the_limit_has_no_marker_and_zero_means_no_limit() {
    let f = fixture(4);
    f.out(0, b"abcd");
    assert_eq!(output_of(&f.events(), 0), "abcd");
    let g = fixture(0);
    g.out(0, &vec![b'x'; 300_000]);
    assert_eq!(output_of(&g.events(), 0).len(), 300_000);
}
