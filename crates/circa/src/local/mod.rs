//! `circa local execute`: run one job, or a whole workflow, on this machine.
//!
//! The config is processed as the server would for the repository's current branch or tag,
//! then each job node runs through `circa-exec` with the shell or docker executor. Caches,
//! workspaces, artifacts and test results live in a data folder (`.circa/local` at the top
//! of the repository by default), so a second run restores the first one's caches and splits
//! tests by the first one's timings.

mod config;
mod git;
pub mod output;
mod run;
mod select;
mod workflow;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use circa_config::CompileOptions;
use circa_config::yaml::Node;
use circa_model::{Trigger, TriggerSource};

use crate::cli::{ExecuteArgs, ExecutorChoice};
use crate::engine;
use crate::orb_dir::{OrbDir, default_orb_dir};
use config::{Chosen, choose};
pub use git::RepoInfo;

/// Everything the nodes of one invocation share.
pub struct Session {
    /// The processed config.
    pub config: Node,
    /// The repository.
    pub repo: RepoInfo,
    /// Branch and tag being built.
    pub branch: Option<String>,
    /// The tag being built.
    pub tag: Option<String>,
    /// Data folder.
    pub data_dir: PathBuf,
    /// `--env`, `--env-file` and `--secret` values (project variables).
    pub project_env: BTreeMap<String, String>,
    /// Values to mask.
    pub secrets: Vec<String>,
    /// Which executor runs jobs.
    pub executor: ExecutorChoice,
    /// `--image-map`.
    pub image_map: BTreeMap<String, String>,
    /// Keep shell job folders.
    pub keep: bool,
    /// The staged in-job command.
    pub agent: circa_exec::agent::AgentDir,
    /// Prints events.
    pub sink: Arc<dyn circa_exec::events::EventSink>,
    /// JSON printer, when `--json`.
    pub json: Option<Arc<output::JsonPrinter>>,
    /// Human printer, otherwise.
    pub human: Option<Arc<output::HumanPrinter>>,
    /// A pipeline id for this invocation.
    pub pipeline_id: String,
}

impl Session {
    /// Prints a workflow-level line, or its JSON form.
    pub fn say(&self, text: &str, json: serde_json::Value) {
        if let Some(j) = &self.json {
            j.line(&json);
        } else if let Some(h) = &self.human {
            h.line(text);
        }
    }
}

