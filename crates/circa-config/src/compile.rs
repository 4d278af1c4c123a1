//! The whole config engine in one call: bytes in, processed config and diagnostics out.

use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::expand::orb_loader::OrbCache;
use crate::expand::scope::Scope;
use crate::expand::{ExpandLimits, Expander};
use crate::orbs::{NoOrbs, OrbSource};
use crate::pipeline::{self, PipelineValues};
use crate::yaml::{self, Limits, Map, Node, Value};
use indexmap::IndexMap;

/// What a config is processed with.
pub struct CompileOptions<'a> {
    /// Where `ns/orb@version` references are found.
    pub orbs: &'a dyn OrbSource,
    /// `pipeline.*` values of the pipeline being processed.
    pub pipeline: PipelineValues,
    /// Pipeline parameters given for the pipeline (by the API, a trigger, or the command line).
    pub parameters: IndexMap<String, Node>,
    /// Limits on the source text.
    pub limits: Limits,
    /// Limits on the processed config.
    pub expand_limits: ExpandLimits,
    /// Orbs loaded by earlier compiles, reused by this one.
    pub orb_cache: Option<&'a OrbCache>,
}

impl<'a> CompileOptions<'a> {
    /// Default limits, no pipeline values, no parameters, orbs from `orbs`.
    pub fn new(orbs: &'a dyn OrbSource) -> Self {
        CompileOptions {
            orbs,
            pipeline: PipelineValues::new(),
            parameters: IndexMap::new(),
            limits: Limits::default(),
            expand_limits: ExpandLimits::default(),
            orb_cache: None,
        }
    }
}

impl Default for CompileOptions<'static> {
    fn default() -> Self {
        CompileOptions::new(&NoOrbs)
    }
}

/// The result of processing a config.
#[derive(Debug)]
pub struct Compiled {
    /// The config as written (aliases and merge keys resolved), when it could be read.
    pub source: Option<Node>,
    /// The processed config, when there were no errors.
    pub processed: Option<Node>,
    /// Every error and warning, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Workflows left out of the processed config by their `when`/`unless`: (name, why).
    pub skipped_workflows: Vec<(String, String)>,
    /// The pipeline values the config was processed with, pipeline parameters included (what
    /// planning evaluates filters over).
    pub pipeline: PipelineValues,
    /// Bytes expansion built, as counted against [`ExpandLimits::max_built_bytes`].
    pub built_bytes: usize,
}

impl Compiled {
    /// Whether the config has no errors.
    pub fn is_valid(&self) -> bool {
        self.diagnostics.iter().all(|d| !d.is_error())
    }

    /// The processed config as YAML, as `circleci config process` prints it.
    pub fn processed_yaml(&self) -> Option<String> {
        self.processed.as_ref().map(yaml::to_yaml)
    }
}

/// What a compile expands.
#[derive(Clone, Copy)]
enum Target<'t> {
    /// The config's workflows and the jobs they invoke.
    Workflows,
    /// One job on its own, bound to `args`.
    Job {
        /// Its name under `jobs:` (or `alias/name` for an orb's job).
        name: &'t str,
        /// Its parameters' arguments.
        args: &'t Map,
    },
}

/// Reads, checks and processes a config.
pub fn compile(bytes: &[u8], options: &CompileOptions<'_>) -> Compiled {
    compile_target(bytes, options, Target::Workflows)
}

/// Reads and checks a config like [`compile`], then processes the one job `name` (under
/// `jobs:`, or an orb's `alias/name`) as a workflow invoking it by its own name with `args`
/// would: its parameters bound with their types and defaults (a missing required one is an
/// error at the job's definition, an unknown argument an error without a position). The
/// processed config holds that job alone and no workflows.
pub fn compile_job(bytes: &[u8], options: &CompileOptions<'_>, name: &str, args: &Map) -> Compiled {
    compile_target(bytes, options, Target::Job { name, args })
}

