//! Settings pages: a project's (repository, default branch, webhook, auto-cancel, secrets for
//! forked pull requests, environment variables, checkout keys, host keys and HTTPS token,
//! additional SSH keys, its forge in `forge_settings`), runners
//! (seen lately; runner tokens shown once), users (create, give a project), and one's API
//! tokens (created and shown once, revoked).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use circa_store::{EnvOwner, NewToken, NewUser, Token, TokenId, TokenKind};
use serde::Deserialize;

use super::account::Empty;
use super::checkout_keys::{KeyRow, key_rows};
use super::error::{WebError, WebResult};
use super::git_access::{AccessView, access_view};
use super::load;
use super::password::{self, MIN_PASSWORD_LEN};
use super::secrets::{VarRow, masked_vars};
use super::session::{CsrfForm, Viewer};
use super::ssh_keys::{SshKeyRow, rows as ssh_key_rows};
use super::url::encode_path;
use super::view::{Nav, time};
use crate::auth;
use crate::state::{AppState, now_ms};

#[derive(Template, WebTemplate)]
#[template(path = "project_settings.html")]
pub(super) struct ProjectSettingsPage {
    nav: Nav,
    slug: String,
    repo: String,
    default_branch: String,
    webhook_url: String,
    webhook_secret: String,
    auto_cancel: bool,
    requeue: bool,
    forks_secrets: bool,
    vars: Vec<VarRow>,
    vars_action: String,
    checkout_keys: Vec<KeyRow>,
    keys_action: String,
    access: AccessView,
    access_action: String,
    ssh_keys: Vec<SshKeyRow>,
    ssh_keys_action: String,
    forge: super::forge_settings::ForgeSection,
    saved: bool,
    warning: Option<String>,
}

/// A project's settings page; `saved` after its form was stored, with `warning` when the
/// server cannot fetch the repository now.
pub(super) async fn project_settings_page(
    state: &AppState,
    viewer: &Viewer,
    path: (&str, &str, &str),
    saved: bool,
    warning: Option<String>,
) -> WebResult<ProjectSettingsPage> {
    let project = load::project_at(state, viewer, path).await?;
    viewer.require_admin()?;
    Ok(ProjectSettingsPage {
        nav: Nav::of(viewer),
        forge: super::forge_settings::section(state, &project).await?,
        vars: masked_vars(state, &EnvOwner::Project(project.id.clone())).await?,
        vars_action: format!("/projects/{}/settings/env-vars", encode_path(&project.slug)),
        checkout_keys: key_rows(state, &project.id).await?,
        access: access_view(state, &project.id).await?,
        access_action: format!("/projects/{}/settings", encode_path(&project.slug)),
        keys_action: format!(
            "/projects/{}/settings/checkout-keys",
            encode_path(&project.slug)
        ),
        ssh_keys: ssh_key_rows(state, &project.id).await?,
        ssh_keys_action: format!("/projects/{}/settings/ssh-keys", encode_path(&project.slug)),
        webhook_url: format!("{}/hooks/{}", state.base_url, project.id),
        webhook_secret: project.webhook_secret,
        auto_cancel: project.settings.auto_cancel_redundant,
        requeue: project.settings.requeue_lost_tasks,
        forks_secrets: project.settings.forks_receive_secret_env_vars,
        slug: project.slug,
        repo: project.repo_url,
        default_branch: project.default_branch,
        saved,
        warning,
    })
}

/// `GET /projects/{vcs}/{org}/{repo}/settings` (admins).
pub async fn project(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((vcs, org, repo)): Path<(String, String, String)>,
) -> WebResult<impl IntoResponse> {
    project_settings_page(&state, &viewer, (&vcs, &org, &repo), false, None).await
}

/// The project settings form.
#[derive(Debug, Deserialize)]
pub struct ProjectForm {
    #[serde(default)]
    repo: String,
    #[serde(default)]
    default_branch: String,
    auto_cancel: Option<String>,
    requeue: Option<String>,
    forks_secrets: Option<String>,
}

