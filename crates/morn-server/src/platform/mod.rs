//! The platform API under `/api/v1`: accounts and sessions, organizations,
//! workspaces, members, API keys, providers and models, the audit trail, and billing
//! (rate limits, budgets, prices, usage reports, invoices).
//!
//! Layout: [`routes`] is the route table (paths, scopes, minimum roles: the one place
//! permissions are declared), [`access`] the extractors that authenticate and
//! authorize, [`error`] the error type and its stable codes, and one module per
//! feature with thin handlers over small service functions.

mod access;
mod audit;
mod budgets;
pub(crate) mod calendar;
mod catalog;
mod error;
mod extract;
mod invoices;
mod keys;
mod limits;
mod members;
mod openapi;
mod openapi_requests;
mod orgs;
mod policy;
mod prices;
mod report;
mod routes;
mod sessions;
mod usage;
mod usage_record;
mod users;

use axum::Router;

pub use error::PlatformError;
pub use routes::{Method, ROUTES, RouteSpec, Rule, Scope};

use crate::state::Shared;

/// Routes of the platform API, relative to `/api/v1`.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/openapi.json", openapi::route())
        .merge(routes::router())
}

/// The OpenAPI 3.1 document of the platform API.
pub fn openapi_document() -> serde_json::Value {
    openapi::document()
}

/// Every platform endpoint with its scope and minimum role, for tests and docs.
pub fn route_table() -> &'static [RouteSpec] {
    ROUTES
}

#[cfg(test)]
mod isolation_tests;
