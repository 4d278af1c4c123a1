//! From the config text at a commit to the workflows and jobs to create: compile with the
//! pipeline's values, plan for the trigger, turn each job into a spec.

use std::sync::Arc;

use circa_config::orbs::OrbSource;
use circa_config::pipeline::PipelineValues;
use circa_config::yaml::{Node, Value};
use circa_config::{CompileOptions, Diagnostic, Span};
use circa_model::engine::process;
use circa_model::{JobSpec, JobStatus, Plan, PlannedJob, Trigger, WorkflowStatus};
use circa_store::{NewJob, NewWorkflow, PipelineError, PipelineErrorKind, StoredRequirement};

use crate::vcs::CONFIG_PATH;

/// The resource class a runner has when none is named, and that CircleCI's cloud sizes map to.
pub const DEFAULT_RESOURCE_CLASS: &str = "default";

/// CircleCI cloud sizes: run on `default` runners.
const CLOUD_SIZES: &[&str] = &[
    "small", "medium", "medium+", "large", "xlarge", "2xlarge", "2xlarge+",
];

/// The resource class a job's tasks are queued for: its own `resource_class` unless that is
/// one of CircleCI's cloud sizes (or `arm.*`, `gpu.*`, `macos.*`, `windows.*` sizes), which run
/// on `default` runners.
pub fn queue_class(resource_class: Option<&str>) -> String {
    match resource_class.map(str::trim) {
        None | Some("") => DEFAULT_RESOURCE_CLASS.to_string(),
        Some(rc)
            if CLOUD_SIZES.contains(&rc)
                || ["arm.", "gpu.", "macos.", "windows."]
                    .iter()
                    .any(|p| rc.starts_with(p)) =>
        {
            DEFAULT_RESOURCE_CLASS.to_string()
        }
        Some(rc) => rc.to_string(),
    }
}

/// What the compile needs.
pub struct CompileInput {
    /// The config text.
    pub source: String,
    /// `pipeline.*` values.
    pub pipeline: PipelineValues,
    /// Pipeline parameters given with the trigger.
    pub parameters: serde_json::Map<String, serde_json::Value>,
    /// The trigger, for filters.
    pub trigger: Trigger,
    /// Where orbs come from.
    pub orbs: Arc<dyn OrbSource + Send + Sync>,
}

/// What the compile gave.
#[derive(Debug)]
pub enum CompileOutcome {
    /// The config is refused: why, as `PATH:LINE:COL: error: …`.
    Errors(Vec<PipelineError>),
    /// The workflows to create.
    Planned {
        /// The processed config as YAML.
        compiled: String,
        /// Whether it is a setup config (dynamic config).
        setup: bool,
        /// The workflows that run, with their jobs (all `blocked`: the first settle queues
        /// the roots).
        workflows: Vec<NewWorkflow>,
    },
}

/// A JSON value as a config node.
pub fn json_to_node(value: &serde_json::Value) -> Node {
    let v = match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(items) => Value::Seq(items.iter().map(json_to_node).collect()),
        serde_json::Value::Object(map) => {
            let mut m = circa_config::yaml::Map::new();
            for (k, v) in map {
                m.insert(k, Span::NONE, json_to_node(v));
            }
            Value::Map(m)
        }
    };
    Node::new(Span::NONE, v)
}

/// Compiles and plans (CPU work: call it on a blocking thread).
pub fn compile_and_plan(input: CompileInput) -> CompileOutcome {
    let CompileInput {
        source,
        pipeline,
        parameters,
        trigger,
        orbs,
    } = input;
    let mut options = CompileOptions::new(orbs.as_ref());
    options.pipeline = pipeline;
    options.parameters = parameters
        .iter()
        .map(|(k, v)| (k.clone(), json_to_node(v)))
        .collect();
    let processed = process(source.as_bytes(), &options);
    if !processed.is_valid() {
        return CompileOutcome::Errors(rendered_errors(&source, &processed.diagnostics));
    }
    let Some(config) = processed.compiled.processed.as_ref() else {
        return CompileOutcome::Errors(vec![config_error(format!(
            "{CONFIG_PATH}: the config could not be processed"
        ))]);
    };
    let setup = is_setup(config);
    match new_workflows(config, &processed.plan(&trigger), setup) {
        Ok(workflows) => CompileOutcome::Planned {
            compiled: processed.compiled.processed_yaml().unwrap_or_default(),
            setup,
            workflows,
        },
        Err(errors) => CompileOutcome::Errors(errors),
    }
}

