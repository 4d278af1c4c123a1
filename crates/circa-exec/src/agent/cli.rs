//! The agent's command line: parsing (`--flag=value` and `--flag value`), and the commands.
//!
//! Exit codes: 0 success; 1 a command failed (unreadable file, no task folder, ...); 2 bad
//! usage (unknown command or flag, missing or invalid value), with the usage on stderr;
//! `tests run` exits with its command's code (128 + N when a signal N ended it).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine;

use super::{HALT_FILE, MASK_FILE, TIMINGS_FILE};
use crate::split::{self, SplitBy, SplitOptions, Timings, TimingsType};

/// The environment variable naming the task folder shared with the job runner.
pub(crate) const TASK_DATA_VAR: &str = "CIRCLE_INTERNAL_TASK_DATA";

/// Where a command reads and writes, so the commands can be tested without a process.
pub(crate) struct Ctx<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: PathBuf,
}

/// Which usage text to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Topic {
    All,
    Glob,
    Split,
    Run,
    Halt,
    Subst,
    Mask,
}

/// Why a command did not succeed.
#[derive(Debug)]
enum Failure {
    /// Bad usage: message, and the usage to print (exit 2).
    Usage(String, Topic),
    /// The command failed (exit 1).
    Failed(String),
    /// Writing the output failed; a closed pipe exits quietly like a shell tool would.
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Output(e)
    }
}

fn usage(message: impl Into<String>, topic: Topic) -> Failure {
    Failure::Usage(message.into(), topic)
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq)]
enum Cmd {
    Help(Topic),
    Glob(Vec<String>),
    Split(SplitArgs),
    Run {
        split: SplitArgs,
        command: String,
        verbose: bool,
    },
    Halt,
    Subst,
    Mask(Vec<String>),
    Keepalive,
}

/// The flags of `tests split` (and `tests run`), before defaults from the environment.
#[derive(Debug, Clone, Default, PartialEq)]
struct SplitArgs {
    split_by: SplitBy,
    timings_type: TimingsType,
    index: Option<usize>,
    total: Option<usize>,
    show_counts: bool,
    time_default: f64,
    timings_file: Option<String>,
    file: Option<String>,
}

