//! How `circa local execute` shows what happens: a live, readable log for people, or one JSON
//! object per line with `--json`.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use circa_exec::events::{Event, EventKind, EventSink, StepStatus};
use circa_model::JobStatus;
use owo_colors::OwoColorize;
use serde_json::json;

/// Prints events for a person. With `prefix`, every line starts with its job's name (several
/// jobs run at once); without, output passes through as it comes.
pub struct HumanPrinter {
    prefix: bool,
    state: Mutex<PrinterState>,
}

#[derive(Default)]
struct PrinterState {
    step_names: HashMap<(String, u32, usize), String>,
    partial: HashMap<(String, u32), Vec<u8>>,
    nodes: HashMap<String, u32>,
    /// Without prefixes: whether the last output written ended a line.
    mid_line: bool,
}

/// Prints events as JSON lines.
pub struct JsonPrinter {
    out: Mutex<()>,
}

impl JsonPrinter {
    /// A printer to stdout.
    pub fn new() -> Self {
        Self {
            out: Mutex::new(()),
        }
    }

    /// Prints a line that is not a job event (workflow progress, the summary).
    pub fn line(&self, value: &serde_json::Value) {
        let _guard = self.out.lock();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }
}

impl Default for JsonPrinter {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSink for JsonPrinter {
    fn emit(&self, event: Event) {
        if let Ok(v) = serde_json::to_value(&event) {
            self.line(&v);
        }
    }
}

fn label(job: &str, node: u32, total: Option<u32>) -> String {
    match total {
        Some(t) if t > 1 => format!("{job}/{node}"),
        _ => job.to_string(),
    }
}

/// `1.23s`, `2m03s`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.2}s")
    } else {
        let m = d.as_secs() / 60;
        format!("{m}m{:02}s", d.as_secs() % 60)
    }
}

fn status_text(status: JobStatus) -> String {
    let s = status.as_str();
    match status {
        JobStatus::Success => s.green().bold().to_string(),
        JobStatus::Failed | JobStatus::InfrastructureFail => s.red().bold().to_string(),
        JobStatus::Timedout | JobStatus::Canceled => s.yellow().bold().to_string(),
        _ => s.dimmed().to_string(),
    }
}

impl HumanPrinter {
    /// A printer; `prefix` when several jobs may print at once.
    pub fn new(prefix: bool) -> Self {
        Self {
            prefix,
            state: Mutex::new(PrinterState::default()),
        }
    }

    fn write(&self, text: &str) {
        let mut out = anstream::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn head(&self, state: &PrinterState, job: &str, node: u32) -> String {
        if self.prefix {
            let total = state.nodes.get(job).copied();
            format!("{} ", format!("{}|", label(job, node, total)).cyan())
        } else {
            String::new()
        }
    }

    /// Prints a workflow-level line (a job queued, skipped, approved).
    pub fn line(&self, text: &str) {
        self.write(&format!("{text}\n"));
    }

    fn output(&self, state: &mut PrinterState, job: &str, node: u32, text: &[u8]) {
        if !self.prefix {
            if let Some(last) = text.last() {
                state.mid_line = *last != b'\n';
            }
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text);
            let _ = out.flush();
            return;
        }
        let head = self.head(state, job, node);
        let buf = state.partial.entry((job.to_string(), node)).or_default();
        buf.extend_from_slice(text);
        let mut printed = String::new();
        while let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            printed.push_str(&head);
            printed.push_str(&String::from_utf8_lossy(&line));
        }
        if !printed.is_empty() {
            self.write(&printed);
        }
    }

    fn flush_partial(&self, state: &mut PrinterState, job: &str, node: u32) {
        let head = self.head(state, job, node);
        if let Some(buf) = state.partial.get_mut(&(job.to_string(), node))
            && !buf.is_empty()
        {
            let line = String::from_utf8_lossy(buf).into_owned();
            buf.clear();
            self.write(&format!("{head}{line}\n"));
        }
    }
}

