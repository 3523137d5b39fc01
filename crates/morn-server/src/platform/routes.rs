//! The platform route table: one [`ROUTES`] list that both builds the router and
//! drives the tenant-isolation tests, so a new endpoint cannot skip them.
//!
//! Every entry names its scope (what `{org}`, `{ws}` or `{id}` the access check
//! resolves) and minimum role; the router attaches both to the route as a [`Rule`]
//! that the access extractors enforce.
//!
//! What each workspace role may do (an organization owner or admin has the same role
//! in each of its workspaces):
//!
//! | action | viewer | member | admin | owner |
//! |---|---|---|---|---|
//! | read the workspace, its members, its key list (no secrets) | ✓ | ✓ | ✓ | ✓ |
//! | create, update, rotate, revoke their own keys |  | ✓ | ✓ | ✓ |
//! | manage every key of the workspace |  |  | ✓ | ✓ |
//! | add, change, remove members (not owners) |  |  | ✓ | ✓ |
//! | manage admins and owners, delete the workspace |  |  |  | ✓ |
//!
//! In an organization: every member reads it and lists its workspaces; owners and
//! admins create workspaces and users, reset members' passwords, manage providers and
//! models, and read the audit log.
//!
//! Billing: every workspace role reads the workspace's rate limits, budgets, usage and
//! invoices; admins and owners change limits and budgets. Every organization member
//! reads its price overrides and organization-wide usage; owners and admins change
//! the overrides. The shipped price catalog is open to anyone signed in.

use axum::Router;
use axum::extract::Extension;
use axum::routing::{MethodFilter, MethodRouter, on};
use morn_store::Role;

use super::{
    audit, budgets, catalog, invoices, keys, limits, members, orgs, prices, sessions, usage,
    usage_record,
};
use crate::state::Shared;

/// What an endpoint's access check resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No authentication (sign-in, sign-up, token refresh).
    Public,
    /// Any signed-in user (or the master key), about themselves.
    User,
    /// A member of the organization `{org}`.
    Org,
    /// A member of the workspace `{ws}`.
    Workspace,
    /// An administrator of an organization the user `{id}` belongs to.
    TargetUser,
}

/// The access rule attached to a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub scope: Scope,
    pub min_role: Option<Role>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
            Self::Patch => MethodFilter::PATCH,
            Self::Delete => MethodFilter::DELETE,
        }
    }
}

/// One endpoint of the platform API.
#[derive(Clone, Copy)]
pub struct RouteSpec {
    pub method: Method,
    /// Relative to `/api/v1`, with `{org}`, `{ws}`, `{id}`, `{user_id}` placeholders.
    pub path: &'static str,
    pub scope: Scope,
    /// `None` for routes open to anyone in scope.
    pub min_role: Option<Role>,
    handler: fn(MethodFilter) -> MethodRouter<Shared>,
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.path)
    }
}

macro_rules! route {
    ($method:ident $path:literal, $scope:ident, $role:expr, $handler:path) => {
        RouteSpec {
            method: Method::$method,
            path: $path,
            scope: Scope::$scope,
            min_role: $role,
            handler: |filter| on(filter, $handler),
        }
    };
}

const ANY: Option<Role> = None;
const VIEWER: Option<Role> = Some(Role::Viewer);
const MEMBER: Option<Role> = Some(Role::Member);
const ADMIN: Option<Role> = Some(Role::Admin);
const OWNER: Option<Role> = Some(Role::Owner);

