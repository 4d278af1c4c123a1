//! Webhook routes: one URL per project, `POST /hooks/{project_id}`.

use axum::Router;

use crate::state::AppState;

/// The webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
