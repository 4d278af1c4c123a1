//! Whether one job's `filters:` let it run for a trigger.

use crate::pattern::{FilterVerdict, PatternFilter, describe_patterns};
use crate::trigger::{ExpressionEval, Trigger};
use crate::workflow::{Filters, WorkflowJob};

/// `Ok` when the job's filters admit the trigger; the error is the reason they do not.
pub(super) fn admit_job(
    job: &WorkflowJob,
    trigger: &Trigger,
    eval: &dyn ExpressionEval,
) -> Result<(), String> {
    if let Filters::Expression(expression) = &job.filters {
        return match eval.eval_expression(expression) {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("filtered: `{expression}` is false")),
            Err(e) => Err(format!(
                "filters: `{expression}` could not be evaluated: {e}"
            )),
        };
    }
    let (branches, tags) = match &job.filters {
        Filters::Map { branches, tags, .. } => (branches.as_ref(), tags.as_ref()),
        Filters::None | Filters::Expression(_) => (None, None),
    };
    if let Some(tag) = &trigger.tag {
        return match tags {
            Some(filter) if !filter.is_empty() => judge("tag", tag, filter),
            Some(_) => Err(format!(
                "filtered: tag `{tag}`: the job's tag filter has neither `only` nor `ignore`"
            )),
            None => Err(format!(
                "filtered: tag `{tag}` is built only by jobs with a tag filter"
            )),
        };
    }
    let Some(filter) = branches else {
        return Ok(());
    };
    match trigger.effective_branch() {
        Some(branch) => judge("branch", branch, filter),
        None if filter.only.is_empty() => Ok(()),
        None => Err(format!(
            "filtered: no branch to match against {}",
            describe_patterns(&filter.only)
        )),
    }
}

fn judge(what: &str, name: &str, filter: &PatternFilter) -> Result<(), String> {
    match filter.judge(name) {
        FilterVerdict::Admitted => Ok(()),
        FilterVerdict::NotInOnly(only) => Err(format!(
            "filtered: {what} `{name}` does not match {}",
            describe_patterns(only)
        )),
        FilterVerdict::Ignored(pattern) => {
            Err(format!("filtered: {what} `{name}` is ignored by {pattern}"))
        }
    }
}
