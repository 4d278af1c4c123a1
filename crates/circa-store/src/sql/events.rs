//! Which events of a batch are stored, and the kind column they are stored with.

use serde::Deserialize;

use crate::records::StoredEvent;
use crate::sql::codec::to_i64;

/// An event about to be inserted.
pub(crate) struct EventInsert<'a> {
    /// Its sequence number.
    pub seq: i64,
    /// Its step.
    pub step: Option<i64>,
    /// The body's `event` tag.
    pub kind: String,
    /// The body.
    pub body: &'a str,
}

/// The events of `batch` that continue a task whose last stored event is `last_seq`: those
/// whose `seq` is one more than the previous one kept, in the batch's order. Events already
/// stored are skipped; a gap ends the run (what follows it waits for a resend).
pub(crate) fn continuing(last_seq: u64, batch: &[StoredEvent]) -> Vec<EventInsert<'_>> {
    let mut expected = last_seq.saturating_add(1);
    let mut kept = Vec::new();
    for event in batch {
        if event.seq < expected {
            continue;
        }
        if event.seq > expected || event.seq > i64::MAX as u64 {
            break;
        }
        kept.push(EventInsert {
            seq: to_i64(event.seq),
            step: event.step.map(i64::from),
            kind: kind_of(&event.body),
            body: &event.body,
        });
        expected += 1;
    }
    kept
}

/// The `event` tag of an event body (`circa_model::protocol::TaskEventKind` as JSON), or an
/// empty string when the body has none.
pub(crate) fn kind_of(body: &str) -> String {
    // serde writes an internally tagged enum's tag first: read it without parsing a 64 KiB
    // output text. Anything else (escapes, other key orders) takes the full parse.
    if let Some(rest) = body.strip_prefix(r#"{"event":""#)
        && let Some(end) = rest.find(['"', '\\'])
        && rest[end..].starts_with('"')
    {
        return rest[..end].to_string();
    }
    #[derive(Deserialize)]
    struct Tag {
        event: String,
    }
    serde_json::from_str::<Tag>(body)
        .map(|tag| tag.event)
        .unwrap_or_default()
}

/// The kind of output events, whose text moves to Blobs when their step is recorded.
pub(crate) const OUTPUT_KIND: &str = "output";

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64) -> StoredEvent {
        StoredEvent {
            seq,
            step: Some(1),
            body: r#"{"event":"output","step":1,"text":"hi"}"#.into(),
        }
    }

    #[test]
    fn keeps_the_run_that_continues_the_task() {
        let batch = [event(2), event(3), event(4), event(6), event(7)];
        let seqs: Vec<i64> = continuing(2, &batch).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4]);
        assert!(continuing(7, &batch).is_empty());
        assert!(continuing(0, &batch).is_empty());
    }

    #[test]
    fn reads_the_tag() {
        assert_eq!(kind_of(&event(1).body), "output");
        assert_eq!(
            kind_of(r#"{"step":0,"name":"x","background":false,"event":"step_started"}"#),
            "step_started"
        );
        assert_eq!(kind_of("not json"), "");
        assert_eq!(kind_of(r#"{"event":"out\u0070ut","step":1}"#), "output");
        assert_eq!(kind_of(r#"{"event":"notice"}"#), "notice");
    }
}