/// `POST /projects/{vcs}/{org}/{repo}/settings`.
pub async fn save_project(
    State(state): State<AppState>,
    Path((vcs, org, repo)): Path<(String, String, String)>,
    CsrfForm(viewer, form): CsrfForm<ProjectForm>,
) -> WebResult<Response> {
    let project = load::project_at(&state, &viewer, (&vcs, &org, &repo)).await?;
    viewer.require_admin()?;
    let branch = form.default_branch.trim();
    if branch.is_empty() || branch.contains(char::is_whitespace) {
        return Err(WebError::bad_request(format!(
            "default_branch: {branch:?} is not a branch name"
        )));
    }
    let checked = crate::repository::check(&form.repo, state.config.git_timeout).await?;
    state
        .store
        .set_project_source(&project.id, &checked.stored, branch)
        .await?;
    let mut settings = project.settings.clone();
    settings.auto_cancel_redundant = form.auto_cancel.is_some();
    settings.requeue_lost_tasks = form.requeue.is_some();
    settings.forks_receive_secret_env_vars = form.forks_secrets.is_some();
    state
        .store
        .update_project_settings(&project.id, &settings)
        .await?;
    Ok(
        project_settings_page(&state, &viewer, (&vcs, &org, &repo), true, checked.warning)
            .await?
            .into_response(),
    )
}

/// A token's row.
struct TokenRow {
    id: TokenId,
    name: String,
    kind: String,
    class: String,
    created: String,
    revoked: bool,
}

fn token_row(t: &Token) -> TokenRow {
    TokenRow {
        id: t.id.clone(),
        name: t.name.clone(),
        kind: t.kind.as_str().to_string(),
        class: t.resource_class.clone().unwrap_or_default(),
        created: time(t.created_at),
        revoked: t.revoked,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "runners.html")]
struct RunnersPage {
    nav: Nav,
    runners: Vec<(String, String, String)>,
    tokens: Vec<TokenRow>,
    created: Option<String>,
}

/// How far back the runners page looks: a week.
const RUNNERS_SINCE_MS: i64 = 7 * 24 * 3600 * 1000;

async fn runners_page(
    state: &AppState,
    viewer: &Viewer,
    created: Option<String>,
) -> WebResult<RunnersPage> {
    viewer.require_admin()?;
    let runners = state
        .store
        .runners_since(now_ms() - RUNNERS_SINCE_MS)
        .await?
        .into_iter()
        .map(|r| (r.name, r.resource_class, time(r.last_seen)))
        .collect();
    let tokens = state
        .store
        .tokens()
        .await?
        .iter()
        .filter(|t| t.kind == TokenKind::Runner)
        .map(token_row)
        .collect();
    Ok(RunnersPage {
        nav: Nav::of(viewer),
        runners,
        tokens,
        created,
    })
}

/// `GET /settings/runners` (admins).
pub async fn runners(
    State(state): State<AppState>,
    viewer: Viewer,
) -> WebResult<impl IntoResponse> {
    runners_page(&state, &viewer, None).await
}

/// The runner token form.
#[derive(Debug, Deserialize)]
pub struct RunnerTokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    resource_class: String,
}

/// `POST /settings/runners/tokens`: a runner token, shown once.
pub async fn create_runner_token(
    State(state): State<AppState>,
    CsrfForm(viewer, form): CsrfForm<RunnerTokenForm>,
) -> WebResult<impl IntoResponse> {
    viewer.require_admin()?;
    let class = form.resource_class.trim();
    if class.is_empty() || class.contains(char::is_whitespace) {
        return Err(WebError::bad_request(format!(
            "resource_class: {class:?} is not a resource class name"
        )));
    }
    let name = if form.name.trim().is_empty() {
        class
    } else {
        form.name.trim()
    };
    let token = crate::serve::create_runner_token(&state, name, class)
        .await
        .map_err(|e| WebError::bad_request(e.to_string()))?;
    runners_page(&state, &viewer, Some(token)).await
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<(String, String, bool, String)>,
    notice: Option<String>,
}

async fn users_page(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
) -> WebResult<UsersPage> {
    viewer.require_admin()?;
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| (u.login, u.name, u.admin, time(u.created_at)))
        .collect();
    Ok(UsersPage {
        nav: Nav::of(viewer),
        users,
        notice,
    })
}

/// `GET /settings/users` (admins).
pub async fn users(State(state): State<AppState>, viewer: Viewer) -> WebResult<impl IntoResponse> {
    users_page(&state, &viewer, None).await
}

