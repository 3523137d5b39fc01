//! The OpenAPI 3.1 document of the platform API, served at `GET /api/v1/openapi.json`.
//!
//! Built from [`ROUTES`], so every endpoint of the table is documented: its path and
//! method, path parameters, security (none for the public `/auth/*` routes), the
//! request body schema of the main write endpoints (mirroring the handlers' serde
//! structs), the success status and the platform error responses. The gateway admin
//! endpoints (master key only) are added by hand.

use std::sync::LazyLock;

use axum::Json;
use axum::routing::{MethodRouter, get};
use serde_json::{Map, Value, json};

use super::routes::{Method, ROUTES, RouteSpec, Scope};
use crate::state::Shared;

/// `GET /openapi.json`: public.
pub fn route() -> MethodRouter<Shared> {
    get(serve)
}

async fn serve() -> Json<Value> {
    static DOC: LazyLock<Value> = LazyLock::new(document);
    Json(DOC.clone())
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in ROUTES {
        let item = paths
            .entry(format!("/api/v1{}", spec.path))
            .or_insert_with(|| json!({}));
        item[method_key(spec.method)] = operation(spec);
    }
    paths.insert(
        "/api/v1/admin/deployments".to_owned(),
        json!({"get": admin_operation("adminDeployments", "Lists the gateway deployments (master key).", "200")}),
    );
    paths.insert(
        "/api/v1/admin/reload".to_owned(),
        json!({"post": admin_operation("adminReload", "Reloads the gateway configuration (master key).", "200")}),
    );
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Morn platform API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Accounts and sessions, organizations, workspaces, members, API keys, providers and models, the audit trail, and billing: rate limits, budgets, prices, usage reports and invoices. Money is integer micro-units (1 USD = 1000000).",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A user access token (from /auth/login) or the master key.",
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["message", "type"],
                            "properties": {
                                "message": {"type": "string"},
                                "code": {"type": ["string", "null"]},
                                "type": {"type": "string"},
                                "param": {"type": ["string", "null"]},
                            },
                        }
                    },
                },
                "Role": {"type": "string", "enum": ["owner", "admin", "member", "viewer"]},
            },
            "responses": error_components(),
        },
    });
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.extend(billing_schemas());
    }
    doc
}

fn method_key(method: Method) -> &'static str {
    match method {
        Method::Get => "get",
        Method::Post => "post",
        Method::Patch => "patch",
        Method::Delete => "delete",
    }
}

const ERROR_STATUSES: [(&str, &str); 6] = [
    ("400", "Invalid request."),
    ("401", "Not authenticated."),
    ("403", "Not allowed."),
    ("404", "Not found."),
    ("409", "Conflict."),
    ("422", "Unprocessable request."),
];

fn error_components() -> Value {
    let mut out = Map::new();
    for (status, description) in ERROR_STATUSES {
        out.insert(
            format!("E{status}"),
            json!({
                "description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }),
        );
    }
    Value::Object(out)
}

fn responses(success: &str) -> Value {
    let mut out = Map::new();
    let ok = if success == "204" {
        json!({"description": "Done."})
    } else {
        json!({
            "description": "Success.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        })
    };
    out.insert(success.to_owned(), ok);
    for (status, _) in ERROR_STATUSES {
        out.insert(
            status.to_owned(),
            json!({"$ref": format!("#/components/responses/E{status}")}),
        );
    }
    Value::Object(out)
}

fn admin_operation(id: &str, summary: &str, success: &str) -> Value {
    json!({
        "operationId": id,
        "summary": summary,
        "tags": ["admin"],
        "security": [{"bearerAuth": []}],
        "responses": responses(success),
    })
}

/// A stable operation id: method and path, e.g. `post_workspaces_ws_keys_id_rotate`.
fn operation_id(spec: &RouteSpec) -> String {
    let mut id = method_key(spec.method).to_owned();
    for part in spec.path.split('/').filter(|p| !p.is_empty()) {
        id.push('_');
        id.extend(
            part.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_'),
        );
    }
    id
}

fn operation(spec: &RouteSpec) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(operation_id(spec)));
    op.insert("summary".into(), json!(format!("{spec:?}")));
    let tag = spec.path.split('/').nth(1).unwrap_or("api");
    op.insert("tags".into(), json!([tag]));
    let security = if spec.scope == Scope::Public {
        json!([])
    } else {
        json!([{"bearerAuth": []}])
    };
    op.insert("security".into(), security);
    let mut parameters: Vec<Value> = path_params(spec.path)
        .map(|name| {
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": path_param_schema(name),
            })
        })
        .collect();
    parameters.extend(query_params(spec));
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some((schema, required)) = request_body(spec) {
        let mut media = json!({"schema": schema});
        if let Some(example) = request_example(spec) {
            media["example"] = example;
        }
        op.insert(
            "requestBody".into(),
            json!({"required": required, "content": {"application/json": media}}),
        );
    }
    let status = success_status(spec);
    let mut responses = responses(status);
    if let Some(schema) = success_schema(spec) {
        responses[status]["content"]["application/json"]["schema"] = schema;
    }
    if has_csv(spec) {
        responses[status]["content"]["text/csv"] = json!({"schema": {"type": "string"}});
    }
    op.insert("responses".into(), responses);
    Value::Object(op)
}

