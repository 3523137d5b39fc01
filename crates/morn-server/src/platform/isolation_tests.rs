//! Tenant isolation and role checks for every route of [`ROUTES`], generated from the
//! table itself: an endpoint added to the table is tested without anyone remembering.
//!
//! For each tenant-scoped route: a caller from another tenant gets 404 (existence is
//! hidden), each role below the route's minimum gets 403, each role at or above gets
//! neither. Every check runs against a fresh pair of tenants, so a DELETE allowed for
//! one role does not change what the next role sees. Requests go through the real
//! application router in process.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use morn_store::{
    ApiKey, Budget, BudgetPeriod, ModelRecord, OrgMembership, Organization, PolicyScope,
    PriceOverride, ProviderRecord, RateLimitRule, RefreshToken, Role, Store, User, Workspace,
    WorkspaceMembership,
};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::extract::{new_id, now_ms};
use super::routes::{Method, ROUTES, RouteSpec, Scope};
use crate::identity::{Identity, KeyCache};
use crate::state::{AppState, AuthSettings};

const ROLES: [Role; 4] = [Role::Viewer, Role::Member, Role::Admin, Role::Owner];

/// One tenant: an organization, a workspace, a user per role (same role in both), a
/// key owned by the member, a provider, a model, a rate limit, a budget, a price
/// override and a stored usage record.
struct Tenant {
    org: String,
    ws: String,
    tokens: Vec<(Role, String, String)>,
    key: String,
    provider: String,
    model: String,
    limit: String,
    budget: String,
    price: String,
    record: String,
}

impl Tenant {
    fn user(&self, role: Role) -> (&str, &str) {
        self.tokens
            .iter()
            .find(|(r, _, _)| *r == role)
            .map(|(_, id, token)| (id.as_str(), token.as_str()))
            .unwrap_or(("", ""))
    }

    /// The route's path with this tenant's ids.
    fn path(&self, spec: &RouteSpec) -> String {
        let id = if spec.path.contains("/usage/records/") {
            &self.record
        } else if spec.path.contains("/keys/") {
            &self.key
        } else if spec.path.contains("/providers/") {
            &self.provider
        } else if spec.path.contains("/models/") {
            &self.model
        } else if spec.path.contains("/limits/") {
            &self.limit
        } else if spec.path.contains("/budgets/") {
            &self.budget
        } else if spec.path.contains("/prices/") {
            &self.price
        } else if spec.path.starts_with("/users/") {
            self.user(Role::Viewer).0
        } else {
            assert!(
                !spec.path.contains("{id}"),
                "no fixture for {{id}} in {spec:?}"
            );
            ""
        };
        spec.path
            .replace("{org}", &self.org)
            .replace("{ws}", &self.ws)
            .replace("{id}", id)
            .replace("{user_id}", self.user(Role::Viewer).0)
            .replace("{month}", "2025-01")
    }
}

