//! The request side of the platform API's OpenAPI document: each write operation's
//! JSON body schema, stating what its handler checks, and an example body a client
//! would really send (see `openapi.rs` for the rest of the document).

use serde_json::{Value, json};

use super::openapi::{opt_int, opt_string, opt_strings, string};
use super::routes::{Method, RouteSpec};

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
pub(super) fn request_body(spec: &RouteSpec) -> Option<(Value, bool)> {
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
pub(super) fn request_example(spec: &RouteSpec) -> Option<Value> {
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

pub(super) fn scope_enum() -> Value {
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