/// Runs one command line (without the program name) and returns the exit code.
pub(crate) fn run(program: &str, args: &[String], ctx: &mut Ctx<'_>) -> i32 {
    let result = parse(args).and_then(|cmd| execute(program, cmd, ctx));
    match result {
        Ok(code) => code,
        Err(Failure::Usage(message, topic)) => {
            let _ = writeln!(ctx.stderr, "{program}: {message}");
            let _ = write!(ctx.stderr, "{}", usage_text(program, topic));
            2
        }
        Err(Failure::Failed(message)) => {
            let _ = writeln!(ctx.stderr, "{program}: {message}");
            1
        }
        Err(Failure::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => 141,
        Err(Failure::Output(e)) => {
            let _ = writeln!(ctx.stderr, "{program}: cannot write output: {e}");
            1
        }
    }
}

fn is_help(arg: &str) -> bool {
    matches!(arg, "--help" | "-h" | "help")
}

fn parse(args: &[String]) -> Result<Cmd, Failure> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        [] => Err(usage("missing command", Topic::All)),
        [help, ..] if is_help(help) => Ok(Cmd::Help(Topic::All)),
        ["tests"] => Err(usage("missing subcommand of `tests`", Topic::All)),
        ["tests", "glob", rest @ ..] => {
            if rest.iter().any(|a| is_help(a)) {
                return Ok(Cmd::Help(Topic::Glob));
            }
            let patterns: Vec<String> = rest
                .iter()
                .filter(|a| **a != "--")
                .map(|a| (*a).to_owned())
                .collect();
            if let Some(flag) = rest.iter().find(|a| a.starts_with("--") && **a != "--") {
                return Err(usage(format!("unknown flag: {flag}"), Topic::Glob));
            }
            if patterns.is_empty() {
                return Err(usage("requires at least one pattern", Topic::Glob));
            }
            Ok(Cmd::Glob(patterns))
        }
        ["tests", "split", rest @ ..] => parse_split(rest, Topic::Split).map(|p| match p {
            Parsed::Help => Cmd::Help(Topic::Split),
            Parsed::Args(split, ..) => Cmd::Split(split),
        }),
        ["tests", "run", rest @ ..] => match parse_split(rest, Topic::Run)? {
            Parsed::Help => Ok(Cmd::Help(Topic::Run)),
            Parsed::Args(split, command, verbose) => {
                let command =
                    command.ok_or_else(|| usage("required flag --command not set", Topic::Run))?;
                if split.file.is_some() {
                    return Err(usage("`tests run` reads its items from stdin", Topic::Run));
                }
                Ok(Cmd::Run {
                    split,
                    command,
                    verbose,
                })
            }
        },
        ["tests", other, ..] => Err(usage(
            format!("unknown command \"{other}\" for \"tests\""),
            Topic::All,
        )),
        ["step" | "task"] => Err(usage("missing subcommand (halt)", Topic::Halt)),
        ["step" | "task", "halt", rest @ ..] => match rest {
            [] => Ok(Cmd::Halt),
            [h] if is_help(h) => Ok(Cmd::Help(Topic::Halt)),
            [extra, ..] => Err(usage(format!("unexpected argument {extra:?}"), Topic::Halt)),
        },
        ["step" | "task", other, ..] => Err(usage(
            format!("unknown command \"{other}\" for \"step\""),
            Topic::Halt,
        )),
        ["env"] => Err(usage("missing subcommand (subst or mask)", Topic::All)),
        ["env", "subst", rest @ ..] => match rest {
            [] => Ok(Cmd::Subst),
            [h] if is_help(h) => Ok(Cmd::Help(Topic::Subst)),
            [extra, ..] => Err(usage(
                format!("unexpected argument {extra:?} (input is read from stdin)"),
                Topic::Subst,
            )),
        },
        ["env", "mask", rest @ ..] => {
            if rest.iter().any(|a| is_help(a)) {
                return Ok(Cmd::Help(Topic::Mask));
            }
            let values = rest.iter().filter(|a| **a != "--");
            Ok(Cmd::Mask(values.map(|a| (*a).to_owned()).collect()))
        }
        ["env", other, ..] => Err(usage(
            format!("unknown command \"{other}\" for \"env\""),
            Topic::All,
        )),
        ["keepalive"] => Ok(Cmd::Keepalive),
        [other, ..] => Err(usage(format!("unknown command \"{other}\""), Topic::All)),
    }
}

enum Parsed {
    Help,
    /// The split flags, `--command`, `--verbose`.
    Args(SplitArgs, Option<String>, bool),
}

/// Parses the flags of `tests split` (`topic` Split) or `tests run` (`topic` Run).
fn parse_split(args: &[&str], topic: Topic) -> Result<Parsed, Failure> {
    let mut out = SplitArgs::default();
    let mut command = None;
    let mut verbose = false;
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        i += 1;
        if arg == "--" {
            positional.extend(args[i..].iter().map(|a| (*a).to_owned()));
            break;
        }
        if is_help(arg) && arg != "help" {
            return Ok(Parsed::Help);
        }
        let Some(flag) = arg.strip_prefix("--") else {
            if arg.starts_with('-') && arg.len() > 1 {
                return Err(usage(format!("unknown flag: {arg}"), topic));
            }
            positional.push(arg.to_owned());
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (flag, None),
        };
        let boolean = match name {
            "show-counts" => Some(&mut out.show_counts),
            "verbose" if topic == Topic::Run => Some(&mut verbose),
            _ => None,
        };
        if let Some(target) = boolean {
            *target = match inline.as_deref() {
                None | Some("true") => true,
                Some("false") => false,
                Some(v) => {
                    return Err(usage(
                        format!("invalid value {v:?} for --{name}: expected true or false"),
                        topic,
                    ));
                }
            };
            continue;
        }
        let known = matches!(
            name,
            "split-by" | "timings-type" | "index" | "total" | "time-default" | "timings-file"
        ) || (name == "command" && topic == Topic::Run);
        if !known {
            return Err(usage(format!("unknown flag: --{name}"), topic));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args
                    .get(i)
                    .ok_or_else(|| usage(format!("flag needs an argument: --{name}"), topic))?;
                i += 1;
                (*v).to_owned()
            }
        };
        let bad = |e: &dyn std::fmt::Display| usage(e.to_string(), topic);
        match name {
            "split-by" => out.split_by = value.parse().map_err(|e| bad(&e))?,
            "timings-type" => out.timings_type = value.parse().map_err(|e| bad(&e))?,
            "index" => out.index = Some(parse_count("--index", &value).map_err(|e| bad(&e))?),
            "total" => out.total = Some(parse_count("--total", &value).map_err(|e| bad(&e))?),
            "time-default" => {
                out.time_default = split::parse_duration(&value).map_err(|e| bad(&e))?;
            }
            "timings-file" => out.timings_file = Some(value),
            _ => command = Some(value),
        }
    }
    match positional.as_slice() {
        [] => {}
        [file] => out.file = Some(file.clone()),
        [_, extra, ..] => {
            return Err(usage(format!("unexpected argument {extra:?}"), topic));
        }
    }
    Ok(Parsed::Args(out, command, verbose))
}