impl EventSink for HumanPrinter {
    fn emit(&self, event: Event) {
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let Event { job, node, kind } = event;
        if let EventKind::JobStarted { nodes, .. } = &kind {
            state.nodes.insert(job.clone(), *nodes);
        }
        let head = self.head(&state, &job, node);
        let total = state.nodes.get(&job).copied();
        match kind {
            EventKind::JobStarted { executor, .. } => self.write(&format!(
                "{head}{} {} {}\n",
                "●".bold(),
                label(&job, node, total).bold(),
                format!("({executor})").dimmed()
            )),
            EventKind::Progress { message, done } => {
                let mark = if done { "✔" } else { "…" };
                self.write(&format!("{head}  {} {}\n", mark.dimmed(), message.dimmed()));
            }
            EventKind::EnvironmentReady { description } => {
                self.write(&format!("{head}  {}\n", description.dimmed()));
            }
            EventKind::StepStarted {
                step,
                name,
                background,
            } => {
                let first = name.lines().next().unwrap_or_default().to_string();
                state
                    .step_names
                    .insert((job.clone(), node, step), first.clone());
                let bg = if background { " (background)" } else { "" };
                self.write(&format!(
                    "{head}{} {}{}\n",
                    "▶".blue().bold(),
                    first.bold(),
                    bg.dimmed()
                ));
            }
            EventKind::Output { text, .. } => self.output(&mut state, &job, node, &text),
            EventKind::StepFinished {
                step,
                status,
                exit_code: _,
                duration_ms,
                message,
            } => {
                self.flush_partial(&mut state, &job, node);
                if std::mem::take(&mut state.mid_line) {
                    // The step's output ended without a newline.
                    self.write("\n");
                }
                let name = state
                    .step_names
                    .get(&(job.clone(), node, step))
                    .cloned()
                    .unwrap_or_default();
                let took = human_duration(Duration::from_millis(duration_ms));
                let (mark, colored) = match status {
                    StepStatus::Success => ("✔".green().to_string(), name.clone()),
                    StepStatus::Failed => ("✘".red().to_string(), name.red().to_string()),
                    StepStatus::Timedout => ("⏱".yellow().to_string(), name.yellow().to_string()),
                    StepStatus::Canceled => ("■".yellow().to_string(), name.yellow().to_string()),
                    StepStatus::Skipped => ("-".dimmed().to_string(), name.clone()),
                };
                let why = message.map(|m| format!(": {m}")).unwrap_or_default();
                self.write(&format!(
                    "{head}{mark} {colored}{why} {}\n",
                    format!("({took})").dimmed()
                ));
            }
            EventKind::Notice { message, warning } => {
                let tag = if warning {
                    "warning:".yellow().bold().to_string()
                } else {
                    "note:".dimmed().to_string()
                };
                self.write(&format!("{head}  {tag} {message}\n"));
            }
            EventKind::TestResults {
                tests,
                failures,
                skipped,
                failed,
                ..
            } => {
                let summary = format!("{tests} tests, {failures} failed, {skipped} skipped");
                let summary = if failures > 0 {
                    summary.red().to_string()
                } else {
                    summary.green().to_string()
                };
                self.write(&format!("{head}  {summary}\n"));
                for f in failed {
                    self.write(&format!(
                        "{head}    {} {} {}: {}\n",
                        "✘".red(),
                        f.classname.dimmed(),
                        f.name,
                        f.message
                    ));
                }
            }
            EventKind::Artifact { path, .. } => {
                self.write(&format!("{head}  {} {path}\n", "artifact".dimmed()));
            }
            EventKind::JobFinished {
                status,
                duration_ms,
                message,
            } => {
                self.flush_partial(&mut state, &job, node);
                let why = message
                    .filter(|_| status != JobStatus::Success)
                    .map(|m| format!(" — {m}"))
                    .unwrap_or_default();
                self.write(&format!(
                    "{head}{} {} {} in {}{why}\n",
                    "■".bold(),
                    label(&job, node, total).bold(),
                    status_text(status),
                    human_duration(Duration::from_millis(duration_ms))
                ));
            }
        }
    }
}

/// One row of the summary.
#[derive(Debug, Clone)]
pub struct SummaryRow {
    /// The job's name.
    pub job: String,
    /// Its status (the worst of its nodes).
    pub status: JobStatus,
    /// Nodes run.
    pub nodes: u32,
    /// Longest node's wall time.
    pub duration: Duration,
    /// `(tests, failures)` over all nodes.
    pub tests: Option<(u64, u64)>,
    /// Why, when not success.
    pub message: Option<String>,
    /// Artifact paths on this machine.
    pub artifacts: Vec<String>,
}

/// The table printed at the end, for people.
pub fn summary_table(rows: &[SummaryRow], title: &str) -> String {
    let width = rows.iter().map(|r| r.job.len()).max().unwrap_or(3).max(3);
    let mut s = format!("\n{}\n", title.bold());
    let header = format!("  {:width$}  {:<19}  {:>9}  TESTS", "JOB", "STATUS", "TIME");
    s.push_str(&format!("{}\n", header.dimmed()));
    for r in rows {
        let tests = r
            .tests
            .map(|(t, f)| format!("{t} run, {f} failed"))
            .unwrap_or_default();
        let nodes = if r.nodes > 1 {
            format!(" ×{}", r.nodes)
        } else {
            String::new()
        };
        // Pad the plain status text, then colour it, so columns stay aligned.
        let pad = 19usize.saturating_sub(r.status.as_str().len() + nodes.chars().count());
        s.push_str(&format!(
            "  {:width$}  {}{nodes}{}  {:>9}  {tests}\n",
            r.job,
            status_text(r.status),
            " ".repeat(pad),
            if r.nodes == 0 {
                "-".to_string()
            } else {
                human_duration(r.duration)
            },
        ));
    }
    let artifacts: Vec<&String> = rows.iter().flat_map(|r| &r.artifacts).collect();
    if !artifacts.is_empty() {
        s.push_str(&format!("\n{}\n", "Artifacts".bold()));
        for a in artifacts {
            s.push_str(&format!("  {a}\n"));
        }
    }
    s
}

/// The summary as JSON.
pub fn summary_json(rows: &[SummaryRow], status: &str) -> serde_json::Value {
    json!({
        "event": "summary",
        "status": status,
        "jobs": rows.iter().map(|r| json!({
            "job": r.job,
            "status": r.status.as_str(),
            "nodes": r.nodes,
            "duration_ms": u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
            "tests": r.tests.map(|(t, _)| t),
            "test_failures": r.tests.map(|(_, f)| f),
            "message": r.message,
            "artifacts": r.artifacts,
        })).collect::<Vec<_>>(),
    })
}
