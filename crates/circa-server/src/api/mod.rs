//! The client API: CircleCI's API v2 routes that Circa serves, and Circa's own under
//! `/api/circa` (projects, tokens, logs, live streams).

pub(crate) mod checkout_keys;
mod compile;
pub(crate) mod contexts;
pub(crate) mod envvars;
pub(crate) mod forge;
pub(crate) mod git_access;
pub(crate) mod jobs;
pub mod listed;
mod load;
mod me;
pub mod normalize;
pub mod page;
mod people;
mod pipelines;
pub(crate) mod projects;
pub mod render;
mod schedules;
pub(crate) mod ssh_keys;
pub(crate) mod tests_meta;
mod v1;
pub mod watch;
mod workflows;

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::state::AppState;

/// The client API's routes.
///
/// Long by design: one table of every route, read top to bottom.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/circa/projects",
            post(projects::create).get(projects::list),
        )
        .route(
            "/api/circa/tokens",
            post(people::create_token).get(people::list_tokens),
        )
        .route("/api/circa/tokens/{id}", delete(people::revoke_token))
        .route(
            "/api/circa/users",
            post(people::create_user).get(people::list_users),
        )
        .route("/api/circa/groups", post(people::create_group))
        .route(
            "/api/circa/groups/{name}/members",
            post(people::add_group_member),
        )
        .route(
            "/api/circa/projects/{vcs}/{org}/{repo}/members",
            post(people::add_member),
        )
        .route(
            "/api/circa/projects/{vcs}/{org}/{repo}/members/{login}",
            delete(people::remove_member),
        )
        .route(
            "/api/circa/projects/{vcs}/{org}/{repo}/forge",
            get(forge::get).put(forge::put).delete(forge::delete),
        )
        .route(
            "/api/circa/projects/{vcs}/{org}/{repo}/known-hosts",
            get(git_access::get_known_hosts).put(git_access::put_known_hosts),
        )
        .route(
            "/api/circa/projects/{vcs}/{org}/{repo}/repo-token",
            get(git_access::get_token)
                .put(git_access::put_token)
                .delete(git_access::delete_token),
        )
        .route("/api/v2/project/{vcs}/{org}/{repo}", get(projects::get))
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/pipeline",
            post(pipelines::trigger).get(pipelines::list),
        )
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/job/{number}",
            get(jobs::get),
        )
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/job/{number}/cancel",
            post(jobs::cancel),
        )
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/{number}/artifacts",
            get(jobs::artifacts),
        )
        .route("/api/v2/pipeline/continue", post(pipelines::continue_))
        .route("/api/v2/pipeline/{id}", get(pipelines::get))
        .route("/api/v2/pipeline/{id}/config", get(pipelines::config))
        .route("/api/v2/pipeline/{id}/workflow", get(pipelines::workflows))
        .route("/api/v2/workflow/{id}", get(workflows::get))
        .route("/api/v2/workflow/{id}/job", get(workflows::jobs))
        .route("/api/v2/workflow/{id}/cancel", post(workflows::cancel))
        .route("/api/v2/workflow/{id}/rerun", post(workflows::rerun))
        .route(
            "/api/v2/workflow/{id}/approve/{request_id}",
            post(workflows::approve),
        )
        .route("/api/circa/jobs/{id}", get(jobs::details))
        .route(
            "/api/circa/artifacts/{job_id}/{node}/{*path}",
            get(jobs::artifact),
        )
        .route(
            "/api/circa/tasks/{id}/steps/{step}/log",
            get(jobs::step_log),
        )
        .route("/api/circa/tasks/{id}/live", get(watch::task_live))
        .route(
            "/api/circa/pipelines/{id}/watch",
            get(watch::pipeline_watch),
        )
        // Schedules.
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/schedule",
            post(schedules::create).get(schedules::list),
        )
        .route(
            "/api/v2/schedule/{id}",
            get(schedules::get)
                .patch(schedules::update)
                .delete(schedules::delete),
        )
        // Secrets: project environment variables, checkout keys, contexts, restrictions, key
        // rotation.
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/envvar",
            get(envvars::list).post(envvars::create),
        )
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/envvar/{name}",
            get(envvars::get).delete(envvars::delete),
        )
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/checkout-key",
            get(checkout_keys::list).post(checkout_keys::create),
        )
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/checkout-key/{fingerprint}",
            get(checkout_keys::get).delete(checkout_keys::delete),
        )
        .route(
            "/api/v2/context",
            get(contexts::list).post(contexts::create),
        )
        .route(
            "/api/v2/context/{id}",
            get(contexts::get).delete(contexts::delete),
        )
        .route(
            "/api/v2/context/{id}/environment-variable",
            get(contexts::list_vars),
        )
        .route(
            "/api/v2/context/{id}/environment-variable/{name}",
            put(contexts::put_var).delete(contexts::delete_var),
        )
        .route(
            "/api/v2/context/{id}/restrictions",
            get(contexts::list_restrictions).post(contexts::create_restriction),
        )
        .route(
            "/api/v2/context/{id}/restrictions/{restriction_id}",
            delete(contexts::delete_restriction),
        )
        .route("/api/circa/admin/rotate-key", post(contexts::rotate_key))
        // CircleCI API v2 and v1.1 compatibility (see SERVED_ROUTES).
        .route("/api/v2/me", get(me::me))
        .route("/api/v2/me/collaborations", get(me::collaborations))
        .route("/api/v2/user/{id}", get(me::by_id))
        .route("/api/v2/pipeline", get(pipelines::org_list))
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/pipeline/mine",
            get(pipelines::mine),
        )
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/pipeline/{number}",
            get(pipelines::by_number),
        )
        .route(
            "/api/v2/project/{vcs}/{org}/{repo}/{number}/tests",
            get(tests_meta::tests),
        )
        .route("/api/v2/jobs/{id}/cancel", post(jobs::cancel_by_id))
        .route(
            "/api/v2/compile-config-with-defaults",
            post(compile::compile),
        )
        .route("/api/v1.1/me", get(v1::me))
        .route(
            "/api/v1.1/project/{vcs}/{org}/{repo}/{number}",
            get(v1::build),
        )
        .route(
            "/api/v1.1/project/{vcs}/{org}/{repo}/ssh-key",
            get(ssh_keys::list)
                .post(ssh_keys::create)
                .delete(ssh_keys::delete),
        )
        .route(
            "/api/v1.1/project/{vcs}/{org}/{repo}/{number}/artifacts",
            get(v1::artifacts),
        )
        .route(
            "/api/v1.1/project/{vcs}/{org}/{repo}/{number}/tests",
            get(v1::tests),
        )
        .route(
            "/api/v1.1/project/{vcs}/{org}/{repo}/{number}/output/{step}/{node}",
            get(v1::output),
        )
}