/// Every platform endpoint.
pub const ROUTES: &[RouteSpec] = &[
    route!(Post "/auth/login", Public, ANY, sessions::login),
    route!(Post "/auth/refresh", Public, ANY, sessions::refresh),
    route!(Post "/auth/logout", Public, ANY, sessions::logout),
    route!(Post "/auth/signup", Public, ANY, sessions::signup),
    route!(Get "/auth/sessions", User, ANY, sessions::list),
    route!(Delete "/auth/sessions/{id}", User, ANY, sessions::revoke),
    route!(Post "/auth/password", User, ANY, sessions::change_password),
    route!(Get "/me", User, ANY, orgs::me),
    route!(Get "/orgs", User, ANY, orgs::list),
    route!(Get "/orgs/{org}", Org, VIEWER, orgs::get),
    route!(Get "/orgs/{org}/workspaces", Org, VIEWER, orgs::list_workspaces),
    route!(Post "/orgs/{org}/workspaces", Org, ADMIN, orgs::create_workspace),
    route!(Post "/orgs/{org}/users", Org, ADMIN, members::create_user),
    route!(Get "/orgs/{org}/audit", Org, ADMIN, audit::list),
    route!(Get "/orgs/{org}/providers", Org, VIEWER, catalog::list_providers),
    route!(Post "/orgs/{org}/providers", Org, ADMIN, catalog::create_provider),
    route!(Patch "/orgs/{org}/providers/{id}", Org, ADMIN, catalog::update_provider),
    route!(Delete "/orgs/{org}/providers/{id}", Org, ADMIN, catalog::delete_provider),
    route!(Get "/orgs/{org}/models", Org, VIEWER, catalog::list_models),
    route!(Post "/orgs/{org}/models", Org, ADMIN, catalog::create_model),
    route!(Patch "/orgs/{org}/models/{id}", Org, ADMIN, catalog::update_model),
    route!(Delete "/orgs/{org}/models/{id}", Org, ADMIN, catalog::delete_model),
    route!(Post "/users/{id}/password", TargetUser, ADMIN, members::reset_password),
    route!(Get "/workspaces/{ws}", Workspace, VIEWER, orgs::get_workspace),
    route!(Delete "/workspaces/{ws}", Workspace, OWNER, orgs::delete_workspace),
    route!(Get "/workspaces/{ws}/members", Workspace, VIEWER, members::list),
    route!(Post "/workspaces/{ws}/members", Workspace, ADMIN, members::add),
    route!(Patch "/workspaces/{ws}/members/{user_id}", Workspace, ADMIN, members::update),
    route!(Delete "/workspaces/{ws}/members/{user_id}", Workspace, ADMIN, members::remove),
    route!(Get "/workspaces/{ws}/keys", Workspace, VIEWER, keys::list),
    route!(Post "/workspaces/{ws}/keys", Workspace, MEMBER, keys::create),
    route!(Get "/workspaces/{ws}/keys/{id}", Workspace, VIEWER, keys::get),
    route!(Patch "/workspaces/{ws}/keys/{id}", Workspace, MEMBER, keys::update),
    route!(Delete "/workspaces/{ws}/keys/{id}", Workspace, MEMBER, keys::revoke),
    route!(Post "/workspaces/{ws}/keys/{id}/rotate", Workspace, MEMBER, keys::rotate),
    route!(Get "/prices", User, ANY, prices::list_catalog),
    route!(Get "/orgs/{org}/prices", Org, VIEWER, prices::list),
    route!(Post "/orgs/{org}/prices", Org, ADMIN, prices::create),
    route!(Get "/orgs/{org}/prices/{id}", Org, VIEWER, prices::get),
    route!(Patch "/orgs/{org}/prices/{id}", Org, ADMIN, prices::update),
    route!(Delete "/orgs/{org}/prices/{id}", Org, ADMIN, prices::delete),
    route!(Get "/orgs/{org}/usage", Org, VIEWER, usage::org),
    route!(Get "/workspaces/{ws}/limits", Workspace, VIEWER, limits::list),
    route!(Post "/workspaces/{ws}/limits", Workspace, ADMIN, limits::create),
    route!(Get "/workspaces/{ws}/limits/{id}", Workspace, VIEWER, limits::get),
    route!(Patch "/workspaces/{ws}/limits/{id}", Workspace, ADMIN, limits::update),
    route!(Delete "/workspaces/{ws}/limits/{id}", Workspace, ADMIN, limits::delete),
    route!(Get "/workspaces/{ws}/budgets", Workspace, VIEWER, budgets::list),
    route!(Post "/workspaces/{ws}/budgets", Workspace, ADMIN, budgets::create),
    route!(Get "/workspaces/{ws}/budgets/{id}", Workspace, VIEWER, budgets::get),
    route!(Patch "/workspaces/{ws}/budgets/{id}", Workspace, ADMIN, budgets::update),
    route!(Delete "/workspaces/{ws}/budgets/{id}", Workspace, ADMIN, budgets::delete),
    route!(Get "/workspaces/{ws}/usage", Workspace, VIEWER, usage::workspace),
    route!(Get "/workspaces/{ws}/usage/records/{id}", Workspace, VIEWER, usage_record::get),
    route!(Get "/workspaces/{ws}/invoices/{month}", Workspace, VIEWER, invoices::get),
];

/// Builds the router from [`ROUTES`].
pub fn router() -> Router<Shared> {
    ROUTES.iter().fold(Router::new(), |router, spec| {
        let rule = Rule {
            scope: spec.scope,
            min_role: spec.min_role,
        };
        let endpoint = (spec.handler)(spec.method.filter()).layer(Extension(rule));
        router.route(spec.path, endpoint)
    })
}
