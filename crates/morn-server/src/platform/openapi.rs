//! The OpenAPI 3.1 document of the platform API, served at `GET /api/v1/openapi.json`.
//!
//! Built from [`ROUTES`], so every endpoint of the table is documented: its path and
//! method, path parameters, security (none for the public `/auth/*` routes), the
//! request body schema and an example of the write endpoints (`openapi_requests.rs`),
//! the success status and response schemas, and the platform error responses. The
//! gateway admin endpoints (master key only) are added by hand.

use std::sync::LazyLock;

use axum::Json;
use axum::routing::{MethodRouter, get};
use serde_json::{Map, Value, json};

use super::openapi_requests::{request_body, request_example, scope_enum};
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

pub(super) fn string() -> Value {
    json!({"type": "string"})
}

pub(super) fn opt_string() -> Value {
    json!({"type": ["string", "null"]})
}

pub(super) fn opt_int() -> Value {
    json!({"type": ["integer", "null"], "format": "int64"})
}

pub(super) fn opt_strings() -> Value {
    json!({"type": ["array", "null"], "items": {"type": "string"}})
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
    // Tokens by kind and cost: in a report's sums and in one request's record alike.
    let spend = |mut fields: Value| {
        if let Some(fields) = fields.as_object_mut() {
            for kind in ["input", "output", "cache_read", "cache_write", "reasoning"] {
                fields.insert(format!("{kind}_tokens"), int());
            }
            fields.insert("cost_micros".into(), int());
            fields.insert("cost_usd".into(), string());
        }
        fields
    };
    let sums = || spend(json!({"requests": int(), "errors": int()}));
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
            "properties": spend(json!({
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
                "estimated": {"type": "boolean"},
                "cache_hit": {"type": "boolean"},
                "latency_ms": int(),
                "ttft_ms": opt_int(),
            })),
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