/// The CircleCI API v2 operations Circa serves, as `(METHOD, path in the OpenAPI document)`.
/// The schema walk and the authorization matrix tests go through exactly this list.
pub const SERVED_ROUTES: &[(&str, &str)] = &[
    ("GET", "/me"),
    ("GET", "/me/collaborations"),
    ("GET", "/user/{id}"),
    ("GET", "/project/{project-slug}"),
    ("POST", "/project/{project-slug}/pipeline"),
    ("GET", "/project/{project-slug}/pipeline"),
    ("GET", "/project/{project-slug}/pipeline/mine"),
    ("GET", "/project/{project-slug}/pipeline/{pipeline-number}"),
    ("GET", "/pipeline"),
    ("POST", "/pipeline/continue"),
    ("GET", "/pipeline/{pipeline-id}"),
    ("GET", "/pipeline/{pipeline-id}/config"),
    ("GET", "/pipeline/{pipeline-id}/workflow"),
    ("GET", "/workflow/{id}"),
    ("GET", "/workflow/{id}/job"),
    ("POST", "/workflow/{id}/approve/{approval_request_id}"),
    ("POST", "/workflow/{id}/cancel"),
    ("POST", "/workflow/{id}/rerun"),
    ("GET", "/project/{project-slug}/job/{job-number}"),
    ("POST", "/project/{project-slug}/job/{job-number}/cancel"),
    ("POST", "/jobs/{job-id}/cancel"),
    ("GET", "/project/{project-slug}/{job-number}/artifacts"),
    ("GET", "/project/{project-slug}/{job-number}/tests"),
    ("GET", "/project/{project-slug}/envvar"),
    ("POST", "/project/{project-slug}/envvar"),
    ("GET", "/project/{project-slug}/envvar/{name}"),
    ("DELETE", "/project/{project-slug}/envvar/{name}"),
    ("GET", "/project/{project-slug}/checkout-key"),
    ("POST", "/project/{project-slug}/checkout-key"),
    ("GET", "/project/{project-slug}/checkout-key/{fingerprint}"),
    (
        "DELETE",
        "/project/{project-slug}/checkout-key/{fingerprint}",
    ),
    ("POST", "/context"),
    ("GET", "/context"),
    ("GET", "/context/{context_id}"),
    ("DELETE", "/context/{context_id}"),
    ("GET", "/context/{context_id}/environment-variable"),
    (
        "PUT",
        "/context/{context_id}/environment-variable/{env_var_name}",
    ),
    (
        "DELETE",
        "/context/{context_id}/environment-variable/{env_var_name}",
    ),
    ("GET", "/context/{context_id}/restrictions"),
    ("POST", "/context/{context_id}/restrictions"),
    (
        "DELETE",
        "/context/{context_id}/restrictions/{restriction_id}",
    ),
    ("POST", "/project/{project-slug}/schedule"),
    ("GET", "/project/{project-slug}/schedule"),
    ("GET", "/schedule/{schedule-id}"),
    ("PATCH", "/schedule/{schedule-id}"),
    ("DELETE", "/schedule/{schedule-id}"),
];
