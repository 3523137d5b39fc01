//! The platform API under `/api/v1`: accounts and sessions, organizations,
//! workspaces, members, API keys, providers and models, and the audit trail.
//!
//! Layout: [`routes`] is the route table (paths, scopes, minimum roles: the one place
//! permissions are declared), [`access`] the extractors that authenticate and
//! authorize, [`error`] the error type and its stable codes, and one module per
//! feature with thin handlers over small service functions.

mod access;
mod audit;
mod catalog;
mod error;
mod extract;
mod keys;
mod members;
mod orgs;
mod routes;
mod sessions;
mod users;

use axum::Router;

pub use error::PlatformError;
pub use routes::{Method, ROUTES, RouteSpec, Rule, Scope};

use crate::state::Shared;

/// Routes of the platform API, relative to `/api/v1`.
pub fn routes() -> Router<Shared> {
    routes::router()
}

/// Every platform endpoint with its scope and minimum role, for tests and docs.
pub fn route_table() -> &'static [RouteSpec] {
    ROUTES
}

#[cfg(test)]
mod isolation_tests;
