//! Who may use a context, and what a task receives.
//!
//! A context's restrictions are grouped by kind; every kind present must pass, and within a
//! kind one match is enough: `group` (the pipeline's actor is a member of one of the groups,
//! named by id or name), `expression` (the expression, in the config language CircleCI uses
//! for expression restrictions — `pipeline.git.branch == "main" and not (pipeline.git.tag
//! starts-with "v")` — is true over the pipeline's values; an expression that does not parse
//! or names an unknown value is false), and `project` (the pipeline's project is one of those
//! named). A context that does not exist is refused too. Refusals make the job
//! `unauthorized`.

use std::collections::BTreeMap;

use circa_config::expr;
use circa_config::pipeline::PipelineValues;
use circa_store::{
    Context, ContextRestriction, EnvOwner, EnvVar, GroupId, Pipeline, Project, Store,
};
use zeroize::Zeroizing;

use super::{SecretError, Vault};

/// The restriction kinds Circa knows.
pub const RESTRICTION_KINDS: [&str; 3] = ["project", "expression", "group"];

/// Whether an expression restriction holds over `values`; any error (a parse error, an
/// unknown name) counts as false.
pub fn expression_allows(expression: &str, values: &PipelineValues) -> bool {
    match expr::parse(expression) {
        Ok(parsed) => parsed
            .eval(&|name| values.get(name))
            .is_ok_and(|v| expr::is_truthy(&v)),
        Err(_) => false,
    }
}

/// Checks an expression for a new restriction: the parse error's message, if any.
pub fn check_expression(expression: &str) -> Result<(), String> {
    expr::parse(expression)
        .map(|_| ())
        .map_err(|e| format!("{e} (at character {})", e.offset))
}

/// What a job is checked against.
pub struct Subject<'a> {
    /// The pipeline's project.
    pub project: &'a Project,
    /// The pipeline (its actor, values and trigger).
    pub pipeline: &'a Pipeline,
    /// The pipeline's values.
    pub values: &'a PipelineValues,
}

/// The contexts a job names, in order, or why it may not use them (the message the job keeps).
pub async fn authorize(
    store: &dyn Store,
    subject: &Subject<'_>,
    names: &[String],
) -> Result<Result<Vec<Context>, String>, SecretError> {
    let mut contexts = Vec::new();
    let mut actor_groups: Option<Vec<(GroupId, String)>> = None;
    for name in names {
        let Some(context) = store.context_by_name(name).await? else {
            return Ok(Err(format!("context `{name}` does not exist")));
        };
        let restrictions = store.context_restrictions(&context.id).await?;
        if restrictions.iter().any(|r| r.kind == "group") && actor_groups.is_none() {
            actor_groups = Some(groups_of(store, &subject.pipeline.trigger.actor).await?);
        }
        let groups = actor_groups.as_deref().unwrap_or_default();
        if let Err(why) = passes(&restrictions, subject, groups) {
            return Ok(Err(format!("context `{name}` is restricted: {why}")));
        }
        contexts.push(context);
    }
    Ok(Ok(contexts))
}

/// The (id, name) of the groups the user with `login` belongs to; none for an unknown user.
async fn groups_of(store: &dyn Store, login: &str) -> Result<Vec<(GroupId, String)>, SecretError> {
    let Some(user) = store.user_by_login(login).await? else {
        return Ok(Vec::new());
    };
    Ok(store
        .groups_of_user(&user.id)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect())
}