/// The new-user form.
#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    admin: Option<String>,
}

/// `POST /settings/users`: a new user with a password.
pub async fn create_user(
    State(state): State<AppState>,
    CsrfForm(viewer, form): CsrfForm<UserForm>,
) -> WebResult<impl IntoResponse> {
    viewer.require_admin()?;
    let login = form.login.trim();
    if login.is_empty()
        || !login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(WebError::bad_request(format!(
            "login: {login:?} must be letters, digits, '-', '_' or '.'"
        )));
    }
    if form.password.chars().count() < MIN_PASSWORD_LEN {
        return Err(WebError::bad_request(format!(
            "password: at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    let phc = password::hash(form.password)
        .await
        .map_err(|e| WebError::bad_request(e.to_string()))?;
    state
        .store
        .create_user(
            NewUser {
                login: login.to_string(),
                name: if form.name.trim().is_empty() {
                    login.to_string()
                } else {
                    form.name.trim().to_string()
                },
                admin: form.admin.is_some(),
                password_hash: Some(phc),
            },
            now_ms(),
        )
        .await?;
    users_page(&state, &viewer, Some(format!("Added user {login}."))).await
}

/// The grant form: a user may see a project.
#[derive(Debug, Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    project: String,
}

/// `POST /settings/users/grant`.
pub async fn grant(
    State(state): State<AppState>,
    CsrfForm(viewer, form): CsrfForm<GrantForm>,
) -> WebResult<impl IntoResponse> {
    viewer.require_admin()?;
    let user = state
        .store
        .user_by_login(form.login.trim())
        .await?
        .ok_or_else(|| WebError::bad_request(format!("login: no user {:?}", form.login)))?;
    let slug = crate::slugs::normal_slug_text(form.project.trim());
    let project = crate::slugs::project_by_slug(state.store.as_ref(), &slug)
        .await?
        .ok_or_else(|| WebError::bad_request(format!("project: no project {:?}", form.project)))?;
    state
        .store
        .add_project_member(&project.id, &user.id)
        .await?;
    users_page(
        &state,
        &viewer,
        Some(format!("{} may now use {}.", user.login, project.slug)),
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Nav,
    tokens: Vec<TokenRow>,
    created: Option<String>,
}

async fn tokens_page(
    state: &AppState,
    viewer: &Viewer,
    created: Option<String>,
) -> WebResult<TokensPage> {
    let tokens = state
        .store
        .tokens_of_user(&viewer.user.id)
        .await?
        .iter()
        .map(token_row)
        .collect();
    Ok(TokensPage {
        nav: Nav::of(viewer),
        tokens,
        created,
    })
}

/// `GET /settings/tokens`: one's own API tokens.
pub async fn tokens(State(state): State<AppState>, viewer: Viewer) -> WebResult<impl IntoResponse> {
    tokens_page(&state, &viewer, None).await
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
}

/// `POST /settings/tokens`: a personal API token, shown once.
pub async fn create_token(
    State(state): State<AppState>,
    CsrfForm(viewer, form): CsrfForm<TokenForm>,
) -> WebResult<impl IntoResponse> {
    let name = form.name.trim();
    if name.is_empty() {
        return Err(WebError::bad_request("name: a token needs a name"));
    }
    let token = auth::new_token("circa_");
    state
        .store
        .create_token(
            NewToken {
                kind: TokenKind::User,
                name: name.to_string(),
                resource_class: None,
                hash: auth::hash_token(&token),
                user_id: Some(viewer.user.id.clone()),
            },
            now_ms(),
        )
        .await?;
    tokens_page(&state, &viewer, Some(token)).await
}

/// `POST /settings/tokens/{id}/revoke`: revokes one's own token (an admin: any token).
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<TokenId>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let token = state
        .store
        .tokens()
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| WebError::not_found("token"))?;
    let own = token.user_id.as_deref() == Some(viewer.user.id.as_str());
    if !own && !viewer.is_admin() {
        return Err(WebError::not_found("token"));
    }
    state.store.revoke_token(&token.id).await?;
    Ok(Redirect::to(if token.kind == TokenKind::Runner {
        "/settings/runners"
    } else {
        "/settings/tokens"
    }))
}