async fn tenant(identity: &Identity, hash: &str) -> anyhow::Result<Tenant> {
    let store: &dyn Store = identity.store.as_ref();
    let now = now_ms();
    let org = Organization {
        id: new_id(),
        name: "t".into(),
        slug: new_id(),
        created_at: now,
    };
    store.create_org(&org).await?;
    let ws = Workspace {
        id: new_id(),
        org_id: org.id.clone(),
        name: "w".into(),
        slug: "w".into(),
        created_at: now,
    };
    store.create_workspace(&ws).await?;
    let mut tokens = Vec::new();
    for role in ROLES {
        let user = User {
            id: new_id(),
            email: format!("{}@example.com", new_id()),
            name: "u".into(),
            password_hash: Some(hash.to_owned()),
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        store.create_user(&user).await?;
        let (org_id, user_id) = (org.id.clone(), user.id.clone());
        let m = OrgMembership {
            org_id,
            user_id,
            role,
            created_at: now,
        };
        store.upsert_org_membership(&m).await?;
        let (workspace_id, user_id) = (ws.id.clone(), user.id.clone());
        let m = WorkspaceMembership {
            workspace_id,
            user_id,
            role,
            created_at: now,
        };
        store.upsert_workspace_membership(&m).await?;
        let family = new_id();
        let session = RefreshToken {
            id: new_id(),
            user_id: user.id.clone(),
            family_id: family.clone(),
            hash: new_id(),
            created_at: now,
            expires_at: now + 3_600_000,
            used_at: None,
            revoked_at: None,
            user_agent: None,
            ip: None,
        };
        store.insert_refresh_token(&session).await?;
        let claims = morn_auth::AccessClaims::new(&user.id, &family, now / 1000);
        tokens.push((role, user.id, identity.jwt.issue(&claims)?));
    }
    let generated = morn_auth::generate_api_key();
    let key = ApiKey {
        id: new_id(),
        workspace_id: ws.id.clone(),
        user_id: tokens
            .iter()
            .find(|t| t.0 == Role::Member)
            .map(|t| t.1.clone()),
        name: "k".into(),
        prefix: generated.prefix,
        hash: generated.hash,
        scopes: Vec::new(),
        allowed_models: Vec::new(),
        metadata: json!({}),
        expires_at: None,
        disabled: false,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        rotated_from: None,
        grace_until: None,
    };
    store.create_api_key(&key).await?;
    let provider = ProviderRecord {
        id: new_id(),
        org_id: org.id.clone(),
        workspace_id: None,
        name: "p".into(),
        kind: "openai".into(),
        base_url: None,
        secret_id: None,
        headers: json!({}),
        created_at: now,
        updated_at: now,
    };
    store.create_provider(&provider).await?;
    let model = ModelRecord {
        id: new_id(),
        org_id: org.id.clone(),
        workspace_id: None,
        name: "m".into(),
        spec: json!({}),
        created_at: now,
        updated_at: now,
    };
    store.create_model(&model).await?;
    let (limit, budget, price) = policies(store, &org.id, &ws.id, now).await?;
    let record = morn_store::UsageRecord {
        request_id: new_id(),
        created_at: now,
        org_id: Some(org.id.clone()),
        workspace_id: Some(ws.id.clone()),
        key_id: Some(key.id.clone()),
        endpoint: "chat".into(),
        model: "m".into(),
        status: 200,
        ..Default::default()
    };
    store.insert_usage(std::slice::from_ref(&record)).await?;
    Ok(Tenant {
        org: org.id,
        ws: ws.id,
        tokens,
        key: key.id,
        provider: provider.id,
        model: model.id,
        limit,
        budget,
        price,
        record: record.request_id,
    })
}

/// A workspace rate limit, a workspace budget and an organization price override;
/// returns their ids.
async fn policies(
    store: &dyn Store,
    org: &str,
    ws: &str,
    now: i64,
) -> anyhow::Result<(String, String, String)> {
    let limit = RateLimitRule {
        id: new_id(),
        org_id: org.to_owned(),
        workspace_id: ws.to_owned(),
        scope: PolicyScope::Workspace,
        scope_id: ws.to_owned(),
        model: None,
        rpm: Some(100),
        tpm: None,
        max_concurrent: None,
        created_at: now,
        updated_at: now,
    };
    store.create_rate_limit(&limit).await?;
    let budget = Budget {
        id: new_id(),
        org_id: org.to_owned(),
        workspace_id: ws.to_owned(),
        scope: PolicyScope::Workspace,
        scope_id: ws.to_owned(),
        period: BudgetPeriod::Month,
        amount_micros: 1_000_000,
        alert_percents: vec![80, 100],
        webhook_url: None,
        hard_stop: true,
        created_at: now,
        updated_at: now,
    };
    store.create_budget(&budget).await?;
    let price = PriceOverride {
        id: new_id(),
        org_id: org.to_owned(),
        workspace_id: None,
        model: "m".into(),
        deployment: None,
        price: json!({"input": 1, "output": 2}),
        created_at: now,
        updated_at: now,
    };
    store.create_price_override(&price).await?;
    Ok((limit.id, budget.id, price.id))
}

async fn call(
    app: &crate::App,
    spec: &RouteSpec,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut builder = Request::builder()
        .method(spec.method.as_str())
        .uri(format!("/api/v1{path}"))
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match spec.method {
        Method::Post | Method::Patch => Body::from("{}"),
        Method::Get | Method::Delete => Body::empty(),
    };
    let Ok(request) = builder.body(body) else {
        panic!("bad request for {spec:?}");
    };
    let Ok(response) = app.clone().oneshot(request).await;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn rank(role: Role) -> u8 {
    super::access::rank(role)
}

#[tokio::test]
async fn every_route_hides_other_tenants_and_enforces_its_minimum_role() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(morn_store::SqliteStore::open(dir.path()).await?);
    let (master, _) = morn_auth::MasterKey::generate();
    let identity = Arc::new(Identity {
        store,
        jwt: Arc::new(morn_auth::JwtKeys::from_master(&master)),
        vault: Arc::new(morn_auth::Vault::new(master, Vec::new())),
        keys: Arc::new(KeyCache::new()),
        allow_signup: false,
    });
    let state = AppState {
        gateway: Arc::new(morn_gateway::Gateway::new(&[], Default::default())),
        tenancy: crate::tenancy::Tenancy::start(Vec::new(), Default::default(), identity.clone()),
        meter: crate::metering::Meter::embedded(identity.store.clone(), dir.path())
            .await
            .map_err(|e| anyhow::anyhow!(e))?,
        identity: identity.clone(),
        auth: Arc::new(AuthSettings {
            master_key: morn_providers::Secret::new("sk-master-test"),
        }),
        max_body_bytes: 1 << 20,
        reload: None,
    };
    let app = crate::app(state);
    let hash = morn_auth::hash_password("a fine password")?;
    let mut checked = 0;
    for spec in ROUTES {
        match spec.scope {
            Scope::Public => continue,
            Scope::User => {
                let (status, _) = call(&app, spec, &spec.path.replace("{id}", "x"), None).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{spec:?} without a token");
                checked += 1;
                continue;
            }
            Scope::Org | Scope::Workspace | Scope::TargetUser => {}
        }
        let min = spec.min_role.unwrap_or(Role::Viewer);
        // Another tenant's ids: 404, whatever the caller's role at home.
        let (a, b) = (
            tenant(&identity, &hash).await?,
            tenant(&identity, &hash).await?,
        );
        let (status, body) = call(&app, spec, &b.path(spec), Some(a.user(Role::Owner).1)).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{spec:?} across tenants: {body}"
        );
        assert_eq!(body["error"]["code"], "not_found", "{spec:?}");
        for role in ROLES {
            let a = tenant(&identity, &hash).await?;
            let (status, body) = call(&app, spec, &a.path(spec), Some(a.user(role).1)).await;
            if rank(role) < rank(min) {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{spec:?} as {role:?}: {body}"
                );
                assert_eq!(body["error"]["code"], "forbidden", "{spec:?} as {role:?}");
            } else {
                let refused = [
                    StatusCode::FORBIDDEN,
                    StatusCode::NOT_FOUND,
                    StatusCode::UNAUTHORIZED,
                ];
                assert!(
                    !refused.contains(&status),
                    "{spec:?} as {role:?}: {status} {body}"
                );
                assert!(
                    !status.is_server_error(),
                    "{spec:?} as {role:?}: {status} {body}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} checks");
    Ok(())
}

#[test]
fn placeholders_match_scopes() {
    for spec in ROUTES {
        let expected = if spec.path.contains("{ws}") {
            Scope::Workspace
        } else if spec.path.contains("{org}") {
            Scope::Org
        } else if spec.path.starts_with("/users/{id}") {
            Scope::TargetUser
        } else {
            assert!(
                matches!(spec.scope, Scope::Public | Scope::User),
                "{spec:?}"
            );
            continue;
        };
        assert_eq!(spec.scope, expected, "{spec:?}");
        assert!(spec.min_role.is_some(), "{spec:?} needs a minimum role");
    }
}

#[tokio::test]
async fn signup_can_be_disabled() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = Arc::new(morn_store::SqliteStore::open(dir.path()).await?);
    let (master, _) = morn_auth::MasterKey::generate();
    let identity = Arc::new(Identity {
        store,
        jwt: Arc::new(morn_auth::JwtKeys::from_master(&master)),
        vault: Arc::new(morn_auth::Vault::new(master, Vec::new())),
        keys: Arc::new(KeyCache::new()),
        allow_signup: false,
    });
    let state = AppState {
        gateway: Arc::new(morn_gateway::Gateway::new(&[], Default::default())),
        tenancy: crate::tenancy::Tenancy::start(Vec::new(), Default::default(), identity.clone()),
        meter: crate::metering::Meter::embedded(identity.store.clone(), dir.path())
            .await
            .map_err(|e| anyhow::anyhow!(e))?,
        identity,
        auth: Arc::new(AuthSettings {
            master_key: morn_providers::Secret::new("sk-master-test"),
        }),
        max_body_bytes: 1 << 20,
        reload: None,
    };
    let app = crate::app(state);
    let request = Request::post("/api/v1/auth/signup")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"email":"a@b.co","password":"long enough","name":"A"}"#,
        ))?;
    let Ok(response) = app.oneshot(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let body: Value = serde_json::from_slice(&bytes)?;
    assert_eq!(body["error"]["code"], "signup_disabled");
    Ok(())
}
