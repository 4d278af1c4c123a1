//! How the client commands print for people: colour on a terminal that allows it (through
//! `anstream`, which honours `NO_COLOR` and `CLICOLOR_FORCE`), plain text when piped, and on a
//! terminal a live status line under the log that permanent lines are written above.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use circa_model::{JobStatus, WorkflowStatus};
use owo_colors::OwoColorize;

/// The status line's longest text: it must never wrap, or clearing it leaves a line behind.
const STATUS_WIDTH: usize = 72;

/// The spinner's frames.
const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

/// Standard output for people.
pub struct Screen {
    /// Whether a status line is drawn (stdout is a terminal).
    live: bool,
    /// The status line's text, when one is shown.
    status: Option<String>,
    /// The spinner's frame.
    frame: usize,
}

impl Screen {
    /// A screen on stdout; the status line only on a terminal (not `TERM=dumb`).
    pub fn new() -> Screen {
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Screen {
            live: std::io::stdout().is_terminal() && !dumb,
            status: None,
            frame: 0,
        }
    }

    /// Prints a line (colour codes are removed where colour is off).
    pub fn line(&mut self, text: &str) {
        self.erase_status();
        let mut out = anstream::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
        drop(out);
        self.draw_status();
    }

    /// Shows `text` in the status line (a terminal only); the spinner moves on each call.
    pub fn status(&mut self, text: &str) {
        if !self.live {
            return;
        }
        self.erase_status();
        self.frame = (self.frame + 1) % FRAMES.len();
        self.status = Some(text.chars().take(STATUS_WIDTH).collect());
        self.draw_status();
    }

    /// Removes the status line for good.
    pub fn clear_status(&mut self) {
        self.erase_status();
        self.status = None;
    }

    fn erase_status(&self) {
        if self.status.is_some() {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
        }
    }

    fn draw_status(&self) {
        if let Some(text) = &self.status {
            let mut out = anstream::stdout().lock();
            let _ = write!(out, "{} {}", FRAMES[self.frame].cyan(), text.dimmed());
            let _ = out.flush();
        }
    }
}

impl Default for Screen {
    fn default() -> Self {
        Screen::new()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.clear_status();
    }
}

/// Prints one JSON document (pretty) on stdout. A reader that went away (a closed pipe) is
/// not an error.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A job status in its colour.
pub fn job_status(status: JobStatus) -> String {
    let s = status.as_str();
    match status {
        JobStatus::Success => s.green().bold().to_string(),
        s2 if s2.is_failure() || s2 == JobStatus::Unauthorized => s.red().bold().to_string(),
        JobStatus::Canceled | JobStatus::OnHold => s.yellow().bold().to_string(),
        JobStatus::Running => s.cyan().to_string(),
        _ => s.dimmed().to_string(),
    }
}

/// A workflow status in its colour.
pub fn workflow_status(status: WorkflowStatus) -> String {
    let s = status.as_str();
    match status {
        WorkflowStatus::Success => s.green().bold().to_string(),
        WorkflowStatus::Failed
        | WorkflowStatus::Failing
        | WorkflowStatus::Error
        | WorkflowStatus::Unauthorized => s.red().bold().to_string(),
        WorkflowStatus::Running => s.cyan().to_string(),
        _ => s.yellow().bold().to_string(),
    }
}

/// A duration for people: `1.23s`, `2m03s`.
pub fn duration(d: Duration) -> String {
    crate::local::output::human_duration(d)
}

/// The time between two RFC 3339 times, or from `start` to now when there is no end.
pub fn elapsed(start: Option<&str>, end: Option<&str>) -> Option<Duration> {
    let start: jiff::Timestamp = start?.parse().ok()?;
    let end: jiff::Timestamp = match end {
        Some(e) => e.parse().ok()?,
        None => jiff::Timestamp::now(),
    };
    let ms = end.as_millisecond().checked_sub(start.as_millisecond())?;
    u64::try_from(ms).ok().map(Duration::from_millis)
}

/// An RFC 3339 time shortened for a table: `2026-12-06 22:14:43`.
pub fn short_time(time: &str) -> String {
    match time.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => time.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_is_read_from_rfc3339() {
        let d = elapsed(Some("2026-01-01T00:00:00Z"), Some("2026-01-01T00:02:03.5Z"));
        assert_eq!(d, Some(Duration::from_millis(123_500)));
        assert_eq!(elapsed(None, Some("2026-01-01T00:00:00Z")), None);
        assert_eq!(
            elapsed(Some("2026-01-01T00:00:01Z"), Some("2026-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn times_are_shortened_for_tables() {
        assert_eq!(
            short_time("2026-12-06T22:14:43.123Z"),
            "2026-12-06 22:14:43"
        );
        assert_eq!(short_time("not a time"), "not a time");
    }
}