/// Whether every kind of restriction present is met by one of its restrictions.
fn passes(
    restrictions: &[ContextRestriction],
    subject: &Subject<'_>,
    groups: &[(GroupId, String)],
) -> Result<(), String> {
    for kind in RESTRICTION_KINDS {
        let of_kind: Vec<&ContextRestriction> =
            restrictions.iter().filter(|r| r.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let met = of_kind.iter().any(|r| match kind {
            "group" => groups
                .iter()
                .any(|(id, name)| *id == r.value || *name == r.value),
            "expression" => expression_allows(&r.value, subject.values),
            _ => r.value == subject.project.id,
        });
        if !met {
            return Err(match kind {
                "group" => format!(
                    "`{}` is not in a group allowed to use it",
                    subject.pipeline.trigger.actor
                ),
                "expression" => "its expression restriction is false for this pipeline".into(),
                _ => "this project may not use it".into(),
            });
        }
    }
    Ok(())
}

/// The variables a task receives and the values its runner must mask.
#[derive(Default)]
pub struct Delivery {
    /// Project variables.
    pub project_env: BTreeMap<String, String>,
    /// Context variables, later contexts over earlier ones.
    pub context_env: BTreeMap<String, String>,
    /// Every value delivered.
    pub secrets: Vec<String>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("project_env", &self.project_env.keys().collect::<Vec<_>>())
            .field("context_env", &self.context_env.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Opens the project's variables (`project_vars`, as the store keeps them, sealed) and those of
/// `contexts`, unless the pipeline builds a pull request from a fork and the project does not
/// give forks secrets (then nothing).
pub async fn deliver(
    store: &dyn Store,
    vault: &Vault,
    (project, project_vars): (&Project, Vec<EnvVar>),
    pipeline: &Pipeline,
    contexts: &[Context],
) -> Result<Delivery, SecretError> {
    let mut delivery = Delivery::default();
    if pipeline.trigger.from_fork && !project.settings.forks_receive_secret_env_vars {
        return Ok(delivery);
    }
    let owner = EnvOwner::Project(project.id.clone());
    for var in project_vars {
        let value: Zeroizing<String> = vault.open_value(&owner, &var.name, &var.value)?;
        delivery.secrets.push(value.to_string());
        delivery.project_env.insert(var.name, value.to_string());
    }
    for context in contexts {
        let owner = EnvOwner::Context(context.id.clone());
        for var in store.env_vars(&owner).await? {
            let value = vault.open_value(&owner, &var.name, &var.value)?;
            delivery.secrets.push(value.to_string());
            delivery.context_env.insert(var.name, value.to_string());
        }
    }
    delivery.secrets.sort();
    delivery.secrets.dedup();
    Ok(delivery)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values(branch: &str) -> PipelineValues {
        let mut pv = PipelineValues::new();
        pv.set("git.branch", branch);
        pv.set("trigger_source", "api");
        pv
    }

    #[test]
    fn expressions_follow_circleci_syntax() {
        let main = values("main");
        let feature = values("feature/x");
        for (text, on_main, on_feature) in [
            ("pipeline.git.branch == \"main\"", true, false),
            ("pipeline.git.branch != \"main\"", false, true),
            ("pipeline.git.branch starts-with \"feature/\"", false, true),
            (
                "pipeline.git.branch == \"main\" or pipeline.git.branch starts-with \"feat\"",
                true,
                true,
            ),
            (
                "not (pipeline.git.branch == \"main\") and pipeline.trigger_source == \"api\"",
                false,
                true,
            ),
            ("pipeline.git.branch matches /ma.n/", true, false),
            // Unknown values and broken expressions never allow.
            ("pipeline.git.tag == \"v1\"", false, false),
            ("pipeline.git.branch ==", false, false),
            ("", false, false),
        ] {
            assert_eq!(expression_allows(text, &main), on_main, "{text} on main");
            assert_eq!(
                expression_allows(text, &feature),
                on_feature,
                "{text} on feature"
            );
        }
        assert!(check_expression("pipeline.git.branch == \"main\"").is_ok());
        assert!(check_expression("pipeline.git.branch == (").is_err());
    }

    proptest! {
        #[test]
        fn any_text_evaluates_without_panicking(text in ".{0,200}") {
            let _ = expression_allows(&text, &values("main"));
            let _ = check_expression(&text);
        }

        #[test]
        fn expression_shaped_text_evaluates_without_panicking(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("pipeline.git.branch"), Just("=="), Just("!="), Just("and"),
                    Just("or"), Just("not"), Just("("), Just(")"), Just("starts-with"),
                    Just("\"main\""), Just("true"), Just("matches"), Just("/x/"),
                ],
                0..40,
            )
        ) {
            let text = parts.join(" ");
            let _ = expression_allows(&text, &values("main"));
        }
    }
}
