//! Reading `workflows:` of the processed config tree into typed workflows.

use super::check::check_workflow;
use super::{Filters, Requirement, ScheduleTrigger, Workflow, WorkflowJob};
use crate::pattern::{Pattern, PatternFilter};
use crate::status::JobStatus;
use circa_config::yaml::Node;
use circa_config::yaml::{Map, Value};
use circa_config::{Diagnostic, Diagnostics, Span};

/// Reads every workflow of a processed config, with all problems found on the way.
///
/// A workflow that cannot be read at all (not a map, no `jobs`) is left out of the result; a
/// job entry that cannot be read is left out of its workflow. Each problem is a diagnostic at
/// the position it is about.
pub fn read_workflows(processed: &Node) -> (Vec<Workflow>, Vec<Diagnostic>) {
    let mut diags = Diagnostics::new();
    let mut workflows = Vec::new();
    let Some(root) = processed.as_map() else {
        diags.error(
            processed.span,
            format!("the config must be a map, found {}", processed.kind_name()),
        );
        return (workflows, diags.into_vec());
    };
    let Some(section) = root.get("workflows") else {
        return (workflows, diags.into_vec());
    };
    let Some(section) = section.as_map() else {
        diags.error(
            section.span,
            format!(
                "`workflows` must be a map of workflow names to workflows, found {}",
                section.kind_name()
            ),
        );
        return (workflows, diags.into_vec());
    };
    for (name, entry) in section.entries() {
        if name == "version" {
            continue;
        }
        if let Some(workflow) = read_workflow(name, entry.key_span, &entry.value, &mut diags) {
            check_workflow(&workflow, &mut diags);
            workflows.push(workflow);
        }
    }
    (workflows, diags.into_vec())
}

fn read_workflow(name: &str, span: Span, node: &Node, diags: &mut Diagnostics) -> Option<Workflow> {
    let Some(map) = node.as_map() else {
        diags.error(
            node.span,
            format!(
                "workflow `{name}` must be a map, found {}",
                node.kind_name()
            ),
        );
        return None;
    };
    let triggers = map
        .get("triggers")
        .map(|t| read_triggers(name, t, diags))
        .unwrap_or_default();
    let max_auto_reruns = map
        .get("max_auto_reruns")
        .and_then(|n| read_max_auto_reruns(name, n, diags));
    // A workflow without jobs runs nothing; CircleCI runs the rest of the config (the config
    // check warns about it).
    let jobs_node = map.get("jobs")?;
    let Some(items) = jobs_node.as_seq() else {
        diags.error(
            jobs_node.span,
            format!(
                "`jobs` of workflow `{name}` must be a list, found {}",
                jobs_node.kind_name()
            ),
        );
        return None;
    };
    if items.is_empty() {
        return None;
    }
    let jobs = items
        .iter()
        .filter_map(|item| read_job(name, item, diags))
        .collect();
    Some(Workflow {
        name: name.to_string(),
        span,
        when: map.get("when").cloned(),
        unless: map.get("unless").cloned(),
        triggers,
        max_auto_reruns,
        jobs,
    })
}

fn read_max_auto_reruns(workflow: &str, node: &Node, diags: &mut Diagnostics) -> Option<u8> {
    match node.as_int() {
        Some(n @ 1..=5) => u8::try_from(n).ok(),
        _ => {
            diags.error(
                node.span,
                format!(
                    "`max_auto_reruns` of workflow `{workflow}` must be an integer from 1 to 5, found {}",
                    describe(node)
                ),
            );
            None
        }
    }
}

