//! `run` steps: the script, the shell, streamed and masked output, `no_output_timeout`,
//! cancel, and `background`.
//!
//! A step's command is written to a script file in the task folder and run as `SHELL... FILE`,
//! as CircleCI's agent does, so `shell:` may name any interpreter. Bash reads `BASH_ENV` by
//! itself; for other POSIX shells the script starts by sourcing it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use circa_model::RunStep;
use circa_model::task::split_words;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{JobContext, StepResult, env, millis};
use crate::agent;
use crate::events::{EventKind, Reporter, StepStatus};
use crate::executor::{ExecRequest, Executor, Running, Started, resolve_path};
use crate::mask::Masker;

/// How long output is still read after a command exited (its children may hold the pipe).
const OUTPUT_GRACE: Duration = Duration::from_millis(200);

/// How long background steps get to end at the end of the job.
const BACKGROUND_GRACE: Duration = Duration::from_secs(2);

/// One `run` step about to run.
pub(super) struct StepRun<'a, E> {
    pub executor: &'a E,
    pub ctx: &'a JobContext,
    pub reporter: &'a Reporter,
    pub started: &'a Started,
    pub job_env: &'a BTreeMap<String, String>,
    pub index: usize,
}

/// Background steps still running.
#[derive(Default)]
pub(super) struct Background {
    running: Vec<(JoinHandle<()>, Option<Kill>)>,
}

type Kill = Box<dyn FnOnce() + Send>;