fn parse_count(name: &str, value: &str) -> Result<usize, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("invalid value {value:?} for {name}: expected a whole number"))
}

fn execute(program: &str, cmd: Cmd, ctx: &mut Ctx<'_>) -> Result<i32, Failure> {
    match cmd {
        Cmd::Help(topic) => {
            write!(ctx.stdout, "{}", usage_text(program, topic))?;
            Ok(0)
        }
        Cmd::Glob(patterns) => {
            let files =
                split::glob(&patterns, &ctx.cwd).map_err(|e| usage(e.to_string(), Topic::Glob))?;
            for f in files {
                writeln!(ctx.stdout, "{f}")?;
            }
            Ok(0)
        }
        Cmd::Split(args) => {
            let input = match &args.file {
                Some(file) => {
                    let path = ctx.cwd.join(file);
                    let bytes = std::fs::read(&path)
                        .map_err(|e| Failure::Failed(format!("{file}: {e}")))?;
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                None => read_stdin(ctx)?,
            };
            let result = split_items(&args, &input, ctx)?;
            for line in &result.messages {
                writeln!(ctx.stderr, "{line}")?;
            }
            for item in &result.items {
                writeln!(ctx.stdout, "{item}")?;
            }
            Ok(0)
        }
        Cmd::Run {
            split: args,
            command,
            verbose,
        } => {
            let input = read_stdin(ctx)?;
            let result = split_items(&args, &input, ctx)?;
            for line in &result.messages {
                writeln!(ctx.stderr, "{line}")?;
            }
            if verbose {
                writeln!(
                    ctx.stderr,
                    "Running `{command}` with {} of {} items:",
                    result.items.len(),
                    result.total_items
                )?;
                for item in &result.items {
                    writeln!(ctx.stderr, "  {item}")?;
                }
            }
            if result.items.is_empty() {
                writeln!(
                    ctx.stderr,
                    "No items for this node; not running the command."
                )?;
                return Ok(0);
            }
            ctx.stdout.flush()?;
            ctx.stderr.flush()?;
            run_command(&command, &result.items, &ctx.cwd)
        }
        Cmd::Halt => {
            let dir = task_dir(ctx, "step halt")?;
            let path = dir.join(HALT_FILE);
            std::fs::write(&path, b"")
                .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
            Ok(0)
        }
        Cmd::Subst => {
            let mut input = Vec::new();
            ctx.stdin.read_to_end(&mut input).map_err(stdin_failed)?;
            let output = subst(&input, ctx.env);
            ctx.stdout.write_all(&output)?;
            ctx.stdout.flush()?;
            Ok(0)
        }
        Cmd::Mask(mut values) => {
            let dir = task_dir(ctx, "env mask")?;
            if values.is_empty() {
                let input = read_stdin(ctx)?;
                values = input
                    .lines()
                    .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
                    .collect();
            }
            append_mask_values(&dir, &values)
                .map_err(|e| Failure::Failed(format!("{}: {e}", dir.join(MASK_FILE).display())))?;
            Ok(0)
        }
        Cmd::Keepalive => keepalive(),
    }
}

fn stdin_failed(e: io::Error) -> Failure {
    Failure::Failed(format!("cannot read stdin: {e}"))
}

fn read_stdin(ctx: &mut Ctx<'_>) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    ctx.stdin.read_to_end(&mut bytes).map_err(stdin_failed)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `$CIRCLE_INTERNAL_TASK_DATA`, which must be set for `what`.
fn task_dir(ctx: &Ctx<'_>, what: &str) -> Result<PathBuf, Failure> {
    match (ctx.env)(TASK_DATA_VAR).filter(|v| !v.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Err(Failure::Failed(format!(
            "`{what}` only works inside a job: ${TASK_DATA_VAR} is not set"
        ))),
    }
}

fn env_count(ctx: &Ctx<'_>, var: &str) -> Result<Option<usize>, Failure> {
    match (ctx.env)(var).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(v) => parse_count(&format!("${var}"), &v)
            .map(Some)
            .map_err(Failure::Failed),
    }
}

fn split_items(args: &SplitArgs, input: &str, ctx: &mut Ctx<'_>) -> Result<split::Split, Failure> {
    let items = split::items_from_input(input);
    let index = match args.index {
        Some(i) => i,
        None => env_count(ctx, "CIRCLE_NODE_INDEX")?.unwrap_or(0),
    };
    let total = match args.total {
        Some(t) => t,
        None => env_count(ctx, "CIRCLE_NODE_TOTAL")?.unwrap_or(1),
    };
    let opts = SplitOptions {
        index,
        total,
        split_by: args.split_by,
        timings_type: args.timings_type,
        time_default: args.time_default,
        show_counts: args.show_counts,
    };
    let timings = if args.split_by == SplitBy::Timings {
        load_timings(args, ctx)?
    } else {
        None
    };
    let cwd = ctx.cwd.clone();
    let filesize = move |item: &str| -> Option<u64> {
        std::fs::metadata(cwd.join(item))
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len())
    };
    Ok(split::split(&items, &opts, timings.as_ref(), &filesize))
}