fn path_param_schema(name: &str) -> Value {
    match name {
        "month" => json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}),
        _ => json!({"type": "string"}),
    }
}

/// The `{name}` placeholders of a path, in order.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
}

fn success_status(spec: &RouteSpec) -> &'static str {
    match (spec.method, spec.path) {
        (Method::Delete, _) => "204",
        (Method::Post, "/auth/login" | "/auth/refresh") => "200",
        (Method::Post, "/auth/logout" | "/auth/password" | "/users/{id}/password") => "204",
        (Method::Post, _) => "201",
        (Method::Get | Method::Patch, _) => "200",
    }
}

fn query(name: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema})
}

fn limit_after() -> Vec<Value> {
    vec![
        query(
            "limit",
            json!({"type": "integer", "minimum": 0, "maximum": u32::MAX}),
        ),
        query("after", json!({"type": "string"})),
    ]
}

/// `?format=json|csv`.
fn format_param() -> Value {
    query("format", json!({"type": "string", "enum": ["json", "csv"]}))
}

/// Mirrors `usage::UsageQuery`.
fn usage_params(org_level: bool) -> Vec<Value> {
    let time = json!({
        "type": "string",
        "description": "RFC 3339 (2025-01-31T00:00:00Z), a date (2025-01-31) or unix milliseconds.",
    });
    let dimensions = if org_level {
        "model, key, user, workspace"
    } else {
        "model, key, user"
    };
    let mut params = vec![
        query("since", time.clone()),
        query("until", time),
        query(
            "bucket",
            json!({"type": "string", "enum": ["hour", "day", "month"]}),
        ),
        query(
            "group_by",
            json!({"type": "string", "description": format!("Comma-separated: {dimensions}.")}),
        ),
        query("model", json!({"type": "string"})),
        query("key_id", json!({"type": "string"})),
        query("user_id", json!({"type": "string"})),
        format_param(),
    ];
    if org_level {
        params.push(query("workspace_id", json!({"type": "string"})));
    }
    params
}

/// Query parameters, mirroring `ListQuery`, `ScopeQuery`, `AuditQuery` and the billing
/// queries.
fn query_params(spec: &RouteSpec) -> Vec<Value> {
    if spec.method != Method::Get {
        return Vec::new();
    }
    match spec.path {
        "/orgs"
        | "/orgs/{org}/workspaces"
        | "/workspaces/{ws}/members"
        | "/workspaces/{ws}/keys" => limit_after(),
        "/orgs/{org}/providers" | "/orgs/{org}/models" | "/orgs/{org}/prices" => {
            vec![query("workspace_id", json!({"type": "string"}))]
        }
        "/workspaces/{ws}/usage" => usage_params(false),
        "/orgs/{org}/usage" => usage_params(true),
        "/workspaces/{ws}/invoices/{month}" => vec![format_param()],
        "/orgs/{org}/audit" => {
            let mut params = vec![
                query("action", json!({"type": "string"})),
                query("actor_id", json!({"type": "string"})),
                query("workspace_id", json!({"type": "string"})),
                query("since", json!({"type": "integer", "format": "int64"})),
                query("until", json!({"type": "integer", "format": "int64"})),
            ];
            params.extend(limit_after());
            params
        }
        _ => Vec::new(),
    }
}

