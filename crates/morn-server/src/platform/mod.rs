//! The platform API under `/api/v1`: accounts, sessions, organizations, workspaces,
//! members, API keys, providers and models, audit (being built).

use axum::Router;

use crate::state::Shared;

/// Routes of the platform API, relative to `/api/v1`.
pub fn routes() -> Router<Shared> {
    Router::new()
}