impl Background {
    /// Stops what still runs at the end of the job and waits briefly for the reports.
    pub async fn finish(self, reporter: &Reporter) {
        for (handle, kill) in self.running {
            if !handle.is_finished() {
                reporter.notice("stopping a background step at the end of the job", false);
                if let Some(kill) = kill {
                    kill();
                }
            }
            let abort = handle.abort_handle();
            if tokio::time::timeout(BACKGROUND_GRACE, handle)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

/// How the pump of a command's output ended.
enum PumpEnd {
    Exited(i64),
    Timedout,
    Canceled,
    Error(String),
}

impl<E: Executor> StepRun<'_, E> {
    async fn start(&self, run: &RunStep) -> Result<Running, String> {
        let shell = self.shell(run);
        let words = split_words(&shell);
        let name = script_name(self.index);
        let host_script = self.ctx.task_dir.join(&name);
        let mut script = String::new();
        if sources_bash_env_itself(&words) {
            // bash reads $BASH_ENV before the script.
        } else if is_posix_shell(&words) {
            script.push_str("if [ -f \"$BASH_ENV\" ]; then . \"$BASH_ENV\"; fi\n");
        }
        script.push_str(&run.command);
        if !script.ends_with('\n') {
            script.push('\n');
        }
        // Over the script a job before wrote in this folder, if any (see `crate::folders`).
        crate::folders::overwrite(&host_script, script.as_bytes())
            .map_err(|e| format!("{}: {e}", host_script.display()))?;
        let mut argv = words;
        argv.push(format!(
            "{}/{name}",
            self.started.task_dir.trim_end_matches('/')
        ));
        let workdir = match &run.working_directory {
            Some(wd) => resolve_path(wd, &self.started.home, &self.started.working_directory),
            None => self.started.working_directory.clone(),
        };
        let request = ExecRequest {
            argv,
            env: env::step_env(self.job_env, &run.environment),
            workdir,
        };
        self.executor.exec(request).await.map_err(|e| e.to_string())
    }

    fn shell(&self, run: &RunStep) -> String {
        run.shell
            .clone()
            .or_else(|| self.ctx.spec.shell.clone())
            .unwrap_or_else(|| {
                if self.started.has_bash {
                    "/bin/bash -eo pipefail".to_string()
                } else {
                    "/bin/sh -eo pipefail".to_string()
                }
            })
    }

    fn masker(&self) -> Masker {
        Masker::new(self.ctx.secrets.clone())
    }

    /// Runs the step to its end.
    pub async fn run(&self, run: &RunStep) -> StepResult {
        let running = match self.start(run).await {
            Ok(r) => r,
            Err(e) => return StepResult::failed(e),
        };
        let timeout = Duration::from_secs(run.no_output_timeout_secs.max(1));
        let end = pump(
            running,
            self.masker(),
            self.reporter.clone(),
            self.index,
            self.ctx.task_dir.clone(),
            Some(timeout),
            self.ctx.cancel.clone(),
        )
        .await;
        match end {
            PumpEnd::Exited(0) => StepResult::success(),
            PumpEnd::Exited(code) => StepResult {
                status: StepStatus::Failed,
                exit_code: Some(code),
                message: Some(format!("exited with code {code}")),
            },
            PumpEnd::Timedout => StepResult {
                status: StepStatus::Timedout,
                exit_code: None,
                message: Some(format!(
                    "too long with no output (exceeded {})",
                    human_duration(timeout)
                )),
            },
            PumpEnd::Canceled => StepResult {
                status: StepStatus::Canceled,
                exit_code: None,
                message: Some("canceled".to_string()),
            },
            PumpEnd::Error(e) => StepResult::failed(e),
        }
    }

    /// Starts a background step; its end is reported when it comes. `Some` only when it could
    /// not start.
    pub async fn start_background(&self, run: &RunStep, bg: &mut Background) -> Option<StepResult> {
        let mut running = match self.start(run).await {
            Ok(r) => r,
            Err(e) => return Some(StepResult::failed(e)),
        };
        let kill = running.kill.take();
        let reporter = self.reporter.clone();
        let index = self.index;
        let masker = self.masker();
        let task_dir = self.ctx.task_dir.clone();
        let cancel = self.ctx.cancel.clone();
        let handle = tokio::spawn(async move {
            let t0 = Instant::now();
            let end = pump(
                running,
                masker,
                reporter.clone(),
                index,
                task_dir,
                None,
                cancel,
            )
            .await;
            let (status, exit_code, message) = match end {
                PumpEnd::Exited(0) => (StepStatus::Success, Some(0), None),
                PumpEnd::Exited(c) => (
                    StepStatus::Failed,
                    Some(c),
                    Some(format!("background step exited with code {c}")),
                ),
                PumpEnd::Timedout => (StepStatus::Timedout, None, None),
                PumpEnd::Canceled => (StepStatus::Canceled, None, None),
                PumpEnd::Error(e) => (StepStatus::Failed, None, Some(e)),
            };
            reporter.emit(EventKind::StepFinished {
                step: index,
                status,
                exit_code,
                duration_ms: millis(t0.elapsed()),
                message,
            });
        });
        bg.running.push((handle, kill));
        None
    }
}

/// Streams a command's output to the reporter, masked, until it exits, times out or is
/// canceled.
async fn pump(
    running: Running,
    mut masker: Masker,
    reporter: Reporter,
    index: usize,
    task_dir: std::path::PathBuf,
    timeout: Option<Duration>,
    cancel: tokio_util::sync::CancellationToken,
) -> PumpEnd {
    let Running {
        mut output,
        mut exit,
        kill,
    } = running;
    let mut mask_offset = 0u64;
    let mut exit_code: Option<Result<i64, String>> = None;
    let mut output_open = true;
    let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let mut quiet_deadline = timeout.map_or(far, |t| Instant::now() + t);
    let mut grace_deadline = far;
    let emit = |reporter: &Reporter, text: Vec<u8>| {
        if !text.is_empty() {
            reporter.emit(EventKind::Output { step: index, text });
        }
    };
    let end = loop {
        if let Some(code) = &exit_code
            && !output_open
        {
            break match code {
                Ok(c) => PumpEnd::Exited(*c),
                Err(e) => PumpEnd::Error(e.clone()),
            };
        }
        tokio::select! {
            chunk = output.recv(), if output_open => match chunk {
                Some(chunk) => {
                    refresh_masks(&mut masker, &task_dir, &mut mask_offset);
                    emit(&reporter, masker.push(&chunk));
                    if let Some(t) = timeout {
                        quiet_deadline = Instant::now() + t;
                    }
                }
                None => output_open = false,
            },
            code = &mut exit, if exit_code.is_none() => {
                exit_code = Some(code.map_err(|e| e.to_string()));
                grace_deadline = Instant::now() + OUTPUT_GRACE;
            }
            () = tokio::time::sleep_until(quiet_deadline), if exit_code.is_none() => {
                break PumpEnd::Timedout;
            }
            () = tokio::time::sleep_until(grace_deadline), if exit_code.is_some() && output_open => {
                output_open = false;
            }
            () = cancel.cancelled() => break PumpEnd::Canceled,
        }
    };
    if matches!(end, PumpEnd::Timedout | PumpEnd::Canceled)
        && let Some(kill) = kill
    {
        kill();
    }
    refresh_masks(&mut masker, &task_dir, &mut mask_offset);
    emit(&reporter, masker.finish());
    end
}

fn refresh_masks(masker: &mut Masker, task_dir: &Path, offset: &mut u64) {
    let (values, next) = agent::read_mask_values(task_dir, *offset);
    *offset = next;
    for v in values {
        masker.add_secret(v);
    }
}

/// The file in the task folder that holds step `index`'s script.
fn script_name(index: usize) -> String {
    format!("step-{index}.sh")
}

/// Whether `name` is a step script's file name.
pub(super) fn is_script_name(name: &str) -> bool {
    name.strip_prefix("step-")
        .and_then(|rest| rest.strip_suffix(".sh"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn shell_name(words: &[String]) -> &str {
    words
        .first()
        .map(|w| w.rsplit('/').next().unwrap_or(w))
        .unwrap_or("")
}

fn sources_bash_env_itself(words: &[String]) -> bool {
    shell_name(words) == "bash"
}

fn is_posix_shell(words: &[String]) -> bool {
    matches!(
        shell_name(words),
        "sh" | "ash" | "dash" | "ksh" | "mksh" | "zsh" | "busybox"
    )
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) && s >= 3600 {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) && s >= 60 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        split_words(s)
    }

    #[test]
    fn script_names_are_known_again() {
        assert!(is_script_name(&script_name(12)));
        assert!(!is_script_name("step-.sh"));
        assert!(!is_script_name("step-1.sh.bak"));
        assert!(!is_script_name("bash_env"));
    }

    #[test]
    fn shells_that_source_bash_env() {
        assert!(sources_bash_env_itself(&w("/bin/bash -eo pipefail")));
        assert!(!is_posix_shell(&w("/bin/bash -eo pipefail")));
        assert!(is_posix_shell(&w("/bin/sh -eo pipefail")));
        assert!(!is_posix_shell(&w("python3")));
        assert_eq!(human_duration(Duration::from_secs(600)), "10m");
        assert_eq!(human_duration(Duration::from_secs(5)), "5s");
    }
}