fn string() -> Value {
    json!({"type": "string"})
}

fn opt_string() -> Value {
    json!({"type": ["string", "null"]})
}

fn opt_int() -> Value {
    json!({"type": ["integer", "null"], "format": "int64"})
}

fn opt_strings() -> Value {
    json!({"type": ["array", "null"], "items": {"type": "string"}})
}

/// `tenancy::ModelSpec` (every level denies unknown fields): the `[[models]]`
/// vocabulary of the config file, `provider` or `deployments` but not both. Timeouts
/// are seconds above 0.
fn model_spec() -> Value {
    let closed = |properties: Value| json!({"type": "object", "additionalProperties": false, "properties": properties});
    let count = |format: &str| json!({"type": "integer", "format": format, "minimum": 0});
    let secs = || json!({"type": "number", "exclusiveMinimum": 0});
    let names = || json!({"type": "array", "items": string()});
    let mut deployment = closed(json!({
        "provider": string(),
        "upstream_model": string(),
        "weight": count("int32"),
        "rpm": count("int32"),
        "tpm": count("int64"),
        "context_window": count("int64"),
        "input_price": count("int64"),
        "output_price": count("int64"),
    }));
    deployment["required"] = json!(["provider"]);
    let mut spec = closed(json!({
        "aliases": names(),
        "provider": string(),
        "upstream_model": string(),
        "deployments": {"type": "array", "items": deployment},
        "strategy": {
            "type": "string",
            "enum": ["weighted_random", "least_outstanding", "latency_aware", "cheapest"],
        },
        "retry": closed(json!({
            "max_attempts": count("int32"),
            "base_backoff_ms": count("int64"),
            "max_backoff_ms": count("int64"),
        })),
        "timeouts": closed(json!({"ttfb_secs": secs(), "idle_secs": secs(), "total_secs": secs()})),
        "fallbacks": closed(json!({
            "rate_limited": names(),
            "unavailable": names(),
            "context_window": names(),
            "content_policy": names(),
        })),
        "continue_on_failure": {"type": "boolean"},
    }));
    spec["not"] = json!({"required": ["provider", "deployments"]});
    spec
}

/// `morn_auth::validate_password`: 8 to 256 characters (not only whitespace).
fn password() -> Value {
    json!({"type": "string", "minLength": 8, "maxLength": 256, "pattern": "\\S"})
}

/// `users::is_email`: something@domain.tld, no spaces.
fn email() -> Value {
    json!({"type": "string", "format": "email"})
}

fn role() -> Value {
    json!({"$ref": "#/components/schemas/Role"})
}

/// An object schema; `closed` when the handler's struct denies unknown fields.
fn object(properties: Value, required: &[&str], closed: bool) -> Value {
    let mut schema = json!({"type": "object", "properties": properties, "required": required});
    if closed {
        schema["additionalProperties"] = json!(false);
    }
    schema
}

