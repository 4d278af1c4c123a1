//! The config engine end to end: compile a config, then read and check its workflows (requires,
//! cycles), and plan them for a trigger.

use crate::{ConfigEval, Plan, PlannedWorkflow, Trigger, Workflow, plan, read_workflows};
use circa_config::pipeline::PipelineValues;
use circa_config::{CompileOptions, Compiled, Diagnostic, Diagnostics, compile};

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

    /// The plan of this config for `trigger`, with filter expressions evaluated over the values
    /// the config was processed with; the workflows that processing left out by their
    /// `when`/`unless` are listed with why.
    pub fn plan(&self, trigger: &Trigger) -> Plan {
        let pipeline = &self.compiled.pipeline;
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
    let mut diagnostics = Diagnostics::new();
    diagnostics.extend(compiled.diagnostics.iter().cloned());
    let mut workflows = Vec::new();
    if let Some(processed) = &compiled.processed {
        let (read, ds) = read_workflows(processed);
        workflows = read;
        diagnostics.extend(ds);
    }
    Processed {
        compiled,
        workflows,
        diagnostics: diagnostics.into_vec(),
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
