//! The config engine end to end: compile a config, then read and check its workflows (requires,
//! cycles), and plan them for a trigger.

use circa_config::pipeline::PipelineValues;
use circa_config::{CompileOptions, Compiled, Diagnostic, compile};
use circa_model::{ConfigEval, Plan, PlannedWorkflow, Trigger, Workflow, plan, read_workflows};

/// A processed config with its workflows and every diagnostic of both stages.
#[derive(Debug)]
pub struct Processed {
    /// The config engine's result.
    pub compiled: Compiled,
    /// The workflows, typed (empty when the config has errors).
    pub workflows: Vec<Workflow>,
    /// All diagnostics, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Processed {
    /// Whether nothing refused the config.
    pub fn is_valid(&self) -> bool {
        self.diagnostics.iter().all(|d| !d.is_error())
    }

    /// The plan of this config for `trigger`, with conditions evaluated over `pipeline`; the
    /// workflows that processing left out by their `when`/`unless` are listed with why.
    pub fn plan(&self, trigger: &Trigger, pipeline: &PipelineValues) -> Plan {
        let mut planned = plan(&self.workflows, trigger, &ConfigEval { pipeline });
        for (name, reason) in &self.compiled.skipped_workflows {
            planned.workflows.push(PlannedWorkflow {
                name: name.clone(),
                runs: false,
                reason: Some(reason.clone()),
                jobs: Vec::new(),
                skipped: Vec::new(),
            });
        }
        planned
    }
}

/// Compiles `bytes` and checks its workflows.
pub fn process(bytes: &[u8], options: &CompileOptions<'_>) -> Processed {
    let compiled = compile(bytes, options);
    let mut diagnostics = compiled.diagnostics.clone();
    let mut workflows = Vec::new();
    if let Some(processed) = &compiled.processed {
        let (read, ds) = read_workflows(processed);
        workflows = read;
        diagnostics.extend(ds);
    }
    diagnostics.sort_by(|a, b| {
        (a.origin.is_some(), a.span, a.severity).cmp(&(b.origin.is_some(), b.span, b.severity))
    });
    diagnostics.dedup();
    Processed {
        compiled,
        workflows,
        diagnostics,
    }
}

/// Pipeline values for processing a config outside a server (the command line, tests): a
/// pipeline number, project type and revision as CircleCI's own CLI supplies them, on `branch`
/// or `tag`.
pub fn local_pipeline_values(branch: Option<&str>, tag: Option<&str>) -> PipelineValues {
    let mut pv = PipelineValues::new();
    pv.set("id", "00000000-0000-0000-0000-000000000001");
    pv.set("number", 1_i64);
    pv.set("project.type", "github");
    pv.set("git.revision", "0000000000000000000000000000000000000000");
    pv.set(
        "git.base_revision",
        "0000000000000000000000000000000000000000",
    );
    pv.set("trigger_source", "api");
    pv.set("trigger.type", "api");
    if let Some(t) = tag {
        pv.set("git.tag", t);
    } else {
        pv.set("git.branch", branch.unwrap_or("main"));
    }
    pv
}