/// The JSON body schema and whether a body is required.
fn request_body(spec: &RouteSpec) -> Option<(Value, bool)> {
    // Mirror `catalog::ProviderBody` and `catalog::ModelBody`: what `apply` and
    // `valid_name_in` check. A create needs the name and kind (a model: its spec).
    let provider = |create: bool| {
        object(
            json!({
                "name": {"type": "string", "pattern": "^[^\\s/]{1,100}$"},
                "kind": {"type": "string", "enum": ["openai", "anthropic", "gemini"]},
                "base_url": {"type": ["string", "null"], "pattern": "^https?://"},
                "api_key": opt_string(),
                "headers": {
                    "type": ["object", "null"],
                    "additionalProperties": {"type": "string"},
                },
                "workspace_id": opt_string(),
            }),
            if create { &["name", "kind"] } else { &[] },
            true,
        )
    };
    let model = |create: bool| {
        object(
            json!({
                "name": {"type": "string", "pattern": "^\\S{1,100}$"},
                "spec": model_spec(),
                "workspace_id": opt_string(),
            }),
            if create { &["name", "spec"] } else { &[] },
            true,
        )
    };
    let body = match (spec.method, spec.path) {
        (Method::Post, "/auth/login") => object(
            json!({"email": string(), "password": string()}),
            &["email", "password"],
            false,
        ),
        (Method::Post, "/auth/refresh" | "/auth/logout") => object(
            json!({"refresh_token": string()}),
            &["refresh_token"],
            false,
        ),
        (Method::Post, "/auth/signup") => object(
            json!({"email": email(), "password": password(), "name": string()}),
            &["email", "password", "name"],
            false,
        ),
        (Method::Post, "/auth/password") => object(
            json!({"current_password": string(), "new_password": password()}),
            &["current_password", "new_password"],
            false,
        ),
        (Method::Post, "/users/{id}/password") => {
            object(json!({"new_password": password()}), &["new_password"], true)
        }
        (Method::Post, "/orgs/{org}/workspaces") => object(
            json!({
                "name": {"type": "string", "maxLength": 100, "pattern": "\\S"},
                "slug": {"type": ["string", "null"], "pattern": "^[a-z0-9-]{1,64}$"},
            }),
            &["name"],
            true,
        ),
        (Method::Post, "/orgs/{org}/users") => object(
            json!({"email": email(), "password": password(), "name": string(), "role": role()}),
            &["email", "password", "name", "role"],
            true,
        ),
        (Method::Post, "/workspaces/{ws}/members") => object(
            json!({"email": string(), "role": role()}),
            &["email", "role"],
            true,
        ),
        (Method::Patch, "/workspaces/{ws}/members/{user_id}") => {
            object(json!({"role": role()}), &["role"], true)
        }
        (Method::Post, "/workspaces/{ws}/keys") => object(
            json!({
                "name": string(),
                "scopes": opt_strings(),
                "allowed_models": opt_strings(),
                "expires_at": opt_int(),
                "expires_in_days": opt_int(),
                "metadata": {},
            }),
            &["name"],
            true,
        ),
        (Method::Patch, "/workspaces/{ws}/keys/{id}") => object(
            json!({
                "name": opt_string(),
                "scopes": opt_strings(),
                "allowed_models": opt_strings(),
                "metadata": {},
                "expires_at": opt_int(),
                "disabled": {"type": ["boolean", "null"]},
            }),
            &[],
            true,
        ),
        (Method::Post, "/workspaces/{ws}/keys/{id}/rotate") => {
            return Some((object(json!({"grace_secs": opt_int()}), &[], true), false));
        }
        (Method::Post, "/orgs/{org}/providers") => provider(true),
        (Method::Patch, "/orgs/{org}/providers/{id}") => provider(false),
        (Method::Post, "/orgs/{org}/models") => model(true),
        (Method::Patch, "/orgs/{org}/models/{id}") => model(false),
        (Method::Post, "/workspaces/{ws}/limits") => limit_body(true),
        (Method::Patch, "/workspaces/{ws}/limits/{id}") => limit_body(false),
        (Method::Post, "/workspaces/{ws}/budgets") => budget_body(true),
        (Method::Patch, "/workspaces/{ws}/budgets/{id}") => budget_body(false),
        (Method::Post, "/orgs/{org}/prices") => price_body(true),
        (Method::Patch, "/orgs/{org}/prices/{id}") => price_body(false),
        _ => return None,
    };
    Some((body, true))
}