/// Timings from `--timings-file`, else from the task folder's [`TIMINGS_FILE`] if present.
fn load_timings(args: &SplitArgs, ctx: &mut Ctx<'_>) -> Result<Option<Timings>, Failure> {
    if let Some(file) = &args.timings_file {
        let path = ctx.cwd.join(file);
        let bytes = std::fs::read(&path).map_err(|e| Failure::Failed(format!("{file}: {e}")))?;
        return Timings::from_json(&bytes)
            .map(Some)
            .map_err(|e| Failure::Failed(format!("{file}: {e}")));
    }
    let Some(dir) = (ctx.env)(TASK_DATA_VAR).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let path = Path::new(&dir).join(TIMINGS_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(None);
    };
    match Timings::from_json(&bytes) {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            writeln!(ctx.stderr, "Ignoring {}: {e}", path.display())?;
            Ok(None)
        }
    }
}

/// Runs `sh -c command` with `items` on its stdin, one per line.
fn run_command(command: &str, items: &[String], cwd: &Path) -> Result<i32, Failure> {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::Failed(format!("cannot run /bin/sh: {e}")))?;
    let mut input = items.join("\n");
    input.push('\n');
    // A command that does not read its input closes the pipe: not an error.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let status = child
        .wait()
        .map_err(|e| Failure::Failed(format!("waiting for the command: {e}")))?;
    Ok(status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}

