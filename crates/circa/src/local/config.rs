//! The config `circa local execute` runs: read, processed, and — when one job is named — that
//! job chosen (see [`super::select`]). Every problem is printed with its position.

use std::path::Path;

use anyhow::{Context, bail};
use circa_config::yaml::{Map, Node, Value};
use circa_config::{CompileOptions, Diagnostic, diag};
use circa_model::JobSpec;

use super::select::{self, Declared};
use crate::cli::ExecuteArgs;
use crate::engine::{self, Processed};

/// What runs: the processed config, and the job when one is named.
pub struct Chosen {
    /// The whole config processed (workflows run from it).
    pub processed: Processed,
    /// The config the job or workflow runs from.
    pub config: Node,
    /// The job named on the command line.
    pub job: Option<JobSpec>,
}

/// Reads and processes the config with `--param` values split between the pipeline and the
/// named job; `None` when the config or the job's arguments are refused (already printed).
pub fn choose(
    args: &ExecuteArgs,
    options: &mut CompileOptions<'_>,
) -> anyhow::Result<Option<Chosen>> {
    let name = select::job_name(args)?;
    let bytes = std::fs::read(&args.config)
        .with_context(|| format!("cannot read config {}", args.config.display()))?;
    let declared = Declared::read(&bytes);
    let definition = name.filter(|n| declared.names_definition(n));
    let pairs = args
        .params
        .iter()
        .map(|kv| split_pair(kv))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let params = select::route(&declared, name, &pairs);
    options.parameters = params.pipeline;
    let processed = engine::process(&bytes, options);
    if !processed.is_valid() || definition.is_none() {
        print_diagnostics(&args.config, &bytes, &processed.diagnostics);
    }
    let Some(config) = processed
        .compiled
        .processed
        .clone()
        .filter(|_| processed.is_valid())
    else {
        return Ok(None);
    };
    let Some(name) = name else {
        return Ok(Some(Chosen {
            processed,
            config,
            job: None,
        }));
    };
    if definition.is_some() {
        let Some((config, job)) = job_alone(args, &bytes, options, name, &params.job)? else {
            return Ok(None);
        };
        return Ok(Some(Chosen {
            processed,
            config,
            job: Some(job),
        }));
    }
    let invoked = job_names(&config);
    if !invoked.iter().any(|n| n == name) {
        bail!(select::unknown_job(name, &declared, &invoked));
    }
    if let Some(key) = params.job.keys().next() {
        bail!(
            "--param {key}: `{key}` is not a pipeline parameter, and job `{name}` runs as its \
             workflow binds it; to give a job's parameters, run it by its name under `jobs:`"
        );
    }
    let job = JobSpec::from_processed(&config, name)?;
    Ok(Some(Chosen {
        processed,
        config,
        job: Some(job),
    }))
}

/// Processes job `name` on its own with `job_args`; `None` when that is refused (printed, with
/// how to give a job's parameters when they were the trouble).
fn job_alone(
    args: &ExecuteArgs,
    bytes: &[u8],
    options: &CompileOptions<'_>,
    name: &str,
    job_args: &Map,
) -> anyhow::Result<Option<(Node, JobSpec)>> {
    let compiled = circa_config::compile_job(bytes, options, name, job_args);
    print_diagnostics(&args.config, bytes, &compiled.diagnostics);
    if compiled
        .diagnostics
        .iter()
        .any(select::is_job_argument_problem)
    {
        eprintln!("give a job's parameters with --param NAME=VALUE");
    }
    let valid = compiled.is_valid();
    let Some(config) = compiled.processed.filter(|_| valid) else {
        return Ok(None);
    };
    let job = JobSpec::from_processed(&config, name)?;
    Ok(Some((config, job)))
}

/// The jobs of a processed config, by the names the workflows invoke them by.
fn job_names(config: &Node) -> Vec<String> {
    match config
        .as_map()
        .and_then(|m| m.get("jobs"))
        .map(|j| &j.value)
    {
        Some(Value::Map(jobs)) => jobs.keys().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn print_diagnostics(path: &Path, bytes: &[u8], diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    let text = diag::render(
        &path.display().to_string(),
        &String::from_utf8_lossy(bytes),
        diagnostics,
    );
    let mut err = anstream::stderr();
    let _ = std::io::Write::write_all(&mut err, text.as_bytes());
}

fn split_pair(kv: &str) -> anyhow::Result<(&str, &str)> {
    match kv.split_once('=') {
        Some(pair) => Ok(pair),
        None => bail!("--param takes KEY=VALUE, got `{kv}`"),
    }
}