/// A request a client would really send, shown with the body schema (and sent by the
/// API fuzzing suite's examples phase, with the path bound to real ids). Every example
/// is accepted by its handler: see `tests/platform_openapi_examples.rs`. The refresh and
/// logout bodies have none: their one field is a token only a sign-in hands out.
fn request_example(spec: &RouteSpec) -> Option<Value> {
    let example = match (spec.method, spec.path) {
        (Method::Post, "/auth/login") => {
            json!({"email": "ada@example.com", "password": "correct horse battery staple"})
        }
        (Method::Post, "/auth/signup") => json!({
            "email": "grace@example.com",
            "password": "correct horse battery staple",
            "name": "Grace Hopper",
        }),
        (Method::Post, "/auth/password") => json!({
            "current_password": "correct horse battery staple",
            "new_password": "a longer passphrase than the last one",
        }),
        (Method::Post, "/users/{id}/password") => {
            json!({"new_password": "a longer passphrase than the last one"})
        }
        (Method::Post, "/orgs/{org}/workspaces") => json!({"name": "Research", "slug": "research"}),
        (Method::Post, "/orgs/{org}/users") => json!({
            "email": "ada@example.com",
            "password": "correct horse battery staple",
            "name": "Ada Lovelace",
            "role": "member",
        }),
        (Method::Post, "/workspaces/{ws}/members") => {
            json!({"email": "ada@example.com", "role": "member"})
        }
        (Method::Patch, "/workspaces/{ws}/members/{user_id}") => json!({"role": "admin"}),
        (Method::Post, "/workspaces/{ws}/keys") => json!({
            "name": "billing-service",
            "allowed_models": ["gpt-4o-mini"],
            "expires_in_days": 90,
        }),
        (Method::Patch, "/workspaces/{ws}/keys/{id}") => {
            json!({"name": "billing-service (staging)", "disabled": false})
        }
        (Method::Post, "/workspaces/{ws}/keys/{id}/rotate") => json!({"grace_secs": 3600}),
        (Method::Post, "/orgs/{org}/providers") => json!({
            "name": "openai",
            "kind": "openai",
            "base_url": "https://api.openai.com/v1",
            "api_key": "sk-example-not-a-real-key",
        }),
        (Method::Patch, "/orgs/{org}/providers/{id}") => {
            json!({"base_url": "https://openrouter.ai/api/v1"})
        }
        (Method::Post, "/orgs/{org}/models") => json!({
            "name": "support-bot",
            "spec": {"provider": "openai", "upstream_model": "gpt-4o-mini", "aliases": ["helpdesk"]},
        }),
        (Method::Patch, "/orgs/{org}/models/{id}") => {
            json!({"spec": {"provider": "openai", "upstream_model": "gpt-4o-mini-2024-07-18"}})
        }
        (Method::Post, "/workspaces/{ws}/limits") => {
            json!({"scope": "workspace", "rpm": 600, "tpm": 200000})
        }
        (Method::Patch, "/workspaces/{ws}/limits/{id}") => json!({"rpm": 1200}),
        (Method::Post, "/workspaces/{ws}/budgets") => json!({
            "scope": "workspace",
            "period": "month",
            "amount_micros": 100_000_000,
            "alert_percents": [50, 80, 100],
            "hard_stop": true,
        }),
        (Method::Patch, "/workspaces/{ws}/budgets/{id}") => json!({"amount_micros": 250_000_000}),
        (Method::Post, "/orgs/{org}/prices") => json!({
            "model": "gpt-4o-mini",
            "price": {"input": 150_000, "output": 600_000, "cache_read": 75_000},
        }),
        (Method::Patch, "/orgs/{org}/prices/{id}") => {
            json!({"price": {"input": 120_000, "output": 480_000}})
        }
        _ => return None,
    };
    Some(example)
}

fn opt_positive() -> Value {
    json!({"type": ["integer", "null"], "format": "int64", "minimum": 1})
}

fn scope_enum() -> Value {
    json!({"type": "string", "enum": ["key", "user", "workspace"]})
}

/// Mirrors `limits::LimitBody`. A new rule limits something (`apply_limits`), and a
/// key or user rule names its key or user (`policy::resolve_scope`).
fn limit_body(create: bool) -> Value {
    let mut body = object(
        json!({
            "scope": scope_enum(),
            "scope_id": string(),
            "model": opt_string(),
            "rpm": opt_positive(),
            "tpm": opt_positive(),
            "max_concurrent": opt_positive(),
        }),
        if create { &["scope"] } else { &[] },
        true,
    );
    if create {
        let set =
            |field: &str| json!({"required": [field], "properties": {field: {"type": "integer"}}});
        body["anyOf"] = json!([set("rpm"), set("tpm"), set("max_concurrent")]);
        body["if"] = json!({"properties": {"scope": {"enum": ["key", "user"]}}});
        body["then"] = json!({"required": ["scope_id"]});
    }
    body
}

