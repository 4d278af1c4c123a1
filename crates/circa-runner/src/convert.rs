//! The job runner's events ([`EventKind`]) as the protocol's ([`TaskEventKind`]).

use circa_exec::events::EventKind;
use circa_model::protocol::TaskEventKind;

/// What becomes of one job runner event.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// Step output, still as bytes: the sink limits, coalesces and decodes it.
    Output {
        /// The step's index.
        step: u32,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// An event sent as it is.
    Event(TaskEventKind),
    /// Not sent: the job's start and end travel as the claim and the `complete` call, and
    /// artifacts as uploads.
    Skip,
}

/// A step index as the protocol's `u32` (saturating; no job has four billion steps).
pub fn step(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// Maps one event.
pub fn map(kind: EventKind) -> Mapped {
    let event = match kind {
        EventKind::JobStarted { .. }
        | EventKind::JobFinished { .. }
        | EventKind::Artifact { .. } => {
            return Mapped::Skip;
        }
        EventKind::Output { step: s, text } => {
            return Mapped::Output {
                step: step(s),
                bytes: text,
            };
        }
        EventKind::Progress { message, done } => TaskEventKind::Progress { message, done },
        EventKind::EnvironmentReady { description } => {
            TaskEventKind::EnvironmentReady { description }
        }
        EventKind::StepStarted {
            step: s,
            name,
            background,
        } => TaskEventKind::StepStarted {
            step: step(s),
            name,
            background,
            at_ms: None,
        },
        EventKind::StepFinished {
            step: s,
            status,
            exit_code,
            duration_ms,
            message,
        } => TaskEventKind::StepFinished {
            step: step(s),
            status: status.as_str().to_string(),
            exit_code,
            duration_ms,
            message,
        },
        EventKind::Notice { message, warning } => TaskEventKind::Notice { message, warning },
        EventKind::TestResults {
            step: s,
            tests,
            failures,
            skipped,
            failed: _,
        } => TaskEventKind::TestResults {
            step: step(s),
            tests,
            failures,
            skipped,
        },
    };
    Mapped::Event(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use circa_exec::events::{FailedTest, StepStatus};
    use circa_model::JobStatus;

    #[test]
    fn job_boundaries_and_artifacts_are_not_sent() {
        for kind in [
            EventKind::JobStarted {
                executor: "shell".into(),
                nodes: 1,
            },
            EventKind::JobFinished {
                status: JobStatus::Success,
                duration_ms: 1,
                message: None,
            },
            EventKind::Artifact {
                path: "a".into(),
                location: "/x/a".into(),
            },
        ] {
            assert_eq!(map(kind), Mapped::Skip);
        }
    }

    #[test]
    fn step_events_keep_their_fields() {
        assert_eq!(
            map(EventKind::StepStarted {
                step: 2,
                name: "tests".into(),
                background: true
            }),
            Mapped::Event(TaskEventKind::StepStarted {
                step: 2,
                name: "tests".into(),
                background: true,
                at_ms: None
            })
        );
        assert_eq!(
            map(EventKind::StepFinished {
                step: 2,
                status: StepStatus::Timedout,
                exit_code: Some(124),
                duration_ms: 5,
                message: Some("no output".into()),
            }),
            Mapped::Event(TaskEventKind::StepFinished {
                step: 2,
                status: "timedout".into(),
                exit_code: Some(124),
                duration_ms: 5,
                message: Some("no output".into()),
            })
        );
        assert_eq!(
            map(EventKind::TestResults {
                step: 1,
                tests: 10,
                failures: 2,
                skipped: 1,
                failed: vec![FailedTest {
                    classname: "c".into(),
                    name: "n".into(),
                    message: "m".into()
                }],
            }),
            Mapped::Event(TaskEventKind::TestResults {
                step: 1,
                tests: 10,
                failures: 2,
                skipped: 1
            })
        );
    }

    #[test]
    fn notices_progress_and_environment_pass_through() {
        assert_eq!(
            map(EventKind::Notice {
                message: "m".into(),
                warning: true
            }),
            Mapped::Event(TaskEventKind::Notice {
                message: "m".into(),
                warning: true
            })
        );
        assert_eq!(
            map(EventKind::Progress {
                message: "pull".into(),
                done: false
            }),
            Mapped::Event(TaskEventKind::Progress {
                message: "pull".into(),
                done: false
            })
        );
        assert_eq!(
            map(EventKind::EnvironmentReady {
                description: "shell".into()
            }),
            Mapped::Event(TaskEventKind::EnvironmentReady {
                description: "shell".into()
            })
        );
    }

    #[test]
    fn output_stays_bytes_for_the_sink() {
        assert_eq!(
            map(EventKind::Output {
                step: 3,
                text: b"hi\xff".to_vec()
            }),
            Mapped::Output {
                step: 3,
                bytes: b"hi\xff".to_vec()
            }
        );
    }
}
