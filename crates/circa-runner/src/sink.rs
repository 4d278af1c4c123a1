//! The [`EventSink`] of one task: maps the job runner's events to the protocol's, keeps each
//! step's log under the limit, coalesces output, and appends to the task's [`Spool`].
//!
//! Output is held back (one step's, up to [`MAX_TEXT`] bytes) until another event comes, the
//! step's output changes, or the sender asks ([`TaskSink::flush`]), so a fast stream of small
//! chunks becomes a few large events. Text is cut only between characters; invalid UTF-8 is
//! replaced.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use circa_exec::events::{Event, EventSink};
use circa_model::protocol::TaskEventKind;
use tokio::sync::Notify;

use crate::convert::{self, Mapped};
use crate::spool::Spool;

/// The most text one output event carries.
pub const MAX_TEXT: usize = 64 * 1024;

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The line that replaces the output of a step past its limit.
pub fn truncation_marker(limit: u64) -> String {
    format!(
        "\n[circa] log truncated: this step wrote more than {limit} bytes; the rest was dropped\n"
    )
}

/// The length of the longest prefix of `bytes` that does not end inside a UTF-8 character.
pub fn whole_chars_len(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(3) {
        let b = bytes[n - back];
        if b & 0xC0 == 0x80 {
            continue;
        }
        let need = match b {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if need > back { n - back } else { n };
    }
    n
}

#[derive(Default)]
struct State {
    /// Output not yet in the spool: its step and bytes.
    pending: Option<(u32, Vec<u8>)>,
    /// Output bytes kept per step.
    kept: HashMap<u32, u64>,
    /// Steps past their limit.
    truncated: HashSet<u32>,
    /// The first spool failure.
    error: Option<String>,
    /// Sealed: nothing more is written.
    sealed: bool,
}

/// One task's event sink.
pub struct TaskSink {
    spool: Arc<Spool>,
    limit: u64,
    state: Mutex<State>,
    wake: Notify,
}

impl std::fmt::Debug for TaskSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskSink")
            .field("spool", &self.spool)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl TaskSink {
    /// A sink writing to `spool`; each step keeps at most `step_log_limit` bytes of output
    /// (0: no limit).
    pub fn new(spool: Arc<Spool>, step_log_limit: u64) -> Self {
        TaskSink {
            spool,
            limit: step_log_limit,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
        }
    }

    /// The spool.
    pub fn spool(&self) -> &Arc<Spool> {
        &self.spool
    }

    /// Resolves after the next event (or at once if one came since the last wait).
    pub async fn changed(&self) {
        self.wake.notified().await;
    }

    /// Writes held-back output to the spool, except a character cut in half at its end.
    pub fn flush(&self) {
        let mut state = self.lock();
        self.write_pending(&mut state, false);
    }

    /// Writes all held-back output to the spool (at the end of the task).
    pub fn close(&self) {
        let mut state = self.lock();
        self.write_pending(&mut state, true);
    }

    /// Writes what is held back, then drops every later event: once this returns, the sink
    /// writes nothing more to the spool.
    pub fn seal(&self) {
        let mut state = self.lock();
        self.write_pending(&mut state, true);
        state.sealed = true;
    }

    /// The first failure to write the spool, if any (events after it were dropped).
    pub fn error(&self) -> Option<String> {
        self.lock().error.clone()
    }

    /// Sends a notice of the runner's own (upload problems and the like).
    pub fn notice(&self, message: impl Into<String>, warning: bool) {
        self.send(TaskEventKind::Notice {
            message: message.into(),
            warning,
        });
    }

    /// Sends a progress line of the runner's own (workspace downloads).
    pub fn progress(&self, message: impl Into<String>, done: bool) {
        self.send(TaskEventKind::Progress {
            message: message.into(),
            done,
        });
    }

    fn send(&self, kind: TaskEventKind) {
        let mut state = self.lock();
        self.write_pending(&mut state, true);
        self.write(&mut state, &kind);
        drop(state);
        self.wake.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn write(&self, state: &mut State, kind: &TaskEventKind) {
        if state.sealed {
            return;
        }
        if let Err(e) = self.spool.append(kind)
            && state.error.is_none()
        {
            tracing::error!("{e}; later events of the task may be missing");
            state.error = Some(e.to_string());
        }
    }

    fn write_text(&self, state: &mut State, step: u32, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes).into_owned();
        self.write(state, &TaskEventKind::Output { step, text });
    }

    /// Writes the held-back output; with `all`, also a character cut in half at its end.
    fn write_pending(&self, state: &mut State, all: bool) {
        let Some((step, mut bytes)) = state.pending.take() else {
            return;
        };
        let cut = if all {
            bytes.len()
        } else {
            whole_chars_len(&bytes)
        };
        if cut > 0 {
            self.write_text(state, step, &bytes[..cut]);
        }
        if cut < bytes.len() {
            bytes.drain(..cut);
            state.pending = Some((step, bytes));
        }
    }

    fn output(&self, state: &mut State, step: u32, bytes: &[u8]) {
        if state.truncated.contains(&step) {
            return;
        }
        let kept = state.kept.entry(step).or_insert(0);
        let room = if self.limit == 0 {
            u64::MAX
        } else {
            self.limit.saturating_sub(*kept)
        };
        let over = bytes.len() as u64 > room;
        let keep = if over {
            usize::try_from(room).unwrap_or(bytes.len())
        } else {
            bytes.len()
        };
        *kept += keep as u64;
        if state.pending.as_ref().is_some_and(|(s, _)| *s != step) {
            self.write_pending(state, true);
        }
        let pending = &mut state.pending.get_or_insert_with(|| (step, Vec::new())).1;
        pending.extend_from_slice(&bytes[..keep]);
        while let Some((_, buf)) = state.pending.as_mut()
            && buf.len() >= MAX_TEXT
        {
            let head = &buf[..MAX_TEXT];
            let cut = match whole_chars_len(head) {
                0 => MAX_TEXT,
                n => n,
            };
            let chunk: Vec<u8> = buf.drain(..cut).collect();
            self.write_text(state, step, &chunk);
        }
        if over {
            self.write_pending(state, true);
            self.write(
                state,
                &TaskEventKind::Output {
                    step,
                    text: truncation_marker(self.limit),
                },
            );
            state.truncated.insert(step);
        }
    }
}

impl EventSink for TaskSink {
    fn emit(&self, event: Event) {
        match convert::map(event.kind) {
            Mapped::Skip => return,
            Mapped::Event(mut kind) => {
                // Stamped here, as it happens: the server may receive it much later.
                if let TaskEventKind::StepStarted { at_ms, .. } = &mut kind {
                    *at_ms = Some(now_ms());
                }
                return self.send(kind);
            }
            Mapped::Output { step, bytes } => {
                let mut state = self.lock();
                self.output(&mut state, step, &bytes);
            }
        }
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests;