/// Mirrors `budgets::BudgetBody`; a key or user budget names its key or user.
fn budget_body(create: bool) -> Value {
    let mut body = object(
        json!({
            "scope": scope_enum(),
            "scope_id": string(),
            "period": {"type": "string", "enum": ["day", "month", "total"]},
            "amount_micros": {"type": "integer", "format": "int64", "minimum": 0},
            "alert_percents": {
                "type": "array",
                "maxItems": 10,
                "items": {"type": "integer", "minimum": 1, "maximum": 100},
            },
            "webhook_url": {"type": ["string", "null"], "format": "uri", "pattern": "^https?://[^/?#]"},
            "hard_stop": {"type": "boolean"},
        }),
        if create {
            &["scope", "period", "amount_micros"]
        } else {
            &[]
        },
        true,
    );
    if create {
        body["if"] = json!({"properties": {"scope": {"enum": ["key", "user"]}}});
        body["then"] = json!({"required": ["scope_id"]});
    }
    body
}

/// Mirrors `prices::OverrideBody`.
fn price_body(create: bool) -> Value {
    object(
        json!({
            "model": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"},
            "workspace_id": string(),
            "deployment": {"type": ["string", "null"], "maxLength": 200, "pattern": "^[^/]+/."},
            "price": {"$ref": "#/components/schemas/Price"},
        }),
        if create { &["model", "price"] } else { &[] },
        true,
    )
}

/// Response schemas of the billing endpoints.
fn success_schema(spec: &RouteSpec) -> Option<Value> {
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let list = |name: &str| {
        json!({
            "type": "object",
            "properties": {"object": string(), "data": {"type": "array", "items": schema(name)}},
        })
    };
    let collection = spec.method == Method::Get && !spec.path.ends_with("/{id}");
    let name = match spec.path {
        "/prices" => return Some(schema("PriceCatalog")),
        "/workspaces/{ws}/usage" | "/orgs/{org}/usage" => "UsageReport",
        "/workspaces/{ws}/usage/records/{id}" => "UsageRecord",
        "/workspaces/{ws}/invoices/{month}" => "Invoice",
        p if p.starts_with("/workspaces/{ws}/limits") => "RateLimit",
        p if p.starts_with("/workspaces/{ws}/budgets") => "Budget",
        p if p.starts_with("/orgs/{org}/prices") => "PriceOverride",
        _ => return None,
    };
    match spec.method {
        Method::Delete => None,
        _ if collection && matches!(name, "RateLimit" | "Budget" | "PriceOverride") => {
            Some(list(name))
        }
        _ => Some(schema(name)),
    }
}

fn has_csv(spec: &RouteSpec) -> bool {
    matches!(
        spec.path,
        "/workspaces/{ws}/usage" | "/orgs/{org}/usage" | "/workspaces/{ws}/invoices/{month}"
    )
}

