//! `circa config validate | process | plan`.

use crate::cli::{ConfigArgs, PlanArgs, ProcessArgs, ValidateArgs};
use crate::engine::{self, Processed};
use crate::orb_dir::{OrbDir, default_orb_dir};
use anyhow::{Context, bail};
use circa_config::yaml::{Node, Value};
use circa_config::{CompileOptions, Span, diag};
use circa_model::{Trigger, TriggerSource};
use indexmap::IndexMap;
use std::io::Write;
use std::process::ExitCode;

/// The orb registry named by `--orb-dir`/`CIRCA_ORB_DIR`, or the default one.
fn orb_source(args: &ConfigArgs) -> OrbDir {
    OrbDir::new(args.orb_dir.clone().unwrap_or_else(default_orb_dir))
}

/// Reads a config file and processes it with `options`; returns the text for snippets.
fn process_file(
    args: &ConfigArgs,
    options: &CompileOptions<'_>,
) -> anyhow::Result<(String, Processed)> {
    let bytes = std::fs::read(&args.path)
        .with_context(|| format!("cannot read config {}", args.path.display()))?;
    let processed = engine::process(&bytes, options);
    Ok((String::from_utf8_lossy(&bytes).into_owned(), processed))
}

fn print_diagnostics(args: &ConfigArgs, source: &str, processed: &Processed) {
    let text = diag::render(
        &args.path.display().to_string(),
        source,
        &processed.diagnostics,
    );
    let mut err = anstream::stderr();
    let _ = err.write_all(text.as_bytes());
}

/// `circa config validate`: exit 0 and a one-line verdict, or exit 1 with every diagnostic.
/// With `--strict`, warnings are errors.
pub fn validate(validate: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let args = &validate.config;
    let orbs = orb_source(args);
    let mut options = CompileOptions::new(&orbs);
    options.pipeline = engine::local_pipeline_values(None, None);
    let (source, mut processed) = process_file(args, &options)?;
    if validate.strict {
        for d in &mut processed.diagnostics {
            d.severity = diag::Severity::Error;
        }
    }
    print_diagnostics(args, &source, &processed);
    if processed.is_valid() {
        println!("Config file at {} is valid.", args.path.display());
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

/// `circa config process`: the processed config on stdout, or exit 1 with diagnostics.
pub fn process(args: &ProcessArgs) -> anyhow::Result<ExitCode> {
    let orbs = orb_source(&args.config);
    let mut options = CompileOptions::new(&orbs);
    options.pipeline = engine::local_pipeline_values(None, None);
    if let Some(params) = &args.pipeline_parameters {
        options.parameters = parse_parameters(params)?;
    }
    for kv in &args.pipeline_values {
        let (k, v) = split_pair(kv, "--pipeline-value")?;
        options.pipeline.set(k, v);
    }
    let (source, processed) = process_file(&args.config, &options)?;
    print_diagnostics(&args.config, &source, &processed);
    match processed.compiled.processed_yaml() {
        Some(yaml) if processed.is_valid() => {
            print!("{yaml}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Ok(ExitCode::from(1)),
    }
}

/// `circa config plan`: which workflows and jobs a trigger runs, and why others do not.
pub fn plan(args: &PlanArgs) -> anyhow::Result<ExitCode> {
    let orbs = orb_source(&args.config);
    let mut options = CompileOptions::new(&orbs);
    options.pipeline = engine::local_pipeline_values(args.branch.as_deref(), args.tag.as_deref());
    if let Some(rev) = &args.revision {
        options.pipeline.set("git.revision", rev.as_str());
    }
    for kv in &args.params {
        let (k, v) = split_pair(kv, "--param")?;
        options
            .parameters
            .insert(k.to_string(), Node::str(Span::NONE, v));
    }
    let (source, processed) = process_file(&args.config, &options)?;
    print_diagnostics(&args.config, &source, &processed);
    if !processed.is_valid() {
        return Ok(ExitCode::from(1));
    }
    let trigger = Trigger {
        branch: if args.tag.is_some() {
            None
        } else {
            Some(args.branch.clone().unwrap_or_else(|| "main".to_string()))
        },
        tag: args.tag.clone(),
        revision: args.revision.clone().unwrap_or_default(),
        parameters: args
            .params
            .iter()
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect(),
        source: TriggerSource::Webhook,
        default_branch: Some("main".to_string()),
    };
    print!("{}", processed.plan(&trigger));
    Ok(ExitCode::SUCCESS)
}

fn split_pair<'s>(kv: &'s str, flag: &str) -> anyhow::Result<(&'s str, &'s str)> {
    match kv.split_once('=') {
        Some(pair) => Ok(pair),
        None => bail!("{flag} takes KEY=VALUE, got `{kv}`"),
    }
}

/// Pipeline parameters from a JSON object given inline or as `@FILE`.
fn parse_parameters(arg: &str) -> anyhow::Result<IndexMap<String, Node>> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read pipeline parameters from {path}"))?,
        None => arg.to_string(),
    };
    let json: serde_json::Value =
        serde_json::from_str(&text).context("pipeline parameters must be a JSON object")?;
    let serde_json::Value::Object(obj) = json else {
        bail!("pipeline parameters must be a JSON object");
    };
    let mut out = IndexMap::new();
    for (k, v) in obj {
        let value = match v {
            serde_json::Value::String(s) => Value::Str(s),
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or_default()),
            },
            serde_json::Value::Null => Value::Null,
            other => {
                bail!("pipeline parameter `{k}` must be a string, number or boolean, not {other}")
            }
        };
        out.insert(k, Node::new(Span::NONE, value));
    }
    Ok(out)
}