/// Runs `circa local execute`.
pub fn execute(args: &ExecuteArgs) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let repo = RepoInfo::discover(&cwd);
    let tag = args.tag.clone().or_else(|| {
        if args.branch.is_none() {
            repo.tag.clone()
        } else {
            None
        }
    });
    let branch = if args.tag.is_some() {
        None
    } else {
        Some(
            args.branch
                .clone()
                .or_else(|| repo.branch.clone())
                .unwrap_or_else(|| "main".to_string()),
        )
    };

    let orbs = OrbDir::new(args.orb_dir.clone().unwrap_or_else(default_orb_dir));
    let mut options = CompileOptions::new(&orbs);
    options.pipeline = engine::local_pipeline_values(branch.as_deref(), tag.as_deref());
    if let Some(sha) = &repo.sha1 {
        options.pipeline.set("git.revision", sha.as_str());
    }
    let Some(Chosen {
        processed,
        config,
        job: single,
    }) = choose(args, &mut options)?
    else {
        return Ok(ExitCode::from(1));
    };

    let mut project_env = BTreeMap::new();
    let mut secrets = Vec::new();
    for file in &args.env_files {
        for (k, v) in read_env_file(file)? {
            secrets.push(v.clone());
            project_env.insert(k, v);
        }
    }
    for kv in &args.env {
        let (k, v) = split_pair(kv, "--env")?;
        project_env.insert(k.to_string(), v.to_string());
    }
    for kv in &args.secrets {
        let (k, v) = split_pair(kv, "--secret")?;
        secrets.push(v.to_string());
        project_env.insert(k.to_string(), v.to_string());
    }
    let mut image_map = BTreeMap::new();
    for kv in &args.image_map {
        let (k, v) = split_pair(kv, "--image-map")?;
        image_map.insert(k.to_string(), v.to_string());
    }

    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => repo
            .root
            .clone()
            .unwrap_or_else(|| cwd.clone())
            .join(".circa/local"),
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let data_dir = data_dir.canonicalize().unwrap_or(data_dir);
    let agent = stage_agent(&data_dir);

    let concurrent =
        args.workflow.is_some() || single.as_ref().is_some_and(|spec| spec.parallelism > 1);
    let (json, human) = if args.json {
        (Some(Arc::new(output::JsonPrinter::new())), None)
    } else {
        (None, Some(Arc::new(output::HumanPrinter::new(concurrent))))
    };
    let sink: Arc<dyn circa_exec::events::EventSink> = match (&json, &human) {
        (Some(j), _) => j.clone(),
        (None, Some(h)) => h.clone(),
        (None, None) => Arc::new(circa_exec::events::Recorder::new()),
    };
    let session = Arc::new(Session {
        config,
        repo,
        branch: branch.clone(),
        tag: tag.clone(),
        data_dir,
        project_env,
        secrets,
        executor: args.executor,
        image_map,
        keep: args.keep,
        agent,
        sink,
        json,
        human,
        pipeline_id: unique_id(),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match (&args.workflow, single) {
        (Some(name), _) => {
            let trigger = Trigger {
                branch: branch.clone(),
                tag: tag.clone(),
                revision: session.repo.sha1.clone().unwrap_or_default(),
                parameters: Vec::new(),
                source: TriggerSource::Api,
                default_branch: Some("main".to_string()),
            };
            let plan = processed.plan(&trigger);
            let Some(planned) = plan.workflows.into_iter().find(|w| &w.name == name) else {
                bail!(
                    "no workflow named `{name}`; the config has: {}",
                    processed
                        .workflows
                        .iter()
                        .map(|w| w.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            };
            let approvals = workflow::Approvals {
                names: args.approve.clone(),
                all: args.approve_all,
                prompt: !args.json && std::io::IsTerminal::is_terminal(&std::io::stdin()),
            };
            runtime.block_on(workflow::run(session, planned, args.jobs.max(1), approvals))
        }
        (None, Some(spec)) => {
            runtime.block_on(workflow::run_single(session, spec, args.jobs.max(1)))
        }
        (None, None) => {
            let jobs: Vec<String> = session
                .config
                .as_map()
                .and_then(|m| m.get("jobs"))
                .and_then(Node::as_map)
                .map(|j| j.keys().map(str::to_string).collect())
                .unwrap_or_default();
            bail!(
                "name a job to run, or a workflow with --workflow; the config has jobs: {}",
                jobs.join(", ")
            )
        }
    }
}

/// Stages the in-job `circleci` command; without it jobs still run, and say so.
fn stage_agent(data_dir: &Path) -> circa_exec::agent::AgentDir {
    let root = data_dir.join("agent");
    match std::env::current_exe()
        .map_err(|e| e.to_string())
        .and_then(|exe| circa_exec::agent::AgentDir::stage(&root, &exe).map_err(|e| e.to_string()))
    {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("warning: {e}; `circleci` will not be available inside jobs");
            circa_exec::agent::AgentDir::at(root.join("unavailable"))
        }
    }
}

/// Reads `KEY=VALUE` lines (blank lines and `#` comments skipped; `export ` and matching
/// quotes around the value removed).
fn read_env_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read env file {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            bail!("{}:{}: expected KEY=VALUE", path.display(), i + 1);
        };
        let v = v.trim();
        let v = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(a, b)| v.strip_prefix(*a).and_then(|x| x.strip_suffix(*b)))
            .unwrap_or(v);
        out.push((k.trim().to_string(), v.to_string()));
    }
    Ok(out)
}

fn split_pair<'s>(kv: &'s str, flag: &str) -> anyhow::Result<(&'s str, &'s str)> {
    match kv.split_once('=') {
        Some(pair) => Ok(pair),
        None => bail!("{flag} takes KEY=VALUE, got `{kv}`"),
    }
}

/// A name unique enough for one machine: time and process id.
pub fn unique_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{:x}-{:x}", nanos, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_accept_comments_exports_and_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join(".env");
        std::fs::write(&f, "# c\nA=1\nexport B=\"two words\"\n\nC='x=y'\n").unwrap();
        assert_eq!(
            read_env_file(&f).unwrap(),
            vec![
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "two words".to_string()),
                ("C".to_string(), "x=y".to_string())
            ]
        );
        std::fs::write(&f, "oops\n").unwrap();
        assert!(
            read_env_file(&f)
                .unwrap_err()
                .to_string()
                .contains(":1: expected KEY=VALUE")
        );
    }
}