/// A config error with `message`.
fn config_error(message: String) -> PipelineError {
    PipelineError {
        kind: PipelineErrorKind::Config,
        message,
    }
}

/// Each error among `diagnostics`, rendered as `PATH:LINE:COL: error: …` with its source line.
fn rendered_errors(source: &str, diagnostics: &[Diagnostic]) -> Vec<PipelineError> {
    diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let rendered = circa_config::diag::render(CONFIG_PATH, source, std::slice::from_ref(d));
            config_error(rendered.trim_end().to_string())
        })
        .collect()
}

/// Whether a processed config is a setup config (`setup: true`).
fn is_setup(config: &Node) -> bool {
    config
        .as_map()
        .and_then(|m| m.get("setup"))
        .is_some_and(|n| matches!(n.value, Value::Bool(true)))
}

/// The workflows of `plan` that run, each with its jobs; the errors of every job whose spec
/// cannot be made, when there are any.
fn new_workflows(
    config: &Node,
    plan: &Plan,
    setup: bool,
) -> Result<Vec<NewWorkflow>, Vec<PipelineError>> {
    let mut workflows = Vec::new();
    let mut errors = Vec::new();
    for wf in plan.workflows.iter().filter(|w| w.runs) {
        let mut jobs = Vec::new();
        for job in &wf.jobs {
            match new_job(config, job) {
                Ok(job) => jobs.push(job),
                Err(e) => errors.push(e),
            }
        }
        workflows.push(NewWorkflow {
            name: wf.name.clone(),
            status: WorkflowStatus::Running,
            setup,
            rerun_of: None,
            jobs,
        });
    }
    if errors.is_empty() {
        Ok(workflows)
    } else {
        Err(errors)
    }
}

/// A planned job as it is created (`blocked`), with its spec as JSON and the resource class
/// and parallelism its tasks are queued with; an approval job has no spec and one task on the
/// default class.
fn new_job(config: &Node, job: &PlannedJob) -> Result<NewJob, PipelineError> {
    let (spec, class, parallelism) = if job.approval {
        (None, DEFAULT_RESOURCE_CLASS.to_string(), 1)
    } else {
        let spec = JobSpec::from_processed(config, &job.job_key)
            .map_err(|e| config_error(format!("{CONFIG_PATH}: {e}")))?;
        let class = queue_class(spec.resource_class.as_deref());
        let parallelism = spec.parallelism.max(1);
        let json = serde_json::to_value(&spec)
            .map_err(|e| config_error(format!("{CONFIG_PATH}: job `{}`: {e}", job.name)))?;
        (Some(json), class, parallelism)
    };
    Ok(NewJob {
        name: job.name.clone(),
        job_key: job.job_key.clone(),
        status: JobStatus::Blocked,
        approval: job.approval,
        requires: job
            .requires
            .iter()
            .map(|r| StoredRequirement {
                name: r.name.clone(),
                statuses: r.statuses.clone(),
            })
            .collect(),
        contexts: job.contexts.clone(),
        spec,
        resource_class: class,
        parallelism,
        copied_from: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_sizes_run_on_default_runners_and_other_classes_keep_their_name() {
        assert_eq!(queue_class(None), "default");
        assert_eq!(queue_class(Some("large")), "default");
        assert_eq!(queue_class(Some("arm.medium")), "default");
        assert_eq!(queue_class(Some("big")), "big");
        assert_eq!(queue_class(Some("acme/gpu-box")), "acme/gpu-box");
    }
}