/// envsubst: `$NAME` and `${NAME}` (NAME = letter or `_`, then letters, digits, `_`) are
/// replaced by the variable's value, empty when unset; anything else is copied as is.
pub(crate) fn subst(input: &[u8], env: &dyn Fn(&str) -> Option<String>) -> Vec<u8> {
    let is_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'$' {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = &input[i + 1..];
        let (name_range, consumed) = match rest.first() {
            Some(b'{') => {
                let inner = &rest[1..];
                let len = inner.iter().take_while(|&&c| is_name(c)).count();
                if len > 0 && is_start(inner[0]) && inner.get(len) == Some(&b'}') {
                    (Some((i + 2, i + 2 + len)), len + 3)
                } else {
                    (None, 1)
                }
            }
            Some(&c) if is_start(c) => {
                let len = rest.iter().take_while(|&&c| is_name(c)).count();
                (Some((i + 1, i + 1 + len)), len + 1)
            }
            _ => (None, 1),
        };
        match name_range {
            Some((start, end)) => {
                let name = String::from_utf8_lossy(&input[start..end]);
                if let Some(value) = env(&name) {
                    out.extend_from_slice(value.as_bytes());
                }
            }
            None => out.push(b'$'),
        }
        i += consumed;
    }
    out
}

/// Appends `values` (empty ones skipped) to the task folder's [`MASK_FILE`], base64, one per
/// line, in one write so concurrent writers do not interleave.
pub(crate) fn append_mask_values(task_dir: &Path, values: &[String]) -> io::Result<()> {
    let mut text = String::new();
    for v in values.iter().filter(|v| !v.is_empty()) {
        text.push_str(&base64::engine::general_purpose::STANDARD.encode(v.as_bytes()));
        text.push('\n');
    }
    if text.is_empty() {
        return Ok(());
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(task_dir.join(MASK_FILE))?;
    file.write_all(text.as_bytes())
}

/// Sleeps until SIGTERM, SIGINT or SIGHUP (then exits 0), reaping exited children meanwhile:
/// a container's keep-alive process (PID 1) that `docker stop` ends at once.
fn keepalive() -> Result<i32, Failure> {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    set.thread_block()
        .map_err(|e| Failure::Failed(format!("cannot block signals: {e}")))?;
    loop {
        // Reap whatever exited (orphans of `docker exec` are re-parented to PID 1).
        while let Ok(status) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            if status == WaitStatus::StillAlive {
                break;
            }
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) => {}
            Ok(_) => return Ok(0),
            Err(e) => return Err(Failure::Failed(format!("waiting for signals: {e}"))),
        }
    }
}