fn read_triggers(workflow: &str, node: &Node, diags: &mut Diagnostics) -> Vec<ScheduleTrigger> {
    let Some(items) = node.as_seq() else {
        diags.error(
            node.span,
            format!(
                "`triggers` of workflow `{workflow}` must be a list, found {}",
                node.kind_name()
            ),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| read_trigger(workflow, item, diags))
        .collect()
}

fn read_trigger(workflow: &str, node: &Node, diags: &mut Diagnostics) -> Option<ScheduleTrigger> {
    let Some(schedule) = node.as_map().and_then(|m| m.get("schedule")) else {
        diags.error(
            node.span,
            format!("a trigger of workflow `{workflow}` must be a map with a `schedule` key"),
        );
        return None;
    };
    let Some(schedule_map) = schedule.as_map() else {
        diags.error(
            schedule.span,
            "`schedule` must be a map with `cron` and `filters`",
        );
        return None;
    };
    let Some(cron) = schedule_map.get("cron").and_then(scalar_string) else {
        diags.error(schedule.span, "a schedule needs a `cron` string");
        return None;
    };
    let branches = schedule_map
        .get("filters")
        .and_then(Node::as_map)
        .and_then(|f| f.get("branches"));
    let Some(branches) = branches else {
        diags.error(
            schedule.span,
            "a schedule needs `filters: {branches: ...}` naming the branches it builds",
        );
        return None;
    };
    let branches = read_pattern_filter("branches", branches, diags)?;
    Some(ScheduleTrigger { cron, branches })
}

fn read_job(workflow: &str, item: &Node, diags: &mut Diagnostics) -> Option<WorkflowJob> {
    if let Some(key) = scalar_string(item) {
        return Some(plain_job(key, item.span));
    }
    let Some(map) = item.as_map() else {
        diags.error(
            item.span,
            format!(
                "a job of workflow `{workflow}` must be a job name or a map with one job, found {}",
                item.kind_name()
            ),
        );
        return None;
    };
    let mut entries = map.entries();
    let (Some((key, entry)), None) = (entries.next(), entries.next()) else {
        let keys: Vec<String> = map.keys().map(|k| format!("`{k}`")).collect();
        let hint = match keys.get(1) {
            Some(second) => format!("; is {second} meant to be indented under the job?"),
            None => String::new(),
        };
        diags.error(
            item.span,
            format!(
                "a job entry must be a map with one key (the job), found {} keys: {}{hint}",
                keys.len(),
                keys.join(", ")
            ),
        );
        return None;
    };
    let mut job = plain_job(key.to_string(), entry.key_span);
    match &entry.value.value {
        Value::Null => {}
        Value::Map(options) => read_job_options(&mut job, options, diags),
        _ => diags.error(
            entry.value.span,
            format!(
                "the options of job `{key}` must be a map, found {}",
                entry.value.kind_name()
            ),
        ),
    }
    Some(job)
}

fn plain_job(key: String, span: Span) -> WorkflowJob {
    WorkflowJob {
        name: key.clone(),
        job_key: key,
        span,
        requires: Vec::new(),
        filters: Filters::None,
        contexts: Vec::new(),
        approval: false,
        serial_group: None,
        matrix_alias: None,
    }
}

fn read_job_options(job: &mut WorkflowJob, options: &Map, diags: &mut Diagnostics) {
    if let Some(name) = options.get("name") {
        match scalar_string(name) {
            Some(name) => job.name = name,
            None => diags.error(
                name.span,
                format!("`name` of job `{}` must be a string", job.job_key),
            ),
        }
    }
    if let Some(requires) = options.get("requires") {
        job.requires = read_requires(&job.name, requires, diags);
    }
    if let Some(filters) = options.get("filters") {
        job.filters = read_filters(filters, diags);
    }
    if let Some(context) = options.get("context") {
        job.contexts = read_string_list("context", context, diags);
    }
    if let Some(kind) = options.get("type") {
        match kind.as_str() {
            Some("approval") => job.approval = true,
            _ => diags.warning(
                kind.span,
                format!(
                    "job type {} is not supported; `{}` runs as a normal job",
                    describe(kind),
                    job.name
                ),
            ),
        }
    }
    job.serial_group = read_optional_string("serial-group", options, diags);
    job.matrix_alias = read_optional_string("matrix-alias", options, diags);
}

fn read_optional_string(key: &str, options: &Map, diags: &mut Diagnostics) -> Option<String> {
    let node = options.get(key)?;
    let text = scalar_string(node);
    if text.is_none() {
        diags.error(
            node.span,
            format!("`{key}` must be a string, found {}", node.kind_name()),
        );
    }
    text
}

fn read_requires(job: &str, node: &Node, diags: &mut Diagnostics) -> Vec<Requirement> {
    let items = match &node.value {
        Value::Null => &[],
        Value::Seq(items) => items.as_slice(),
        _ => std::slice::from_ref(node),
    };
    let mut requires = Vec::new();
    for item in items {
        if let Some(name) = scalar_string(item) {
            requires.push(Requirement {
                name,
                statuses: vec![JobStatus::Success],
                span: item.span,
            });
        } else if let Some(map) = item.as_map() {
            for (name, entry) in map.entries() {
                if let Some(statuses) = read_required_statuses(name, &entry.value, diags) {
                    requires.push(Requirement {
                        name: name.to_string(),
                        statuses,
                        span: entry.key_span,
                    });
                }
            }
        } else {
            diags.error(
                item.span,
                format!(
                    "`requires` of job `{job}` must list job names or `name: status` maps, found {}",
                    item.kind_name()
                ),
            );
        }
    }
    requires
}

fn read_required_statuses(
    required: &str,
    node: &Node,
    diags: &mut Diagnostics,
) -> Option<Vec<JobStatus>> {
    let items = match &node.value {
        Value::Seq(items) => items.as_slice(),
        _ => std::slice::from_ref(node),
    };
    if items.is_empty() {
        diags.error(
            node.span,
            format!("the statuses required of `{required}` must not be empty"),
        );
        return None;
    }
    let mut statuses = Vec::new();
    let mut ok = true;
    for item in items {
        match item.as_str().map(required_status) {
            Some(Some(found)) => {
                for status in found {
                    if !statuses.contains(&status) {
                        statuses.push(status);
                    }
                }
            }
            _ => {
                ok = false;
                diags.error(
                    item.span,
                    format!(
                        "unknown status {} required of `{required}`; expected success, failed, canceled, unauthorized, not_run or terminal",
                        describe(item)
                    ),
                );
            }
        }
    }
    ok.then_some(statuses)
}

/// The statuses a `requires:` status word stands for.
fn required_status(word: &str) -> Option<Vec<JobStatus>> {
    if word == "terminal" {
        return Some(Requirement::TERMINAL.to_vec());
    }
    let status: JobStatus = word.parse().ok()?;
    Requirement::ALLOWED.contains(&status).then(|| vec![status])
}

fn read_filters(node: &Node, diags: &mut Diagnostics) -> Filters {
    if let Some(expression) = node.as_str() {
        return Filters::Expression(expression.to_string());
    }
    if node.is_null() {
        return Filters::None;
    }
    let Some(map) = node.as_map() else {
        diags.error(
            node.span,
            format!(
                "`filters` must be a map (`branches`, `tags`) or an expression string, found {}",
                node.kind_name()
            ),
        );
        return Filters::None;
    };
    let mut branches = None;
    let mut tags = None;
    let mut pull_requests = None;
    for (key, entry) in map.entries() {
        match key {
            "branches" => branches = read_pattern_filter(key, &entry.value, diags),
            "tags" => tags = read_pattern_filter(key, &entry.value, diags),
            "pull_requests" => pull_requests = read_pattern_filter(key, &entry.value, diags),
            _ => diags.error(
                entry.key_span,
                format!("unknown filter `{key}`; expected `branches`, `tags` or `pull_requests`"),
            ),
        }
    }
    Filters::Map {
        branches,
        tags,
        pull_requests,
    }
}

fn read_pattern_filter(what: &str, node: &Node, diags: &mut Diagnostics) -> Option<PatternFilter> {
    if node.is_null() {
        return Some(PatternFilter::default());
    }
    let Some(map) = node.as_map() else {
        diags.error(
            node.span,
            format!(
                "`{what}` filter must be a map with `only` and/or `ignore`, found {}",
                node.kind_name()
            ),
        );
        return None;
    };
    let mut filter = PatternFilter::default();
    for (key, entry) in map.entries() {
        let target = match key {
            "only" => &mut filter.only,
            "ignore" => &mut filter.ignore,
            _ => {
                diags.error(
                    entry.key_span,
                    format!("unknown key `{key}` in `{what}` filter; expected `only` or `ignore`"),
                );
                continue;
            }
        };
        *target = read_patterns(&entry.value, diags);
    }
    Some(filter)
}

fn read_patterns(node: &Node, diags: &mut Diagnostics) -> Vec<Pattern> {
    let items = match &node.value {
        Value::Seq(items) => items.as_slice(),
        _ => std::slice::from_ref(node),
    };
    let mut patterns = Vec::new();
    for item in items {
        let Some(text) = scalar_string(item) else {
            diags.error(
                item.span,
                format!(
                    "a filter pattern must be a name or a /regex/, found {}",
                    item.kind_name()
                ),
            );
            continue;
        };
        match Pattern::parse(&text) {
            Ok(pattern) => patterns.push(pattern),
            Err(e) => diags.error(item.span, e.to_string()),
        }
    }
    patterns
}

fn read_string_list(key: &str, node: &Node, diags: &mut Diagnostics) -> Vec<String> {
    let items = match &node.value {
        Value::Null => &[],
        Value::Seq(items) => items.as_slice(),
        _ => std::slice::from_ref(node),
    };
    let mut list = Vec::new();
    for item in items {
        match scalar_string(item) {
            Some(text) => list.push(text),
            None => diags.error(
                item.span,
                format!(
                    "`{key}` must be a string or a list of strings, found {}",
                    item.kind_name()
                ),
            ),
        }
    }
    list
}

/// The text of a non-null scalar (numbers and booleans as written in YAML).
fn scalar_string(node: &Node) -> Option<String> {
    match &node.value {
        Value::Null | Value::Seq(_) | Value::Map(_) => None,
        other => other.scalar_text(),
    }
}

/// A node for a message: scalars quoted, others by kind.
fn describe(node: &Node) -> String {
    match scalar_string(node) {
        Some(text) => format!("`{text}`"),
        None => node.kind_name().to_string(),
    }
}