/// The billing schemas of `components.schemas`.
fn billing_schemas() -> Map<String, Value> {
    let int = || json!({"type": "integer", "format": "int64"});
    let opt_money = || json!({"type": ["integer", "null"], "format": "int64", "minimum": 0});
    let money = || json!({"type": "integer", "format": "int64", "minimum": 0});
    let sums = || {
        json!({
            "requests": int(),
            "errors": int(),
            "input_tokens": int(),
            "output_tokens": int(),
            "cache_read_tokens": int(),
            "cache_write_tokens": int(),
            "reasoning_tokens": int(),
            "cost_micros": int(),
            "cost_usd": string(),
        })
    };
    let policy = |extra: Value| {
        let mut props = json!({
            "id": string(),
            "object": string(),
            "org_id": string(),
            "workspace_id": string(),
            "scope": scope_enum(),
            "scope_id": string(),
            "created_at": int(),
            "updated_at": int(),
        });
        if let (Some(props), Value::Object(extra)) = (props.as_object_mut(), extra) {
            props.extend(extra);
        }
        json!({"type": "object", "properties": props})
    };
    let schemas = json!({
        "Price": {
            "type": "object",
            "description": "Micro-units per million tokens.",
            "required": ["input", "output"],
            "additionalProperties": false,
            "properties": {
                "input": money(),
                "output": money(),
                "cache_read": opt_money(),
                "cache_write": opt_money(),
                "reasoning": opt_money(),
                "long_context": {"type": ["object", "null"]},
                "batch": {"type": ["object", "null"]},
            },
        },
        "PriceCatalog": {
            "type": "object",
            "properties": {
                "object": string(),
                "date": string(),
                "currency": string(),
                "unit": string(),
                "data": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"model": string(), "price": {"$ref": "#/components/schemas/Price"}},
                }},
            },
        },
        "PriceOverride": {
            "type": "object",
            "properties": {
                "id": string(),
                "object": string(),
                "org_id": string(),
                "workspace_id": opt_string(),
                "model": string(),
                "deployment": opt_string(),
                "price": {"$ref": "#/components/schemas/Price"},
                "created_at": int(),
                "updated_at": int(),
            },
        },
        "RateLimit": policy(json!({
            "model": opt_string(),
            "rpm": opt_int(),
            "tpm": opt_int(),
            "max_concurrent": opt_int(),
        })),
        "Budget": policy(json!({
            "period": {"type": "string", "enum": ["day", "month", "total"]},
            "amount_micros": int(),
            "alert_percents": {"type": "array", "items": {"type": "integer"}},
            "webhook_url": opt_string(),
            "hard_stop": {"type": "boolean"},
            "spent_micros": int(),
            "period_start": int(),
            "period_end": opt_int(),
        })),
        "UsageRecord": {
            "type": "object",
            "description": "One request as the usage ledger keeps it.",
            "properties": {
                "object": string(),
                "request_id": string(),
                "client_request_id": opt_string(),
                "created_at": int(),
                "org_id": opt_string(),
                "workspace_id": opt_string(),
                "user_id": opt_string(),
                "key_id": opt_string(),
                "endpoint": string(),
                "model": string(),
                "deployment": opt_string(),
                "stream": {"type": "boolean"},
                "status": int(),
                "error_class": opt_string(),
                "input_tokens": int(),
                "output_tokens": int(),
                "cache_read_tokens": int(),
                "cache_write_tokens": int(),
                "reasoning_tokens": int(),
                "cost_micros": int(),
                "cost_usd": string(),
                "estimated": {"type": "boolean"},
                "cache_hit": {"type": "boolean"},
                "latency_ms": int(),
                "ttft_ms": opt_int(),
            },
        },
        "UsageReport": {
            "type": "object",
            "properties": {
                "object": string(),
                "since": int(),
                "until": int(),
                "bucket": opt_string(),
                "group_by": {"type": "array", "items": string()},
                "currency": string(),
                "data": {"type": "array", "items": {"type": "object"}},
                "totals": {"type": "object", "properties": sums()},
            },
        },
        "Invoice": {
            "type": "object",
            "properties": {
                "object": string(),
                "org_id": string(),
                "workspace_id": string(),
                "month": string(),
                "period_start": int(),
                "period_end": int(),
                "status": {"type": "string", "enum": ["open", "closed"]},
                "currency": string(),
                "price_catalog_date": string(),
                "lines": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "model": string(),
                        "requests": int(),
                        "input_tokens": int(),
                        "output_tokens": int(),
                        "cache_read_tokens": int(),
                        "cache_write_tokens": int(),
                        "reasoning_tokens": int(),
                        "amount_micros": int(),
                        "amount_usd": string(),
                    },
                }},
                "subtotal_micros": int(),
                "subtotal_usd": string(),
                "total_micros": int(),
                "total_usd": string(),
            },
        },
    });
    schemas.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_with_its_method() -> Result<(), serde_json::Error> {
        let text = serde_json::to_string(&document())?;
        let doc: Value = serde_json::from_str(&text)?;
        assert_eq!(doc["openapi"], "3.1.0");
        for spec in ROUTES {
            let path = format!("/api/v1{}", spec.path);
            let op = &doc["paths"][&path][method_key(spec.method)];
            assert!(op.is_object(), "{spec:?} is missing from the document");
            let params: Vec<&str> = op["parameters"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                params,
                path_params(spec.path).collect::<Vec<_>>(),
                "{spec:?}"
            );
            let public = op["security"].as_array().is_some_and(Vec::is_empty);
            assert_eq!(public, spec.scope == Scope::Public, "{spec:?}");
            assert!(op["responses"]["401"].is_object(), "{spec:?}");
        }
        Ok(())
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = ROUTES.iter().map(operation_id).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before);
    }
}