fn usage_text(program: &str, topic: Topic) -> String {
    let p = program;
    let split_flags = "\
  --split-by=name|filesize|timings   how to weigh items (default name)
  --timings-type=filename|classname|testname|autodetect
                                     timing key (default autodetect)
  --index N                          this node (default $CIRCLE_NODE_INDEX, else 0)
  --total N                          number of nodes (default $CIRCLE_NODE_TOTAL, else 1)
  --time-default D                   weight of items without timings, e.g. 10s (default 0s)
  --timings-file F                   timings JSON (default: from previous runs, if any)
  --show-counts                      print this node's share of the items to stderr
";
    match topic {
        Topic::All => format!(
            "Usage:
  {p} tests glob PATTERN...       list files matching the patterns (*, **, ?, [abc], {{a,b}})
  {p} tests split [FLAGS] [FILE]  print this node's share of the items read from FILE or stdin
  {p} tests run --command CMD [FLAGS] [--verbose]
                                  split stdin, then run CMD with this node's share on its stdin
  {p} step halt                   end the job successfully after the current step
  {p} env subst                   replace $VAR and ${{VAR}} in stdin with their values
  {p} env mask [VALUE...]         mask values (or stdin's lines) in the rest of the job's output
"
        ),
        Topic::Glob => format!(
            "Usage: {p} tests glob PATTERN...\n  Lists the files matching any pattern, one per line. Quote the patterns.\n"
        ),
        Topic::Split => {
            format!("Usage: {p} tests split [FLAGS] [FILE]\nFlags:\n{split_flags}")
        }
        Topic::Run => format!(
            "Usage: {p} tests run --command CMD [FLAGS] [--verbose]\nFlags:\n  --command CMD                      run with `sh -c`, this node's items on its stdin\n{split_flags}  --verbose                          print the items before running\n"
        ),
        Topic::Halt => format!(
            "Usage: {p} step halt\n  Ends the job successfully once the current step finishes.\n"
        ),
        Topic::Subst => format!(
            "Usage: {p} env subst < INPUT\n  Copies stdin to stdout with $VAR and ${{VAR}} replaced (unset: empty).\n"
        ),
        Topic::Mask => format!(
            "Usage: {p} env mask [VALUE...]\n  Masks each value (without values: each line of stdin) in the job's later output.\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    struct Out {
        code: i32,
        stdout: String,
        stderr: String,
    }

    fn run_in(cwd: &Path, env: &[(&str, &str)], stdin: &str, words: &[&str]) -> Out {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |k: &str| env.get(k).cloned();
        let mut input = stdin.as_bytes();
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let mut ctx = Ctx {
            stdin: &mut input,
            stdout: &mut stdout,
            stderr: &mut stderr,
            env: &lookup,
            cwd: cwd.to_path_buf(),
        };
        let code = super::run("circleci", &args(words), &mut ctx);
        Out {
            code,
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        }
    }

    fn run_with(env: &[(&str, &str)], stdin: &str, words: &[&str]) -> Out {
        run_in(Path::new("/"), env, stdin, words)
    }

    fn parse_words(words: &[&str]) -> Result<Cmd, Failure> {
        parse(&args(words))
    }

    #[test]
    fn split_flags_take_both_spellings() {
        let a = parse_words(&[
            "tests",
            "split",
            "--split-by=timings",
            "--timings-type",
            "classname",
            "--index",
            "2",
            "--total=3",
            "--show-counts",
            "--time-default=1m30s",
            "--timings-file",
            "t.json",
            "list.txt",
        ])
        .unwrap();
        assert_eq!(
            a,
            Cmd::Split(SplitArgs {
                split_by: SplitBy::Timings,
                timings_type: TimingsType::Classname,
                index: Some(2),
                total: Some(3),
                show_counts: true,
                time_default: 90.0,
                timings_file: Some("t.json".into()),
                file: Some("list.txt".into()),
            })
        );
        assert_eq!(
            parse_words(&["tests", "split"]).unwrap(),
            Cmd::Split(SplitArgs::default())
        );
    }

    #[test]
    fn run_needs_a_command() {
        assert_eq!(
            parse_words(&[
                "tests",
                "run",
                "--command",
                "xargs echo",
                "--verbose",
                "--total=2"
            ])
            .unwrap(),
            Cmd::Run {
                split: SplitArgs {
                    total: Some(2),
                    ..SplitArgs::default()
                },
                command: "xargs echo".into(),
                verbose: true,
            }
        );
        assert!(matches!(
            parse_words(&["tests", "run"]),
            Err(Failure::Usage(m, Topic::Run)) if m.contains("--command")
        ));
        // --command and --verbose belong to `tests run` only.
        assert!(matches!(
            parse_words(&["tests", "split", "--verbose"]),
            Err(Failure::Usage(m, Topic::Split)) if m.contains("--verbose")
        ));
    }

    #[test]
    fn bad_usage_exits_2_with_usage_on_stderr() {
        for words in [
            &["tests", "split", "--split-by=speed"][..],
            &["tests", "split", "--index"],
            &["tests", "split", "--index=x"],
            &["tests", "split", "--nope"],
            &["tests", "split", "a", "b"],
            &["tests", "glob"],
            &["tests", "frobnicate"],
            &["frobnicate"],
            &[],
            &["step", "halt", "now"],
            &["env", "subst", "x"],
        ] {
            let out = run_with(&[], "", words);
            assert_eq!(out.code, 2, "{words:?}: {}", out.stderr);
            assert!(out.stderr.starts_with("circleci: "), "{}", out.stderr);
            assert!(out.stderr.contains("Usage"), "{}", out.stderr);
            assert_eq!(out.stdout, "");
        }
        let out = run_with(&[], "", &["tests", "split", "--split-by=speed"]);
        assert!(
            out.stderr.contains("invalid --split-by \"speed\""),
            "{}",
            out.stderr
        );
    }

    #[test]
    fn help_prints_usage_on_stdout() {
        let out = run_with(&[], "", &["--help"]);
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("tests split"));
        let out = run_with(&[], "", &["tests", "split", "--help"]);
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("--timings-type"));
    }

    #[test]
    fn split_defaults_index_and_total_from_the_environment() {
        let stdin = "a\nb\nc\nd\ne\n";
        let env = [("CIRCLE_NODE_TOTAL", "2"), ("CIRCLE_NODE_INDEX", "1")];
        let out = run_with(&env, stdin, &["tests", "split"]);
        assert_eq!((out.code, out.stdout.as_str()), (0, "b\nd\n"));
        // Flags win over the environment.
        let out = run_with(&env, stdin, &["tests", "split", "--index=0"]);
        assert_eq!(out.stdout, "a\nc\ne\n");
        // Nothing set: a single node gets everything.
        let out = run_with(&[], stdin, &["tests", "split"]);
        assert_eq!(out.stdout, stdin);
        let out = run_with(&[("CIRCLE_NODE_TOTAL", "two")], stdin, &["tests", "split"]);
        assert_eq!(out.code, 1);
        assert!(out.stderr.contains("$CIRCLE_NODE_TOTAL"), "{}", out.stderr);
    }

    #[test]
    fn split_reads_a_file_argument_and_shows_counts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("list"), "x y\nz").unwrap();
        let out = run_in(
            dir.path(),
            &[],
            "ignored",
            &[
                "tests",
                "split",
                "--total",
                "3",
                "--index",
                "2",
                "--show-counts",
                "list",
            ],
        );
        assert_eq!(out.stdout, "z\n");
        assert!(out.stderr.contains("1 of 3 items"), "{}", out.stderr);
        let out = run_in(dir.path(), &[], "", &["tests", "split", "missing"]);
        assert_eq!(out.code, 1);
        assert!(out.stderr.contains("missing"), "{}", out.stderr);
    }

    #[test]
    fn split_by_timings_uses_the_task_folder_or_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut timings = Timings::default();
        timings.by_file.insert("slow".into(), 100.0);
        timings.by_file.insert("a".into(), 1.0);
        timings.by_file.insert("b".into(), 1.0);
        std::fs::write(
            dir.path().join(TIMINGS_FILE),
            serde_json::to_vec(&timings).unwrap(),
        )
        .unwrap();
        let task = dir.path().to_string_lossy().into_owned();
        let env = [(TASK_DATA_VAR, task.as_str()), ("CIRCLE_NODE_TOTAL", "2")];
        let stdin = "a\nb\nslow\n";
        let node0 = run_with(&env, stdin, &["tests", "split", "--split-by=timings"]);
        let node1 = run_with(
            &env,
            stdin,
            &["tests", "split", "--split-by=timings", "--index=1"],
        );
        assert_eq!(node0.stdout, "slow\n");
        assert_eq!(node1.stdout, "a\nb\n");
        assert!(
            node0.stderr.contains("Autodetected filename"),
            "{}",
            node0.stderr
        );

        // No timings anywhere: by name, with CircleCI's notice.
        let out = run_with(
            &[("CIRCLE_NODE_TOTAL", "2")],
            stdin,
            &["tests", "split", "--split-by=timings"],
        );
        assert_eq!(out.stdout, "a\nslow\n");
        assert!(out.stderr.contains(split::FALLBACK_MESSAGE));

        // --timings-file wins; a broken one is an error.
        std::fs::write(dir.path().join("bad.json"), "{").unwrap();
        let out = run_in(
            dir.path(),
            &env,
            stdin,
            &[
                "tests",
                "split",
                "--split-by=timings",
                "--timings-file=bad.json",
            ],
        );
        assert_eq!(out.code, 1);
        assert!(out.stderr.contains("bad.json"), "{}", out.stderr);
    }

    #[test]
    fn split_by_filesize_reads_sizes_relative_to_cwd() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 1000]).unwrap();
        std::fs::write(dir.path().join("s1"), "x").unwrap();
        std::fs::write(dir.path().join("s2"), "x").unwrap();
        let env = [("CIRCLE_NODE_TOTAL", "2")];
        let out = run_in(
            dir.path(),
            &env,
            "s1 big s2",
            &["tests", "split", "--split-by=filesize"],
        );
        assert_eq!(out.stdout, "big\n");
    }

    #[test]
    fn glob_lists_relative_to_cwd() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("t/sub")).unwrap();
        std::fs::write(dir.path().join("t/a_test.go"), "").unwrap();
        std::fs::write(dir.path().join("t/sub/b_test.go"), "").unwrap();
        std::fs::write(dir.path().join("t/readme"), "").unwrap();
        let out = run_in(
            dir.path(),
            &[],
            "",
            &["tests", "glob", "t/**/*_test.go", "t/*.go"],
        );
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.stdout, "t/a_test.go\nt/sub/b_test.go\n");
        let out = run_in(dir.path(), &[], "", &["tests", "glob", "t/[a"]);
        assert_eq!(out.code, 2);
    }

    #[test]
    fn halt_creates_the_marker() {
        let dir = tempfile::tempdir().unwrap();
        let task = dir.path().to_string_lossy().into_owned();
        for words in [&["step", "halt"][..], &["task", "halt"]] {
            let _ = std::fs::remove_file(dir.path().join(HALT_FILE));
            let out = run_with(&[(TASK_DATA_VAR, &task)], "", words);
            assert_eq!(out.code, 0, "{}", out.stderr);
            assert!(dir.path().join(HALT_FILE).is_file());
        }
        let out = run_with(&[], "", &["step", "halt"]);
        assert_eq!(out.code, 1);
        assert!(out.stderr.contains(TASK_DATA_VAR), "{}", out.stderr);
    }

    #[test]
    fn subst_replaces_set_and_unset_variables() {
        let env = |k: &str| match k {
            "A" => Some("1".to_owned()),
            "LONG_name2" => Some("x y".to_owned()),
            _ => None,
        };
        let t = |s: &str| String::from_utf8(subst(s.as_bytes(), &env)).unwrap();
        assert_eq!(t("$A-${A}-$LONG_name2."), "1-1-x y.");
        assert_eq!(t("[$UNSET][${UNSET}]"), "[][]");
        assert_eq!(t("$A$A ${A}${A}"), "11 11");
        // Not variable references: copied as is.
        assert_eq!(t("$ $1 ${1} ${A B} ${ $"), "$ $1 ${1} ${A B} ${ $");
        assert_eq!(t("cost: $5, ${A"), "cost: $5, ${A");
        assert_eq!(t("ünïcode $A"), "ünïcode 1");
        let out = run_with(&[("HOME", "/root")], "home=$HOME\n", &["env", "subst"]);
        assert_eq!(out.stdout, "home=/root\n");
    }

    #[test]
    fn mask_appends_base64_lines_from_args_or_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let task = dir.path().to_string_lossy().into_owned();
        let env = [(TASK_DATA_VAR, task.as_str())];
        let out = run_with(&env, "", &["env", "mask", "s3cret", "two\nlines"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let out = run_with(&env, "from-stdin\r\n\nsecond\n", &["env", "mask"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let text = std::fs::read_to_string(dir.path().join(MASK_FILE)).unwrap();
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.starts_with("czNjcmV0\n"), "{text}");
        let (values, offset) = super::super::read_mask_values(dir.path(), 0);
        assert_eq!(values, ["s3cret", "two\nlines", "from-stdin", "second"]);
        assert_eq!(offset, text.len() as u64);
        let out = run_with(&[], "", &["env", "mask", "x"]);
        assert_eq!(out.code, 1);
    }

    #[test]
    fn run_pipes_the_share_to_the_command_and_returns_its_code() {
        let dir = tempfile::tempdir().unwrap();
        let env = [("CIRCLE_NODE_TOTAL", "2"), ("CIRCLE_NODE_INDEX", "0")];
        let out = run_in(
            dir.path(),
            &env,
            "d c b a",
            &[
                "tests",
                "run",
                "--command",
                "cat > got; exit 3",
                "--verbose",
            ],
        );
        assert_eq!(out.code, 3, "{}", out.stderr);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("got")).unwrap(),
            "a\nc\n"
        );
        assert!(out.stderr.contains("with 2 of 4 items"), "{}", out.stderr);
        // No items for this node: the command is not run.
        let out = run_in(dir.path(), &env, "", &["tests", "run", "--command=exit 9"]);
        assert_eq!(out.code, 0);
    }
}
