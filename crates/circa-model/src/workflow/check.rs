//! Checks across the jobs of one workflow: unique names, `requires` naming jobs of the same
//! workflow, and no requires cycles.

use super::Workflow;
use circa_config::Diagnostics;
use std::collections::HashMap;

/// Records every cross-job problem of `workflow`.
pub(super) fn check_workflow(workflow: &Workflow, diags: &mut Diagnostics) {
    let index = check_unique_names(workflow, diags);
    check_requires_exist(workflow, &index, diags);
    for cycle in requires_cycles(workflow, &index) {
        let Some(&first) = cycle.first() else {
            continue;
        };
        let names: Vec<&str> = cycle
            .iter()
            .chain(std::iter::once(&first))
            .map(|&i| workflow.jobs[i].name.as_str())
            .collect();
        diags.error(
            workflow.jobs[first].span,
            format!(
                "job `{}` is part of a requires cycle: {} (in workflow `{}`)",
                names[0],
                names.join(" -> "),
                workflow.name
            ),
        );
    }
}

/// Maps each job name to the first job carrying it; reports the later ones.
fn check_unique_names<'a>(
    workflow: &'a Workflow,
    diags: &mut Diagnostics,
) -> HashMap<&'a str, usize> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, job) in workflow.jobs.iter().enumerate() {
        match index.get(job.name.as_str()) {
            Some(&first) => diags.error(
                job.span,
                format!(
                    "workflow `{}` has two jobs named `{}` (the first at line {}); give one a different `name:`",
                    workflow.name, job.name, workflow.jobs[first].span.line
                ),
            ),
            None => {
                index.insert(job.name.as_str(), i);
            }
        }
    }
    index
}

fn check_requires_exist(
    workflow: &Workflow,
    index: &HashMap<&str, usize>,
    diags: &mut Diagnostics,
) {
    for job in &workflow.jobs {
        for requirement in &job.requires {
            if !index.contains_key(requirement.name.as_str()) {
                diags.error(
                    requirement.span,
                    format!(
                        "job `{}` requires `{}`, but cannot find a declaration for job invocation `{}` in workflow `{}`",
                        job.name, requirement.name, requirement.name, workflow.name
                    ),
                );
            }
        }
    }
}

/// Every cycle of the requires graph, each as the job indices along it (`a` requires `b`
/// requires ... requires `a`).
pub(crate) fn requires_cycles(
    workflow: &Workflow,
    index: &HashMap<&str, usize>,
) -> Vec<Vec<usize>> {
    let edges: Vec<Vec<usize>> = workflow
        .jobs
        .iter()
        .map(|job| {
            job.requires
                .iter()
                .filter_map(|r| index.get(r.name.as_str()).copied())
                .collect()
        })
        .collect();
    circa_config::graph::cycles(&edges)
}
