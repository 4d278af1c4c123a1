//! `POST /api/v2/pipeline/continue`: a setup workflow hands over the config to run, once,
//! before the key's deadline.

use circa_model::{Trigger, TriggerSource};
use circa_store::{NewWorkflow, Pipeline, PipelineId, PipelineState, Project};

use super::compile::{CompileInput, CompileOutcome, compile_and_plan};
use super::continuation::pipeline_of;
use super::trigger::start_workflows;
use super::{OrchestratorError, OrchestratorResult};
use crate::auth::{hash_token, same_hash};
use crate::state::{AppState, now_ms};

/// What a second continuation of a pipeline is told.
const ALREADY_CONTINUED: &str =
    "this pipeline was already continued; a pipeline can be continued only once";

/// Continues the pipeline a continuation key belongs to with `configuration`.
pub async fn continue_pipeline(
    state: &AppState,
    key: &str,
    configuration: String,
    parameters: serde_json::Map<String, serde_json::Value>,
) -> OrchestratorResult<Pipeline> {
    let pipeline = continuable_pipeline(state, key).await?;
    let project = state
        .store
        .project(&pipeline.project_id)
        .await?
        .ok_or_else(|| OrchestratorError::NotFound("project"))?;
    let input = continuation_input(state, &project, &pipeline, &configuration, parameters);
    let outcome = state
        .dispatch
        .compiles
        .run(move || compile_and_plan(input))
        .await?;
    let (compiled, workflows) = accepted_continuation(outcome)?;
    if !state
        .store
        .continue_pipeline(&pipeline.id, &configuration, &compiled, now_ms())
        .await?
    {
        return Err(OrchestratorError::Conflict(ALREADY_CONTINUED.into()));
    }
    let outcome = CompileOutcome::Planned {
        compiled,
        setup: false,
        workflows,
    };
    start_workflows(state, &project, pipeline, outcome).await
}

/// The pipeline `key` continues, when the key is its own and the pipeline waits for its
/// continuation, before the deadline. An unknown or wrong key, or a pipeline that never had
/// a setup workflow running, is forbidden; a second continuation or a late one conflicts.
async fn continuable_pipeline(state: &AppState, key: &str) -> OrchestratorResult<Pipeline> {
    let invalid = || OrchestratorError::Forbidden("the continuation key is not valid".into());
    let pipeline_id = pipeline_of(key).ok_or_else(invalid)?;
    let pipeline = state
        .store
        .pipeline(&PipelineId::from(pipeline_id))
        .await?
        .ok_or_else(invalid)?;
    // The key is derived from the server secret, so it can be checked even after the
    // continuation (when the store may no longer keep its hash): a second use is told so.
    let expected = super::continuation::key_for(&state.keys.secret, &pipeline.id);
    if !same_hash(&hash_token(&expected), &hash_token(key)) {
        return Err(invalid());
    }
    if pipeline.state == PipelineState::Created || pipeline.state == PipelineState::Errored {
        return Err(invalid());
    }
    if pipeline.state != PipelineState::SetupPending {
        return Err(OrchestratorError::Conflict(ALREADY_CONTINUED.into()));
    }
    if pipeline
        .continuation_deadline
        .is_some_and(|deadline| deadline < now_ms())
    {
        return Err(OrchestratorError::Conflict(
            "the continuation key has expired; a pipeline must be continued within its time limit"
                .into(),
        ));
    }
    Ok(pipeline)
}

/// The compile of a continuation config: the pipeline's values and trigger (as an API
/// trigger), its parameters overridden by those given with the continuation.
fn continuation_input(
    state: &AppState,
    project: &Project,
    pipeline: &Pipeline,
    configuration: &str,
    parameters: serde_json::Map<String, serde_json::Value>,
) -> CompileInput {
    let t = &pipeline.trigger;
    let mut all_parameters = t.parameters.clone();
    all_parameters.extend(parameters);
    CompileInput {
        source: configuration.to_string(),
        pipeline: super::trigger::values_for(project, pipeline),
        parameters: all_parameters,
        trigger: Trigger {
            branch: t.branch.clone(),
            tag: t.tag.clone(),
            revision: t.revision.clone(),
            parameters: Vec::new(),
            source: TriggerSource::Api,
            default_branch: Some(project.default_branch.clone()),
        },
        orbs: state.config.orbs.clone(),
    }
}

/// The processed config and workflows of a continuation; a config with errors (listed in the
/// answer), or one that is itself a setup config, is refused.
fn accepted_continuation(
    outcome: CompileOutcome,
) -> OrchestratorResult<(String, Vec<NewWorkflow>)> {
    match outcome {
        CompileOutcome::Errors(errors) => {
            let message = errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("\n");
            Err(OrchestratorError::BadRequest(format!(
                "the continuation config is not valid:\n{message}"
            )))
        }
        CompileOutcome::Planned { setup: true, .. } => Err(OrchestratorError::BadRequest(
            "a continuation config cannot itself be a setup config (`setup: true`)".into(),
        )),
        CompileOutcome::Planned {
            compiled,
            workflows,
            ..
        } => Ok((compiled, workflows)),
    }
}