fn compile_target(bytes: &[u8], options: &CompileOptions<'_>, target: Target<'_>) -> Compiled {
    let mut diags = Diagnostics::new();
    let budget = options.expand_limits.budget();
    let failed = |diags: Diagnostics, source: Option<Node>| Compiled {
        source,
        processed: None,
        diagnostics: diags.into_vec(),
        skipped_workflows: Vec::new(),
        pipeline: options.pipeline.clone(),
        built_bytes: budget.used(),
    };
    let text = match yaml::decode(bytes, &options.limits) {
        Ok(t) => t,
        Err(d) => {
            diags.push(d);
            return failed(diags, None);
        }
    };
    let loaded = yaml::load(text, &options.limits);
    diags.extend(loaded.diagnostics);
    let Some(mut root) = loaded.root else {
        return failed(diags, None);
    };
    crate::schema::rewrite_legacy_steps(&mut root, &mut diags);
    let Some(map) = root.as_map() else {
        diags.error(
            root.span,
            format!(
                "a config must be a map with `version`, `jobs` and `workflows`, not {}",
                root.kind_name()
            ),
        );
        return failed(diags, Some(root));
    };
    crate::schema::check_config(&root, &mut diags);
    if diags.has_errors() {
        return failed(diags, Some(root));
    }

    let mut pipeline = options.pipeline.clone();
    let mut ds = Vec::new();
    pipeline::apply_parameters(
        map.get("parameters"),
        &options.parameters,
        &mut pipeline,
        &mut ds,
    );
    diags.extend(ds);

    let mut scope = Scope::from_map(map, None, String::new());
    let mut ds = Vec::new();
    crate::expand::orb_loader::load_orbs(
        map.get("orbs"),
        &mut scope,
        options,
        &pipeline,
        0,
        &mut ds,
    );
    diags.extend(ds);

    let version_2_0 = map
        .get("version")
        .and_then(Node::scalar_text)
        .is_some_and(|v| v == "2" || v == "2.0");
    let mut expander = Expander::new(&scope, &pipeline, &options.expand_limits, &budget)
        .with_literal_strings(version_2_0);
    let processed_workflows = match target {
        Target::Workflows => {
            let workflows = effective_workflows(map, &mut diags);
            expander.expand_workflows(&workflows, map.get("job-groups").and_then(Node::as_map))
        }
        Target::Job { name, args } => {
            let at = map
                .get("jobs")
                .and_then(Node::as_map)
                .and_then(|jobs| jobs.entry(name))
                .map_or(Span::NONE, |entry| entry.key_span);
            expander.expand_lone_job(name, args.clone(), at);
            let mut none = Map::new();
            none.insert("version", Span::NONE, Node::new(Span::NONE, Value::Int(2)));
            none
        }
    };
    let (jobs, skipped_workflows, ds) = expander.finish();
    diags.extend(ds);
    if diags.has_errors() {
        return failed(diags, Some(root));
    }

    let mut out = Map::new();
    out.insert("version", Span::NONE, Node::new(Span::NONE, Value::Int(2)));
    if let Some(setup) = map
        .get("setup")
        .filter(|s| s.as_bool_lenient() == Some(true))
    {
        out.insert(
            "setup",
            setup.span,
            Node::new(setup.span, Value::Bool(true)),
        );
    }
    out.insert("jobs", Span::NONE, Node::map(Span::NONE, jobs));
    out.insert(
        "workflows",
        Span::NONE,
        Node::map(Span::NONE, processed_workflows),
    );
    Compiled {
        source: Some(root),
        processed: Some(Node::map(Span::NONE, out)),
        diagnostics: diags.into_vec(),
        skipped_workflows,
        pipeline,
        built_bytes: budget.used(),
    }
}

/// The config's workflows; a config without any runs its `build` job in a workflow named
/// `workflow`, as CircleCI does for 2.0 configs.
fn effective_workflows(map: &Map, diags: &mut Diagnostics) -> Map {
    if let Some(w) = map.get("workflows").and_then(Node::as_map) {
        return w.clone();
    }
    let mut workflows = Map::new();
    let has_build = map
        .get("jobs")
        .and_then(Node::as_map)
        .is_some_and(|j| j.contains_key("build"));
    if has_build {
        let mut wf = Map::new();
        wf.insert(
            "jobs",
            Span::NONE,
            Node::seq(Span::NONE, vec![Node::str(Span::NONE, "build")]),
        );
        workflows.insert("workflow", Span::NONE, Node::map(Span::NONE, wf));
    } else {
        diags.warning(
            Span::new(1, 1),
            "the config has no `workflows` and no job named `build`: nothing will run",
        );
    }
    workflows
}

/// The messages of the errors compiling `text` gives, for tests across the crate.
#[cfg(test)]
pub(crate) fn error_messages(text: &str) -> Vec<String> {
    compile(text.as_bytes(), &CompileOptions::default())
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .map(|d| d.message)
        .collect()
}
