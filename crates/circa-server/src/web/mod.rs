//! The web UI: server-rendered pages (askama templates in `templates/`), a little hand-written
//! JavaScript for live logs and live status (`static/`, embedded in the binary), sessions in
//! cookies with a CSRF token on every form.
//!
//! Design note: pages read the store directly and act through `orchestrator::actions`, like
//! the API. Access is checked in `load` (404 when the user may not see the project) before
//! anything is read; every POST goes through `CsrfForm`, which checks the session's CSRF token
//! before the form is parsed. Templates escape everything they print (askama's default); no
//! template marks user data as safe.

mod account;
mod actions;
mod badge;
mod chart;
mod checkout_keys;
mod contexts;
mod error;
mod forge_settings;
mod git_access;
mod graph;
mod job;
mod load;
mod logs;
mod password;
mod pipeline;
mod projects;
mod secrets;
mod session;
mod settings;
mod ssh_keys;
mod test_results;
pub(crate) mod url;
mod view;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};

pub use error::{WebError, WebResult, error_page};
pub use password::ensure_admin_password;
pub use session::{SESSION_COOKIE, Viewer};

use crate::state::AppState;

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
}

/// The web UI's routes.
///
/// Long by design: one table of every route, read top to bottom.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(projects::list))
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route("/account", get(account::account))
        .route("/account/password", post(account::change_password))
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route("/projects", post(projects::create))
        .route("/projects/{vcs}/{org}/{repo}", get(projects::project))
        .route(
            "/projects/{vcs}/{org}/{repo}/settings",
            get(settings::project).post(settings::save_project),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/forge",
            post(forge_settings::save),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/forge/delete",
            post(forge_settings::delete),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/pipelines/{number}",
            get(pipeline::page),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/pipelines/{number}/config",
            get(pipeline::config),
        )
        .route("/projects/{vcs}/{org}/{repo}/jobs/{number}", get(job::page))
        .route(
            "/ui/workflows/{id}/approve/{request_id}",
            post(actions::approve),
        )
        .route("/ui/workflows/{id}/cancel", post(actions::cancel_workflow))
        .route("/ui/workflows/{id}/rerun", post(actions::rerun))
        .route("/ui/jobs/{id}/cancel", post(actions::cancel_job))
        .route("/ui/tasks/{id}/steps/{step}/log", get(logs::step_log))
        .route("/ui/tasks/{id}/live", get(logs::task_live))
        .route("/ui/pipelines/{id}/watch", get(logs::pipeline_watch))
        .route("/ui/artifacts/{job_id}/{node}/{*path}", get(logs::artifact))
        .route("/settings/runners", get(settings::runners))
        .route(
            "/settings/runners/tokens",
            post(settings::create_runner_token),
        )
        .route(
            "/settings/users",
            get(settings::users).post(settings::create_user),
        )
        .route("/settings/users/grant", post(settings::grant))
        .route(
            "/settings/tokens",
            get(settings::tokens).post(settings::create_token),
        )
        .route("/settings/tokens/{id}/revoke", post(settings::revoke_token))
        .route("/badge/{vcs}/{org}/{file}", get(badge::badge))
        // Secrets: project variables, contexts with their variables and restrictions.
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/env-vars",
            post(secrets::set_project_var),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/env-vars/{name}/delete",
            post(secrets::delete_project_var),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/checkout-keys",
            post(checkout_keys::add),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/checkout-keys/{md5}/delete",
            post(checkout_keys::delete),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/known-hosts",
            post(git_access::set_known_hosts),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/repo-token",
            post(git_access::set_repo_token),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/repo-token/delete",
            post(git_access::delete_repo_token),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/ssh-keys",
            post(ssh_keys::add),
        )
        .route(
            "/projects/{vcs}/{org}/{repo}/settings/ssh-keys/delete",
            post(ssh_keys::delete),
        )
        .route(
            "/settings/contexts",
            get(contexts::list).post(contexts::create),
        )
        .route("/settings/contexts/{id}", get(contexts::page))
        .route("/settings/contexts/{id}/delete", post(contexts::delete))
        .route("/settings/contexts/{id}/env-vars", post(contexts::set_var))
        .route(
            "/settings/contexts/{id}/env-vars/{name}/delete",
            post(contexts::delete_var),
        )
        .route(
            "/settings/contexts/{id}/restrictions",
            post(contexts::add_restriction),
        )
        .route(
            "/settings/contexts/{id}/restrictions/{restriction}/delete",
            post(contexts::delete_restriction),
        )
}
