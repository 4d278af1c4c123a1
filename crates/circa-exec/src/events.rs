//! What a running job reports: step boundaries, output, progress, results.
//!
//! Executors and steps report through a [`Reporter`], which stamps each [`EventKind`] with the
//! job and node it belongs to and hands the [`Event`] to the caller's [`EventSink`] (a terminal
//! printer, a JSON stream, the runner's uploader). Output reaching a sink is already masked.

use std::sync::Arc;

use circa_model::JobStatus;
use serde::{Serialize, Serializer};

/// Receives the events of running jobs. Called from several tasks at once.
pub trait EventSink: Send + Sync {
    /// Takes one event.
    fn emit(&self, event: Event);
}

/// One event of one job node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The job's name in its workflow (or its key in the config).
    pub job: String,
    /// The node index (0 unless the job has `parallelism`).
    pub node: u32,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It did what it should.
    Success,
    /// It failed (a non-zero exit code, or a built-in step that could not do its work).
    Failed,
    /// `no_output_timeout` passed without output.
    Timedout,
    /// The job was cancelled while it ran.
    Canceled,
    /// Its `when` did not hold, or an earlier step halted or ended the job.
    Skipped,
}

impl StepStatus {
    /// CircleCI's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Success => "success",
            StepStatus::Failed => "failed",
            StepStatus::Timedout => "timedout",
            StepStatus::Canceled => "canceled",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// A failed test case, as shown after `store_test_results`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedTest {
    /// `classname` or the suite name.
    pub classname: String,
    /// The test's name.
    pub name: String,
    /// The failure message, first line.
    pub message: String,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The node's environment is being prepared.
    JobStarted {
        /// What runs it, e.g. `docker` or `shell`.
        executor: String,
        /// How many nodes the job has (its `parallelism`).
        nodes: u32,
    },
    /// Something slow is under way or done (an image pull, a cache upload).
    Progress {
        /// What, in a few words.
        message: String,
        /// Whether this closes the progress line.
        done: bool,
    },
    /// The environment is ready.
    EnvironmentReady {
        /// A one-line description (`docker: image (+1 service)`).
        description: String,
    },
    /// A step began.
    StepStarted {
        /// The step's index in the job (0-based).
        step: usize,
        /// Its display name.
        name: String,
        /// Whether it runs in the background.
        background: bool,
    },
    /// Output of a step, masked.
    Output {
        /// The step's index.
        step: usize,
        /// The bytes, shown as (lossy) UTF-8 in JSON.
        #[serde(serialize_with = "lossy")]
        text: Vec<u8>,
    },
    /// A step ended.
    StepFinished {
        /// The step's index.
        step: usize,
        /// How it ended.
        status: StepStatus,
        /// The exit code of a `run` step.
        exit_code: Option<i64>,
        /// Wall time in milliseconds.
        duration_ms: u64,
        /// Why it failed, when it is not a plain exit code.
        message: Option<String>,
    },
    /// Something the person should know (a notice or warning from a step).
    Notice {
        /// The message.
        message: String,
        /// Whether it is a warning rather than information.
        warning: bool,
    },
    /// Test results were stored.
    TestResults {
        /// The step's index.
        step: usize,
        /// Test cases found.
        tests: u64,
        /// Failed or errored.
        failures: u64,
        /// Skipped.
        skipped: u64,
        /// The failed cases (at most the first 50).
        failed: Vec<FailedTest>,
    },
    /// An artifact was stored.
    Artifact {
        /// Its path under the job's artifact folder.
        path: String,
        /// Where it is on this machine.
        location: String,
    },
    /// The node finished.
    JobFinished {
        /// Its status.
        status: JobStatus,
        /// Wall time in milliseconds.
        duration_ms: u64,
        /// Why, when the status is not success.
        message: Option<String>,
    },
}

fn lossy<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

/// Stamps events with one job node and passes them on.
#[derive(Clone)]
pub struct Reporter {
    sink: Arc<dyn EventSink>,
    job: String,
    node: u32,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("job", &self.job)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// A reporter for node `node` of `job`.
    pub fn new(sink: Arc<dyn EventSink>, job: impl Into<String>, node: u32) -> Self {
        Self {
            sink,
            job: job.into(),
            node,
        }
    }

    /// Reports `kind`.
    pub fn emit(&self, kind: EventKind) {
        self.sink.emit(Event {
            job: self.job.clone(),
            node: self.node,
            kind,
        });
    }

    /// Reports progress.
    pub fn progress(&self, message: impl Into<String>, done: bool) {
        self.emit(EventKind::Progress {
            message: message.into(),
            done,
        });
    }

    /// Reports a notice (`warning` false) or a warning.
    pub fn notice(&self, message: impl Into<String>, warning: bool) {
        self.emit(EventKind::Notice {
            message: message.into(),
            warning,
        });
    }
}

/// A sink that keeps every event, for tests and for callers that print at the end.
#[derive(Debug, Default)]
pub struct Recorder {
    events: std::sync::Mutex<Vec<Event>>,
}

impl Recorder {
    /// A new, empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        match self.events.lock() {
            Ok(e) => e.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// All output of `job` node `node`, concatenated.
    pub fn output(&self, job: &str, node: u32) -> String {
        let mut out = Vec::new();
        for e in self.events() {
            if let (true, EventKind::Output { text, .. }) =
                (e.job == job && e.node == node, &e.kind)
            {
                out.extend_from_slice(text);
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: Event) {
        match self.events.lock() {
            Ok(mut e) => e.push(event),
            Err(poisoned) => poisoned.into_inner().push(event),
        }
    }
}
