//! `circa config validate | process`.

use crate::cli::{ConfigArgs, ProcessArgs};
use anyhow::{Context, bail};
use crate::orb_dir::{OrbDir, default_orb_dir};
use circa_config::yaml::{Node, Value};
use circa_config::{CompileOptions, Compiled, compile, diag};
use std::io::Write;
use std::process::ExitCode;

/// The orb registry named by `--orb-dir`/`CIRCA_ORB_DIR`, or the default one.
fn orb_source(args: &ConfigArgs) -> OrbDir {
    OrbDir::new(args.orb_dir.clone().unwrap_or_else(default_orb_dir))
}

/// Reads a config file and compiles it with `options`.
fn compile_file(
    args: &ConfigArgs,
    options: &CompileOptions<'_>,
) -> anyhow::Result<(String, Compiled)> {
    let bytes = std::fs::read(&args.path)
        .with_context(|| format!("cannot read config {}", args.path.display()))?;
    let compiled = compile(&bytes, options);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok((text, compiled))
}

fn print_diagnostics(args: &ConfigArgs, source: &str, compiled: &Compiled) {
    let text = diag::render(
        &args.path.display().to_string(),
        source,
        &compiled.diagnostics,
    );
    let mut err = anstream::stderr();
    let _ = err.write_all(text.as_bytes());
}

/// `circa config validate`: exit 0 and a one-line verdict, or exit 1 with every diagnostic.
pub fn validate(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let orbs = orb_source(args);
    let options = CompileOptions::new(&orbs);
    let (source, compiled) = compile_file(args, &options)?;
    print_diagnostics(args, &source, &compiled);
    if compiled.is_valid() {
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
    if let Some(params) = &args.pipeline_parameters {
        options.parameters = parse_parameters(params)?;
    }
    for kv in &args.pipeline_values {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--pipeline-value takes KEY=VALUE, got `{kv}`");
        };
        options.pipeline.set(k, v);
    }
    let (source, compiled) = compile_file(&args.config, &options)?;
    print_diagnostics(&args.config, &source, &compiled);
    match compiled.processed_yaml() {
        Some(yaml) if compiled.is_valid() => {
            print!("{yaml}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Ok(ExitCode::from(1)),
    }
}

/// Pipeline parameters from a JSON object given inline or as `@FILE`.
fn parse_parameters(arg: &str) -> anyhow::Result<indexmap::IndexMap<String, Node>> {
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
    let mut out = indexmap::IndexMap::new();
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
        out.insert(k, Node::new(circa_config::Span::NONE, value));
    }
    Ok(out)
}
