//! Which job `circa local execute NAME` runs, and where each `--param` goes.
//!
//! A name under `jobs:` (or an orb's `alias/job`) runs that definition on its own, its
//! parameters bound from `--param` with their types and defaults, as a workflow invoking it
//! would bind them. Any other name is looked up among the jobs the workflows invoke (`name:`
//! of an invocation, matrix names), which run as their workflow binds them. A `--param` whose
//! key the config declares under `parameters:` sets that pipeline parameter; every other key
//! (and a key the job declares too) is an argument of the job under `jobs:` — a job run as a
//! workflow invokes it takes none.

use anyhow::bail;
use circa_config::yaml::{self, Limits, Map, Node};
use circa_config::{Diagnostic, Span};
use indexmap::IndexMap;

use crate::cli::ExecuteArgs;

/// The job named on the command line, as JOB or `--job NAME` (both may be given only alike).
pub fn job_name(args: &ExecuteArgs) -> anyhow::Result<Option<&str>> {
    match (args.job.as_deref(), args.job_option.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            bail!("two different jobs named: `{a}` and --job `{b}`; name one")
        }
        (Some(name), _) | (None, Some(name)) => Ok(Some(name)),
        (None, None) => Ok(None),
    }
}

/// Names a config declares, read from its text before it is processed.
#[derive(Debug, Default)]
pub struct Declared {
    /// Pipeline parameters (`parameters:` at the top).
    pub pipeline: Vec<String>,
    /// Jobs under `jobs:`, each with the names of its parameters.
    pub jobs: IndexMap<String, Vec<String>>,
}

impl Declared {
    /// Reads what `bytes` declares; text that cannot be read declares nothing (processing
    /// reports why).
    pub fn read(bytes: &[u8]) -> Declared {
        let limits = Limits::default();
        let Some(root) = yaml::decode(bytes, &limits)
            .ok()
            .and_then(|text| yaml::load(text, &limits).root)
        else {
            return Declared::default();
        };
        let Some(map) = root.as_map() else {
            return Declared::default();
        };
        let keys = |node: Option<&Node>| -> Vec<String> {
            node.and_then(Node::as_map)
                .map(|m| m.keys().map(str::to_string).collect())
                .unwrap_or_default()
        };
        let jobs = map
            .get("jobs")
            .and_then(Node::as_map)
            .map(|jobs| {
                jobs.iter()
                    .map(|(name, job)| {
                        let params = job.as_map().and_then(|j| j.get("parameters"));
                        (name.to_string(), keys(params))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Declared {
            pipeline: keys(map.get("parameters")),
            jobs,
        }
    }

    /// Whether `name` is run as a definition (under `jobs:`, or an orb's `alias/job`) rather
    /// than looked up among the workflows' invocations.
    pub fn names_definition(&self, name: &str) -> bool {
        self.jobs.contains_key(name) || name.contains('/')
    }
}

/// `--param` values split between the pipeline and the job.
#[derive(Debug, Default)]
pub struct Params {
    /// Pipeline parameters.
    pub pipeline: IndexMap<String, Node>,
    /// Arguments of the job run from its definition.
    pub job: Map,
}

/// Splits `KEY=VALUE` pairs: keys declared as pipeline parameters go to the pipeline; when a
/// `job` is named, every other key (and a key its definition declares too) goes to the job;
/// with no job named every key goes to the pipeline, which refuses the ones it does not
/// declare.
pub fn route(declared: &Declared, job: Option<&str>, pairs: &[(&str, &str)]) -> Params {
    let mut params = Params::default();
    let job_declares = |key: &str| {
        job.and_then(|job| declared.jobs.get(job))
            .is_some_and(|names| names.iter().any(|n| n == key))
    };
    for &(key, value) in pairs {
        let is_pipeline = declared.pipeline.iter().any(|p| p == key);
        if is_pipeline || job.is_none() {
            params
                .pipeline
                .insert(key.to_string(), Node::str(Span::NONE, value));
        }
        if job.is_some() && (!is_pipeline || job_declares(key)) {
            params
                .job
                .insert(key, Span::NONE, Node::str(Span::NONE, value));
        }
    }
    params
}

/// The message for a name that is neither a job under `jobs:` nor a workflow's invocation.
pub fn unknown_job(name: &str, declared: &Declared, invoked: &[String]) -> String {
    let list = |names: Vec<&str>| {
        if names.is_empty() {
            "(none)".to_string()
        } else {
            names.join(", ")
        }
    };
    format!(
        "no job named `{name}`; jobs under `jobs:` (run with --param for their parameters): {}; \
         jobs as the workflows invoke them: {}",
        list(declared.jobs.keys().map(String::as_str).collect()),
        list(invoked.iter().map(String::as_str).collect()),
    )
}

/// Whether a diagnostic is about an argument of the job run, so the command line can say how
/// to give one.
pub fn is_job_argument_problem(d: &Diagnostic) -> bool {
    d.is_error()
        && (d.message.starts_with("missing required parameter")
            || (d.message.starts_with("parameter `") && d.message.contains(" of job `"))
            || d.message.contains("is not defined in job `"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
version: 2.1
parameters:
  deploy: {type: boolean, default: false}
  suite: {type: string, default: all}
jobs:
  test:
    parameters:
      suite: {type: string}
      count: {type: integer, default: 1}
    machine: true
    steps: [{run: echo}]
  build: {machine: true, steps: [{run: echo}]}
"#;

    #[test]
    fn reads_pipeline_parameters_and_jobs_with_their_parameters() {
        let d = Declared::read(CONFIG.as_bytes());
        assert_eq!(d.pipeline, ["deploy", "suite"]);
        assert_eq!(d.jobs["test"], ["suite", "count"]);
        assert!(d.jobs["build"].is_empty());
        assert!(d.names_definition("test"));
        assert!(d.names_definition("node/test"));
        assert!(!d.names_definition("unit"));
        assert!(Declared::read(b"[").jobs.is_empty());
    }

    #[test]
    fn params_go_to_the_pipeline_or_the_job_by_what_declares_them() {
        let d = Declared::read(CONFIG.as_bytes());
        let pairs = [("deploy", "true"), ("suite", "unit"), ("count", "3")];
        let p = route(&d, Some("test"), &pairs);
        assert_eq!(p.pipeline.keys().collect::<Vec<_>>(), ["deploy", "suite"]);
        assert_eq!(p.job.keys().collect::<Vec<_>>(), ["suite", "count"]);
        let p = route(&d, Some("build"), &pairs);
        assert_eq!(p.job.keys().collect::<Vec<_>>(), ["count"]);
        let p = route(&d, Some("unit"), &pairs);
        assert_eq!(p.pipeline.keys().collect::<Vec<_>>(), ["deploy", "suite"]);
        assert_eq!(p.job.keys().collect::<Vec<_>>(), ["count"]);
        let p = route(&d, None, &pairs);
        assert_eq!(p.pipeline.len(), 3);
        assert!(p.job.is_empty());
    }

    #[test]
    fn the_unknown_name_message_lists_both_kinds() {
        let d = Declared::read(CONFIG.as_bytes());
        let m = unknown_job("nope", &d, &["unit".to_string(), "lint".to_string()]);
        assert!(
            m.contains("jobs under `jobs:` (run with --param for their parameters): test, build"),
            "{m}"
        );
        assert!(
            m.contains("jobs as the workflows invoke them: unit, lint"),
            "{m}"
        );
        assert!(unknown_job("x", &Declared::default(), &[]).contains(": (none); "));
    }
}
