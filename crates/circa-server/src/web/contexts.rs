//! Contexts pages (admins only): the list (create, delete), and a context's page with its
//! environment variables (write-only, masked) and its restrictions (add, remove).
//!
//! Names, variables and restrictions are checked by the same functions as the API's.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use circa_store::{Context, ContextId, EnvOwner};
use serde::Deserialize;

use super::account::Empty;
use super::error::{WebError, WebResult};
use super::secrets::{self, VarForm, VarRow, masked_vars};
use super::session::{CsrfForm, Viewer};
use super::url::encode_component;
use super::view::{Nav, time};
use crate::api::contexts::{check_context_name, new_restriction, restriction_name};
use crate::secrets::access::RESTRICTION_KINDS;
use crate::state::{AppState, now_ms};

/// A context's row in the list.
struct ContextRow {
    href: String,
    name: String,
    created: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "contexts.html")]
struct ContextsPage {
    nav: Nav,
    contexts: Vec<ContextRow>,
}

/// Where a context's page is.
fn context_href(id: &ContextId) -> String {
    format!("/settings/contexts/{}", encode_component(id))
}

/// `GET /settings/contexts` (admins).
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> WebResult<impl IntoResponse> {
    viewer.require_admin()?;
    let contexts = state
        .store
        .contexts()
        .await?
        .into_iter()
        .map(|c| ContextRow {
            href: context_href(&c.id),
            name: c.name,
            created: time(c.created_at),
        })
        .collect();
    Ok(ContextsPage {
        nav: Nav::of(&viewer),
        contexts,
    })
}

/// The new-context form.
#[derive(Debug, Deserialize)]
pub struct ContextForm {
    #[serde(default)]
    name: String,
}

/// `POST /settings/contexts`: a new context; then its page.
pub async fn create(
    State(state): State<AppState>,
    CsrfForm(viewer, form): CsrfForm<ContextForm>,
) -> WebResult<Redirect> {
    viewer.require_admin()?;
    let name = check_context_name(&form.name)?;
    let context = state.store.create_context(name, now_ms()).await?;
    Ok(Redirect::to(&context_href(&context.id)))
}

/// A context by id (admins), or 404.
async fn load(state: &AppState, viewer: &Viewer, id: &ContextId) -> WebResult<Context> {
    viewer.require_admin()?;
    state
        .store
        .context(id)
        .await?
        .ok_or_else(|| WebError::not_found("context"))
}

/// A restriction's row.
struct RestrictionRow {
    id: String,
    kind: String,
    value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "context.html")]
struct ContextPage {
    nav: Nav,
    id: ContextId,
    name: String,
    href: String,
    created: String,
    vars: Vec<VarRow>,
    vars_action: String,
    restrictions: Vec<RestrictionRow>,
    kinds: [&'static str; 3],
}

/// `GET /settings/contexts/{id}` (admins).
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<ContextId>,
) -> WebResult<impl IntoResponse> {
    let context = load(&state, &viewer, &id).await?;
    let mut restrictions = Vec::new();
    for r in state.store.context_restrictions(&context.id).await? {
        // Groups and projects are shown by name (their id when they are gone).
        let name = restriction_name(&state, &r).await?;
        restrictions.push(RestrictionRow {
            value: if name.is_empty() { r.value } else { name },
            id: r.id,
            kind: r.kind,
        });
    }
    let href = context_href(&context.id);
    Ok(ContextPage {
        nav: Nav::of(&viewer),
        vars: masked_vars(&state, &EnvOwner::Context(context.id.clone())).await?,
        vars_action: format!("{href}/env-vars"),
        href,
        id: context.id,
        name: context.name,
        created: time(context.created_at),
        restrictions,
        kinds: RESTRICTION_KINDS,
    })
}

/// `POST /settings/contexts/{id}/delete`: the context with its variables and restrictions.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<ContextId>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let context = load(&state, &viewer, &id).await?;
    if !state.store.delete_context(&context.id).await? {
        return Err(WebError::not_found("context"));
    }
    Ok(Redirect::to("/settings/contexts"))
}

/// `POST /settings/contexts/{id}/env-vars`: adds or replaces a variable.
pub async fn set_var(
    State(state): State<AppState>,
    Path(id): Path<ContextId>,
    CsrfForm(viewer, form): CsrfForm<VarForm>,
) -> WebResult<Redirect> {
    let context = load(&state, &viewer, &id).await?;
    secrets::put_var(&state, &EnvOwner::Context(context.id.clone()), &form).await?;
    Ok(Redirect::to(&format!(
        "{}#env-vars",
        context_href(&context.id)
    )))
}

/// `POST /settings/contexts/{id}/env-vars/{name}/delete`.
pub async fn delete_var(
    State(state): State<AppState>,
    Path((id, name)): Path<(ContextId, String)>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let context = load(&state, &viewer, &id).await?;
    secrets::delete_var(&state, &EnvOwner::Context(context.id.clone()), &name).await?;
    Ok(Redirect::to(&format!(
        "{}#env-vars",
        context_href(&context.id)
    )))
}

/// The new-restriction form: a kind (`group`, `expression`, `project`) and its value.
#[derive(Debug, Deserialize)]
pub struct RestrictionForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
}

/// `POST /settings/contexts/{id}/restrictions`: a group (by name or id), an expression, or a
/// project (by slug or id).
pub async fn add_restriction(
    State(state): State<AppState>,
    Path(id): Path<ContextId>,
    CsrfForm(viewer, form): CsrfForm<RestrictionForm>,
) -> WebResult<Redirect> {
    let context = load(&state, &viewer, &id).await?;
    let mut value = form.value.trim().to_string();
    if form.kind == "project"
        && let Some(project) = crate::slugs::project_by_slug(
            state.store.as_ref(),
            &crate::slugs::normal_slug_text(&value),
        )
        .await?
    {
        value = project.id.into_string();
    }
    let new = new_restriction(&state, &context, form.kind.trim(), &value).await?;
    state.store.add_context_restriction(new, now_ms()).await?;
    Ok(Redirect::to(&format!(
        "{}#restrictions",
        context_href(&context.id)
    )))
}

/// `POST /settings/contexts/{id}/restrictions/{restriction}/delete`.
pub async fn delete_restriction(
    State(state): State<AppState>,
    Path((id, restriction)): Path<(ContextId, String)>,
    CsrfForm(viewer, Empty {}): CsrfForm<Empty>,
) -> WebResult<Redirect> {
    let context = load(&state, &viewer, &id).await?;
    if !state
        .store
        .delete_context_restriction(&context.id, &restriction)
        .await?
    {
        return Err(WebError::not_found("restriction"));
    }
    Ok(Redirect::to(&format!(
        "{}#restrictions",
        context_href(&context.id)
    )))
}
